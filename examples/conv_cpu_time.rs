//! Process CPU time per conv2d pass (forward, input grad, weight grad), for kernel tuning on a
//! shared machine where wall time is noisy. Run with one lavapipe worker thread so the CPU time
//! is the shader work plus a little host overhead, not other processes' contention:
//!
//!     LP_NUM_THREADS=1 cargo run --release --example conv_cpu_time [-- ITERS [PASS [SHAPE]]]
//!
//! PASS is fwd, dx or dw (all three by default); SHAPE keeps the shapes whose name contains it.
//! Prints CPU ms (user + system of this process) and wall ms per iteration after one warm-up
//! iteration.

use hinas::gpu::Gpu;
use hinas::ops::conv2d::Conv2dCfg;
#[path = "support/conv_case.rs"]
mod conv_case;
#[path = "support/cpu_time.rs"]
mod cpu_time;
#[path = "support/data.rs"]
mod data;
use conv_case::ConvCase;

/// (name, input shape, output channels, kernel size, padding, dilation, groups), stride 1.
type Shape = (&'static str, [usize; 4], usize, usize, usize, usize, usize);

fn main() {
    let iters: usize = std::env::args().nth(1).map_or(4, |s| s.parse().unwrap());
    let only = std::env::args().nth(2);
    let gpu = Gpu::open().expect("needs a GPU adapter");
    println!(
        "adapter: {}  LP_NUM_THREADS={:?}",
        gpu.adapter_line(),
        std::env::var("LP_NUM_THREADS").ok()
    );
    let shapes: [Shape; 17] = [
        ("8x64x64x64 k3", [8, 64, 64, 64], 64, 3, 1, 1, 1),
        ("6x20x64x64 k3", [6, 20, 64, 64], 20, 3, 1, 1, 1),
        ("6x20x64x64 k5d2", [6, 20, 64, 64], 20, 5, 4, 2, 1),
        ("6x10x64x64 k3", [6, 10, 64, 64], 10, 3, 1, 1, 1),
        // The offset conv of the tiny supernet's deformable candidate (8 -> 54 channels).
        ("2x8x24x24 k3>54", [2, 8, 24, 24], 54, 3, 1, 1, 1),
        // A 64-channel layer of a denoiser on a 256x256 image.
        ("1x64x256x256 k3", [1, 64, 256, 256], 64, 3, 1, 1, 1),
        // 1x1 convs of a derived network at inference (cell inputs, decoder), 256x256 tile.
        ("1x32x256x256 k1>8", [1, 32, 256, 256], 8, 1, 0, 1, 1),
        ("1x64x256x256 k1>16", [1, 64, 256, 256], 16, 1, 0, 1, 1),
        ("1x128x256x256 k1>64", [1, 128, 256, 256], 64, 1, 0, 1, 1),
        ("1x176x256x256 k1>128", [1, 176, 256, 256], 128, 1, 0, 1, 1),
        ("1x128x256x256 k1>128", [1, 128, 256, 256], 128, 1, 0, 1, 1),
        // A deformable edge's offset conv, the decoder's depthwise conv and its output conv at
        // inference, 256x256 tile.
        ("1x8x256x256 k3>54", [1, 8, 256, 256], 54, 3, 1, 1, 1),
        ("1x16x256x256 k3>54", [1, 16, 256, 256], 54, 3, 1, 1, 1),
        ("1x176x256x256 dw3", [1, 176, 256, 256], 176, 3, 1, 1, 176),
        ("1x128x256x256 k3>1", [1, 128, 256, 256], 1, 3, 1, 1, 1),
        // The tiny genotype's dilated 5x5 convs at inference, 256x256 tile.
        ("1x8x256x256 k5d2>8", [1, 8, 256, 256], 8, 5, 4, 2, 1),
        ("1x16x256x256 k5d2>16", [1, 16, 256, 256], 16, 5, 4, 2, 1),
    ];
    let filter = std::env::args().nth(3);
    for (name, xs, cout, k, pad, dil, groups) in shapes {
        let cfg = Conv2dCfg::new(1, pad, dil, groups);
        if filter.as_deref().is_some_and(|f| !name.contains(f)) {
            continue;
        }
        let case = ConvCase::new(&gpu, xs, cout, k, cfg);
        let passes = case.passes();
        for (pass, f) in passes.iter() {
            if only.as_deref().is_some_and(|o| o != *pass) {
                continue;
            }
            let (cpu, wall) = cpu_time::time_pass(&gpu, iters, f.as_ref());
            println!("{name:<16} {pass:<4} cpu {cpu:8.1} ms   wall {wall:8.1} ms");
        }
    }
}
