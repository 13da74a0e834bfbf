//! Files a search leaves in its output folder (besides the checkpoint).

use super::run::{EpochLog, Search};
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

/// log.csv, alphas.csv and alphas.png from the epoch history.
pub fn write_logs(dir: &Path, s: &Search) -> anyhow::Result<()> {
    let mut log = String::from(
        "epoch,weight_loss,arch_loss,lr,val_psnr,val_ssim,val_psnr_noisy,val_ssim_noisy,\
         alpha_entropy,beta_entropy,min_margin,skip_none_edges,seconds,peak_gpu_mib,genotype_changed\n",
    );
    for h in &s.history {
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
    let names = arch_names(s);
    let mut csv = format!("epoch,{}\n", names.join(","));
    for h in &s.history {
        let vals: Vec<String> = h.arch.iter().map(|v| format!("{v:.6}")).collect();
        let _ = writeln!(csv, "{},{}", h.epoch, vals.join(","));
    }
    write_atomic(&dir.join("alphas.csv"), csv.as_bytes())?;
    plot::save_panels(&dir.join("alphas.png"), &arch_panels(s, &names))
}

/// Column names of the flattened softmaxes: alpha[set][edge][op] then beta[row][move].
fn arch_names(s: &Search) -> Vec<String> {
    let sp = &s.cfg.space;
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
        for m in ["down", "stay", "up"] {
            names.push(format!("beta{r}.{m}"));
        }
    }
    names
}

/// Panels for alphas.png: per alpha set, each op's weight averaged over the edges; and every
/// beta row's "stay" and "up" weights; and the losses.
fn arch_panels(s: &Search, names: &[String]) -> Vec<(String, Vec<plot::Series>)> {
    let sp = &s.cfg.space;
    let k = sp.ops.len();
    let e = crate::nn::cell::edge_count(sp.nodes);
    let sets = if sp.tied_cells { 1 } else { sp.layers };
    let mut panels = Vec::new();
    for set in 0..sets {
        let series = (0..k)
            .map(|o| plot::Series {
                name: sp.ops[o].clone(),
                values: s
                    .history
                    .iter()
                    .map(|h| {
                        (0..e)
                            .map(|ed| h.arch[(set * e + ed) * k + o] as f64)
                            .sum::<f64>()
                            / e as f64
                    })
                    .collect(),
            })
            .collect();
        panels.push((
            format!("alpha set {set}: mean softmax weight per op vs epoch"),
            series,
        ));
    }
    let off = sets * e * k;
    let series = names[off..]
        .iter()
        .enumerate()
        .map(|(i, n)| plot::Series {
            name: n.clone(),
            values: s
                .history
                .iter()
                .map(|h: &EpochLog| h.arch[off + i] as f64)
                .collect(),
        })
        .filter(|ser| ser.values.iter().any(|v| *v > 1e-6))
        .collect();
    panels.push(("beta: transition weights vs epoch".into(), series));
    panels.push((
        "losses vs epoch".into(),
        vec![
            plot::Series {
                name: "weight loss".into(),
                values: s.history.iter().map(|h| h.weight_loss).collect(),
            },
            plot::Series {
                name: "arch loss".into(),
                values: s
                    .history
                    .iter()
                    .map(|h| h.arch_loss.unwrap_or(f64::NAN))
                    .collect(),
            },
        ],
    ));
    panels
}
