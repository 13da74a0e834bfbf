//! A plan pass: where a DCNv2 layer's predictor output is split into offsets and mask logits
//! and the logits go through a sigmoid, each read only by the deformable conv, the conv takes
//! the predictor output whole (`deform_conv2d_packed_raw`), so the split copies and the sigmoid
//! pass disappear where the op's one-pass forward runs (it reads both parts in place) and are
//! done by the op itself elsewhere. Same values: the op applies the sigmoid op's formula.

use super::plan::{live_readers as readers, producer, Draft, DraftStep};

/// (split step, sigmoid step) feeding deformable conv `i`, if the pattern holds.
fn find(drafts: &[DraftStep], i: usize, output: usize) -> Option<(usize, usize)> {
    let Draft::Deform {
        w,
        cfg,
        packed: false,
        ..
    } = &drafts[i].op
    else {
        return None;
    };
    let &[_, off, mask] = drafts[i].inputs.as_slice() else {
        return None;
    };
    let taps = cfg.offset_groups * w.0[2] * w.0[3];
    let gi = producer(drafts, mask)?;
    if !matches!(drafts[gi].op, Draft::Sigmoid) {
        return None;
    }
    let logits = drafts[gi].inputs[0];
    let si = producer(drafts, off)?;
    let Draft::Split(sizes) = &drafts[si].op else {
        return None;
    };
    let only = |v: usize, step: usize| v != output && readers(drafts, v) == [step];
    let fits = sizes.as_slice() == [2 * taps, taps]
        && drafts[si].outputs == [off, logits]
        && only(off, i)
        && only(logits, gi)
        && only(mask, i);
    fits.then_some((si, gi))
}

/// Rewrites every match in place: the conv reads the split's input, the split and the sigmoid
/// are emptied.
pub(super) fn pack_deform_inputs(drafts: &mut [DraftStep], output: usize) {
    for i in 0..drafts.len() {
        let Some((si, gi)) = find(drafts, i, output) else {
            continue;
        };
        let om = drafts[si].inputs[0];
        drafts[i].inputs.truncate(1);
        drafts[i].inputs.push(om);
        if let Draft::Deform { packed, .. } = &mut drafts[i].op {
            *packed = true;
        }
        for s in [si, gi] {
            drafts[s].inputs.clear();
            drafts[s].outputs.clear();
        }
    }
}
