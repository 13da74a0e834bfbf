//! How much signal one architecture gradient carries. From a search's checkpoint, this draws N
//! fresh architecture batches (the search's own sampler, continuing where the checkpoint left
//! it), computes the first-order gradient of the loss with respect to alpha on each without
//! stepping, and prints per edge the op the mean gradient favours, its lead over the runner-up
//! in units of the lead's spread between batches, and how many batches a search would need
//! before that lead is two standard errors clear of zero. A search whose planned architecture
//! steps are far below that number cannot make the edge's decision on data; the softmax it
//! ends with is then mostly the sum of noise.
//!
//!     cargo run --release --example arch_gradient_snr -- SEARCH_DIR DATA [N]
//!
//! DATA is what the search was given with `--data` (`builtin:train` or a folder).

use hinas::gpu::Gpu;
use hinas::nn::params::Group;
use hinas::search::run::{load_split, Search};
use hinas::search::state::saved_config;
use hinas::search::step::gradients;
use std::path::PathBuf;

fn mean_std(x: &[f64]) -> (f64, f64) {
    let n = x.len() as f64;
    let m = x.iter().sum::<f64>() / n;
    let v = x.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / (n - 1.0).max(1.0);
    (m, v.sqrt())
}

fn pearson(x: &[f64], y: &[f64]) -> f64 {
    let (mx, sx) = mean_std(x);
    let (my, sy) = mean_std(y);
    let cov = x
        .iter()
        .zip(y)
        .map(|(a, b)| (a - mx) * (b - my))
        .sum::<f64>();
    cov / ((x.len() as f64 - 1.0) * sx * sy).max(1e-300)
}

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: arch_gradient_snr SEARCH_DIR DATA [N]";
    let dir = PathBuf::from(args.next().ok_or_else(|| anyhow::anyhow!(usage))?);
    let data: hinas::data::Source = args.next().ok_or_else(|| anyhow::anyhow!(usage))?.parse()?;
    let n: usize = args.next().map_or(Ok(32), |s| s.parse())?;
    anyhow::ensure!(n >= 4, "N must be at least 4");
    let cfg = saved_config(&dir)?;
    let split = load_split(&cfg, &data)?;
    let gpu = Gpu::open()?;
    let mut s = Search::new(&gpu, cfg, split, &dir)?;
    s.restore()?;
    let ops = s.cfg.space.ops.clone();
    let k = ops.len();
    let alpha = s.net.alpha.0;
    let ssim_w = s.cfg.search.ssim_weight as f32;
    let logits = s.store.params[alpha].value.to_vec();
    let rows = logits.len() / k;
    // grads[b][row * k + op]
    let mut grads: Vec<Vec<f64>> = Vec::with_capacity(n);
    let started = std::time::Instant::now();
    for _ in 0..n {
        let (xa, ya) = s.arch_sampler.next_gpu(&s.gpu);
        let (_, g) = gradients(&s.net, &s.store, &[Group::Arch], &xa, &ya, ssim_w);
        let (_, ga) = g
            .into_iter()
            .find(|(i, _)| *i == alpha)
            .ok_or_else(|| anyhow::anyhow!("no alpha gradient"))?;
        grads.push(ga.to_vec().into_iter().map(f64::from).collect());
    }
    let per_batch = started.elapsed().as_secs_f64() / n as f64;
    let planned = s.cfg.search.planned_arch_steps(s.iters_per_epoch());
    println!(
        "{}: epoch {}, {} architecture batches of {} x {}^2 ({:.1} s each); the search plans {} steps",
        dir.display(),
        s.progress.epoch,
        n,
        s.cfg.search.batch_size,
        s.cfg.search.patch_size,
        per_batch,
        planned
    );
    println!(
        "| edge | softmax leader (its rank by gradient) | gradient leader | runner-up | gradient's last | lead / spread per batch | batches for 2 s.e. |"
    );
    println!("|---|---|---|---|---|---|---|");
    let mut needed = Vec::new();
    let mut restoring = Vec::new();
    for r in 0..rows {
        let col = |o: usize| grads.iter().map(|g| g[r * k + o]).collect::<Vec<_>>();
        let means: Vec<f64> = (0..k).map(|o| mean_std(&col(o)).0).collect();
        // Gradient descent raises the logit with the most negative mean gradient.
        let mut order: Vec<usize> = (0..k).collect();
        order.sort_by(|&a, &b| means[a].total_cmp(&means[b]));
        let (lead, second) = (order[0], order[1]);
        let lead_by_batch: Vec<f64> = grads
            .iter()
            .map(|g| g[r * k + second] - g[r * k + lead])
            .collect();
        let (m, sd) = mean_std(&lead_by_batch);
        let snr = m / sd.max(1e-30);
        let batches = (2.0 / snr).powi(2);
        needed.push(batches);
        let row = &logits[r * k..(r + 1) * k];
        // > 0: the ops ahead are the ones the gradient pushes back (a restoring force).
        let logit: Vec<f64> = row.iter().map(|&v| f64::from(v)).collect();
        restoring.push(pearson(&logit, &means));
        let soft = (0..k).max_by(|&a, &b| row[a].total_cmp(&row[b])).unwrap();
        let rank = order.iter().position(|&o| o == soft).unwrap() + 1;
        println!(
            "| {r} | {} ({rank}) | {} | {} | {} | {snr:.3} | {batches:.0} |",
            ops[soft],
            ops[lead],
            ops[second],
            ops[order[k - 1]]
        );
    }
    restoring.sort_by(f64::total_cmp);
    println!(
        "correlation of an edge's logits with its mean gradients (> 0: the leaders are pushed \
         back): median {:.2}, {} of {rows} edges above 0.5",
        restoring[rows / 2],
        restoring.iter().filter(|&&c| c > 0.5).count()
    );
    // Adam normalises by the root mean square of (gradient + coupled decay): when the decay
    // term is the larger, it sets the step and the ops' differences move only a fraction of lr.
    let rms = (grads.iter().flatten().map(|g| g * g).sum::<f64>() / (n * rows * k) as f64).sqrt();
    let decay = s.cfg.search.arch_weight_decay
        * logits.iter().map(|v| f64::from(v.abs())).sum::<f64>()
        / logits.len() as f64;
    println!(
        "alpha gradient rms {rms:.2e}; coupled decay term (arch_weight_decay x mean |logit|) {decay:.2e}"
    );
    needed.sort_by(f64::total_cmp);
    let median = needed[needed.len() / 2];
    let within = needed.iter().filter(|&&b| b <= planned as f64).count();
    println!(
        "median edge needs {median:.0} batches for its leader to be 2 standard errors ahead \
         ({:.1}x the planned {planned} steps); {within} of {rows} edges need no more than planned",
        median / planned.max(1) as f64
    );
    Ok(())
}
