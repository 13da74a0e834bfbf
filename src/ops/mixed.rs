//! The DARTS mixed op: `out = sum_k w[idx[k]] * xs[k]` with scalar weights taken from a weight
//! tensor on the GPU (e.g. one row of a softmaxed alpha), so no weight is read back to the host
//! (shaders/mixed.wgsl). One launch covers up to [`SLOTS`] inputs; longer sums take one more
//! launch per further [`SLOTS`] inputs, each adding to the output.

use crate::gpu::{Kernel, Tensor};
use crate::tape::{Tape, Var};

pub(crate) const K: Kernel = crate::kernel!("mixed");

/// Inputs per launch: with the weights and the output that makes 8 storage bindings, the
/// portable per-stage limit.
pub const SLOTS: usize = 6;

crate::uniform! {
    struct Params {
        n: u32,
        k: u32,
        accumulate: u32,
        parts: u32,
        wn: u32,
        _pad: [u32; 3],
        idx: [u32; 8],
    }
}

fn params(n: usize, idx: &[usize], w: &Tensor, accumulate: bool, parts: usize) -> Params {
    let mut ix = [0u32; 8];
    for (d, &s) in ix.iter_mut().zip(idx) {
        *d = s as u32;
    }
    Params {
        n: n as u32,
        k: idx.len() as u32,
        accumulate: accumulate as u32,
        parts: parts as u32,
        wn: w.numel() as u32,
        _pad: [0; 3],
        idx: ix,
    }
}

/// Buffers by binding number (1-based); holes get `fill` (those bindings are not used).
fn slots<'a>(fill: &'a Tensor, given: &[(usize, &'a Tensor)]) -> Vec<&'a wgpu::Buffer> {
    let max = given.iter().map(|g| g.0).max().unwrap_or(1);
    let mut b = vec![fill.buffer(); max];
    for &(i, t) in given {
        b[i - 1] = t.buffer();
    }
    b
}

fn check(xs: &[&Tensor], w: &Tensor, idx: &[usize]) -> usize {
    assert!(!xs.is_empty(), "weighted_sum of nothing");
    assert_eq!(xs.len(), idx.len(), "weighted_sum: one index per input");
    for x in xs {
        assert_eq!(
            x.shape(),
            xs[0].shape(),
            "weighted_sum: input shapes differ"
        );
    }
    for &i in idx {
        assert!(
            i < w.numel(),
            "weighted_sum: index {i} outside w {:?}",
            w.shape()
        );
    }
    let n = xs[0].numel();
    let max = w.gpu().max_binding_elems().min(u32::MAX as usize);
    assert!(
        n <= max,
        "weighted_sum: {:?} exceeds one storage binding",
        xs[0].shape()
    );
    n
}

/// sum_k w[idx[k]] * xs[k], in ceil(K / SLOTS) launches.
pub fn weighted_sum_raw(xs: &[&Tensor], w: &Tensor, idx: &[usize]) -> Tensor {
    let n = check(xs, w, idx);
    let gpu = w.gpu();
    let out = Tensor::empty(gpu, xs[0].shape());
    if n == 0 {
        return out;
    }
    for (c, (xc, ic)) in xs.chunks(SLOTS).zip(idx.chunks(SLOTS)).enumerate() {
        let p = params(n, ic, w, c > 0, 1);
        let mut given = vec![(1, w), (8, &out)];
        given.extend(xc.iter().enumerate().map(|(s, &x)| (2 + s, x)));
        gpu.dispatch_1d(&K, "forward", &p, &slots(xc[0], &given), n);
    }
    out
}

/// Gradients of the inputs: gy * w[idx[k]] for every k with `needs[k]`, up to SLOTS per launch.
pub fn weighted_sum_backward_inputs(
    gy: &Tensor,
    w: &Tensor,
    idx: &[usize],
    needs: &[bool],
) -> Vec<Option<Tensor>> {
    assert_eq!(
        needs.len(),
        idx.len(),
        "weighted_sum_backward_inputs: one flag per input"
    );
    let gpu = gy.gpu();
    let n = gy.numel();
    let out: Vec<Option<Tensor>> = needs
        .iter()
        .map(|&need| need.then(|| Tensor::empty(gpu, gy.shape())))
        .collect();
    let wanted: Vec<usize> = (0..idx.len()).filter(|&k| needs[k]).collect();
    if n == 0 {
        return out;
    }
    let dummy = Tensor::empty(gpu, &[1]);
    for ks in wanted.chunks(SLOTS) {
        let ic: Vec<usize> = ks.iter().map(|&k| idx[k]).collect();
        let p = params(n, &ic, w, false, 1);
        let mut given = vec![(1, w), (9, gy)];
        given.extend((0..SLOTS).map(|s| (10 + s, &dummy)));
        for (s, &k) in ks.iter().enumerate() {
            given[2 + s].1 = out[k].as_ref().unwrap();
        }
        gpu.dispatch_1d(&K, "grad_inputs", &p, &slots(w, &given), n);
    }
    out
}

/// Gradient of w: dot(gy, xs[k]) added at position idx[k], zero elsewhere.
pub fn weighted_sum_backward_weights(
    gy: &Tensor,
    xs: &[&Tensor],
    w_shape: &[usize],
    idx: &[usize],
) -> Tensor {
    let gpu = gy.gpu();
    let gw = Tensor::zeros(gpu, w_shape);
    let n = gy.numel();
    if n == 0 {
        return gw;
    }
    let parts = n.div_ceil(4096).clamp(1, 256);
    let wn = gw.numel();
    for (xc, ic) in xs.chunks(SLOTS).zip(idx.chunks(SLOTS)) {
        let part = Tensor::empty(gpu, &[xc.len() * parts]);
        let p = params(n, ic, &gw, false, parts);
        let mut given = vec![(9, gy), (16, &part)];
        given.extend(xc.iter().enumerate().map(|(s, &x)| (2 + s, x)));
        gpu.dispatch(
            &K,
            "dot_partial",
            &p,
            &slots(xc[0], &given),
            [parts as u32, 1, 1],
        );
        let given = [(16, &part), (17, &gw)];
        gpu.dispatch(
            &K,
            "grad_weights",
            &p,
            &slots(&part, &given),
            [(wn as u32).div_ceil(64), 1, 1],
        );
    }
    gw
}

/// The mixed op on the tape: gradients to every input and to w (w may be a constant).
pub fn weighted_sum(t: &mut Tape, xs: &[&Var], w: &Var, idx: &[usize]) -> Var {
    let vals: Vec<&Tensor> = xs.iter().map(|v| v.value()).collect();
    let out = weighted_sum_raw(&vals, w.value(), idx);
    let k = xs.len();
    let mut inputs = xs.to_vec();
    inputs.push(w);
    let grad_xs = t.grad_enabled() && xs.iter().any(|v| v.needs_grad());
    let grad_w = t.wants_grad(&[w]);
    let wv = grad_xs.then(|| w.value().clone());
    let saved: Option<Vec<Tensor>> = grad_w.then(|| vals.iter().map(|&v| v.clone()).collect());
    let w_shape = w.shape().to_vec();
    let idx = idx.to_vec();
    t.record(
        out,
        &inputs,
        Box::new(move |g, needs| {
            let mut r = match &wv {
                Some(wv) => weighted_sum_backward_inputs(g, wv, &idx, &needs[..k]),
                None => vec![None; k],
            };
            r.push(needs[k].then(|| {
                let xs: Vec<&Tensor> = saved.as_ref().unwrap().iter().collect();
                weighted_sum_backward_weights(g, &xs, &w_shape, &idx)
            }));
            r
        }),
    )
}
