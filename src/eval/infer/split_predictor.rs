//! A plan pass: a DCNv2 layer's offset predictor writes one value per offset group instead of
//! one value for all, so the predictor is no longer the widest value of the cells' stage.
//!
//! Why: a pass holds as many pixels as its widest value fits in one storage binding. With two
//! offset groups of 3x3 taps the predictor output has 54 channels (18 offsets and 9 mask logits
//! per group), the widest value of the cells, which held their stage to 621,378 pixels on
//! lavapipe (a 1024 x 1024 photo ran as two tiles with 41-pixel margins, 8.6 % extra pixels).
//! As two values of 27 channels the widest is the cells' 32-channel concat: 1,048,576 pixels.
//!
//! The predictor conv's weight rows are reordered per group (offsets, then mask logits, the
//! layout `deform_conv2d_halves_raw` reads) and padded to two blocks of 32 (`pad_halves`), and
//! `conv2d_raw_halves` stores the two parts from the same `gather64` launch as before: every
//! value is the same sum, so outputs do not change by a bit. Runs only where the deformable
//! conv's one-pass forward and `gather64` exist (8-lane subgroup kernels); elsewhere the ops
//! would copy the parts back together.

use super::plan::{live_readers as readers, Draft, DraftStep};
use crate::ops::conv2d::pad_halves;

/// Rewrites each packed two-group deformable conv whose predictor is a plain conv read by it
/// alone: the conv gets two outputs (the predictor value, now group 0's, and a new value for
/// group 1) and the deformable conv reads both.
pub(super) fn split_predictors(drafts: &mut [DraftStep], widths: &mut Vec<usize>, output: usize) {
    for i in 0..drafts.len() {
        let Draft::Deform {
            cfg,
            packed: true,
            halves: false,
            w: dw,
            ..
        } = &drafts[i].op
        else {
            continue;
        };
        let kk = dw.0[2] * dw.0[3];
        let Some(&om) = drafts[i].inputs.get(1) else {
            continue;
        };
        let Some(pi) = drafts.iter().position(|d| d.outputs.contains(&om)) else {
            continue;
        };
        let fits = cfg.offset_groups == 2
            && om != output
            && readers(drafts, om) == [i]
            && matches!(&drafts[pi].op, Draft::Conv {
                w,
                cfg,
                act: None,
                add: false,
                halves: None,
                ..
            } if cfg.groups == 1 && w.0[0] == 6 * kk && 3 * kk <= crate::ops::conv2d::HALF_BLOCK);
        if !fits {
            continue;
        }
        let Draft::Conv { w, b, halves, .. } = &mut drafts[pi].op else {
            unreachable!()
        };
        // Packed rows: offsets of group 0, of group 1, mask logits of group 0, of group 1.
        // Per group: its offsets, then its logits.
        let per = w.1.len() / w.0[0];
        let order: Vec<usize> = (0..2)
            .flat_map(|g| {
                (2 * g * kk..2 * (g + 1) * kk).chain(4 * kk + g * kk..4 * kk + (g + 1) * kk)
            })
            .collect();
        let rows: Vec<f32> = order
            .iter()
            .flat_map(|&r| w.1[r * per..(r + 1) * per].iter().copied())
            .collect();
        let bias: Option<Vec<f32>> = b.as_ref().map(|b| order.iter().map(|&r| b[r]).collect());
        let (wp, bp) = pad_halves(&rows, bias.as_deref(), 3 * kk);
        w.0[0] = 2 * crate::ops::conv2d::HALF_BLOCK;
        w.1 = wp;
        *b = bp;
        *halves = Some(3 * kk);
        widths[om] = 3 * kk;
        widths.push(3 * kk);
        let second = widths.len() - 1;
        drafts[pi].outputs.push(second);
        drafts[i].inputs.push(second);
        if let Draft::Deform { halves, .. } = &mut drafts[i].op {
            *halves = true;
        }
    }
}
