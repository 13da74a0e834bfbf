//! The HiNAS supernet (docs/method.md §2-§3): stem, a trellis of layers x width levels whose cells are
//! shared across incoming levels, routers between levels weighted by beta, and the ASPP head.

use super::candidates::OpKind;
use super::cell::{edge_count, SearchCell};
use super::layers::{Act, ConvBn, ConvBnSpec, Mode};
use super::params::{Bound, Group, ParamId, ParamStore};
use super::space::{OutputForm, SpaceCfg};
use crate::gpu::Tensor;
use crate::ops::conv2d::Conv2dCfg;
use crate::ops::{concat, elementwise as ew, mixed, softmax};
use crate::tape::{Tape, Var};
use rand::Rng;

/// The logit added to impossible moves before the softmax (as the official code does).
const MASKED: f32 = -50.0;

/// Number of router rows (source nodes) feeding layer `l`.
pub fn sources(cfg: &SpaceCfg, l: usize) -> usize {
    if l == 0 {
        1
    } else {
        cfg.top_level(l - 1) + 1
    }
}

/// Row of beta belonging to the router of source level `i` feeding layer `l`.
pub fn router_row(cfg: &SpaceCfg, l: usize, i: usize) -> usize {
    (0..l).map(|m| sources(cfg, m)).sum::<usize>() + i
}

pub fn router_rows(cfg: &SpaceCfg) -> usize {
    router_row(cfg, cfg.layers, 0)
}

/// The -50/0 mask over beta: a move is impossible when its target level does not exist.
pub fn beta_mask(cfg: &SpaceCfg) -> Vec<f32> {
    let mut m = vec![0.0; router_rows(cfg) * 3];
    for l in 0..cfg.layers {
        for i in 0..sources(cfg, l) {
            for d in 0..3 {
                let j = i as isize + d as isize - 1;
                if j < 0 || j > cfg.top_level(l) as isize {
                    m[router_row(cfg, l, i) * 3 + d] = MASKED;
                }
            }
        }
    }
    m
}

/// One ASPP branch set: the separable dilated conv (its BNs affine, as the official `sep3x3_bn`
/// always is), the 1x1 conv and the merge (affine only when the space says so).
struct Aspp {
    dilated: ConvBn,
    dilated_pw: ConvBn,
    pointwise: ConvBn,
    merge: ConvBn,
}

pub struct Supernet {
    pub cfg: SpaceCfg,
    widths: Vec<usize>,
    act: Act,
    stem1: ConvBn,
    stem2: ConvBn,
    reduce1: ConvBn,
    /// upsamplers[j-1] makes the prev-prev input of level j when it first appears.
    upsamplers: Vec<ConvBn>,
    /// routers[l][i][d]: 1x1 conv + BN from source level i to level i+d-1 (None if impossible).
    routers: Vec<Vec<[Option<ConvBn>; 3]>>,
    cells: Vec<Vec<SearchCell>>,
    aspp: Vec<Aspp>,
    head_conv: ConvBn,
    head_out: super::layers::Conv,
    pub alpha: ParamId,
    pub beta: ParamId,
    beta_mask: Tensor,
}

impl Supernet {
    pub fn new(s: &mut ParamStore, rng: &mut impl Rng, cfg: &SpaceCfg) -> anyhow::Result<Supernet> {
        cfg.validate()?;
        let kinds: Vec<OpKind> = cfg.op_kinds()?;
        let widths = cfg.widths();
        let act = cfg.act();
        let f4 = cfg.nodes * widths[0];
        let c3 = |p| Conv2dCfg::new(1, p, 1, 1);
        let stem = cfg.stem_channels;
        let stem1 = ConvBn::new(
            s,
            rng,
            "stem1",
            ConvBnSpec::new(cfg.channels, stem, 3, c3(1)).act(act),
        );
        let stem2 = ConvBn::new(s, rng, "stem2", ConvBnSpec::new(stem, f4, 3, c3(1)));
        let reduce1 = ConvBn::new(
            s,
            rng,
            "reduce1",
            ConvBnSpec::new(stem, widths[0], 3, c3(1)),
        );
        let upsamplers = (1..cfg.levels)
            .map(|j| {
                ConvBn::new(
                    s,
                    rng,
                    &format!("up{j}"),
                    ConvBnSpec::new(widths[j - 1], widths[j], 1, c3(0)),
                )
            })
            .collect();
        let mut routers = Vec::new();
        let mut cells = Vec::new();
        for l in 0..cfg.layers {
            let top = cfg.top_level(l);
            let layer_routers = (0..sources(cfg, l))
                .map(|i| {
                    [0usize, 1, 2].map(|d| {
                        let j = i as isize + d as isize - 1;
                        (j >= 0 && j <= top as isize).then(|| {
                            let name = format!("router{l}.{i}.{d}");
                            ConvBn::new(
                                s,
                                rng,
                                &name,
                                ConvBnSpec::new(
                                    cfg.nodes * widths[i],
                                    widths[j as usize],
                                    1,
                                    c3(0),
                                ),
                            )
                        })
                    })
                })
                .collect();
            routers.push(layer_routers);
            cells.push(
                (0..=top)
                    .map(|j| {
                        SearchCell::new(
                            s,
                            rng,
                            &format!("cell{l}.{j}"),
                            widths[j],
                            cfg.nodes,
                            &kinds,
                        )
                    })
                    .collect(),
            );
        }
        let last_top = cfg.top_level(cfg.layers - 1);
        let aspp = (0..=last_top)
            .map(|j| {
                let c = cfg.nodes * widths[j];
                let d = cfg.aspp_dilation;
                Aspp {
                    dilated: ConvBn::new(
                        s,
                        rng,
                        &format!("aspp{j}.dw"),
                        ConvBnSpec::new(c, c, 3, Conv2dCfg::new(1, d, d, c))
                            .affine()
                            .act(act),
                    ),
                    dilated_pw: ConvBn::new(
                        s,
                        rng,
                        &format!("aspp{j}.pw"),
                        ConvBnSpec::new(c, f4, 1, c3(0)).affine().act(act),
                    ),
                    pointwise: ConvBn::new(
                        s,
                        rng,
                        &format!("aspp{j}.conv1x1"),
                        ConvBnSpec::new(c, f4, 1, c3(0)).act(act),
                    ),
                    merge: ConvBn::new(
                        s,
                        rng,
                        &format!("aspp{j}.merge"),
                        ConvBnSpec::new(2 * f4, f4, 1, c3(0)).act(act),
                    ),
                }
            })
            .collect::<Vec<_>>();
        let hc = f4 * (last_top + 1);
        let head_conv = ConvBn::new(
            s,
            rng,
            "head.conv",
            ConvBnSpec::new(hc, hc, 3, c3(1)).act(act),
        );
        let head_out =
            super::layers::Conv::new(s, rng, "head.out", hc, cfg.channels, 3, c3(1), true);
        let e = edge_count(cfg.nodes);
        let sets = if cfg.tied_cells { 1 } else { cfg.layers };
        let alpha = s.add(
            "alpha",
            &[sets * e, kinds.len()],
            &vec![1.0; sets * e * kinds.len()],
            Group::Arch,
        );
        let rows = router_rows(cfg);
        let beta = s.add("beta", &[rows, 3], &vec![1.0; rows * 3], Group::Arch);
        let beta_mask = Tensor::from_slice(s.gpu(), &[rows, 3], &beta_mask(cfg));
        Ok(Supernet {
            cfg: cfg.clone(),
            widths,
            act,
            stem1,
            stem2,
            reduce1,
            upsamplers,
            routers,
            cells,
            aspp,
            head_conv,
            head_out,
            alpha,
            beta,
            beta_mask,
        })
    }

    pub fn widths(&self) -> &[usize] {
        &self.widths
    }

    /// softmax(alpha) rows and the masked softmax(beta) rows, as tape values.
    pub fn arch_weights(&self, t: &mut Tape, p: &Bound) -> (Var, Var) {
        let a = softmax::softmax(t, p.var(self.alpha));
        let mask = t.constant(self.beta_mask.clone());
        let b = ew::add(t, p.var(self.beta), &mask);
        (a, softmax::softmax(t, &b))
    }

    /// The denoised estimate for a noisy batch `x` [N, channels, H, W].
    pub fn forward(&self, t: &mut Tape, p: &Bound, x: &Var, mode: Mode) -> Var {
        let (alpha, beta) = self.arch_weights(t, p);
        let e = edge_count(self.cfg.nodes);
        let s1 = self.stem1.forward(t, p, x, mode);
        let s1a = self.act.apply(t, &s1);
        let mut h = vec![self.stem2.forward(t, p, &s1a, mode)];
        let mut in1 = vec![self.reduce1.forward(t, p, &s1, mode)];
        for l in 0..self.cfg.layers {
            let top = self.cfg.top_level(l);
            let mut contrib: Vec<Vec<(Var, usize)>> = vec![Vec::new(); top + 1];
            for (i, moves) in self.routers[l].iter().enumerate() {
                for (d, mv) in moves.iter().enumerate() {
                    if let Some(conv) = mv {
                        let y = conv.forward(t, p, &h[i], mode);
                        contrib[i + d - 1].push((y, router_row(&self.cfg, l, i) * 3 + d));
                    }
                }
            }
            while in1.len() <= top {
                let j = in1.len();
                let up = self.upsamplers[j - 1].forward(t, p, &in1[j - 1], mode);
                in1.push(up);
            }
            let row0 = if self.cfg.tied_cells { 0 } else { l * e };
            let mut in0 = Vec::new();
            let mut h_new = Vec::new();
            for (j, inputs) in contrib.iter().enumerate() {
                let ys: Vec<&Var> = inputs.iter().map(|(y, _)| y).collect();
                let idx: Vec<usize> = inputs.iter().map(|(_, k)| *k).collect();
                let merged = mixed::weighted_sum(t, &ys, &beta, &idx);
                let cell = &self.cells[l][j];
                let out = if self.cfg.cell_sharing {
                    cell.forward(t, p, &in1[j], &merged, &alpha, row0, self.act, mode)
                } else {
                    let outs: Vec<Var> = ys
                        .iter()
                        .map(|y| cell.forward(t, p, &in1[j], y, &alpha, row0, self.act, mode))
                        .collect();
                    let refs: Vec<&Var> = outs.iter().collect();
                    mixed::weighted_sum(t, &refs, &beta, &idx)
                };
                in0.push(merged);
                h_new.push(out);
            }
            in1 = in0;
            h = h_new;
        }
        let heads: Vec<Var> = h
            .iter()
            .zip(&self.aspp)
            .map(|(x, a)| {
                let d = a.dilated.forward(t, p, x, mode);
                let d = a.dilated_pw.forward(t, p, &d, mode);
                let q = a.pointwise.forward(t, p, x, mode);
                let cat = concat::concat(t, &[&d, &q]);
                a.merge.forward(t, p, &cat, mode)
            })
            .collect();
        let refs: Vec<&Var> = heads.iter().collect();
        let cat = concat::concat(t, &refs);
        let y = self.head_conv.forward(t, p, &cat, mode);
        let noise = self.head_out.forward(t, p, &y);
        apply_output(t, self.cfg.output, x, &noise)
    }
}

/// The denoised image from the noisy input and the head's output, as `form` says.
pub fn apply_output(t: &mut Tape, form: OutputForm, noisy: &Var, head: &Var) -> Var {
    match form {
        OutputForm::Residual => ew::sub(t, noisy, head),
        OutputForm::SigmoidResidual => {
            let r = ew::sub(t, noisy, head);
            ew::sigmoid(t, &r)
        }
        OutputForm::Sigmoid => ew::sigmoid(t, head),
    }
}
