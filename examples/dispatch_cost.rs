//! Fixed costs on the current adapter: the time of one tiny dispatch (and the host's share of it),
//! and of the deformable conv
//! forward / backward at the small shapes of a `tiny` search, where work per call is small and
//! fixed costs dominate. Wall time per call, median of several rounds.
//!
//!     cargo run --release --example dispatch_cost

use hinas::gpu::{Gpu, Tensor};
use hinas::ops::deform_conv::{deform_conv2d_backward, DeformNeeds};
use hinas::ops::deform_conv::{deform_conv2d_raw, DeformCfg};
use hinas::ops::elementwise::scale_raw;
use std::time::Instant;

fn median_ms(rounds: usize, per_round: usize, mut f: impl FnMut()) -> f64 {
    let mut v: Vec<f64> = (0..rounds)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..per_round {
                f();
            }
            t.elapsed().as_secs_f64() * 1e3 / per_round as f64
        })
        .collect();
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn data(n: usize, seed: u32, scale: f32) -> Vec<f32> {
    (0..n)
        .map(|i| {
            let h = (i as u32 ^ seed)
                .wrapping_mul(2_654_435_761)
                .rotate_left(13);
            scale * ((h % 20001) as f32 / 10000.0 - 1.0)
        })
        .collect()
}

fn main() -> anyhow::Result<()> {
    let gpu = Gpu::open()?;
    println!("{}", gpu.adapter_line());
    let small = Tensor::from_slice(&gpu, &[64], &data(64, 1, 1.0));
    let _ = scale_raw(&small, 2.0);
    gpu.sync();
    let one = median_ms(5, 200, || {
        let _ = scale_raw(&small, 2.0);
        gpu.sync();
    });
    let batched = median_ms(5, 1, || {
        for _ in 0..640 {
            let _ = scale_raw(&small, 2.0);
        }
        gpu.sync();
    }) / 640.0;
    println!("tiny dispatch: {one:.3} ms alone (submit + wait), {batched:.3} ms batched");
    // Host side only: recording 60 dispatches (bind group, uniform lookup, pipeline lookup,
    // pool), fewer than one submit holds, so the device does nothing meanwhile; on a real GPU
    // this, not the kernel, bounds tiny dispatches.
    let mut rec: Vec<f64> = (0..50)
        .map(|_| {
            gpu.sync();
            let t = Instant::now();
            for _ in 0..60 {
                let _ = scale_raw(&small, 2.0);
            }
            let dt = t.elapsed().as_secs_f64() * 1e6 / 60.0;
            gpu.sync();
            dt
        })
        .collect();
    rec.sort_by(f64::total_cmp);
    println!(
        "host cost of recording one dispatch: {:.1} us (median of 50 x 60)",
        rec[25]
    );

    for (n, c, hw) in [(2, 2, 24), (2, 8, 24), (6, 10, 64)] {
        let cfg = DeformCfg {
            padding: 1,
            ..DeformCfg::default()
        };
        let x = Tensor::from_slice(&gpu, &[n, c, hw, hw], &data(n * c * hw * hw, 2, 1.0));
        let off = Tensor::from_slice(&gpu, &[n, 18, hw, hw], &data(n * 18 * hw * hw, 3, 2.0));
        let m = Tensor::from_slice(&gpu, &[n, 9, hw, hw], &data(n * 9 * hw * hw, 4, 0.5));
        let w = Tensor::from_slice(&gpu, &[c, c, 3, 3], &data(c * c * 9, 5, 0.3));
        let gy = Tensor::from_slice(&gpu, &[n, c, hw, hw], &data(n * c * hw * hw, 6, 1.0));
        let (x, off, m, w, gy, gpu) = (&x, &off, &m, &w, &gy, &gpu);
        let bwd = |needs: DeformNeeds| {
            move || {
                let _ = deform_conv2d_backward(x, off, Some(m), w, gy, cfg, needs);
                gpu.sync();
            }
        };
        let none = DeformNeeds {
            x: false,
            offset: false,
            mask: false,
            weight: false,
            bias: false,
        };
        let fwd = || {
            let _ = deform_conv2d_raw(x, off, Some(m), w, None, cfg);
            gpu.sync();
        };
        fwd();
        bwd(DeformNeeds::all())();
        let t_f = median_ms(5, 3, fwd);
        let t_all = median_ms(5, 3, bwd(DeformNeeds::all()));
        let t_x = median_ms(5, 3, bwd(DeformNeeds { x: true, ..none }));
        let t_off = median_ms(
            5,
            3,
            bwd(DeformNeeds {
                offset: true,
                mask: true,
                ..none
            }),
        );
        let t_w = median_ms(
            5,
            3,
            bwd(DeformNeeds {
                weight: true,
                ..none
            }),
        );
        println!(
            "deform [{n},{c},{hw},{hw}] 3x3+mask: fwd {t_f:.2} ms | bwd all {t_all:.2} ms, x only {t_x:.2}, offset+mask only {t_off:.2}, weight only {t_w:.2}"
        );
    }
    Ok(())
}
