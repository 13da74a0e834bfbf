//! Wall time of a conv pass's first launch against its second, for the cold-start budget: on
//! lavapipe a kernel is JIT-compiled inside the queue at its first dispatch, so the first launch
//! holds that kernel's compile time. Run with an empty shader cache to see it:
//!
//!     MESA_SHADER_CACHE_DIR=$(mktemp -d) cargo run --release --example first_launch [-- SHAPE]
//!
//! Each shape's forward pass picks the gather kernel it is named after; its input and weight
//! gradients run the kernels those pick.

use hinas::gpu::Gpu;
use hinas::ops::conv2d::Conv2dCfg;
#[path = "support/conv_case.rs"]
mod conv_case;
#[path = "support/data.rs"]
mod data;
use conv_case::ConvCase;
use std::time::Instant;

/// (name, input shape, output channels, kernel, padding, dilation, groups).
type Shape = (&'static str, [usize; 4], usize, usize, usize, usize, usize);

fn main() {
    let filter = std::env::args().nth(1);
    let gpu = Gpu::open().expect("needs a GPU adapter");
    let shapes: [Shape; 3] = [
        ("gather8 2x4x24x24 k3>4", [2, 4, 24, 24], 4, 3, 1, 1, 1),
        ("gather16 2x16x24x24 k3>16", [2, 16, 24, 24], 16, 3, 1, 1, 1),
        (
            "gather64 1x64x256x256 k3",
            [1, 64, 256, 256],
            64,
            3,
            1,
            1,
            1,
        ),
    ];
    for (name, xs, cout, k, pad, dil, groups) in shapes {
        if filter.as_deref().is_some_and(|f| !name.contains(f)) {
            continue;
        }
        let cfg = Conv2dCfg::new(1, pad, dil, groups);
        let case = ConvCase::new(&gpu, xs, cout, k, cfg);
        let passes = case.passes();
        for (pass, f) in passes.iter() {
            let mut times = [0.0; 2];
            for t in times.iter_mut() {
                let t0 = Instant::now();
                let _ = f().to_vec();
                *t = t0.elapsed().as_secs_f64();
            }
            println!(
                "{name:<26} {pass:<3} first {:7.3} s   second {:7.3} s",
                times[0], times[1]
            );
        }
    }
}
