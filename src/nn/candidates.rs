//! The candidate operations of a cell edge (docs/method.md §1): pre-activation order act -> op -> BN,
//! all convs bias-free, stride 1, C -> C channels.

use super::layers::{Act, BatchNorm, Conv, DeformConv, Mode};
use super::params::{Bound, ParamStore};
use crate::onnx::graph::OnnxGraph;
use crate::ops::conv2d::Conv2dCfg;
use crate::tape::{Tape, Var};
use rand::Rng;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OpKind {
    Conv3x3,
    Sep3x3,
    Sep5x5,
    Dil3x3,
    Dil5x5,
    Deform3x3,
    Skip,
    Zero,
}

/// (registry name, kind). Names follow the official code (one_stage_nas/darts/operations.py).
pub const REGISTRY: [(&str, OpKind); 8] = [
    ("con_c_3x3", OpKind::Conv3x3),
    ("sep_c_3x3", OpKind::Sep3x3),
    ("sep_c_5x5", OpKind::Sep5x5),
    ("dil_c_3x3", OpKind::Dil3x3),
    ("dil_c_5x5", OpKind::Dil5x5),
    ("def_c_3x3", OpKind::Deform3x3),
    ("skip_connect", OpKind::Skip),
    ("none", OpKind::Zero),
];

impl OpKind {
    pub fn from_name(name: &str) -> anyhow::Result<OpKind> {
        REGISTRY
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, k)| *k)
            .ok_or_else(|| {
                let known: Vec<&str> = REGISTRY.iter().map(|(n, _)| *n).collect();
                anyhow::anyhow!("unknown op {name:?} (known: {})", known.join(", "))
            })
    }
    pub fn name(self) -> &'static str {
        REGISTRY
            .iter()
            .find(|(_, k)| *k == self)
            .map(|(n, _)| *n)
            .unwrap()
    }
}

pub struct SepStage {
    pub dw: Conv,
    pub pw: Conv,
    pub bn: BatchNorm,
}

fn dense(
    s: &mut ParamStore,
    rng: &mut impl Rng,
    name: &str,
    c: usize,
    k: usize,
    dil: usize,
    affine: bool,
) -> Candidate {
    let cfg = Conv2dCfg::new(1, dil * (k - 1) / 2, dil, 1);
    let conv = Conv::new(s, rng, &format!("{name}.conv"), c, c, k, cfg, false);
    let bn = BatchNorm::new(s, &format!("{name}.bn"), c, affine);
    Candidate::Dense { conv, bn }
}

pub enum Candidate {
    /// A dense conv (plain or dilated) followed by BN.
    Dense {
        conv: Conv,
        bn: BatchNorm,
    },
    /// DARTS-style separable conv, applied twice.
    Sep {
        stages: Vec<SepStage>,
    },
    Deform {
        dcn: DeformConv,
        bn: BatchNorm,
    },
    Skip,
    Zero,
}

impl Candidate {
    pub fn new(
        kind: OpKind,
        s: &mut ParamStore,
        rng: &mut impl Rng,
        name: &str,
        c: usize,
        affine: bool,
    ) -> Candidate {
        match kind {
            OpKind::Conv3x3 => dense(s, rng, name, c, 3, 1, affine),
            OpKind::Dil3x3 => dense(s, rng, name, c, 3, 2, affine),
            OpKind::Dil5x5 => dense(s, rng, name, c, 5, 2, affine),
            OpKind::Sep3x3 | OpKind::Sep5x5 => {
                let k = if kind == OpKind::Sep3x3 { 3 } else { 5 };
                let stages = (0..2)
                    .map(|i| SepStage {
                        dw: Conv::new(
                            s,
                            rng,
                            &format!("{name}.{i}.dw"),
                            c,
                            c,
                            k,
                            Conv2dCfg::new(1, k / 2, 1, c),
                            false,
                        ),
                        pw: Conv::new(
                            s,
                            rng,
                            &format!("{name}.{i}.pw"),
                            c,
                            c,
                            1,
                            Conv2dCfg::default(),
                            false,
                        ),
                        bn: BatchNorm::new(s, &format!("{name}.{i}.bn"), c, affine),
                    })
                    .collect();
                Candidate::Sep { stages }
            }
            OpKind::Deform3x3 => Candidate::Deform {
                dcn: DeformConv::new(s, rng, &format!("{name}.dcn"), c, 3, 2),
                bn: BatchNorm::new(s, &format!("{name}.bn"), c, affine),
            },
            OpKind::Skip => Candidate::Skip,
            OpKind::Zero => Candidate::Zero,
        }
    }

    /// The op's output, or `None` for the zero op (which contributes nothing to a sum).
    /// `acted` holds `act(x)` once some candidate has computed it: every op but skip and zero
    /// starts with it, and a cell feeds each state to several edges of several ops, so sharing
    /// it saves one activation (and its saved tensor and backward) per extra reader.
    pub fn forward(
        &self,
        t: &mut Tape,
        p: &Bound,
        x: &Var,
        acted: &mut Option<Var>,
        act: Act,
        mode: Mode,
    ) -> Option<Var> {
        let mut pre_act = |t: &mut Tape| acted.get_or_insert_with(|| act.apply(t, x)).clone();
        match self {
            Candidate::Dense { conv, bn } => {
                let y = pre_act(t);
                let y = conv.forward(t, p, &y);
                Some(bn.forward(t, p, &y, mode))
            }
            Candidate::Sep { stages } => {
                // act -> dw -> pw -> BN per stage; a stage's BN applies the next stage's act.
                let mut y = pre_act(t);
                for (i, st) in stages.iter().enumerate() {
                    y = st.dw.forward(t, p, &y);
                    y = st.pw.forward(t, p, &y);
                    y = if i + 1 < stages.len() {
                        st.bn.forward_act(t, p, &y, mode, act)
                    } else {
                        st.bn.forward(t, p, &y, mode)
                    };
                }
                Some(y)
            }
            Candidate::Deform { dcn, bn } => {
                let y = pre_act(t);
                let y = dcn.forward(t, p, &y);
                Some(bn.forward(t, p, &y, mode))
            }
            Candidate::Skip => Some(x.clone()),
            Candidate::Zero => None,
        }
    }

    pub fn export(&self, g: &mut OnnxGraph, x: &str, act: Act) -> Option<String> {
        match self {
            Candidate::Dense { conv, bn } => {
                let y = act.export(g, x);
                let y = conv.export(g, &y);
                Some(bn.export(g, &y))
            }
            Candidate::Sep { stages } => {
                let mut y = x.to_string();
                for st in stages {
                    y = act.export(g, &y);
                    y = st.dw.export(g, &y);
                    y = st.pw.export(g, &y);
                    y = st.bn.export(g, &y);
                }
                Some(y)
            }
            Candidate::Deform { dcn, bn } => {
                let y = act.export(g, x);
                let y = dcn.export(g, &y);
                Some(bn.export(g, &y))
            }
            Candidate::Skip => Some(x.to_string()),
            Candidate::Zero => None,
        }
    }
}
