//! Process CPU time of the decoder's 1x1 convs reading pixel blocks (the depthwise conv's
//! output layout, ops/conv2d/blocks.rs), 256x256:
//!
//!     LP_NUM_THREADS=1 cargo run --release --example blocks_cpu_time [-- ITERS]
use hinas::gpu::{Gpu, Tensor};
use hinas::ops::conv2d::{conv2d_from_pixel_blocks, conv2d_to_pixel_blocks, Conv2dCfg};
#[path = "support/cpu_time.rs"]
mod cpu_time;
#[path = "support/data.rs"]
mod data;

fn main() {
    let iters: usize = std::env::args().nth(1).map_or(6, |s| s.parse().unwrap());
    let gpu = Gpu::open().expect("needs a GPU adapter");
    let (h, w) = (256, 256);
    for (cin, cout) in [(176, 128), (128, 128), (48, 128)] {
        let x = Tensor::from_slice(&gpu, &[1, cin, h, w], &data::data(cin * h * w, 1));
        let dw = Tensor::from_slice(&gpu, &[cin, 1, 3, 3], &data::data(cin * 9, 2));
        let xb = conv2d_to_pixel_blocks(&x, &dw, None, Conv2dCfg::new(1, 1, 1, cin), None);
        let wt = Tensor::from_slice(&gpu, &[cout, cin, 1, 1], &data::data(cout * cin, 3));
        let cfg = Conv2dCfg::new(1, 0, 1, 1);
        let f = || conv2d_from_pixel_blocks(&xb, (h, w), &wt, None, cfg, None, None);
        let (cpu, wall) = cpu_time::time_pass(&gpu, iters, &f);
        println!("blocks {cin} -> {cout} 1x1 {h}x{w}: cpu {cpu:8.1} ms   wall {wall:8.1} ms");
    }
}
