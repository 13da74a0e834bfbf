//! Two-stage tiles: the network's wide, short-reaching tail (the decoder) runs in bands of each
//! tile instead of setting the size of every tile.
//!
//! One pass holds at most as many pixels as its widest value allows in one storage binding. In
//! HiNAS the widest values (128 channels) are the decoder's, whose ops reach only a few pixels
//! (3x3 depthwise and output convs), while the cells before it, with the deformable and dilated
//! convs that give the network its 41-pixel receptive field, hold at most 54 channels (an offset
//! predictor's output). Tiles sized for the decoder therefore repeat the cells' wide margins
//! over many small tiles: a 1024x1024 photo ran as 2x3 tiles of 1.31 MP in all. (Since the
//! predictors run inside their deformable steps, infer/band_predictor.rs, the cells' widest
//! value is narrower still, and that photo's cells run as one tile.)
//!
//! So the plan's steps are cut in two at a step index: stage A (the steps before it) runs on
//! tiles sized by A's widest value with the whole network's margin, as before; stage B then runs
//! on bands of whole rows of the tile, each sized by B's widest value, holding its kept rows
//! plus B's own receptive-field radius above and below. B reads only the values A computed that
//! it needs (the cut: e.g. the cells' outputs and the noisy input), each cut into the band's rows
//! (ops::concat::row_band_raw), except those B reads only in concats, which copy the band's
//! rows of the tile's values themselves (ops::concat::concat_rows_act_raw). The output is the
//! same: a band's kept pixels depend only on cut values within B's radius of them, which the
//! band holds and which are exact there (they lie inside the tile's core plus B's radius, and
//! the tile's margin is A's radius plus B's). Bands span the tile's full width, so B also
//! computes the tile's side margins; on an image one tile wide (a megapixel photo) there are
//! none.
//!
//! The cut is chosen from the plan alone: among the step indices where B has no deformable conv
//! and a radius of at most [`MAX_STAGE_B_RADIUS`], the one whose stage A holds the narrowest
//! widest value (the latest of equals), used only when A is narrower than B.

use super::{radius_of, Op, Step};

/// The largest receptive-field radius (pixels) stage B may have: bands repeat it above and below,
/// so B must reach little (the HiNAS decoder reaches 3).
pub(super) const MAX_STAGE_B_RADIUS: usize = 8;

/// Where the plan is cut and what each stage may hold.
#[derive(Clone, Debug)]
pub(super) struct StageSplit {
    /// Steps `..at` are stage A, `at..` stage B.
    pub at: usize,
    /// Values computed by A (or the input) that B reads.
    pub cut: Vec<usize>,
    /// The cut values that B reads only in concats: a band reads their rows in place (the
    /// concat copies them anyway) instead of a copy of its rows.
    pub whole: Vec<usize>,
    /// Pixels one pass of each stage may hold.
    pub max_pixels_a: usize,
    pub max_pixels_b: usize,
    /// B's receptive-field radius from the cut values to the output.
    pub radius_b: usize,
}

/// The cut of `steps` (module docs), if one makes stage A narrower than stage B. `binding` is the
/// element count of one storage binding.
pub(super) fn choose(
    steps: &[Step],
    widths: &[usize],
    input: usize,
    output: usize,
    binding: usize,
) -> Option<StageSplit> {
    let mut best: Option<(usize, StageSplit)> = None;
    for at in 1..steps.len() {
        let (a, b) = steps.split_at(at);
        if a.iter().any(|s| s.outputs.contains(&output))
            || b.iter().any(|s| matches!(s.op, Op::Deform { .. }))
        {
            continue;
        }
        let radius_b = radius_of(b, widths.len(), 0.0)[output];
        if radius_b > MAX_STAGE_B_RADIUS {
            continue;
        }
        let held_a: Vec<usize> = std::iter::once(input)
            .chain(a.iter().flat_map(|s| s.outputs.iter().copied()))
            .collect();
        let cut: Vec<usize> = held_a
            .iter()
            .copied()
            .filter(|v| b.iter().any(|s| s.inputs.contains(v)))
            .collect();
        let widest_a = held_a.iter().map(|&v| widths[v]).max().unwrap_or(1).max(1);
        let widest_b = cut
            .iter()
            .chain(b.iter().flat_map(|s| &s.outputs))
            .map(|&v| widths[v])
            .max()
            .unwrap_or(1)
            .max(1);
        if widest_a >= widest_b || best.as_ref().is_some_and(|(w, _)| *w < widest_a) {
            continue;
        }
        let whole = cut
            .iter()
            .copied()
            .filter(|v| {
                b.iter()
                    .filter(|s| s.inputs.contains(v))
                    .all(|s| matches!(s.op, Op::Concat { .. }))
            })
            .collect();
        let split = StageSplit {
            at,
            cut,
            whole,
            max_pixels_a: (binding / widest_a).max(1),
            max_pixels_b: (binding / widest_b).max(1),
            radius_b,
        };
        best = Some((widest_a, split));
    }
    best.map(|(_, s)| s)
}

/// One band of a tile: kept rows [k0, k1) inside the computed rows [r0, r1) (tile rows).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Band {
    pub r0: usize,
    pub r1: usize,
    pub k0: usize,
    pub k1: usize,
}

/// The fewest bands of whole rows of a `rows` x `width` tile whose kept rows cover its core rows
/// [c0, c1), each holding `radius` rows more on both sides (inside the tile) and at most
/// `max_pixels` pixels; `None` when even a one-row core does not fit.
pub(super) fn bands(
    (c0, c1): (usize, usize),
    rows: usize,
    width: usize,
    radius: usize,
    max_pixels: usize,
) -> Option<Vec<Band>> {
    let fit = (max_pixels / width.max(1)).checked_sub(2 * radius)?;
    if fit == 0 || c1 <= c0 {
        return None;
    }
    let n = (c1 - c0).div_ceil(fit);
    Some(
        (0..n)
            .map(|i| {
                let k0 = c0 + i * (c1 - c0) / n;
                let k1 = c0 + (i + 1) * (c1 - c0) / n;
                Band {
                    r0: k0.saturating_sub(radius),
                    r1: (k1 + radius).min(rows),
                    k0,
                    k1,
                }
            })
            .collect(),
    )
}
