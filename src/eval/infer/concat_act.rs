//! A plan pass: an activation whose input is a concat output read by nothing else runs in the
//! concat's copies (`ops::concat::concat_rows_act_raw`), so the concatenated values are written
//! once, already activated, and no activation pass reads them back. In HiNAS every cell's
//! output concat is followed by the next cell's input ReLU; two of the tiny genotype's three are
//! read only through it. Same values: the copy applies the activation op's formula.

use super::plan::{live_readers as readers, producer, Draft, DraftStep};

/// Rewrites every match in place: the concat writes the activation's output value and takes its
/// slope, the activation step is emptied.
pub(super) fn fuse_concat_act(drafts: &mut [DraftStep], output: usize) {
    for ai in 0..drafts.len() {
        let (Draft::Act(a), &[x]) = (&drafts[ai].op, drafts[ai].inputs.as_slice()) else {
            continue;
        };
        let slope = a.slope();
        let Some(ci) = producer(drafts, x) else {
            continue;
        };
        if !matches!(drafts[ci].op, Draft::Concat { act: None })
            || x == output
            || readers(drafts, x) != [ai]
        {
            continue;
        }
        drafts[ci].op = Draft::Concat { act: Some(slope) };
        drafts[ci].outputs = std::mem::take(&mut drafts[ai].outputs);
        drafts[ai].inputs.clear();
    }
}
