//! GPU time per call of conv2d forward / input gradient / weight gradient at the small shapes of
//! a `tiny` search (batch 2, 24x24, 2-8 channels), where fixed costs and lane waste dominate,
//! process CPU time of 1000 (30 for the larger) batched calls, median of 3. `cargo run --release --example conv_small`
use hinas::gpu::{Gpu, Tensor};
use hinas::ops::conv2d::{conv2d_backward_input, conv2d_backward_weight, conv2d_raw, Conv2dCfg};

fn data(n: usize, seed: u32) -> Vec<f32> {
    (0..n)
        .map(|i| {
            let h = (i as u32 ^ seed)
                .wrapping_mul(2_654_435_761)
                .rotate_left(13);
            (h % 20001) as f32 / 10000.0 - 1.0
        })
        .collect()
}

fn cpu_us() -> f64 {
    // /proc/self/stat fields 14 and 15: utime and stime in clock ticks (100 Hz on Linux).
    let s = std::fs::read_to_string("/proc/self/stat").expect("/proc/self/stat");
    let rest = &s[s.rfind(')').expect("stat format") + 2..];
    let f: Vec<&str> = rest.split(' ').collect();
    (f[11].parse::<f64>().unwrap() + f[12].parse::<f64>().unwrap()) * 1e4
}

fn main() -> anyhow::Result<()> {
    let gpu = Gpu::open()?;
    println!("{}", gpu.adapter_line());
    // (batch, size, channels in, out, kernel, padding, dilation, groups): the `tiny` search's
    // shapes, then two of the `paper` search's depthwise ones for contrast.
    let cases = [
        (2, 24, 2, 2, 3, 1, 1, 1),
        (2, 24, 4, 4, 3, 1, 1, 1),
        (2, 24, 8, 8, 3, 1, 1, 1),
        (2, 24, 4, 4, 5, 4, 2, 1),
        (2, 24, 4, 54, 3, 1, 1, 1),
        (2, 24, 4, 4, 3, 1, 1, 4),
        (2, 24, 8, 8, 5, 2, 1, 8),
        (6, 64, 20, 20, 3, 1, 1, 20),
        (6, 64, 20, 20, 5, 2, 1, 20),
    ];
    // Process CPU time (lavapipe's shader work is this process's CPU time), less sensitive to
    // a shared host than wall time; median of 3.
    let wall = |reps: usize, f: &dyn Fn()| {
        let mut v: Vec<f64> = (0..3)
            .map(|_| {
                let t = cpu_us();
                for _ in 0..reps {
                    f();
                }
                gpu.sync();
                (cpu_us() - t) / reps as f64
            })
            .collect();
        v.sort_by(f64::total_cmp);
        v[1]
    };
    for &(n, hw, ci, co, k, pad, dil, groups) in &cases {
        let cfg = Conv2dCfg::new(1, pad, dil, groups);
        let x = Tensor::from_slice(&gpu, &[n, ci, hw, hw], &data(n * ci * hw * hw, 1));
        let w = Tensor::from_slice(
            &gpu,
            &[co, ci / groups, k, k],
            &data(co * ci / groups * k * k, 2),
        );
        let gy = Tensor::from_slice(&gpu, &[n, co, hw, hw], &data(n * co * hw * hw, 3));
        let reps = if n * hw * hw > 10_000 { 30 } else { 1000 };
        let fwd = wall(reps, &|| drop(conv2d_raw(&x, &w, None, cfg)));
        let dx = wall(reps, &|| {
            drop(conv2d_backward_input(&gy, &w, x.shape(), cfg))
        });
        let dw = wall(reps, &|| {
            drop(conv2d_backward_weight(&gy, &x, w.shape(), cfg))
        });
        println!("[{n},{ci},{hw},{hw}]->{co:<2} k{k} d{dil} g{groups}: fwd {fwd:6.0} us  dx {dx:6.0} us  dw {dw:6.0} us");
    }
    Ok(())
}
