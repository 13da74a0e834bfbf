//! The derived (retrained) network, Dn_compnet of the official code (docs/method.md §3): a chain of
//! the chosen cells at the chosen widths, with scalers feeding each cell, a decoder head, and
//! the space's output form (global residual learning, output = noisy - predicted noise, in both
//! presets), the same as the supernet's.

use super::cell::DerivedCell;
use super::genotype::Genotype;
use super::layers::{Act, Conv, ConvBn, ConvBnSpec, Mode};
use super::params::{Bound, ParamStore};
use super::space::OutputForm;
use crate::onnx::graph::OnnxGraph;
use crate::onnx::proto::Attribute;
use crate::ops::concat;
use crate::ops::conv2d::Conv2dCfg;
use crate::tape::{Tape, Var};
use rand::Rng;

/// depthwise 3x3 -> BN -> act -> 1x1 -> BN -> act.
struct SepBn {
    dw: ConvBn,
    pw: ConvBn,
}

impl SepBn {
    fn new(
        s: &mut ParamStore,
        rng: &mut impl Rng,
        name: &str,
        cin: usize,
        cout: usize,
        act: Act,
    ) -> SepBn {
        SepBn {
            dw: ConvBn::new(
                s,
                rng,
                &format!("{name}.dw"),
                ConvBnSpec::new(cin, cin, 3, Conv2dCfg::new(1, 1, 1, cin))
                    .affine()
                    .act(act),
            ),
            pw: ConvBn::new(
                s,
                rng,
                &format!("{name}.pw"),
                ConvBnSpec::new(cin, cout, 1, Conv2dCfg::default())
                    .affine()
                    .act(act),
            ),
        }
    }
    fn forward(&self, t: &mut Tape, p: &Bound, x: &Var, mode: Mode) -> Var {
        let y = self.dw.forward(t, p, x, mode);
        self.pw.forward(t, p, &y, mode)
    }
    fn export(&self, g: &mut OnnxGraph, x: &str) -> String {
        let y = self.dw.export(g, x);
        self.pw.export(g, &y)
    }
}

/// act -> 1x1 conv -> BN: brings a tensor to a cell's width.
struct Scaler(ConvBn);

impl Scaler {
    fn forward(&self, t: &mut Tape, p: &Bound, x: &Var, act: Act, mode: Mode) -> Var {
        let y = act.apply(t, x);
        self.0.forward(t, p, &y, mode)
    }
    fn export(&self, g: &mut OnnxGraph, x: &str, act: Act) -> String {
        let y = act.export(g, x);
        self.0.export(g, &y)
    }
}

/// The cell whose output feeds the decoder's low-level branch (the official `dn_compnet.py`
/// rule, docs/method.md §3): the cell at the *last* index where the path is on level 0, unless
/// that is the final cell or the path never visits level 0; `None` means the decoder reads
/// `reduce(stem2)` instead.
pub fn decoder_endpoint(path: &[usize]) -> Option<usize> {
    let last_level0 = path.iter().rposition(|&level| level == 0)?;
    (last_level0 + 1 < path.len()).then_some(last_level0)
}

pub struct DerivedNet {
    pub genotype: Genotype,
    act: Act,
    stem1: ConvBn,
    stem2: ConvBn,
    scalers: Vec<(Scaler, Scaler)>,
    cells: Vec<DerivedCell>,
    /// Index of the cell whose output feeds the decoder's low-level branch, or the reduce conv.
    low_source: Result<usize, ConvBn>,
    low: ConvBn,
    high: ConvBn,
    sep1: SepBn,
    sep2: SepBn,
    out: Conv,
}

impl DerivedNet {
    /// `filter_multiplier` is f of the retrained net (20 in the paper; the genotype's search f is
    /// usually smaller).
    pub fn new(
        s: &mut ParamStore,
        rng: &mut impl Rng,
        g: &Genotype,
        filter_multiplier: usize,
    ) -> anyhow::Result<Self> {
        g.validate()?;
        let mut space = g.space.clone();
        space.filter_multiplier = filter_multiplier;
        let widths = space.widths();
        anyhow::ensure!(
            widths.iter().all(|&w| w >= 1),
            "filter multiplier {filter_multiplier} gives an empty level"
        );
        let act = space.act();
        let st = space.stem_channels;
        let c3 = Conv2dCfg::new(1, 1, 1, 1);
        let c1 = Conv2dCfg::default();
        let stem1 = ConvBn::new(
            s,
            rng,
            "stem1",
            ConvBnSpec::new(space.channels, st, 3, c3).affine().act(act),
        );
        let stem2 = ConvBn::new(s, rng, "stem2", ConvBnSpec::new(st, st, 3, c3).affine());
        let mut scalers = Vec::new();
        let mut cells = Vec::new();
        let (mut prev_c, mut prevprev_c) = (st, st);
        for (l, (&level, edges)) in g.path.iter().zip(&g.cells).enumerate() {
            let c = widths[level];
            let sc = |s: &mut ParamStore, rng: &mut _, name: &str, cin| {
                Scaler(ConvBn::new(
                    s,
                    rng,
                    &format!("cell{l}.{name}"),
                    ConvBnSpec::new(cin, c, 1, c1).affine(),
                ))
            };
            let pp = sc(s, rng, "pre0", prevprev_c);
            let pr = sc(s, rng, "pre1", prev_c);
            scalers.push((pp, pr));
            cells.push(DerivedCell::new(s, rng, &format!("cell{l}"), c, edges)?);
            prevprev_c = prev_c;
            prev_c = c * space.nodes;
        }
        let f4 = widths[0] * space.nodes;
        let low_source = match decoder_endpoint(&g.path) {
            Some(l) => Ok(l),
            None => Err(ConvBn::new(
                s,
                rng,
                "reduce",
                ConvBnSpec::new(st, f4, 3, c3),
            )),
        };
        let low = ConvBn::new(
            s,
            rng,
            "dec.low",
            ConvBnSpec::new(f4, 48, 1, c1).affine().act(act),
        );
        let high = ConvBn::new(
            s,
            rng,
            "dec.high",
            ConvBnSpec::new(prev_c, 128, 1, c1).affine().act(act),
        );
        let sep1 = SepBn::new(s, rng, "dec.sep1", 176, 128, act);
        let sep2 = SepBn::new(s, rng, "dec.sep2", 128, 128, act);
        let out = Conv::new(s, rng, "dec.out", 128, space.channels, 3, c3, true);
        let mut genotype = g.clone();
        genotype.space.filter_multiplier = filter_multiplier;
        Ok(DerivedNet {
            genotype,
            act,
            stem1,
            stem2,
            scalers,
            cells,
            low_source,
            low,
            high,
            sep1,
            sep2,
            out,
        })
    }

    /// The denoised estimate for a noisy batch.
    pub fn forward(&self, t: &mut Tape, p: &Bound, x: &Var, mode: Mode) -> Var {
        let s1 = self.stem1.forward(t, p, x, mode);
        let s1a = self.act.apply(t, &s1);
        let s2 = self.stem2.forward(t, p, &s1a, mode);
        let (mut prevprev, mut prev) = (s1, s2.clone());
        let mut outs = Vec::new();
        for ((pp, pr), cell) in self.scalers.iter().zip(&self.cells) {
            let a = pp.forward(t, p, &prevprev, self.act, mode);
            let b = pr.forward(t, p, &prev, self.act, mode);
            let y = cell.forward(t, p, &a, &b, self.act, mode);
            prevprev = prev;
            prev = y.clone();
            outs.push(y);
        }
        let low_in = match &self.low_source {
            Ok(l) => outs[*l].clone(),
            Err(reduce) => reduce.forward(t, p, &s2, mode),
        };
        let low = self.low.forward(t, p, &low_in, mode);
        let hi = self.act.apply(t, &prev);
        let hi = self.high.forward(t, p, &hi, mode);
        let cat = concat::concat(t, &[&low, &hi]);
        let y = self.sep1.forward(t, p, &cat, mode);
        let y = self.sep2.forward(t, p, &y, mode);
        let head = self.out.forward(t, p, &y);
        crate::nn::supernet::apply_output(t, self.genotype.space.output, x, &head)
    }

    /// The eval-mode network as ONNX nodes, mirroring `forward` step by step; returns the name
    /// of the denoised output.
    pub fn export(&self, g: &mut OnnxGraph, x: &str) -> String {
        let s1 = self.stem1.export(g, x);
        let s1a = self.act.export(g, &s1);
        let s2 = self.stem2.export(g, &s1a);
        let (mut prevprev, mut prev) = (s1, s2.clone());
        let mut outs = Vec::new();
        for ((pp, pr), cell) in self.scalers.iter().zip(&self.cells) {
            let a = pp.export(g, &prevprev, self.act);
            let b = pr.export(g, &prev, self.act);
            let y = cell.export(g, &a, &b, self.act);
            prevprev = prev;
            prev = y.clone();
            outs.push(y);
        }
        let low_in = match &self.low_source {
            Ok(l) => outs[*l].clone(),
            Err(reduce) => reduce.export(g, &s2),
        };
        let low = self.low.export(g, &low_in);
        let hi = self.act.export(g, &prev);
        let hi = self.high.export(g, &hi);
        let cat = g.node("Concat", &[&low, &hi], vec![Attribute::int("axis", 1)]);
        let y = self.sep1.export(g, &cat);
        let y = self.sep2.export(g, &y);
        let head = self.out.export(g, &y);
        match self.genotype.space.output {
            OutputForm::Residual => g.node("Sub", &[x, &head], vec![]),
            OutputForm::SigmoidResidual => {
                let r = g.node("Sub", &[x, &head], vec![]);
                g.node("Sigmoid", &[&r], vec![])
            }
            OutputForm::Sigmoid => g.node("Sigmoid", &[&head], vec![]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::decoder_endpoint;
    use crate::nn::genotype::valid_paths;
    use crate::nn::space::SpaceCfg;

    /// Every valid path of a 3-layer, 3-level trellis with the endpoint the official
    /// `dn_compnet.py` rule gives, worked out by hand: the cell at the last index on level 0,
    /// unless that is the final cell or level 0 is never visited (then `reduce(stem2)`, None).
    const OFFICIAL: [([usize; 3], Option<usize>); 12] = [
        ([0, 0, 0], None),
        ([0, 0, 1], Some(1)),
        ([0, 1, 0], None),
        ([0, 1, 1], Some(0)),
        ([0, 1, 2], Some(0)),
        ([1, 0, 0], None),
        ([1, 0, 1], Some(1)),
        ([1, 1, 0], None),
        ([1, 1, 1], None),
        ([1, 1, 2], None),
        ([1, 2, 1], None),
        ([1, 2, 2], None),
    ];

    #[test]
    fn decoder_endpoint_follows_the_official_rule_on_every_valid_path() {
        for space in ["cvpr2020", "ijcv2022"] {
            let cfg = SpaceCfg::preset(space).unwrap();
            let mut paths = valid_paths(&cfg);
            paths.sort();
            let table: Vec<Vec<usize>> = OFFICIAL.iter().map(|(p, _)| p.to_vec()).collect();
            assert_eq!(
                paths, table,
                "{space}: the table must list every valid path"
            );
        }
        for (path, want) in OFFICIAL {
            assert_eq!(decoder_endpoint(&path), want, "path {path:?}");
        }
    }
}
