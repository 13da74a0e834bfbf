//! A plan pass: an Add of a packed deformable conv's output, read by nothing else, and a value
//! computed before the conv runs in the conv's store (`deform_conv2d_packed_raw`'s addend), so
//! no Add pass reads both back. In HiNAS every cell node that sums two operations, one of them
//! a deformable conv, is such an Add (9 of the tiny genotype's 12). Same values: the store adds
//! the addend to the finished output, as the Add would (float addition commutes).

use super::plan::{live_readers as readers, producer, Draft, DraftStep};

/// Whether deformable step `di`'s output `y` can take in `other` as its addend: `y` is read by
/// Add step `ai` only, and `other` is computed before step `di` (or is the network's input).
fn fusable(
    drafts: &[DraftStep],
    ai: usize,
    di: usize,
    y: usize,
    other: usize,
    output: usize,
) -> bool {
    let packed = matches!(
        drafts[di].op,
        Draft::Deform {
            packed: true,
            add: false,
            ..
        }
    );
    let before = producer(drafts, other).is_none_or(|p| p < di);
    packed && y != output && readers(drafts, y) == [ai] && before
}

/// Rewrites every match in place: the deformable step reads the addend last and writes the
/// Add's output, the Add step is emptied.
pub(super) fn fuse_deform_add(drafts: &mut [DraftStep], output: usize) {
    for ai in 0..drafts.len() {
        let (Draft::Add, &[a, b]) = (&drafts[ai].op, drafts[ai].inputs.as_slice()) else {
            continue;
        };
        // The later operand first: of two deformable outputs, the later conv takes the other.
        for (y, other) in [(b, a), (a, b)] {
            let Some(di) = producer(drafts, y) else {
                continue;
            };
            if !fusable(drafts, ai, di, y, other, output) {
                continue;
            }
            drafts[di].inputs.push(other);
            drafts[di].outputs = std::mem::take(&mut drafts[ai].outputs);
            if let Draft::Deform { add, .. } = &mut drafts[di].op {
                *add = true;
            }
            drafts[ai].inputs.clear();
            break;
        }
    }
}
