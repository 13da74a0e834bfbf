//! Softmax over the last dim (shaders/softmax.wgsl): the architecture weights' normalisation.
//! Rows are expected to be short (K <= 64); one invocation handles one row.

use crate::gpu::{Kernel, Tensor};
use crate::tape::{Tape, Var};

pub(crate) const K: Kernel = crate::kernel!("softmax");

crate::uniform! {
    struct Params {
        rows: u32,
        k: u32,
        _pad: [u32; 2],
    }
}

fn launch(entry: &'static str, a: &Tensor, b: &Tensor) -> Tensor {
    let s = a.shape();
    let k = *s.last().unwrap_or_else(|| panic!("softmax of a scalar"));
    assert!(k > 0, "softmax: empty rows in {s:?}");
    let rows = a.numel() / k;
    let out = Tensor::empty(a.gpu(), s);
    if rows > 0 {
        let p = Params {
            rows: rows as u32,
            k: k as u32,
            _pad: [0; 2],
        };
        a.gpu()
            .dispatch_1d(&K, entry, &p, &[a.buffer(), b.buffer(), out.buffer()], rows);
    }
    out
}

/// Softmax of every row (the last dim) of x.
pub fn softmax_raw(x: &Tensor) -> Tensor {
    launch("forward", x, x)
}

/// From the forward's output y: gx = y * (gy - sum(gy * y)) per row.
pub fn softmax_backward(y: &Tensor, gy: &Tensor) -> Tensor {
    assert_eq!(y.shape(), gy.shape(), "softmax_backward: gradient shape");
    launch("backward", y, gy)
}

pub fn softmax(t: &mut Tape, x: &Var) -> Var {
    let y = softmax_raw(x.value());
    let saved = t.wants_grad(&[x]).then(|| y.clone());
    t.record(
        y,
        &[x],
        Box::new(move |g, _| vec![Some(softmax_backward(&saved.unwrap(), g))]),
    )
}
