//! A conv shape's three timed passes (forward, input gradient, weight gradient) on fixed
//! pseudo-random tensors, shared by the timing examples. Needs `mod data` (support/data.rs) at
//! the example's root.

use crate::data::data;
use hinas::gpu::{Gpu, Tensor};
use hinas::ops::conv2d::*;

/// A named conv pass to time.
pub type Pass<'a> = (&'static str, Box<dyn Fn() -> Tensor + 'a>);

pub struct ConvCase {
    xs: [usize; 4],
    ws: [usize; 4],
    cfg: Conv2dCfg,
    x: Tensor,
    w: Tensor,
    gy: Tensor,
}

impl ConvCase {
    /// Input `xs`, `cout` output channels, a `k`x`k` kernel, stride 1.
    pub fn new(gpu: &Gpu, xs: [usize; 4], cout: usize, k: usize, cfg: Conv2dCfg) -> ConvCase {
        let (ho, wo) = conv2d_out_hw(xs[2], xs[3], k, k, cfg);
        let ws = [cout, xs[1] / cfg.groups, k, k];
        let ys = [xs[0], cout, ho, wo];
        ConvCase {
            xs,
            ws,
            cfg,
            x: Tensor::from_slice(gpu, &xs, &data(xs.iter().product(), 1)),
            w: Tensor::from_slice(gpu, &ws, &data(ws.iter().product(), 2)),
            gy: Tensor::from_slice(gpu, &ys, &data(ys.iter().product(), 3)),
        }
    }

    /// ("fwd" | "dx" | "dw", the pass).
    pub fn passes(&self) -> [Pass<'_>; 3] {
        let c = self;
        [
            ("fwd", Box::new(move || conv2d_raw(&c.x, &c.w, None, c.cfg))),
            (
                "dx",
                Box::new(move || conv2d_backward_input(&c.gy, &c.w, &c.xs, c.cfg)),
            ),
            (
                "dw",
                Box::new(move || conv2d_backward_weight(&c.gy, &c.x, &c.ws, c.cfg)),
            ),
        ]
    }
}
