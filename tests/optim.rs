//! Optimisers: several steps of SGD (momentum, weight decay, clipping, lr multipliers) and Adam
//! against torch.optim fixtures and an f64 CPU reference of the update rules; state export and
//! import (a resumed run equals an uninterrupted one).

mod common;
use common::*;
use hinas::gpu::Tensor;
use hinas::optim::{Adam, Optimizer, ParamRef, Sgd};

const NAMES: [&str; 3] = ["w1", "w2", "bias"];
const STEPS: usize = 6;

#[derive(Clone, Copy)]
enum Kind {
    Sgd { momentum: f64, clip: Option<f64> },
    Adam,
}

/// One fixture config: the optimiser, and per parameter (lr_scale, weight_decay).
struct Cfg {
    name: &'static str,
    kind: Kind,
    groups: [(f32, f32); 3],
}

const CFGS: [Cfg; 4] = [
    Cfg {
        name: "sgd_search",
        kind: Kind::Sgd {
            momentum: 0.9,
            clip: None,
        },
        groups: [(1.0, 3e-4), (1.0, 3e-4), (1.0, 3e-4)],
    },
    Cfg {
        name: "sgd_train",
        kind: Kind::Sgd {
            momentum: 0.9,
            clip: Some(5.0),
        },
        groups: [(1.0, 4e-5), (1.0, 4e-5), (2.0, 0.0)],
    },
    Cfg {
        name: "sgd_plain",
        kind: Kind::Sgd {
            momentum: 0.0,
            clip: Some(1.0),
        },
        groups: [(1.0, 1e-2), (1.0, 1e-2), (1.0, 1e-2)],
    },
    Cfg {
        name: "adam",
        kind: Kind::Adam,
        groups: [(1.0, 1e-3), (1.0, 1e-3), (2.0, 1e-3)],
    },
];

/// In the Adam config w2 (index 1) has no gradient in steps 0 and 1, as in the fixture.
fn skipped(cfg: &Cfg, param: usize, step: usize) -> bool {
    matches!(cfg.kind, Kind::Adam) && param == 1 && step < 2
}

/// f64 reference of one parameter's trajectory; returns the value after every step.
fn reference(cfg: &Cfg, pi: usize, init: &[f64], grads: &[Vec<f64>], lrs: &[f64]) -> Vec<Vec<f64>> {
    let (scale, wd) = (cfg.groups[pi].0 as f64, cfg.groups[pi].1 as f64);
    let n = init.len();
    let mut p = init.to_vec();
    let mut buf: Option<Vec<f64>> = None;
    let (mut m, mut v, mut t) = (vec![0.0; n], vec![0.0; n], 0);
    let mut out = Vec::new();
    for (s, g) in grads.iter().enumerate() {
        if skipped(cfg, pi, s) {
            out.push(p.clone());
            continue;
        }
        let lr = lrs[s] * scale;
        match cfg.kind {
            Kind::Sgd { momentum, clip } => {
                let d: Vec<f64> = (0..n)
                    .map(|i| {
                        let gi = clip.map_or(g[i], |c| g[i].clamp(-c, c));
                        gi + wd * p[i]
                    })
                    .collect();
                let step = if momentum == 0.0 {
                    d
                } else {
                    let b = match buf.take() {
                        None => d,
                        Some(b) => (0..n).map(|i| momentum * b[i] + d[i]).collect(),
                    };
                    buf = Some(b.clone());
                    b
                };
                for i in 0..n {
                    p[i] -= lr * step[i];
                }
            }
            Kind::Adam => {
                t += 1;
                let (b1, b2, eps) = (0.9f64, 0.999f64, 1e-8);
                let bc1 = 1.0 - b1.powi(t);
                let bc2 = 1.0 - b2.powi(t);
                for i in 0..n {
                    let gi = g[i] + wd * p[i];
                    m[i] = b1 * m[i] + (1.0 - b1) * gi;
                    v[i] = b2 * v[i] + (1.0 - b2) * gi * gi;
                    p[i] -= lr / bc1 * m[i] / (v[i].sqrt() / bc2.sqrt() + eps);
                }
            }
        }
        out.push(p.clone());
    }
    out
}

fn make_opt(kind: Kind) -> Box<dyn Optimizer> {
    match kind {
        Kind::Sgd { momentum, clip } => Box::new(Sgd::new(momentum as f32, clip.map(|c| c as f32))),
        Kind::Adam => Box::new(Adam::new()),
    }
}

struct Problem {
    init: Vec<(Vec<usize>, Vec<f32>)>,
    /// grads[param][step]
    grads: Vec<Vec<Vec<f32>>>,
    lrs: Vec<f32>,
}

fn problem(fx: &Fixture) -> Problem {
    let init = NAMES
        .iter()
        .map(|k| {
            let (s, d) = fx.get(&format!("{k}.init"));
            (s.to_vec(), d.to_vec())
        })
        .collect::<Vec<_>>();
    let grads = NAMES
        .iter()
        .zip(&init)
        .map(|(k, (_, d))| {
            let (_, g) = fx.get(&format!("{k}.g"));
            g.chunks(d.len()).map(|c| c.to_vec()).collect()
        })
        .collect();
    Problem {
        init,
        grads,
        lrs: fx.get("lrs").1.to_vec(),
    }
}

/// Runs steps `range` of `cfg` on the GPU with `opt` and the given parameters; calls `each`
/// with the step index and the parameter values after the step.
fn run_steps(
    cfg: &Cfg,
    opt: &mut dyn Optimizer,
    params: &[Tensor],
    pb: &Problem,
    range: std::ops::Range<usize>,
    each: &mut dyn FnMut(usize, Vec<Vec<f32>>),
) {
    let gpu = gpu();
    for s in range {
        let grads: Vec<Tensor> = (0..3)
            .map(|i| Tensor::from_slice(&gpu, params[i].shape(), &pb.grads[i][s]))
            .collect();
        let refs: Vec<ParamRef> = (0..3)
            .filter(|&i| !skipped(cfg, i, s))
            .map(|i| {
                ParamRef::new(i, &params[i], &grads[i])
                    .lr_scale(cfg.groups[i].0)
                    .weight_decay(cfg.groups[i].1)
            })
            .collect();
        opt.step(pb.lrs[s], &refs);
        each(s, params.iter().map(|p| p.to_vec()).collect());
    }
}

#[test]
fn steps_match_torch_and_f64_reference() {
    let gpu = gpu();
    let fx = Fixture::load("optim");
    let pb = problem(&fx);
    let lrs64 = to_f64(&pb.lrs);
    for cfg in &CFGS {
        let refs: Vec<Vec<Vec<f64>>> = (0..3)
            .map(|i| {
                let g: Vec<Vec<f64>> = pb.grads[i].iter().map(|g| to_f64(g)).collect();
                reference(cfg, i, &to_f64(&pb.init[i].1), &g, &lrs64)
            })
            .collect();
        let params: Vec<Tensor> = pb
            .init
            .iter()
            .map(|(s, d)| Tensor::from_slice(&gpu, s, d))
            .collect();
        let mut opt = make_opt(cfg.kind);
        run_steps(cfg, opt.as_mut(), &params, &pb, 0..STEPS, &mut |s, vals| {
            for (i, got) in vals.iter().enumerate() {
                let what = format!("{} {} step {s}", cfg.name, NAMES[i]);
                let n = got.len();
                let torch = fx.data(&format!("{}.{}", cfg.name, NAMES[i]));
                close(
                    &format!("{what} vs torch"),
                    got,
                    &torch[s * n..(s + 1) * n],
                    1e-5,
                );
                close(&format!("{what} vs f64"), got, &refs[i][s], 1e-5);
            }
        });
    }
}

/// The updates must actually move the parameters (guards against a vacuous pass where the
/// kernels do nothing and the fixture happens to match the initial values): one GPU step of
/// every optimiser moves every parameter it was given, and so does the fixture's first step.
#[test]
fn steps_change_parameters() {
    let gpu = gpu();
    let fx = Fixture::load("optim");
    let pb = problem(&fx);
    let max_moved = |a: &[f32], b: &[f32]| {
        a.iter()
            .zip(b)
            .fold(0.0f64, |m, (a, b)| m.max((*a as f64 - *b as f64).abs()))
    };
    for cfg in &CFGS {
        let params: Vec<Tensor> = pb
            .init
            .iter()
            .map(|(s, d)| Tensor::from_slice(&gpu, s, d))
            .collect();
        let mut opt = make_opt(cfg.kind);
        let mut stepped = 0;
        run_steps(cfg, opt.as_mut(), &params, &pb, 0..1, &mut |s, vals| {
            for (i, got) in vals.iter().enumerate() {
                let moved = max_moved(got, &pb.init[i].1);
                if skipped(cfg, i, s) {
                    assert_eq!(
                        moved, 0.0,
                        "{} {}: moved without a gradient",
                        cfg.name, NAMES[i]
                    );
                } else {
                    assert!(
                        moved > 1e-4,
                        "{} {}: step moved it by {moved}",
                        cfg.name,
                        NAMES[i]
                    );
                    stepped += 1;
                }
            }
        });
        assert!(stepped >= 2, "{}: {stepped} parameters stepped", cfg.name);
        let traj = fx.get(&format!("{}.w1", cfg.name)).1;
        let init = &pb.init[0].1;
        let moved = max_moved(&traj[..init.len()], init);
        assert!(
            moved > 1e-4,
            "{}: fixture's first step moved w1 by {moved}",
            cfg.name
        );
    }
}

#[test]
fn resumed_state_continues_identically() {
    let gpu = gpu();
    let fx = Fixture::load("optim");
    let pb = problem(&fx);
    for cfg in &CFGS {
        let fresh = || -> Vec<Tensor> {
            pb.init
                .iter()
                .map(|(s, d)| Tensor::from_slice(&gpu, s, d))
                .collect()
        };
        // Uninterrupted.
        let a = fresh();
        let mut opt = make_opt(cfg.kind);
        run_steps(cfg, opt.as_mut(), &a, &pb, 0..STEPS, &mut |_, _| {});
        // Three steps, export, a new optimiser loads the state (after a round trip through the
        // host, as a checkpoint would), three more steps.
        let b = fresh();
        let mut first = make_opt(cfg.kind);
        run_steps(cfg, first.as_mut(), &b, &pb, 0..3, &mut |_, _| {});
        let state: Vec<(String, Tensor)> = first
            .state()
            .into_iter()
            .map(|(k, t)| (k, Tensor::from_slice(&gpu, t.shape(), &t.to_vec())))
            .collect();
        assert!(!state.is_empty(), "{}: empty state", cfg.name);
        drop(first);
        let mut second = make_opt(cfg.kind);
        second.load_state(state).unwrap();
        run_steps(cfg, second.as_mut(), &b, &pb, 3..STEPS, &mut |_, _| {});
        for i in 0..3 {
            assert_eq!(a[i].to_vec(), b[i].to_vec(), "{} {}", cfg.name, NAMES[i]);
        }
    }
}

#[test]
fn state_names_and_step_counters() {
    let gpu = gpu();
    let p = Tensor::from_slice(&gpu, &[3], &[1.0, -2.0, 0.5]);
    let g = Tensor::from_slice(&gpu, &[3], &[0.1, 0.2, -0.3]);
    let mut adam = Adam::new();
    for _ in 0..4 {
        adam.step(1e-3, &[ParamRef::new(7, &p, &g)]);
    }
    assert_eq!(adam.slot_steps(7), 4);
    let names: Vec<String> = adam.state().into_iter().map(|(k, _)| k).collect();
    assert_eq!(names, ["7.exp_avg", "7.exp_avg_sq", "7.step"]);
    let step = adam.state().pop().unwrap().1.to_vec();
    assert_eq!(step, [4.0]);

    let mut sgd = Sgd::new(0.9, None);
    sgd.step(0.1, &[ParamRef::new(2, &p, &g)]);
    let names: Vec<String> = sgd.state().into_iter().map(|(k, _)| k).collect();
    assert_eq!(names, ["2.momentum_buffer", "steps"]);
    assert!(Sgd::new(0.9, None)
        .load_state(vec![("x.momentum_buffer".into(), p.clone())])
        .is_err());
}

/// Builds a fresh optimiser.
type MakeOpt = fn() -> Box<dyn Optimizer>;

/// Steps batched four tensors per dispatch (the default where the device binds 17 storage
/// buffers) against one dispatch per tensor: every parameter and state tensor equal to the bit
/// after several steps, for SGD without momentum, with momentum (a slot's first step, then
/// later ones) and clipping, and Adam; nine tensors (two full batches and one of one) of sizes
/// across workgroup boundaries, one empty, different lr multipliers and weight decays, and a
/// slot joining at the second step (so one step mixes first-step and later-step SGD tensors).
#[test]
fn batched_updates_equal_one_dispatch_per_tensor() {
    let gpu = gpu();
    let sizes = [1usize, 255, 256, 257, 1000, 0, 3, 4096, 700];
    let kinds: [(&str, MakeOpt); 4] = [
        ("sgd plain", || Box::new(Sgd::new(0.0, None))),
        ("sgd momentum", || Box::new(Sgd::new(0.9, None))),
        ("sgd momentum clip", || Box::new(Sgd::new(0.9, Some(0.05)))),
        ("adam", || Box::new(Adam::new())),
    ];
    for (name, make) in kinds {
        let run = || {
            let mut r = rng(5);
            let params: Vec<Tensor> = sizes
                .iter()
                .map(|&n| Tensor::from_slice(&gpu, &[n], &to_f32(&uniform(&mut r, n, -1.0, 1.0))))
                .collect();
            let mut opt = make();
            for step in 0..4 {
                let grads: Vec<Tensor> = sizes
                    .iter()
                    .map(|&n| {
                        Tensor::from_slice(&gpu, &[n], &to_f32(&uniform(&mut r, n, -0.2, 0.2)))
                    })
                    .collect();
                let refs: Vec<ParamRef> = (0..sizes.len())
                    .filter(|&i| !(i == 4 && step == 0))
                    .map(|i| {
                        ParamRef::new(i, &params[i], &grads[i])
                            .lr_scale(1.0 + 0.25 * (i % 3) as f32)
                            .weight_decay(if i % 2 == 0 { 1e-3 } else { 0.0 })
                    })
                    .collect();
                opt.step(0.05 / (1.0 + step as f32), &refs);
            }
            let mut out: Vec<(String, Vec<f32>)> = (params.iter().enumerate())
                .map(|(i, p)| (format!("param {i}"), p.to_vec()))
                .collect();
            out.extend(opt.state().into_iter().map(|(k, t)| (k, t.to_vec())));
            out
        };
        let batched = run();
        let single = hinas::optim::with_single_tensor_updates(run);
        assert_eq!(batched.len(), single.len(), "{name}: state entries");
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        for ((ka, a), (kb, b)) in batched.iter().zip(&single) {
            assert_eq!(ka, kb, "{name}: state names");
            assert_eq!(bits(a), bits(b), "{name}: {ka} differs");
        }
        // And the steps moved the parameters (the comparison is not of untouched tensors).
        let mut r = rng(5);
        let first = to_f32(&uniform(&mut r, sizes[0], -1.0, 1.0));
        assert_ne!(batched[0].1, first, "{name}: parameter 0 did not move");
    }
}
