//! Kernel benchmarks (criterion, custom main): conv2d forward, input gradient and weight
//! gradient on the [8,64,64,64] -> 64 3x3 reference shape and on the HiNAS search shapes
//! [6,C,64,64] -> C (C in 10/15/20, kernel 3/5, dilation 1/2, "same" padding).
//!
//! Each timed sample ends with `gpu.sync()`, so the GPU work is inside the timed region.
//! Besides criterion's own report, prints one line per case with the median time and GFLOP/s
//! (2 * N * Cout * Hout * Wout * Cin/groups * kh * kw per pass) and writes the medians to
//! target/bench_kernels.json (or $HINAS_BENCH_JSON), which tools/bench_torch.py reads to print
//! ours-vs-torch ratios.
//!
//!     cargo bench --bench kernels                         # everything
//!     HINAS_BENCH_QUICK=1 cargo bench --bench kernels     # two shapes only
//!     cargo bench --bench kernels -- 8x64                 # criterion's name filter

use criterion::{Criterion, SamplingMode};
use hinas::gpu::{Gpu, Tensor};
use hinas::ops::conv2d::*;
use std::cell::RefCell;
#[path = "../examples/support/data.rs"]
mod data;
use data::data;
use std::time::{Duration, Instant};

/// A named conv pass to time.
type Pass<'a> = (&'static str, Box<dyn Fn() -> Tensor + 'a>);

#[derive(Clone, Copy)]
struct Shape {
    name: &'static str,
    x: [usize; 4],
    cout: usize,
    k: usize,
    cfg: Conv2dCfg,
}

fn shapes(quick: bool) -> Vec<Shape> {
    let mut v = vec![Shape {
        name: "ref_8x64x64x64_k3",
        x: [8, 64, 64, 64],
        cout: 64,
        k: 3,
        cfg: Conv2dCfg::new(1, 1, 1, 1),
    }];
    let names = [
        "hinas_c10_k3_d1",
        "hinas_c10_k3_d2",
        "hinas_c10_k5_d1",
        "hinas_c10_k5_d2",
        "hinas_c15_k3_d1",
        "hinas_c15_k3_d2",
        "hinas_c15_k5_d1",
        "hinas_c15_k5_d2",
        "hinas_c20_k3_d1",
        "hinas_c20_k3_d2",
        "hinas_c20_k5_d1",
        "hinas_c20_k5_d2",
    ];
    let mut i = 0;
    for c in [10, 15, 20] {
        for k in [3, 5] {
            for d in [1, 2] {
                v.push(Shape {
                    name: names[i],
                    x: [6, c, 64, 64],
                    cout: c,
                    k,
                    cfg: Conv2dCfg::new(1, d * (k - 1) / 2, d, 1),
                });
                i += 1;
            }
        }
    }
    // Depthwise (the separable and dilated candidates' first conv), and two shapes of the
    // `tiny` search, where per-call costs dominate.
    for (name, x, k, d, groups) in [
        ("hinas_dw_c20_k3_d1", [6, 20, 64, 64], 3, 1, 20),
        ("hinas_dw_c20_k5_d1", [6, 20, 64, 64], 5, 1, 20),
        ("hinas_dw_c20_k3_d2", [6, 20, 64, 64], 3, 2, 20),
        ("tiny_c4_k3_d1", [2, 4, 24, 24], 3, 1, 1),
        ("tiny_dw_c4_k5_d1", [2, 4, 24, 24], 5, 1, 4),
    ] {
        v.push(Shape {
            name,
            x,
            cout: x[1],
            k,
            cfg: Conv2dCfg::new(1, d * (k - 1) / 2, d, groups),
        });
    }
    if quick {
        // The reference shape and the largest HiNAS one.
        v.retain(|s| s.name == "ref_8x64x64x64_k3" || s.name == "hinas_c20_k5_d2");
    }
    v
}

fn flops(s: &Shape) -> f64 {
    let (ho, wo) = conv2d_out_hw(s.x[2], s.x[3], s.k, s.k, s.cfg);
    2.0 * (s.x[0] * s.cout * ho * wo * (s.x[1] / s.cfg.groups) * s.k * s.k) as f64
}

fn main() {
    let gpu = Gpu::open().expect("benchmarks need a GPU adapter");
    let adapter = gpu.adapter_line();
    println!("adapter: {adapter}");
    let quick = std::env::var("HINAS_BENCH_QUICK").is_ok_and(|v| v == "1");
    let mut c = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(if quick { 2 } else { 4 }))
        .configure_from_args();
    let mut rows = Vec::new();
    for s in shapes(quick) {
        let (ho, wo) = conv2d_out_hw(s.x[2], s.x[3], s.k, s.k, s.cfg);
        let ws = [s.cout, s.x[1] / s.cfg.groups, s.k, s.k];
        let ys = [s.x[0], s.cout, ho, wo];
        let x = Tensor::from_slice(&gpu, &s.x, &data(s.x.iter().product(), 1));
        let w = Tensor::from_slice(&gpu, &ws, &data(ws.iter().product(), 2));
        let gy = Tensor::from_slice(&gpu, &ys, &data(ys.iter().product(), 3));
        let passes: [Pass<'_>; 3] = [
            ("forward", Box::new(|| conv2d_raw(&x, &w, None, s.cfg))),
            (
                "input_grad",
                Box::new(|| conv2d_backward_input(&gy, &w, &s.x, s.cfg)),
            ),
            (
                "weight_grad",
                Box::new(|| conv2d_backward_weight(&gy, &x, &ws, s.cfg)),
            ),
        ];
        let mut group = c.benchmark_group(format!("conv2d/{}", s.name));
        group.sampling_mode(SamplingMode::Flat);
        for (pass, f) in passes.iter() {
            let times = RefCell::new(Vec::new());
            group.bench_function(*pass, |b| {
                // `iters` passes, then one wait: on a fast GPU a wait per pass would time the
                // submit round trip more than the kernel.
                b.iter_custom(|iters| {
                    let t0 = Instant::now();
                    for _ in 0..iters {
                        drop(f());
                    }
                    gpu.sync();
                    let total = t0.elapsed();
                    times.borrow_mut().push(total / iters as u32);
                    total
                })
            });
            // A name filter (`cargo bench --bench kernels -- 8x64`) skips the cases it does not
            // match: they have no samples and no row.
            let mut t = times.into_inner();
            if t.is_empty() {
                continue;
            }
            t.sort();
            let med = t[t.len() / 2].as_secs_f64();
            rows.push((s.name, *pass, med, flops(&s) / med / 1e9));
        }
        group.finish();
    }
    println!("\nadapter: {adapter}");
    println!(
        "{:<22} {:<12} {:>12} {:>10}",
        "shape", "pass", "median ms", "GFLOP/s"
    );
    for (name, pass, med, gf) in &rows {
        println!("{name:<22} {pass:<12} {:>12.1} {gf:>10.2}", med * 1e3);
    }
    let json: Vec<String> = rows
        .iter()
        .map(|(n, p, m, g)| {
            format!("{{\"shape\":\"{n}\",\"pass\":\"{p}\",\"median_s\":{m},\"gflops\":{g}}}")
        })
        .collect();
    // HINAS_BENCH_JSON moves the file (a bench binary copied to another machine has no
    // source tree there).
    let path = std::env::var("HINAS_BENCH_JSON").unwrap_or_else(|_| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/target/bench_kernels.json").into()
    });
    let body = format!(
        "{{\"adapter\":{:?},\"rows\":[{}]}}\n",
        adapter,
        json.join(",")
    );
    if let Err(e) = std::fs::write(&path, body) {
        eprintln!("could not write {path}: {e}");
    }
    c.final_summary();
}
