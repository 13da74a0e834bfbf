//! SGD with momentum as `torch.optim.SGD` (dampening 0, no Nesterov) computes it, plus
//! `torch.nn.utils.clip_grad_value_` applied to the gradient before the step:
//!   g = clamp(grad, -c, c);  g += wd * p;  buf = g (first step) or momentum * buf + g;
//!   p -= lr * lr_scale * buf.
//! With momentum 0 there is no buffer and p -= lr * lr_scale * g.

use super::{
    check_params, counter_tensor, multi, parse_name, Hyper, Optimizer, ParamRef, Params, K,
};
use crate::gpu::{Gpu, Tensor};
use std::collections::BTreeMap;

pub struct Sgd {
    pub momentum: f32,
    /// Clamp each gradient element to [-c, c] before weight decay.
    pub clip_value: Option<f32>,
    bufs: BTreeMap<usize, Tensor>,
    hyper: Hyper,
    steps: u64,
    gpu: Option<Gpu>,
}

impl Sgd {
    pub fn new(momentum: f32, clip_value: Option<f32>) -> Self {
        if let Some(c) = clip_value {
            assert!(c > 0.0, "clip value must be positive");
        }
        Sgd {
            momentum,
            clip_value,
            bufs: BTreeMap::new(),
            hyper: Hyper::default(),
            steps: 0,
            gpu: None,
        }
    }

    /// Number of `step` calls so far (or as restored by `load_state`).
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// The momentum buffer of a slot, once it has one.
    pub fn momentum_buffer(&self, slot: usize) -> Option<&Tensor> {
        self.bufs.get(&slot)
    }

    pub fn step(&mut self, lr: f32, params: &[ParamRef]) {
        if params.is_empty() {
            return;
        }
        check_params(params);
        let gpu = params[0].param.gpu().clone();
        self.gpu = Some(gpu.clone());
        let hyper: Vec<f32> = params
            .iter()
            .flat_map(|p| {
                let lr_p = (lr as f64 * p.lr_scale as f64) as f32;
                [lr_p, p.weight_decay, 0.0, 0.0]
            })
            .collect();
        let hyper = self.hyper.upload(&gpu, &hyper).clone();
        let batched = multi::batched(&gpu);
        // Batched: runs of up to multi::PER tensors with the same entry point.
        let mut run: Vec<(usize, &Tensor, &Tensor, Tensor)> = Vec::new();
        let mut run_entry = "";
        let base = multi::Params {
            clip_on: self.clip_value.is_some() as u32,
            momentum: self.momentum,
            clip: self.clip_value.unwrap_or(0.0),
            ..multi::Params::default()
        };
        let flush = |entry: &str, run: &mut Vec<(usize, &Tensor, &Tensor, Tensor)>| {
            if run.is_empty() {
                return;
            }
            let mode = match entry {
                "sgd_plain" => 0,
                "sgd_first" => 1,
                _ => 2,
            };
            let items: Vec<multi::Update> = run
                .iter()
                .map(|(k, param, grad, buf)| multi::Update {
                    param,
                    grad,
                    s1: buf,
                    s2: param,
                    k: *k,
                })
                .collect();
            multi::dispatch(&gpu, "sgd4", multi::Params { mode, ..base }, &hyper, &items);
            run.clear();
        };
        for (k, p) in params.iter().enumerate() {
            let n = p.param.numel();
            if n == 0 {
                continue;
            }
            let (entry, buf) = if self.momentum == 0.0 {
                ("sgd_plain", p.param.clone())
            } else if let Some(b) = self.bufs.get(&p.slot) {
                assert_eq!(
                    b.shape(),
                    p.param.shape(),
                    "slot {}: momentum buffer shape differs from the parameter's",
                    p.slot
                );
                ("sgd", b.clone())
            } else {
                let b = Tensor::empty(&gpu, p.param.shape());
                self.bufs.insert(p.slot, b.clone());
                ("sgd_first", b)
            };
            if batched {
                if entry != run_entry || run.len() == multi::PER {
                    flush(run_entry, &mut run);
                    run_entry = entry;
                }
                run.push((k, p.param, p.grad, buf));
                continue;
            }
            let u = Params {
                n: n as u32,
                k: k as u32,
                clip_on: self.clip_value.is_some() as u32,
                momentum: self.momentum,
                clip: self.clip_value.unwrap_or(0.0),
                ..Params::default()
            };
            // sgd_plain does not bind the buffer slot; the parameter stands in for it.
            gpu.dispatch_1d(
                &K,
                entry,
                &u,
                &[
                    p.param.buffer(),
                    p.grad.buffer(),
                    hyper.buffer(),
                    buf.buffer(),
                ],
                n,
            );
        }
        flush(run_entry, &mut run);
        self.steps += 1;
    }
}

impl Optimizer for Sgd {
    fn step(&mut self, lr: f32, params: &[ParamRef]) {
        Sgd::step(self, lr, params)
    }

    fn state(&self) -> Vec<(String, Tensor)> {
        let mut out: Vec<(String, Tensor)> = self
            .bufs
            .iter()
            .map(|(slot, b)| (format!("{slot}.momentum_buffer"), b.deep_clone()))
            .collect();
        if let Some(gpu) = &self.gpu {
            out.push(("steps".into(), counter_tensor(gpu, self.steps)));
        }
        out
    }

    fn load_state(&mut self, state: Vec<(String, Tensor)>) -> anyhow::Result<()> {
        let mut bufs = BTreeMap::new();
        let mut steps = 0;
        for (name, t) in state {
            self.gpu = Some(t.gpu().clone());
            if name == "steps" {
                steps = t.to_vec()[0] as u64;
                continue;
            }
            match parse_name(&name)? {
                (slot, "momentum_buffer") => {
                    bufs.insert(slot, t);
                }
                _ => anyhow::bail!("unexpected SGD state entry {name:?}"),
            }
        }
        self.bufs = bufs;
        self.steps = steps;
        Ok(())
    }
}
