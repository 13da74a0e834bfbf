//! The genotype of finished (or stopped) searches under both selection rules, and how far the
//! searches agree under each: `best_epoch` (the official rule: the best-validation epoch's
//! architecture) and `window_mean` (the architecture weights averaged over the selection window).
//! Both rules read the same per-epoch softmaxes (from the search's alphas.csv and log.csv, which
//! every search writes, so finished runs whose checkpoint was removed work too), so this is what
//! a search run with either rule returns, up to the csv's 6 decimals.
//!
//!     cargo run --release --example genotype_rules -- SEARCH_DIR SEARCH_DIR...

use hinas::nn::genotype::Genotype;
use hinas::search::config::SearchConfig;
use hinas::search::run::window_mean_genotype;
use hinas::search::state::EpochLog;
use std::path::{Path, PathBuf};

/// The epoch history as far as the rules need it: softmaxes and validation scores.
fn history(dir: &Path) -> anyhow::Result<Vec<EpochLog>> {
    let mut scores = std::collections::HashMap::new();
    for row in csv::Reader::from_path(dir.join("log.csv"))?.deserialize() {
        let row: std::collections::HashMap<String, String> = row?;
        let f = |k: &str| row.get(k).and_then(|v| v.parse::<f64>().ok());
        scores.insert(
            row["epoch"].parse::<usize>()?,
            (f("val_psnr"), f("val_ssim")),
        );
    }
    let mut out = Vec::new();
    for rec in csv::Reader::from_path(dir.join("alphas.csv"))?.records() {
        let rec = rec?;
        let epoch: usize = rec[0].parse()?;
        let arch = rec
            .iter()
            .skip(1)
            .map(|v| v.parse::<f32>())
            .collect::<Result<_, _>>()?;
        let (val_psnr, val_ssim) = scores.get(&epoch).copied().unwrap_or((None, None));
        out.push(EpochLog {
            epoch,
            val_psnr,
            val_ssim,
            arch,
            ..EpochLog::default()
        });
    }
    Ok(out)
}

/// Edges (input, op) the two genotypes' first cells share, node by node, and whether the paths
/// are equal.
fn agreement(a: &Genotype, b: &Genotype) -> (usize, usize, bool) {
    let (ca, cb) = (&a.cells[0], &b.cells[0]);
    let mut shared = 0;
    for (na, nb) in ca.chunks(2).zip(cb.chunks(2)) {
        let mut rest: Vec<_> = nb.to_vec();
        for e in na {
            if let Some(i) = rest.iter().position(|x| x == e) {
                rest.remove(i);
                shared += 1;
            }
        }
    }
    (shared, ca.len(), a.path == b.path)
}

fn show(g: &Genotype) -> String {
    let edges: Vec<String> = g.cells[0]
        .iter()
        .map(|e| format!("{}<-{}", e.op, e.input))
        .collect();
    format!("path {:?} | {}", g.path, edges.join(" "))
}

fn main() -> anyhow::Result<()> {
    let dirs: Vec<PathBuf> = std::env::args().skip(1).map(PathBuf::from).collect();
    anyhow::ensure!(!dirs.is_empty(), "usage: genotype_rules SEARCH_DIR...");
    let mut rules: Vec<(Genotype, Genotype)> = Vec::new();
    for d in &dirs {
        let cfg: SearchConfig = toml::from_str(&std::fs::read_to_string(d.join("config.toml"))?)?;
        let best: Genotype =
            serde_json::from_str(&std::fs::read_to_string(d.join("genotype.json"))?)?;
        let history = history(d)?;
        let mean = window_mean_genotype(&cfg, &history).ok_or_else(|| {
            anyhow::anyhow!("{}: the selection window has not begun", d.display())
        })?;
        println!(
            "{} (epoch {}):",
            d.display(),
            history.last().map_or(0, |h| h.epoch)
        );
        println!("  best_epoch  (epoch {:>2}): {}", best.epoch, show(&best));
        println!(
            "  window_mean (from {:>2}): {}",
            cfg.search.first_select_epoch(),
            show(&mean)
        );
        rules.push((best, mean));
    }
    for i in 0..dirs.len() {
        for j in i + 1..dirs.len() {
            let (b, bn, bp) = agreement(&rules[i].0, &rules[j].0);
            let (m, mn, mp) = agreement(&rules[i].1, &rules[j].1);
            println!(
                "{} ~ {}: best_epoch {b}/{bn} edges, same path {bp} | window_mean {m}/{mn} edges, same path {mp}",
                dirs[i].display(),
                dirs[j].display()
            );
        }
    }
    Ok(())
}
