//! Times supernet steps: `cargo run --release --example step_time -- [CONFIG.toml|--paper] [--no-cell-sharing] [--iters N]`.
use hinas::gpu::Gpu;
use hinas::nn::params::{Group, ParamStore};
use hinas::nn::supernet::Supernet;
use hinas::search::config::SearchConfig;
use hinas::search::step::gradients;
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
    let gpu = Gpu::open()?;
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
    for it in 0..iters {
        let t0 = Instant::now();
        let (l, _g) = gradients(&net, &store, &[Group::Arch], &x, &y, 0.5);
        let _ = l.to_vec();
        let t1 = Instant::now();
        let (l, _g) = gradients(&net, &store, &[Group::Weight], &x, &y, 0.5);
        let _ = l.to_vec();
        let t2 = Instant::now();
        println!(
            "iter {it}: arch fwd+bwd {:.1} ms, weight fwd+bwd {:.1} ms, peak {:.1} MiB",
            (t1 - t0).as_secs_f64() * 1e3,
            (t2 - t1).as_secs_f64() * 1e3,
            gpu.memory().peak as f64 / 1048576.0
        );
    }
    Ok(())
}
