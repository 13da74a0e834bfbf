//! Deformable convolution (DCNv2, with mask) forward and forward+backward on the GPU adapter.
//!
//!     cargo bench --bench deform_conv               # all shapes
//!     HINAS_BENCH_QUICK=1 cargo bench --bench deform_conv   # the small shapes, short runs
//!     cargo bench --bench deform_conv -- 6,10                # criterion's name filter
//!
//! Shapes: x [6,10,64,64], [6,20,64,64] (HiNAS search cells) and [8,64,64,64] (the shape Burn
//! and torchvision were timed on), 3x3, padding 1, Cout = Cin, one offset group, bias; offsets
//! 2*U(-1,1), mask U(0,1). fwd+bwd computes all five gradients (x, offset, mask, weight, bias).
//! Each timed batch of iterations ends with gpu.sync(). Besides criterion's report, prints the
//! median time per iteration and GFLOP/s, counting 2*N*Cout*Hout*Wout*Cin*9 for the forward
//! and three times that for forward+backward (the three matmuls; sampling work not counted).
//! Compare with tools/bench_torch_deform.py (torchvision on the CPU, same shapes).

use criterion::{Criterion, SamplingMode};
use hinas::gpu::{Gpu, Tensor};
use hinas::ops::deform_conv::{deform_conv2d, deform_conv2d_raw, DeformCfg};
use hinas::tape::Tape;
use rand::{Rng, SeedableRng};
use std::cell::RefCell;
use std::time::{Duration, Instant};

struct Case {
    x: Tensor,
    off: Tensor,
    mask: Tensor,
    w: Tensor,
    b: Tensor,
    gy: Tensor,
    flop: f64,
}

fn rand_tensor(
    gpu: &Gpu,
    r: &mut rand_chacha::ChaCha8Rng,
    shape: &[usize],
    lo: f32,
    hi: f32,
) -> Tensor {
    let n: usize = shape.iter().product();
    let v: Vec<f32> = (0..n).map(|_| r.random_range(lo..hi)).collect();
    Tensor::from_slice(gpu, shape, &v)
}

fn case(gpu: &Gpu, n: usize, c: usize, hw: usize) -> Case {
    let mut r = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    Case {
        x: rand_tensor(gpu, &mut r, &[n, c, hw, hw], -1.0, 1.0),
        off: rand_tensor(gpu, &mut r, &[n, 18, hw, hw], -2.0, 2.0),
        mask: rand_tensor(gpu, &mut r, &[n, 9, hw, hw], 0.0, 1.0),
        w: rand_tensor(gpu, &mut r, &[c, c, 3, 3], -0.1, 0.1),
        b: rand_tensor(gpu, &mut r, &[c], -0.1, 0.1),
        gy: rand_tensor(gpu, &mut r, &[n, c, hw, hw], -1.0, 1.0),
        flop: 2.0 * (n * c * hw * hw * c * 9) as f64,
    }
}

const CFG: DeformCfg = DeformCfg {
    stride: 1,
    padding: 1,
    dilation: 1,
    groups: 1,
    offset_groups: 1,
};

fn forward(k: &Case) {
    let _y = deform_conv2d_raw(&k.x, &k.off, Some(&k.mask), &k.w, Some(&k.b), CFG);
}

fn forward_backward(gpu: &Gpu, k: &Case) {
    let mut t = Tape::new(gpu);
    let x = t.leaf(k.x.clone(), true);
    let off = t.leaf(k.off.clone(), true);
    let m = t.leaf(k.mask.clone(), true);
    let w = t.leaf(k.w.clone(), true);
    let b = t.leaf(k.b.clone(), true);
    let y = deform_conv2d(&mut t, &x, &off, Some(&m), &w, Some(&b), CFG);
    let _grads = t.backward_with(&y, k.gy.clone());
}

/// None for a case a name filter skipped (no samples).
fn median_ms(v: &mut [f64]) -> Option<f64> {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v.get(v.len() / 2).copied()
}

fn main() {
    let quick = std::env::var("HINAS_BENCH_QUICK").is_ok_and(|v| v != "0");
    let gpu = Gpu::open().expect("no GPU adapter");
    println!("adapter: {}", gpu.adapter_line());
    // Command-line options (e.g. `--measurement-time 2`) override these.
    let mut c = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(if quick { 100 } else { 500 }))
        .measurement_time(Duration::from_secs(if quick { 1 } else { 5 }))
        .configure_from_args();
    let shapes: &[(usize, usize)] = if quick {
        &[(6, 10), (6, 20)]
    } else {
        &[(6, 10), (6, 20), (8, 64)]
    };
    let mut table = Vec::new();
    for &(n, ch) in shapes {
        let k = case(&gpu, n, ch, 64);
        let mut grp = c.benchmark_group(format!("deform_conv2d [{n},{ch},64,64] 3x3 mask"));
        grp.sampling_mode(SamplingMode::Flat);
        for (what, mult) in [("fwd", 1.0), ("fwd+bwd", 3.0)] {
            // Warm-up outside the measurement: pipeline compilation, pool buffers.
            let run = |k: &Case| {
                if what == "fwd" {
                    forward(k)
                } else {
                    forward_backward(&gpu, k)
                }
            };
            let warm = std::cell::Cell::new(false);
            let times = RefCell::new(Vec::new());
            // Criterion calls this closure only for cases the name filter matches.
            grp.bench_function(what, |bch| {
                if !warm.replace(true) {
                    run(&k);
                    gpu.sync();
                }
                bch.iter_custom(|iters| {
                    let t0 = Instant::now();
                    for _ in 0..iters {
                        run(&k);
                    }
                    gpu.sync();
                    let d = t0.elapsed();
                    times
                        .borrow_mut()
                        .push(d.as_secs_f64() * 1e3 / iters as f64);
                    d
                })
            });
            let Some(ms) = median_ms(&mut times.borrow_mut()) else {
                continue;
            };
            table.push((
                format!("[{n},{ch},64,64] {what}"),
                ms,
                mult * k.flop / ms / 1e6,
            ));
        }
        grp.finish();
    }
    println!("\nadapter: {}", gpu.adapter_line());
    println!(
        "{:<28} {:>12} {:>10}",
        "deform_conv2d 3x3 mask", "median ms", "GFLOP/s"
    );
    for (name, ms, gf) in table {
        println!("{name:<28} {ms:>12.1} {gf:>10.2}");
    }
}
