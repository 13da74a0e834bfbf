//! The micro sweep plan and its report, for the tests that run sweeps locally and under Slurm.

use super::cli::{assert_ok, configs, hinas};
use hinas::sweep::report::{read_csv, Row};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn plan() -> PathBuf {
    configs().join("sweep_micro.toml")
}

/// `hinas sweep run` of the micro plan into `out`, two tasks at a time.
pub fn run(out: &Path) -> Command {
    let mut c = hinas();
    c.args(["sweep", "run"])
        .arg(plan())
        .arg("--out")
        .arg(out)
        .args(["-j", "2"]);
    c
}

/// `hinas sweep slurm` of the micro plan into `out`, two tasks at a time, with `extra` flags.
pub fn slurm(out: &Path, extra: &[&str]) -> Output {
    hinas()
        .args(["sweep", "slurm"])
        .arg(plan())
        .arg("--out")
        .arg(out)
        .args(["--max-parallel", "2"])
        .args(extra)
        .output()
        .unwrap()
}

/// `hinas report` on a sweep folder, and the rows of the results.csv it writes.
pub fn report(out: &Path) -> Vec<Row> {
    let o = hinas()
        .args(["report", "--quiet"])
        .arg(out)
        .output()
        .unwrap();
    assert_ok(&o);
    read_csv(&out.join("results.csv")).unwrap()
}

/// The rows without their wall times (which differ from run to run).
pub fn scores(rows: &[Row]) -> Vec<Row> {
    rows.iter()
        .map(|r| Row {
            search_seconds: None,
            train_seconds: None,
            ..r.clone()
        })
        .collect()
}
