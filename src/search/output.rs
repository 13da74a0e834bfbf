//! Files a search leaves in its output folder (besides the checkpoint).

use super::run::Search;
use super::state::EpochLog;
use crate::checkpoint::write_atomic;
use crate::nn::genotype::Genotype;
use crate::report::{graph, plot};
use std::fmt::Write;
use std::path::Path;

fn cell_titles(g: &Genotype) -> Vec<(String, Vec<crate::nn::cell::Edge>)> {
    if g.space.tied_cells {
        vec![("cell (shared by all layers)".into(), g.cells[0].clone())]
    } else {
        g.cells
            .iter()
            .enumerate()
            .map(|(l, c)| (format!("layer {l} cell"), c.clone()))
            .collect()
    }
}

/// genotype.json, cell.svg/.dot, network.svg/.dot.
pub fn write_genotype(dir: &Path, g: &Genotype) -> anyhow::Result<()> {
    write_atomic(
        &dir.join("genotype.json"),
        serde_json::to_string_pretty(g)?.as_bytes(),
    )?;
    let cells = cell_titles(g);
    write_atomic(&dir.join("cell.svg"), graph::cells_svg(&cells).as_bytes())?;
    let dot: String = cells.iter().map(|(t, e)| graph::cell_dot(t, e)).collect();
    write_atomic(&dir.join("cell.dot"), dot.as_bytes())?;
    let widths = g.space.widths();
    let tops: Vec<usize> = (0..g.space.layers).map(|l| g.space.top_level(l)).collect();
    write_atomic(
        &dir.join("network.svg"),
        graph::network_svg(&widths, &tops, &g.path).as_bytes(),
    )?;
    write_atomic(
        &dir.join("network.dot"),
        graph::network_dot(&widths, &tops, &g.path).as_bytes(),
    )?;
    Ok(())
}

fn opt(v: Option<f64>) -> String {
    v.map(|x| format!("{x:.6}")).unwrap_or_default()
}

/// log.csv, alphas.csv and alphas.png/.svg from the epoch history.
pub fn write_logs(dir: &Path, s: &Search) -> anyhow::Result<()> {
    let mut log = String::from(
        "epoch,weight_loss,arch_loss,lr,val_psnr,val_ssim,val_psnr_noisy,val_ssim_noisy,\
         alpha_entropy,beta_entropy,min_margin,skip_none_edges,seconds,peak_gpu_mib,genotype_changed\n",
    );
    for h in &s.progress.history {
        let _ = writeln!(
            log,
            "{},{:.6},{},{:.6},{},{},{},{},{:.6},{:.6},{:.6},{},{:.3},{:.1},{}",
            h.epoch,
            h.weight_loss,
            opt(h.arch_loss),
            h.lr,
            opt(h.val_psnr),
            opt(h.val_ssim),
            opt(h.val_psnr_noisy),
            opt(h.val_ssim_noisy),
            h.alpha_entropy,
            h.beta_entropy,
            h.min_margin,
            h.skip_none_edges,
            h.seconds,
            h.peak_mib,
            h.genotype_changed
        );
    }
    write_atomic(&dir.join("log.csv"), log.as_bytes())?;
    let names = arch_names(&s.cfg.space);
    let mut csv = format!("epoch,{}\n", names.join(","));
    for h in &s.progress.history {
        let vals: Vec<String> = h.arch.iter().map(|v| format!("{v:.6}")).collect();
        let _ = writeln!(csv, "{},{}", h.epoch, vals.join(","));
    }
    write_atomic(&dir.join("alphas.csv"), csv.as_bytes())?;
    plot::save(
        dir,
        "alphas",
        &alphas_figure(&s.cfg.space, &s.progress.history),
    )
}

/// Column names of the flattened softmaxes: alpha[set][edge][op] then beta[row][move].
fn arch_names(sp: &crate::nn::space::SpaceCfg) -> Vec<String> {
    let e = crate::nn::cell::edge_count(sp.nodes);
    let sets = if sp.tied_cells { 1 } else { sp.layers };
    let mut names = Vec::new();
    for set in 0..sets {
        for edge in 0..e {
            for op in &sp.ops {
                names.push(format!("alpha{set}.e{edge}.{op}"));
            }
        }
    }
    for r in 0..crate::nn::supernet::router_rows(sp) {
        for m in MOVES {
            names.push(format!("beta{r}.{m}"));
        }
    }
    names
}

const MOVES: [&str; 3] = ["down", "stay", "up"];

/// The picture of a search (alphas.png/.svg), epochs counted from 1 as in log.csv:
/// row 1: losses, validation PSNR and SSIM (the noisy input dashed);
/// row 2: mean edge entropy of alpha and beta, the smallest decision margin, skip/none edges;
/// row 3: per alpha set (one when cells are tied), each op's softmax weight averaged over edges;
/// then one row per layer with one panel per router (source level) feeding it: its move weights.
pub fn alphas_figure(sp: &crate::nn::space::SpaceCfg, history: &[EpochLog]) -> plot::Figure {
    use crate::nn::supernet::{router_row, sources};
    use plot::{Panel, Series};
    let x = |h: &EpochLog| h.epoch as f64;
    let series = |name: &str, f: &dyn Fn(&EpochLog) -> f64| {
        Series::new(name, history.iter().map(|h| (x(h), f(h))).collect())
    };
    let nan = f64::NAN;
    let row1 = vec![
        Panel::new("training losses", "epoch", "loss")
            .with(series("weight (train)", &|h| h.weight_loss))
            .with(series("arch (val split)", &|h| h.arch_loss.unwrap_or(nan))),
        Panel::new("validation PSNR", "epoch", "PSNR (dB)")
            .with(series("supernet", &|h| h.val_psnr.unwrap_or(nan)))
            .with(series("noisy input", &|h| h.val_psnr_noisy.unwrap_or(nan)).dashed()),
        Panel::new("validation SSIM", "epoch", "SSIM")
            .with(series("supernet", &|h| h.val_ssim.unwrap_or(nan)))
            .with(series("noisy input", &|h| h.val_ssim_noisy.unwrap_or(nan)).dashed()),
    ];
    let row2 = vec![
        Panel::new("mean edge entropy", "epoch", "entropy (nats)")
            .with(series("alpha (ops)", &|h| h.alpha_entropy))
            .with(series("beta (moves)", &|h| h.beta_entropy)),
        Panel::new("smallest decision margin", "epoch", "softmax weight gap")
            .with(series("chosen - runner-up", &|h| h.min_margin)),
        Panel::new("edges choosing skip/none", "epoch", "edges")
            .with(series("skip/none edges", &|h| h.skip_none_edges as f64)),
    ];
    let k = sp.ops.len();
    let e = crate::nn::cell::edge_count(sp.nodes);
    let sets = if sp.tied_cells { 1 } else { sp.layers };
    let complete =
        |h: &&EpochLog| h.arch.len() >= sets * e * k + crate::nn::supernet::router_rows(sp) * 3;
    let row3 = (0..sets)
        .map(|set| {
            let title = if sp.tied_cells {
                "alpha: mean op weight (all layers)".to_string()
            } else {
                format!("alpha, layer {set}: mean op weight")
            };
            let mut p = Panel::new(title, "epoch", "softmax weight");
            for (o, op) in sp.ops.iter().enumerate() {
                let pts = history
                    .iter()
                    .filter(complete)
                    .map(|h| {
                        let m = (0..e)
                            .map(|ed| h.arch[(set * e + ed) * k + o] as f64)
                            .sum::<f64>()
                            / e as f64;
                        (x(h), m)
                    })
                    .collect();
                p = p.with(Series::new(op.clone(), pts));
            }
            p
        })
        .collect();
    let mut rows = vec![row1, row2, row3];
    let off = sets * e * k;
    for l in 0..sp.layers {
        let row = (0..sources(sp, l))
            .map(|i| {
                let r = router_row(sp, l, i);
                let mut p = Panel::new(
                    format!("beta, layer {l} from level {i}"),
                    "epoch",
                    "move probability",
                );
                for (d, m) in MOVES.iter().enumerate() {
                    let target = i as isize + d as isize - 1;
                    if target < 0 || target > sp.top_level(l) as isize {
                        continue;
                    }
                    let pts = history
                        .iter()
                        .filter(complete)
                        .map(|h| (x(h), h.arch[off + r * 3 + d] as f64))
                        .collect();
                    p = p.with(Series::new(format!("{m} (to level {target})"), pts).styled(d));
                }
                p
            })
            .collect();
        rows.push(row);
    }
    plot::Figure::new(rows)
}
