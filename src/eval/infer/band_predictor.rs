//! A plan pass: a DCNv2 layer's offset predictor runs inside its deformable conv's step, in row
//! bands where its output would not fit one storage binding.
//!
//! Why: one value of a pass must fit one binding (128 MiB on lavapipe), and the predictor's
//! output (54 channels for 2 offset groups of 3x3) is the widest value of the cells, so it set
//! how many pixels a tile of the cells holds (621,378): a 1024x1024 photo ran as two tiles with
//! 8.6 % of its pixels computed twice. Taken into the deformable step, the predictor output is no
//! value of the pass; the step computes it whole where it fits (the same launches as before)
//! and otherwise band by band: the predictor's output rows of a band (`conv2d_raw_rows`, its
//! source rows read from the whole of x), then the deformable conv's same output rows from them
//! (`deform_conv2d_packed_bands_raw`, sampling the whole of x, which the offsets may reach). Each
//! value is the same sum either way, so the output does not change; each band's launches do
//! the whole reduction (splitting it by offset group across launches cost ~14 %,
//! docs/perf-log.md).
//!
//! Used with the 8-lane subgroup kernels only (the banded launches are `gather56` / `gather64` and
//! `direct4`), for a packed deformable conv whose predictor is a conv of the same x read by
//! nothing else.

use super::plan::{live_readers as readers, producer, Draft, DraftStep, PredDraft};
use crate::ops::conv2d::WIDE64_CHANNELS;

/// Rewrites every match in place: the deformable step reads x only and holds the predictor,
/// whose step is emptied. Returns the widest predictor output taken in (channels; 0: none).
pub(super) fn band_predictors(drafts: &mut [DraftStep], output: usize) -> usize {
    let mut widest = 0;
    for i in 0..drafts.len() {
        let Draft::Deform {
            packed: true,
            pred: None,
            cfg: dcfg,
            ..
        } = &drafts[i].op
        else {
            continue;
        };
        // Output rows are predictor rows: both size-preserving at stride 1.
        if dcfg.stride != 1 {
            continue;
        }
        let &[x, om] = drafts[i].inputs.as_slice() else {
            continue;
        };
        let Some(pi) = producer(drafts, om) else {
            continue;
        };
        let fits = match &drafts[pi].op {
            Draft::Conv {
                w,
                cfg,
                act: None,
                add: false,
                ..
            } => {
                // One gather56 / gather64 launch per band: a wider predictor would be split
                // into channel pieces on narrower kernels, which `conv2d_raw_rows` does not take.
                cfg.groups == 1 && cfg.stride == 1 && (WIDE64_CHANNELS..=64).contains(&w.0[0])
            }
            _ => false,
        };
        if !fits || drafts[pi].inputs != [x] || om == output || readers(drafts, om) != [i] {
            continue;
        }
        let Draft::Conv { w, b, cfg, .. } = std::mem::replace(&mut drafts[pi].op, Draft::Add)
        else {
            unreachable!()
        };
        widest = widest.max(w.0[0]);
        drafts[pi].inputs.clear();
        drafts[pi].outputs.clear();
        drafts[i].inputs.truncate(1);
        if let Draft::Deform { pred, .. } = &mut drafts[i].op {
            *pred = Some(PredDraft { w, b, cfg });
        }
    }
    widest
}
