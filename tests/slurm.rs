//! The micro sweep on a real Slurm cluster (`.ci/slurm-cluster up`, which `.ci/run` starts under
//! CI): submitted with sbatch as a job array, one element requeued while it runs, and the report
//! must equal that of the same plan run with `hinas sweep run`. Skipped, with a printed line,
//! where sbatch is missing or no cluster answers, unless CI=true.

use std::process::Command;
use std::time::{Duration, Instant};

mod common;
use common::cli::*;
use common::sweep::{self, report, scores};

fn sh(cmd: &str, args: &[&str]) -> Option<String> {
    let o = Command::new(cmd).args(args).output().ok()?;
    o.status
        .success()
        .then(|| String::from_utf8_lossy(&o.stdout).trim().to_string())
}

/// Whether a cluster is there to use; under CI it must be.
fn cluster() -> bool {
    let why = if sh("sbatch", &["--version"]).is_none() {
        "sbatch is not installed"
    } else if sh("sinfo", &["-h"]).is_none_or(|s| s.is_empty()) {
        "no Slurm cluster answers (start one with .ci/slurm-cluster up DIR and export SLURM_CONF)"
    } else {
        return true;
    };
    common::skip_unless_ci(why);
    false
}

/// Array elements of `job` still known to the scheduler: (id, state).
fn elements(job: &str) -> Vec<(String, String)> {
    sh("squeue", &["-h", "-r", "-j", job, "-o", "%i %T"])
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

#[test]
fn micro_sweep_under_slurm_with_a_requeue_equals_the_local_run() {
    if !cluster() {
        return;
    }
    let local = scratch("local");
    let t0 = Instant::now();
    assert_ok(&sweep::run(&local).output().unwrap());
    println!(
        "local micro sweep (-j 2): {:.1} s",
        t0.elapsed().as_secs_f64()
    );
    let want = scores(&report(&local));
    assert!(want.iter().all(|r| r.status == "done"), "{want:?}");

    let out = scratch("slurm");
    let o = sweep::slurm(&out, &["--time", "20", "--job-name", "hinas-ci"]);
    assert_ok(&o);
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("sweep.json")).unwrap()).unwrap();
    let t0 = Instant::now();
    let job = sh(
        "sbatch",
        &[
            "--parsable",
            &out.join("sweep.sbatch").display().to_string(),
        ],
    )
    .expect("sbatch accepts the script");
    let job = job.split(';').next().unwrap().to_string();
    let deadline = Duration::from_secs(900);
    let result = (|| {
        // Requeue the first element seen running, once its search has started.
        let mut requeued: Option<String> = None;
        while t0.elapsed() < deadline {
            let els = elements(&job);
            if requeued.is_none() {
                if let Some((id, _)) = els.iter().find(|(_, s)| s == "RUNNING") {
                    let index: usize = id.rsplit('_').next().unwrap().parse().unwrap();
                    let name = manifest["tasks"][index]["name"]
                        .as_str()
                        .unwrap()
                        .to_string();
                    let log = out.join("tasks").join(&name).join("search.log");
                    if log.exists() {
                        let ok = sh("scontrol", &["requeue", id]);
                        assert!(ok.is_some(), "scontrol requeue {id} failed");
                        // Requeued jobs wait ~2 minutes by default; start it again at once.
                        std::thread::sleep(Duration::from_secs(1));
                        let _ = sh(
                            "scontrol",
                            &["update", &format!("JobId={id}"), "StartTime=now"],
                        );
                        requeued = Some(name);
                    }
                }
            }
            if requeued.is_some() && els.is_empty() {
                return requeued;
            }
            std::thread::sleep(Duration::from_millis(500));
        }
        None
    })();
    if result.is_none() {
        let _ = sh("scancel", &[&job]);
    }
    let requeued = result.unwrap_or_else(|| panic!("the array did not finish within {deadline:?}"));
    println!(
        "slurm micro sweep (2 at a time, one requeue): {:.1} s",
        t0.elapsed().as_secs_f64()
    );
    // The requeued task ran twice.
    let log = std::fs::read_to_string(out.join("tasks").join(&requeued).join("task.log")).unwrap();
    let starts = log
        .lines()
        .filter(|l| l.starts_with("task started"))
        .count();
    assert!(starts >= 2, "{requeued} was not rerun:\n{log}");
    let got = scores(&report(&out));
    assert_eq!(got, want, "Slurm and local runs report different numbers");
    for d in [local, out] {
        let _ = std::fs::remove_dir_all(d);
    }
}
