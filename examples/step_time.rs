//! Times supernet steps: `cargo run --release --example step_time -- [CONFIG.toml|--paper] [--no-cell-sharing] [--iters N] [--profile]`.
//! `--profile` adds the GPU time per kernel over the timed iterations (the warm-up excluded);
//! profiling waits at every submit, so the step times printed with it are not the normal ones.
use hinas::gpu::Gpu;
use hinas::nn::params::{Group, ParamStore};
use hinas::nn::supernet::Supernet;
use hinas::optim::{Adam, Sgd};
use hinas::search::config::SearchConfig;
use hinas::search::step::{arch_step, weight_step};
use rand::SeedableRng;
use std::time::Instant;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut cfg = if args.iter().any(|a| a == "--paper") {
        SearchConfig::resolve("cvpr2020", "paper", None)?
    } else {
        let p = args
            .first()
            .filter(|a| !a.starts_with("--"))
            .cloned()
            .unwrap_or_else(|| {
                concat!(env!("CARGO_MANIFEST_DIR"), "/tests/configs/micro.toml").into()
            });
        SearchConfig::resolve("cvpr2020", "tiny", Some(std::path::Path::new(&p)))?
    };
    cfg.space.cell_sharing = !args.iter().any(|a| a == "--no-cell-sharing");
    let iters: usize = args
        .iter()
        .position(|a| a == "--iters")
        .map(|i| args[i + 1].parse().unwrap())
        .unwrap_or(3);
    // The device as `hinas search` opens it for this config.
    let gpu = Gpu::open_for(cfg.dispatch_size())?;
    let mut store = ParamStore::new(&gpu);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
    let net = Supernet::new(&mut store, &mut rng, &cfg.space)?;
    let sc = &cfg.search;
    let n = sc.batch_size * cfg.space.channels * sc.patch_size * sc.patch_size;
    let x = hinas::gpu::Tensor::from_slice(
        &gpu,
        &[
            sc.batch_size,
            cfg.space.channels,
            sc.patch_size,
            sc.patch_size,
        ],
        &(0..n)
            .map(|i| ((i * 7919) % 255) as f32 / 255.0)
            .collect::<Vec<_>>(),
    );
    let y = x.deep_clone();
    println!(
        "{} | weights {} arch {}",
        gpu.adapter_line(),
        store.count(Group::Weight),
        store.count(Group::Arch)
    );
    if args.iter().any(|a| a == "--params") {
        let mut by: std::collections::BTreeMap<String, usize> = Default::default();
        for p in &store.params {
            *by.entry(p.name.split('.').next().unwrap().to_string())
                .or_default() += p.value.numel();
        }
        println!("{by:?}");
    }
    let profile = args.iter().any(|a| a == "--profile");
    if profile {
        gpu.enable_profiler()?;
    }
    let (mut adam, mut sgd) = (Adam::new(), Sgd::new(0.9, None));
    let mut times = Vec::new();
    for it in 0..=iters {
        gpu.reset_peak();
        let t0 = Instant::now();
        let la = arch_step(&net, &store, &mut adam, 1e-3, 1e-3, &x, &y, 0.5);
        let _ = la.to_vec();
        let t1 = Instant::now();
        let lw = weight_step(&net, &store, &mut sgd, 0.025, 3e-4, &x, &y, 0.5);
        let _ = lw.to_vec();
        let t2 = Instant::now();
        let total = (t2 - t0).as_secs_f64() * 1e3;
        let note = if it == 0 {
            " (warm-up: pipeline compilation)"
        } else {
            ""
        };
        let (a, w) = ((t1 - t0).as_secs_f64() * 1e3, (t2 - t1).as_secs_f64() * 1e3);
        let peak = gpu.memory().peak as f64 / 1048576.0;
        println!("iter {it}{note}: arch step {a:.1} ms + weight step {w:.1} ms = {total:.1} ms, peak GPU memory {peak:.1} MiB");
        if it > 0 {
            times.push(total);
        } else {
            gpu.reset_profile();
        }
    }
    if profile {
        println!(
            "GPU time per kernel over {iters} iterations:\n{}",
            hinas::gpu::format_report(&gpu.profile())
        );
    }
    times.sort_by(|a, b| a.partial_cmp(b).unwrap());
    if !times.is_empty() {
        let sharing = cfg.space.cell_sharing;
        println!(
            "search iteration median {:.1} ms over {} (cell sharing: {sharing})",
            times[times.len() / 2],
            times.len()
        );
    }
    Ok(())
}
