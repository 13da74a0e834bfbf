//! A plan pass: a Concat read only by a depthwise conv whose output is read only by a 1x1 conv
//! (the decoder's first separable conv) runs per concat input instead, so the concatenated
//! tensor and the depthwise output are never materialised:
//!
//!   pw(dw(concat(x_1, .., x_n))) = sum_i pw_i(dw_i(x_i)), then pw's activation
//!
//! with dw_i the channels of x_i and pw_i the matching weight columns (pw's bias on the last
//! term). The widest tensor sets how many pixels one pass may hold (a storage binding is 128 MiB
//! on lavapipe): with the 176-channel concat of the decoder gone, a 512x512 image runs in one
//! pass instead of two overlapping tiles, and a megapixel in 6 instead of 8. Only applied when
//! the pattern is wider than every other value. Each pw_i after the first adds the running sum
//! in its store (`conv2d_raw_act_add`) and the last applies pw's activation, so the parts cost
//! no Add or activation pass. The sums are the same up to rounding (the 1x1 conv's reduction
//! is split).

use super::plan::{live_readers as readers, Draft, DraftStep};
use crate::ops::conv2d::Conv2dCfg;

/// (concat step, depthwise step, 1x1 step) of the first match.
fn find(drafts: &[DraftStep], widths: &[usize], output: usize) -> Option<(usize, usize, usize)> {
    for (ci, c) in drafts.iter().enumerate() {
        if !matches!(c.op, Draft::Concat { act: None })
            || c.outputs.len() != 1
            || c.inputs.len() < 2
        {
            continue;
        }
        let v = c.outputs[0];
        let (&[di], false) = (readers(drafts, v).as_slice(), v == output) else {
            continue;
        };
        let Draft::Conv { w, cfg, .. } = &drafts[di].op else {
            continue;
        };
        if cfg.groups != widths[v] || w.0[1] != 1 || drafts[di].inputs != [v] {
            continue;
        }
        let y = drafts[di].outputs[0];
        let (&[pi], false) = (readers(drafts, y).as_slice(), y == output) else {
            continue;
        };
        let Draft::Conv { w, cfg, .. } = &drafts[pi].op else {
            continue;
        };
        if cfg.groups == 1 && w.0[2] == 1 && w.0[3] == 1 && cfg.stride == 1 && cfg.padding == 0 {
            return Some((ci, di, pi));
        }
    }
    None
}

/// Rewrites the first match in place (new steps at the 1x1 conv's position, the three old
/// steps emptied); returns whether it did. New values are appended to `widths`.
pub(super) fn split_concat(
    drafts: &mut Vec<DraftStep>,
    widths: &mut Vec<usize>,
    output: usize,
) -> bool {
    let Some((ci, di, pi)) = find(drafts, widths, output) else {
        return false;
    };
    let wide = widths[drafts[ci].outputs[0]];
    let others = (0..widths.len())
        .filter(|&v| {
            v != drafts[ci].outputs[0]
                && v != drafts[di].outputs[0]
                && (v == 0 || drafts.iter().any(|d| d.outputs.contains(&v)))
        })
        .map(|v| widths[v])
        .max()
        .unwrap_or(0);
    if wide <= others {
        return false;
    }
    let parts = drafts[ci].inputs.clone();
    let (
        Draft::Conv {
            w: dw_w,
            b: dw_b,
            cfg: dw_cfg,
            act: dw_act,
            add: false,
        },
        Draft::Conv {
            w: pw_w,
            b: pw_b,
            act: pw_act,
            add: false,
            ..
        },
    ) = (&drafts[di].op, &drafts[pi].op)
    else {
        unreachable!()
    };
    let (k, taps) = (dw_w.0[2], dw_w.0[2] * dw_w.0[3]);
    let cout = pw_w.0[0];
    let mut new = Vec::new();
    let mut sum: Option<usize> = None;
    let mut c0 = 0;
    let value = |widths: &mut Vec<usize>, c: usize| {
        widths.push(c);
        widths.len() - 1
    };
    for (i, &x) in parts.iter().enumerate() {
        let c = widths[x];
        let last = i + 1 == parts.len();
        let dw = Draft::Conv {
            w: (
                vec![c, 1, k, k],
                dw_w.1[c0 * taps..(c0 + c) * taps].to_vec(),
            ),
            b: dw_b.as_ref().map(|b| b[c0..c0 + c].to_vec()),
            cfg: Conv2dCfg::new(dw_cfg.stride, dw_cfg.padding, dw_cfg.dilation, c),
            act: *dw_act,
            add: false,
        };
        let pw = Draft::Conv {
            w: (
                vec![cout, c, 1, 1],
                (0..cout)
                    .flat_map(|o| pw_w.1[o * wide + c0..o * wide + c0 + c].iter().copied())
                    .collect(),
            ),
            b: if last { pw_b.clone() } else { None },
            cfg: Conv2dCfg::default(),
            // Each part after the first adds the running sum in its store, and the last applies
            // the activation: `act(s + pw_i(..))`, the same sum as an Add and an Act pass.
            act: if last { *pw_act } else { None },
            add: sum.is_some(),
        };
        let d = value(widths, c);
        // The last step writes the 1x1 conv's own output value, which later steps read.
        let p = if last {
            drafts[pi].outputs[0]
        } else {
            value(widths, cout)
        };
        new.push(DraftStep {
            op: dw,
            inputs: vec![x],
            outputs: vec![d],
        });
        new.push(DraftStep {
            op: pw,
            inputs: sum.map_or(vec![d], |s| vec![d, s]),
            outputs: vec![p],
        });
        sum = Some(p);
        c0 += c;
    }
    for i in [ci, di, pi] {
        drafts[i].inputs.clear();
        drafts[i].outputs.clear();
    }
    drafts.splice(pi + 1..pi + 1, new);
    true
}
