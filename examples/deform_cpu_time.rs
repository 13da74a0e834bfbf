//! Process CPU time per deformable-conv forward at inference shapes, for kernel tuning on a
//! shared machine (see conv_cpu_time.rs for why CPU time with one lavapipe thread):
//!
//!     LP_NUM_THREADS=1 cargo run --release --example deform_cpu_time [-- ITERS [PATH]]
//!
//! PATH is `direct` (the one-pass forward of subgroup devices) or `columns` (im2col + matmul);
//! both by default.
//!
//! The shapes: the tiny genotype's deformable edges at levels 0-2 of a 256x256 tile, then
//! training batches. Offsets are random within +-2 px and masks within (0, 1), as a trained DCNv2 gives them.
use hinas::gpu::{Gpu, Tensor};
use hinas::ops::deform_conv::{deform_conv2d_raw, with_direct_forward, DeformCfg};
#[path = "support/cpu_time.rs"]
mod cpu_time;

fn data(n: usize, seed: u32, lo: f32, hi: f32) -> Vec<f32> {
    (0..n)
        .map(|i| {
            let h = (i as u32)
                .wrapping_mul(2654435761)
                .wrapping_add(seed.wrapping_mul(40503));
            lo + (hi - lo) * ((h >> 8) as f32 / (1u32 << 24) as f32)
        })
        .collect()
}

fn main() {
    let iters: usize = std::env::args().nth(1).map_or(4, |s| s.parse().unwrap());
    let path = std::env::args().nth(2);
    let gpu = Gpu::open().expect("needs a GPU adapter");
    println!("adapter: {}", gpu.adapter_line());
    // (input shape, output channels): the tiny genotype's deformable edges at levels 0-2 of a
    // 256x256 tile; 3x3, padding 1, 2 offset groups.
    // Then training batches: `train --budget tiny` (6 of 32x32) and the tiny search (2 of 24x24).
    let shapes = [
        ([1, 8, 256, 256], 8),
        ([1, 16, 128, 128], 16),
        ([1, 32, 64, 64], 32),
        ([6, 8, 32, 32], 8),
        ([6, 16, 16, 16], 16),
        ([2, 4, 24, 24], 4),
    ];
    for (xs, cout) in shapes {
        let [n, c, h, w] = xs;
        let og = 2;
        let cfg = DeformCfg {
            stride: 1,
            padding: 1,
            dilation: 1,
            groups: 1,
            offset_groups: og,
        };
        let x = Tensor::from_slice(&gpu, &xs, &data(n * c * h * w, 1, -1.0, 1.0));
        let offs = [n, 2 * og * 9, h, w];
        let off = Tensor::from_slice(&gpu, &offs, &data(offs.iter().product(), 2, -2.0, 2.0));
        let ms = [n, og * 9, h, w];
        let mask = Tensor::from_slice(&gpu, &ms, &data(ms.iter().product(), 3, 0.0, 1.0));
        let ws = [cout, c, 3, 3];
        let wt = Tensor::from_slice(&gpu, &ws, &data(ws.iter().product(), 4, -0.5, 0.5));
        for (name, direct) in [("columns", false), ("direct", true)] {
            if path.as_deref().is_some_and(|p| p != name) {
                continue;
            }
            let f = || {
                with_direct_forward(direct, || {
                    deform_conv2d_raw(&x, &off, Some(&mask), &wt, None, cfg)
                })
            };
            let (cpu, wall) = cpu_time::time_pass(&gpu, iters, &f);
            println!("{xs:?} -> {cout} {name:7}: cpu {cpu:8.1} ms   wall {wall:8.1} ms");
        }
    }
}
