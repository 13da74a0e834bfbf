//! `hinas report DIR`: merges a sweep's finished and unfinished tasks into results.csv (one row
//! per task x sigma x test set), summary.md (per strategy and sigma: n, mean +- std, 95 % t
//! interval; Welch's t-test and a bootstrap interval for every pair of strategies; how often the
//! seeds' genotypes agree edge by edge; the failed and unfinished tasks with their last log line)
//! and psnr.svg. Everything is read from the task folders, so a sweep run locally and the same
//! plan run under Slurm report the same numbers.

pub use super::rows::{groups, label, Groups, Row};
use super::stats::{bootstrap_diff, summarize, welch, Summary};
use super::task::{eval_stage, last_line, stage_record, tasks_dir, train_stage, TaskInfo};
use super::{Manifest, ReportArgs};
use crate::checkpoint::write_atomic;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::{Path, PathBuf};

/// A task's state as its folder shows it.
pub struct TaskState {
    pub info: TaskInfo,
    pub dir: PathBuf,
    pub status: &'static str,
    pub last_line: Option<String>,
    /// cells and path of the searched genotype, when the search finished.
    pub genotype: Option<Value>,
}

/// A short id of a genotype's architecture (cells and path; not its scores or alphas).
pub fn genotype_id(cells_and_path: &Value) -> String {
    let digest = Sha256::digest(cells_and_path.to_string().as_bytes());
    digest.iter().take(5).map(|b| format!("{b:02x}")).collect()
}

fn read_json(path: &Path) -> Option<Value> {
    serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()
}

fn stages(info: &TaskInfo) -> Vec<String> {
    let mut s = vec!["search".to_string()];
    for &sigma in &info.sigmas {
        s.push(train_stage(sigma));
        for set in &info.sets {
            s.push(eval_stage(sigma, &set.name));
        }
    }
    s
}

/// The most recently written log of a task (its own or the last stage's): its last line.
fn newest_log_line(dir: &Path) -> Option<String> {
    let mut logs: Vec<(std::time::SystemTime, PathBuf)> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "log"))
        .filter_map(|p| Some((p.metadata().ok()?.modified().ok()?, p)))
        .collect();
    logs.sort();
    logs.iter().rev().find_map(|(_, p)| last_line(p))
}

pub fn task_state(out: &Path, info: TaskInfo) -> TaskState {
    let dir = tasks_dir(out).join(&info.name);
    let records: Vec<_> = stages(&info)
        .iter()
        .map(|s| stage_record(&dir.join(s)))
        .collect();
    let status = if !dir.is_dir() {
        "not started"
    } else if records.iter().all(|r| r.as_ref().is_some_and(|r| r.done)) {
        "done"
    } else if records
        .iter()
        .flatten()
        .any(|r| !r.done && r.last_exit.is_some_and(|c| c != crate::stop::EXIT_STATUS))
    {
        "failed"
    } else {
        "unfinished"
    };
    let genotype = stage_record(&dir.join("search"))
        .filter(|r| r.done)
        .and_then(|_| read_json(&dir.join("search").join("genotype.json")))
        .map(|g| serde_json::json!({"cells": g["cells"], "path": g["path"]}));
    let last_line = (status != "done").then(|| newest_log_line(&dir)).flatten();
    TaskState {
        info,
        dir,
        status,
        last_line,
        genotype,
    }
}

/// Every task of the sweep: the manifest's (or the plan's) in order, then any other task folder.
pub fn collect(out: &Path, plan: Option<&Path>) -> anyhow::Result<Vec<TaskState>> {
    let mut infos: Vec<TaskInfo> = match plan {
        Some(p) => {
            let loaded = super::plan::Loaded::load(p)?;
            loaded
                .tasks()
                .iter()
                .map(|t| TaskInfo::new(&loaded, t))
                .collect()
        }
        // The task list as the sweep was started (the plan file may have moved since).
        None => read_json(&out.join("sweep.json"))
            .and_then(|v| serde_json::from_value::<Manifest>(v).ok())
            .map(|m| m.tasks)
            .unwrap_or_default(),
    };
    if let Ok(rd) = std::fs::read_dir(tasks_dir(out)) {
        let mut extra: Vec<TaskInfo> = rd
            .filter_map(|e| e.ok())
            .filter_map(|e| read_json(&e.path().join("task.json")))
            .filter_map(|v| serde_json::from_value::<TaskInfo>(v).ok())
            .filter(|t| infos.iter().all(|i| i.name != t.name))
            .collect();
        extra.sort_by(|a, b| a.name.cmp(&b.name));
        infos.extend(extra);
    }
    anyhow::ensure!(
        !infos.is_empty(),
        "{} holds no sweep (no sweep.json and no task folders)",
        out.display()
    );
    Ok(infos.into_iter().map(|i| task_state(out, i)).collect())
}

pub fn rows(tasks: &[TaskState]) -> Vec<Row> {
    let mut rows = Vec::new();
    for t in tasks {
        let i = &t.info;
        let search_seconds = stage_record(&t.dir.join("search"))
            .filter(|r| r.done)
            .map(|r| r.seconds);
        for &sigma in &i.sigmas {
            let train_seconds = stage_record(&t.dir.join(train_stage(sigma)))
                .filter(|r| r.done)
                .map(|r| r.seconds);
            for set in &i.sets {
                let stage = t.dir.join(eval_stage(sigma, &set.name));
                let eval = stage_record(&stage)
                    .filter(|r| r.done)
                    .and_then(|_| read_json(&stage.join("eval.json")));
                let s = eval.as_ref().map(|e| &e["sigmas"][0]);
                let f = |v: Option<&Value>| v.and_then(Value::as_f64);
                rows.push(Row {
                    task: i.name.clone(),
                    strategy: i.task.strategy.clone(),
                    arch_order: i.task.arch_order,
                    space: i.task.space.clone(),
                    seed: i.task.seed,
                    sigma,
                    test_set: set.name.clone(),
                    status: t.status.to_string(),
                    genotype: t.genotype.as_ref().map(genotype_id),
                    params: eval.as_ref().and_then(|e| e["params"].as_u64()),
                    psnr: f(s.map(|s| &s["mean_denoised"]["psnr"])),
                    ssim: f(s.map(|s| &s["mean_denoised"]["ssim_skimage"])),
                    ssim_hinas: f(s.map(|s| &s["mean_denoised"]["ssim_hinas"])),
                    noisy_psnr: f(s.map(|s| &s["mean_noisy"]["psnr"])),
                    search_seconds,
                    train_seconds,
                });
            }
        }
    }
    rows
}

fn csv_bytes(rows: &[Row]) -> anyhow::Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    for r in rows {
        // Fixed decimals: the same sweep gives byte-identical scores wherever it ran.
        let mut r = r.clone();
        let round = |v: Option<f64>, d: i32| v.map(|x| (x * 10f64.powi(d)).round() / 10f64.powi(d));
        r.psnr = round(r.psnr, 4);
        r.ssim = round(r.ssim, 5);
        r.ssim_hinas = round(r.ssim_hinas, 5);
        r.noisy_psnr = round(r.noisy_psnr, 4);
        r.search_seconds = round(r.search_seconds, 1);
        r.train_seconds = round(r.train_seconds, 1);
        w.serialize(r)?;
    }
    Ok(w.into_inner()?)
}

/// Reads a results.csv back.
pub fn read_csv(path: &Path) -> anyhow::Result<Vec<Row>> {
    let mut r = csv::Reader::from_path(path)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
    Ok(r.deserialize().collect::<Result<Vec<Row>, _>>()?)
}

fn fmt_ci(s: &Summary, d: usize) -> String {
    s.ci.map(|(lo, hi)| format!("[{lo:.d$}, {hi:.d$}]"))
        .unwrap_or_else(|| "n/a".into())
}

/// "mean ± std", or "mean (one seed)": one value has no spread to show, and "± 0.00" would claim one.
fn fmt_mean_std(s: &Summary, d: usize) -> String {
    if s.n < 2 {
        format!("{:.d$} (one seed)", s.mean)
    } else {
        format!("{:.d$} ± {:.d$}", s.mean, s.std)
    }
}

fn mean_of(rows: &[Row], f: impl Fn(&Row) -> Option<f64>) -> Option<f64> {
    let v: Vec<f64> = rows.iter().filter_map(f).collect();
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

fn edges(g: &Value) -> Vec<String> {
    // Tied cells repeat one cell per layer; counting it once keeps the agreement per decision.
    let cells = g["cells"].as_array().cloned().unwrap_or_default();
    let tied = cells.windows(2).all(|w| w[0] == w[1]);
    let cells = if tied {
        &cells[..cells.len().min(1)]
    } else {
        &cells[..]
    };
    cells
        .iter()
        .enumerate()
        .flat_map(|(l, c)| {
            c.as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .enumerate()
                .map(move |(k, e)| {
                    let prefix = if tied {
                        String::new()
                    } else {
                        format!("L{l} ")
                    };
                    format!(
                        "{prefix}e{k}: {}<-{}",
                        e["op"].as_str().unwrap_or("?"),
                        e["input"]
                    )
                })
        })
        .collect()
}

fn agreement_section(tasks: &[TaskState], md: &mut String) {
    // (label, space) -> genotypes of the seeds whose search finished.
    let mut by: BTreeMap<(String, String), Vec<(u64, Value)>> = BTreeMap::new();
    for t in tasks {
        if let Some(g) = &t.genotype {
            by.entry((t.info.label.clone(), t.info.task.space.clone()))
                .or_default()
                .push((t.info.task.seed, g.clone()));
        }
    }
    if by.is_empty() {
        return;
    }
    let _ = writeln!(md, "\n## Do the seeds agree on the architecture?\n");
    let _ = writeln!(
        md,
        "Edge agreement: the share of cell edges (op and input) two seeds' genotypes have in common, averaged over all pairs of seeds; path: the share of pairs with the same width path.\n"
    );
    let _ = writeln!(
        md,
        "| strategy | space | seeds | distinct genotypes | edge agreement | same path |"
    );
    let _ = writeln!(md, "|---|---|---:|---:|---:|---:|");
    let mut per_edge = String::new();
    for ((label, space), gs) in &by {
        let ids: std::collections::BTreeSet<String> =
            gs.iter().map(|(_, g)| genotype_id(g)).collect();
        let (mut agree, mut same_path, mut pairs) = (0.0, 0usize, 0usize);
        for i in 0..gs.len() {
            for j in i + 1..gs.len() {
                let (a, b) = (edges(&gs[i].1), edges(&gs[j].1));
                let n = a.len().max(b.len()).max(1);
                agree += a.iter().zip(&b).filter(|(x, y)| x == y).count() as f64 / n as f64;
                same_path += usize::from(gs[i].1["path"] == gs[j].1["path"]);
                pairs += 1;
            }
        }
        let pct = |x: f64| {
            if pairs == 0 {
                "n/a".to_string()
            } else {
                format!("{:.0} %", 100.0 * x / pairs as f64)
            }
        };
        let _ = writeln!(
            md,
            "| {label} | {space} | {} | {} | {} | {} |",
            gs.len(),
            ids.len(),
            pct(agree),
            pct(same_path as f64)
        );
        // Per edge: the most common choice and how many seeds made it.
        let all: Vec<Vec<String>> = gs.iter().map(|(_, g)| edges(g)).collect();
        let n_edges = all.iter().map(Vec::len).max().unwrap_or(0);
        let _ = writeln!(per_edge, "\n{label}, {space} ({} seeds):", gs.len());
        for k in 0..n_edges {
            let mut counts: BTreeMap<String, usize> = BTreeMap::new();
            for e in &all {
                if let Some(x) = e.get(k) {
                    let choice = x.split_once(": ").map_or(x.as_str(), |(_, c)| c);
                    *counts.entry(choice.to_string()).or_default() += 1;
                }
            }
            let (best, c) = counts
                .iter()
                .max_by_key(|(_, c)| **c)
                .map(|(b, c)| (b.clone(), *c))
                .unwrap_or_default();
            let edge = all
                .iter()
                .find_map(|e| e.get(k))
                .and_then(|x| x.split_once(": "))
                .map_or(format!("e{k}"), |(p, _)| p.to_string());
            let _ = writeln!(
                per_edge,
                "- {edge}: {best} ({c} of {}{})",
                gs.len(),
                if counts.len() > 1 {
                    format!("; {} different choices", counts.len())
                } else {
                    String::new()
                }
            );
        }
    }
    let _ = writeln!(md, "\nMost common choice per edge:");
    md.push_str(&per_edge);
}

/// Machine time per kind of stage (the sum over tasks of every attempt that ended) and the span
/// from the first stage's start to the last one's end: the sweep's wall time when it ran without
/// pauses, an upper bound otherwise.
fn time_section(tasks: &[TaskState], md: &mut String) {
    struct KindTime {
        kind: &'static str,
        finished: usize,
        finished_secs: f64,
        all_secs: f64,
    }
    let mut kinds: Vec<KindTime> = ["search", "train", "eval"]
        .into_iter()
        .map(|kind| KindTime {
            kind,
            finished: 0,
            finished_secs: 0.0,
            all_secs: 0.0,
        })
        .collect();
    let (mut first, mut last) = (f64::INFINITY, f64::NEG_INFINITY);
    let mut untimed = 0;
    for t in tasks {
        for stage in stages(&t.info) {
            let Some(rec) = stage_record(&t.dir.join(&stage)) else {
                continue;
            };
            let kind = stage.split('-').next().unwrap_or("");
            if let Some(k) = kinds.iter_mut().find(|k| k.kind == kind) {
                if rec.done {
                    k.finished += 1;
                    k.finished_secs += rec.seconds;
                }
                k.all_secs += rec.seconds;
            }
            match (rec.first_start, rec.last_end) {
                (Some(a), Some(b)) => {
                    first = first.min(a);
                    last = last.max(b);
                }
                _ => untimed += 1,
            }
        }
    }
    let total: f64 = kinds.iter().map(|k| k.all_secs).sum();
    if total == 0.0 {
        return;
    }
    let _ = writeln!(md, "\n## Time\n");
    let _ = writeln!(
        md,
        "Stage time: wall seconds of every attempt that ended (an attempt killed with its machine is not counted).\n"
    );
    let _ = writeln!(
        md,
        "| stage | finished | hours in all (every attempt) | minutes per finished stage |"
    );
    let _ = writeln!(md, "|---|---:|---:|---:|");
    for k in &kinds {
        let per = if k.finished > 0 {
            format!("{:.1}", k.finished_secs / 60.0 / k.finished as f64)
        } else {
            "n/a".into()
        };
        let (kind, n) = (k.kind, k.finished);
        let _ = writeln!(md, "| {kind} | {n} | {:.2} | {per} |", k.all_secs / 3600.0);
    }
    let _ = writeln!(md, "| all | | {:.2} | |", total / 3600.0);
    if last > first {
        let _ = writeln!(
            md,
            "\nSpan from the first stage's start to the last one's end: {:.2} h (the sweep's wall time if it ran without pauses){}.",
            (last - first) / 3600.0,
            if untimed > 0 {
                format!("; {untimed} stage records without times (older builds) are not in it")
            } else {
                String::new()
            }
        );
    }
}

pub fn summary_md(tasks: &[TaskState], rows: &[Row]) -> String {
    let mut md = String::from("# Sweep summary\n\n");
    let count = |s: &str| tasks.iter().filter(|t| t.status == s).count();
    let _ = writeln!(
        md,
        "{} tasks: {} done, {} unfinished, {} failed, {} not started. Scores: mean over the test set's images, evaluated at the training sigma; 95 % CI: Student-t interval of the mean over seeds.",
        tasks.len(),
        count("done"),
        count("unfinished"),
        count("failed"),
        count("not started")
    );
    for ((space, sigma, set), strategies) in groups(rows) {
        let _ = writeln!(md, "\n## {space}, sigma {sigma}, test set {set}\n");
        let _ = writeln!(
            md,
            "| strategy | n | PSNR (dB) mean ± std | PSNR 95 % CI | SSIM mean ± std | noisy PSNR | parameters (mean) | search s (mean) | train s (mean) |"
        );
        let _ = writeln!(md, "|---|---:|---|---|---|---:|---:|---:|---:|");
        for (l, rs) in &strategies {
            let p: Vec<f64> = rs.iter().filter_map(|r| r.psnr).collect();
            let q: Vec<f64> = rs.iter().filter_map(|r| r.ssim).collect();
            let (sp, sq) = (summarize(&p), summarize(&q));
            let opt = |v: Option<f64>, d: usize| v.map_or("".into(), |x| format!("{x:.d$}"));
            let _ = writeln!(
                md,
                "| {l} | {} | {} | {} | {} | {} | {} | {} | {} |",
                sp.n,
                fmt_mean_std(&sp, 2),
                fmt_ci(&sp, 2),
                fmt_mean_std(&sq, 4),
                opt(mean_of(rs, |r| r.noisy_psnr), 2),
                opt(mean_of(rs, |r| r.params.map(|x| x as f64)), 0),
                opt(mean_of(rs, |r| r.search_seconds), 1),
                opt(mean_of(rs, |r| r.train_seconds), 1),
            );
        }
        if strategies.len() > 1 {
            let _ = writeln!(
                md,
                "\nDifferences in PSNR (row minus column strategy): Welch's t-test (two-sided) and a 95 % percentile-bootstrap interval (10000 resamples); n/a where a strategy has fewer than two seeds.\n"
            );
            let _ = writeln!(
                md,
                "| difference | mean (dB) | bootstrap 95 % CI | t | df | p |"
            );
            let _ = writeln!(md, "|---|---:|---|---:|---:|---:|");
            for i in 0..strategies.len() {
                for j in i + 1..strategies.len() {
                    let (la, a) = &strategies[i];
                    let (lb, b) = &strategies[j];
                    let a: Vec<f64> = a.iter().filter_map(|r| r.psnr).collect();
                    let b: Vec<f64> = b.iter().filter_map(|r| r.psnr).collect();
                    let diff = summarize(&a).mean - summarize(&b).mean;
                    let boot = bootstrap_diff(&a, &b, 10_000, 0)
                        .map_or("n/a".into(), |(lo, hi)| format!("[{lo:.2}, {hi:.2}]"));
                    let (t, df, p) = match welch(&a, &b) {
                        Some(w) => (
                            format!("{:.2}", w.t),
                            format!("{:.1}", w.df),
                            if w.p < 0.001 {
                                "< 0.001".to_string()
                            } else {
                                format!("{:.3}", w.p)
                            },
                        ),
                        None => ("n/a".into(), "n/a".into(), "n/a".into()),
                    };
                    let _ = writeln!(
                        md,
                        "| {la} − {lb} | {diff:+.2} | {boot} | {t} | {df} | {p} |"
                    );
                }
            }
        }
    }
    agreement_section(tasks, &mut md);
    time_section(tasks, &mut md);
    let open: Vec<&TaskState> = tasks.iter().filter(|t| t.status != "done").collect();
    if !open.is_empty() {
        let _ = writeln!(md, "\n## Failed and unfinished tasks\n");
        let _ = writeln!(md, "| task | status | last log line |");
        let _ = writeln!(md, "|---|---|---|");
        for t in open {
            let line = t.last_line.as_deref().unwrap_or("").replace('|', "\\|");
            let _ = writeln!(md, "| {} | {} | {line} |", t.info.name, t.status);
        }
    }
    md
}

pub fn report(args: ReportArgs) -> anyhow::Result<()> {
    let out = &args.dir;
    let tasks = collect(out, args.plan.as_deref())?;
    let rows = rows(&tasks);
    write_atomic(&out.join("results.csv"), &csv_bytes(&rows)?)?;
    let md = summary_md(&tasks, &rows);
    write_atomic(&out.join("summary.md"), md.as_bytes())?;
    let svg = super::plot::psnr_svg(&groups(&rows))?;
    write_atomic(&out.join("psnr.svg"), svg.as_bytes())?;
    if !args.quiet {
        print!("{md}");
        println!(
            "\nwrote {0}/results.csv, {0}/summary.md, {0}/psnr.svg",
            out.display()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::fmt_mean_std;
    use crate::sweep::stats::summarize;

    #[test]
    fn one_seed_shows_no_spread() {
        assert_eq!(fmt_mean_std(&summarize(&[27.784]), 2), "27.78 (one seed)");
        assert_eq!(fmt_mean_std(&summarize(&[27.0, 28.0]), 2), "27.50 ± 0.71");
    }
}
