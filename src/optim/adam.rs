//! Adam as `torch.optim.Adam` computes it (not AdamW: the weight decay is coupled L2):
//!   g = grad + wd * p;  m = lerp(m, g, 1 - beta1);  v = beta2 v + (1 - beta2) g^2;
//!   p -= (lr / (1 - beta1^t)) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
//! with t the slot's own step count (torch counts per parameter too). The betas are f64 because
//! torch evaluates the bias corrections in double precision from Python floats.

use super::{
    check_params, counter_tensor, multi, parse_name, Hyper, Optimizer, ParamRef, Params, K,
};
use crate::gpu::Tensor;
use std::collections::BTreeMap;

struct Slot {
    exp_avg: Tensor,
    exp_avg_sq: Tensor,
    step: u64,
}

pub struct Adam {
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    slots: BTreeMap<usize, Slot>,
    hyper: Hyper,
}

impl Default for Adam {
    fn default() -> Self {
        Self::new()
    }
}

impl Adam {
    /// PyTorch's defaults: betas (0.9, 0.999), eps 1e-8.
    pub fn new() -> Self {
        Adam {
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            slots: BTreeMap::new(),
            hyper: Hyper::default(),
        }
    }

    /// Steps taken by a slot (0 before its first).
    pub fn slot_steps(&self, slot: usize) -> u64 {
        self.slots.get(&slot).map_or(0, |s| s.step)
    }

    pub fn step(&mut self, lr: f32, params: &[ParamRef]) {
        if params.is_empty() {
            return;
        }
        check_params(params);
        let gpu = params[0].param.gpu().clone();
        let mut hyper = Vec::with_capacity(4 * params.len());
        for p in params {
            let slot = self.slots.entry(p.slot).or_insert_with(|| Slot {
                exp_avg: Tensor::zeros(&gpu, p.param.shape()),
                exp_avg_sq: Tensor::zeros(&gpu, p.param.shape()),
                step: 0,
            });
            assert_eq!(
                slot.exp_avg.shape(),
                p.param.shape(),
                "slot {}: Adam state shape differs from the parameter's",
                p.slot
            );
            slot.step += 1;
            let t = slot.step as i32;
            let lr_p = lr as f64 * p.lr_scale as f64;
            let bc1 = 1.0 - self.beta1.powi(t);
            let bc2 = 1.0 - self.beta2.powi(t);
            hyper.extend_from_slice(&[
                lr_p as f32,
                p.weight_decay,
                (lr_p / bc1) as f32,
                bc2.sqrt() as f32,
            ]);
        }
        let hyper = self.hyper.upload(&gpu, &hyper).clone();
        if multi::batched(&gpu) {
            let items: Vec<multi::Update> = (params.iter().enumerate())
                .filter(|(_, p)| p.param.numel() > 0)
                .map(|(k, p)| {
                    let s = &self.slots[&p.slot];
                    multi::Update {
                        param: p.param,
                        grad: p.grad,
                        s1: &s.exp_avg,
                        s2: &s.exp_avg_sq,
                        k,
                    }
                })
                .collect();
            let base = multi::Params {
                beta2: self.beta2 as f32,
                eps: self.eps as f32,
                omb1: (1.0 - self.beta1) as f32,
                omb2: (1.0 - self.beta2) as f32,
                ..multi::Params::default()
            };
            for chunk in items.chunks(multi::PER) {
                multi::dispatch(&gpu, "adam4", base, &hyper, chunk);
            }
            return;
        }
        for (k, p) in params.iter().enumerate() {
            let n = p.param.numel();
            if n == 0 {
                continue;
            }
            let s = &self.slots[&p.slot];
            let u = Params {
                n: n as u32,
                k: k as u32,
                beta2: self.beta2 as f32,
                eps: self.eps as f32,
                omb1: (1.0 - self.beta1) as f32,
                omb2: (1.0 - self.beta2) as f32,
                ..Params::default()
            };
            gpu.dispatch_1d(
                &K,
                "adam",
                &u,
                &[
                    p.param.buffer(),
                    p.grad.buffer(),
                    hyper.buffer(),
                    s.exp_avg.buffer(),
                    s.exp_avg_sq.buffer(),
                ],
                n,
            );
        }
    }
}

impl Optimizer for Adam {
    fn step(&mut self, lr: f32, params: &[ParamRef]) {
        Adam::step(self, lr, params)
    }

    fn state(&self) -> Vec<(String, Tensor)> {
        let mut out = Vec::new();
        for (slot, s) in &self.slots {
            let gpu = s.exp_avg.gpu();
            out.push((format!("{slot}.exp_avg"), s.exp_avg.deep_clone()));
            out.push((format!("{slot}.exp_avg_sq"), s.exp_avg_sq.deep_clone()));
            out.push((format!("{slot}.step"), counter_tensor(gpu, s.step)));
        }
        out
    }

    fn load_state(&mut self, state: Vec<(String, Tensor)>) -> anyhow::Result<()> {
        let mut parts: BTreeMap<usize, [Option<Tensor>; 3]> = BTreeMap::new();
        for (name, t) in state {
            let (slot, key) = parse_name(&name)?;
            let i = match key {
                "exp_avg" => 0,
                "exp_avg_sq" => 1,
                "step" => 2,
                _ => anyhow::bail!("unexpected Adam state entry {name:?}"),
            };
            parts.entry(slot).or_default()[i] = Some(t);
        }
        let mut slots = BTreeMap::new();
        for (slot, [m, v, step]) in parts {
            let (Some(m), Some(v), Some(step)) = (m, v, step) else {
                anyhow::bail!("Adam state of slot {slot} is incomplete");
            };
            anyhow::ensure!(
                m.shape() == v.shape(),
                "Adam state of slot {slot}: moment shapes differ"
            );
            let step = step.to_vec()[0] as u64;
            slots.insert(
                slot,
                Slot {
                    exp_avg: m,
                    exp_avg_sq: v,
                    step,
                },
            );
        }
        self.slots = slots;
        Ok(())
    }
}
