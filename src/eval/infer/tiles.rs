//! Cutting an image into tiles whose kept cores are exact (the margin argument is in the
//! parent module's docs): the grid that computes the fewest pixels within one pass's limit.

/// One axis of a tile: the kept core [c0, c1) inside the computed span [t0, t1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    pub c0: usize,
    pub c1: usize,
    pub t0: usize,
    pub t1: usize,
}

#[derive(Clone, Debug)]
pub struct TilePlan {
    pub xs: Vec<Span>,
    pub ys: Vec<Span>,
}

/// Cuts an axis of `len` pixels into `n` cores with a margin of `r` on each side inside the
/// axis, each computed span then widened to a multiple of 4 where the axis allows: the one-pass
/// deformable forward needs a tile's pixel count in fours (ops/deform_conv/direct.rs), and a
/// wider margin keeps the kept pixels exact.
fn axis(len: usize, n: usize, r: usize) -> Vec<Span> {
    (0..n)
        .map(|i| {
            let (c0, c1) = (i * len / n, (i + 1) * len / n);
            let (mut t0, mut t1) = (c0.saturating_sub(r), (c1 + r).min(len));
            let short = (t1 - t0).next_multiple_of(4) - (t1 - t0);
            if t1 - t0 + short <= len {
                let right = short.min(len - t1);
                t1 += right;
                t0 -= short - right;
            }
            Span { c0, c1, t0, t1 }
        })
        .collect()
}

/// The grid of tiles with margin `r` that computes the fewest pixels with no tile over
/// `max_pixels`; `None` if no grid fits.
pub fn plan_tiles(w: usize, h: usize, r: usize, max_pixels: usize) -> Option<TilePlan> {
    let widest = |s: &[Span]| s.iter().map(|t| t.t1 - t.t0).max().unwrap_or(0);
    let total = |s: &[Span]| s.iter().map(|t| t.t1 - t.t0).sum::<usize>();
    let mut best: Option<(usize, usize, TilePlan)> = None;
    for nx in 1..=w {
        let xs = axis(w, nx, r);
        let tw = widest(&xs);
        let max_h = max_pixels / tw;
        if max_h == 0 {
            continue;
        }
        // The fewest rows whose tiles are short enough (taller tiles waste less margin): one or
        // two rows, or about h / (max_h - 2r) when interior tiles carry both margins.
        let guess = match max_h.checked_sub(2 * r) {
            Some(core) if core > 0 => h.div_ceil(core).max(1),
            _ => 1,
        };
        let mut tries: Vec<usize> = vec![1, 2];
        tries.extend(guess.saturating_sub(1).max(3)..guess + 3);
        let Some(ny) = tries
            .into_iter()
            .filter(|&ny| ny <= h)
            .find(|&ny| widest(&axis(h, ny, r)) <= max_h)
        else {
            continue;
        };
        let ys = axis(h, ny, r);
        let cost = total(&xs) * total(&ys);
        let count = nx * ny;
        if best
            .as_ref()
            .is_none_or(|(c, k, _)| cost < *c || (cost == *c && count < *k))
        {
            best = Some((cost, count, TilePlan { xs, ys }));
        }
        // Once the columns alone are narrower than the margins, more columns only add margin.
        if w / nx < r {
            break;
        }
    }
    best.map(|(_, _, p)| p)
}
