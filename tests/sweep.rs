//! Preemption and sweeps as a user meets them: a search and a training stopped by a stop request
//! in the middle of an epoch / interval resume to the identical result; a real SIGTERM stops a
//! search with a checkpoint and exit status 75; `hinas sweep run` on the micro plan, stopped with
//! SIGTERM and run again, reports the same numbers as an uninterrupted sweep; plan errors are
//! one-line errors; `hinas sweep slurm` writes a valid job-array script.

use std::path::Path;
use std::time::{Duration, Instant};

mod common;
use common::cli::*;
use common::sweep::{self, plan, report, scores};

fn search_cmd(out: &Path) -> std::process::Command {
    let mut c = hinas();
    c.args(["search", "--quiet", "--seed", "5", "--config"])
        .arg(configs().join("micro.toml"))
        .arg("--out")
        .arg(out);
    c
}

#[test]
fn search_stopped_mid_epoch_resumes_to_the_same_genotype() {
    let whole = scratch("search-whole");
    assert_ok(&search_cmd(&whole).output().unwrap());
    // The micro search takes 2 steps per epoch: the 4th check is the second step of epoch 2.
    let cut = scratch("search-cut");
    let o = search_cmd(&cut)
        .env("HINAS_TEST_STOP_AFTER", "4")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(75), "{}", stderr(&o));
    assert!(stderr(&o).contains("stopped"), "{}", stderr(&o));
    let (_, meta) = hinas::checkpoint::load(&cut.join("checkpoint.safetensors")).unwrap();
    assert_eq!(meta["epoch"], "1", "stopped inside the second epoch");
    assert!(
        meta["partial"].contains("\"iteration\":1"),
        "partial epoch saved: {}",
        meta["partial"]
    );
    resume("search", &cut);
    let read = |d: &Path| std::fs::read_to_string(d.join("genotype.json")).unwrap();
    assert_eq!(read(&cut), read(&whole), "resumed search ended elsewhere");
    for d in [whole, cut] {
        let _ = std::fs::remove_dir_all(d);
    }
}

fn train_cmd(out: &Path, cfg: &Path) -> std::process::Command {
    let mut c = hinas();
    c.args([
        "train",
        "--quiet",
        "--seed",
        "3",
        "--sigma",
        "40",
        "--genotype",
    ])
    .arg(configs().join("micro_genotype.json"))
    .arg("--config")
    .arg(cfg)
    .arg("--out")
    .arg(out);
    c
}

#[test]
fn training_stopped_mid_interval_resumes_to_the_same_model() {
    let cfg = scratch("train.toml");
    std::fs::write(&cfg, micro_train_toml(6, 3)).unwrap();
    let whole = scratch("train-whole");
    assert_ok(&train_cmd(&whole, &cfg).output().unwrap());
    let cut = scratch("train-cut");
    // Checks before steps 1..: the 5th comes before step 5, inside the second interval.
    let o = train_cmd(&cut, &cfg)
        .env("HINAS_TEST_STOP_AFTER", "5")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(75), "{}", stderr(&o));
    let (_, meta) = hinas::checkpoint::load(&cut.join("checkpoint.safetensors")).unwrap();
    assert_eq!(meta["iteration"], "4");
    assert!(
        meta["partial"].contains("\"steps\":1"),
        "{}",
        meta["partial"]
    );
    resume("train", &cut);
    assert_eq!(
        model_weights(&whole),
        model_weights(&cut),
        "resumed run ended elsewhere"
    );
    // The log too, but for the wall times (last column).
    let log = |d: &Path| -> Vec<String> {
        std::fs::read_to_string(d.join("log.csv"))
            .unwrap()
            .lines()
            .map(|l| l.rsplit_once(',').map_or(l, |(a, _)| a).to_string())
            .collect()
    };
    assert_eq!(log(&whole), log(&cut));
    for d in [&whole, &cut] {
        let _ = std::fs::remove_dir_all(d);
    }
    let _ = std::fs::remove_file(&cfg);
}

fn sigterm(child: &std::process::Child) {
    // SAFETY: kill(2) on our own child, not yet reaped.
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGTERM);
    }
}

#[test]
fn sigterm_stops_a_search_with_a_resumable_checkpoint() {
    // Long enough that the signal always arrives mid-search.
    let cfg = scratch("long.toml");
    let micro = std::fs::read_to_string(configs().join("micro.toml")).unwrap();
    std::fs::write(&cfg, micro.replace("epochs = 3", "epochs = 400")).unwrap();
    let out = scratch("sigterm");
    let mut child = hinas()
        .args(["search", "--quiet", "--config"])
        .arg(&cfg)
        .arg("--out")
        .arg(&out)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let ckpt = out.join("checkpoint.safetensors");
    let t0 = Instant::now();
    while !ckpt.exists() && child.try_wait().unwrap().is_none() && t0.elapsed().as_secs() < 600 {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(ckpt.exists(), "no checkpoint after the first epoch");
    sigterm(&child);
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(75), "{}", stderr(&o));
    let (_, meta) = hinas::checkpoint::load(&ckpt).unwrap();
    let epoch: usize = meta["epoch"].parse().unwrap();
    assert!(epoch < 400, "stopped long before the end");
    assert!(hinas::search::state::saved_config(&out).is_ok());
    let _ = std::fs::remove_dir_all(&out);
    let _ = std::fs::remove_file(&cfg);
}

#[test]
fn sweep_stopped_and_rerun_reports_the_same_numbers() {
    let whole = scratch("sweep-whole");
    let t0 = Instant::now();
    assert_ok(&sweep::run(&whole).output().unwrap());
    println!("micro sweep (-j 2): {:.1} s", t0.elapsed().as_secs_f64());
    let rows = report(&whole);
    assert_eq!(rows.len(), 4, "4 tasks x 1 sigma x 1 set");
    for r in &rows {
        assert_eq!(r.status, "done", "{r:?}");
        assert!(r.psnr.unwrap() > r.noisy_psnr.unwrap(), "denoises: {r:?}");
        assert!(r.genotype.as_ref().is_some_and(|g| g.len() == 10));
        assert!(r.params.unwrap() > 0 && r.search_seconds.is_some());
        // The row's score is the task's own eval.json.
        let eval: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(
                whole
                    .join("tasks")
                    .join(&r.task)
                    .join("eval-sigma50-sweep-test/eval.json"),
            )
            .unwrap(),
        )
        .unwrap();
        let psnr = eval["sigmas"][0]["mean_denoised"]["psnr"].as_f64().unwrap();
        assert!((psnr - r.psnr.unwrap()).abs() < 1e-4);
    }
    let md = std::fs::read_to_string(whole.join("summary.md")).unwrap();
    assert!(md.contains("| darts-o1 | 2 |"), "{md}");
    assert!(md.contains("| random | 2 |"), "{md}");
    assert!(md.contains("darts-o1 − random"), "{md}");
    assert!(md.contains("edge agreement"), "{md}");
    assert!(
        md.contains("## Time") && md.contains("| train | 4 |"),
        "{md}"
    );
    let svg = std::fs::read_to_string(whole.join("psnr.svg")).unwrap();
    assert!(svg.starts_with("<svg") && svg.matches("<circle").count() >= 4);

    // A stage left unfinished without a checkpoint (an eval stopped mid-way, a checkpoint lost
    // with a node's disk) starts over in its non-empty folder and gives the same numbers.
    let task = whole.join("tasks").join(&rows[0].task);
    for stage in ["search", "eval-sigma50-sweep-test"] {
        let dir = task.join(stage);
        assert!(dir.join("stage.json").is_file(), "{}", dir.display());
        std::fs::write(
            dir.join("stage.json"),
            r#"{"done": false, "seconds": 1.0, "attempts": 1, "last_exit": null}"#,
        )
        .unwrap();
        let _ = std::fs::remove_file(dir.join("checkpoint.safetensors"));
    }
    assert_ok(&sweep::run(&whole).output().unwrap());
    assert_eq!(scores(&report(&whole)), scores(&rows));
    let rec = hinas::sweep::task::stage_record(&task.join("search")).unwrap();
    assert!(rec.done && rec.attempts == 2, "{rec:?}");

    // Stop a second sweep with SIGTERM once the first search has finished, then rerun it.
    let cut = scratch("sweep-cut");
    let mut child = sweep::run(&cut)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let first = cut
        .join("tasks")
        .join("darts-o1-cvpr2020-s0")
        .join("search")
        .join("stage.json");
    let t0 = Instant::now();
    while !first.exists() && child.try_wait().unwrap().is_none() && t0.elapsed().as_secs() < 600 {
        std::thread::sleep(Duration::from_millis(20));
    }
    sigterm(&child);
    let st = child.wait().unwrap();
    assert_eq!(st.code(), Some(75), "the stopped sweep says so");
    let partial = report(&cut);
    assert!(partial.iter().any(|r| r.status != "done"), "{partial:?}");
    let md = std::fs::read_to_string(cut.join("summary.md")).unwrap();
    assert!(md.contains("## Failed and unfinished tasks"), "{md}");
    assert_ok(&sweep::run(&cut).output().unwrap());
    assert_eq!(scores(&report(&cut)), scores(&rows));
    for d in [whole, cut] {
        let _ = std::fs::remove_dir_all(d);
    }
}

#[test]
fn a_task_outlives_its_binary_being_replaced() {
    // A rebuild or an upgrade during a sweep deletes the file the running task was started from;
    // its later stages must still start, from the same build.
    let out = scratch("sweep-rebuilt");
    let exe = out.join("hinas-copy");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::copy(env!("CARGO_BIN_EXE_hinas"), &exe).unwrap();
    // Another test thread forking while the copy's write handle is open makes exec fail with
    // ETXTBSY (26) until that child execs; retry briefly.
    let mut tries = 0;
    let mut child = loop {
        match std::process::Command::new(&exe)
            .args(["sweep", "task"])
            .arg(plan())
            .arg("--out")
            .arg(&out)
            .args(["--index", "1"])
            .stdout(std::process::Stdio::null())
            .spawn()
        {
            Err(e) if e.raw_os_error() == Some(26) && tries < 100 => {
                tries += 1;
                std::thread::sleep(Duration::from_millis(50));
            }
            r => break r.unwrap(),
        }
    };
    let search = out.join("tasks").join("random-cvpr2020-s0").join("search");
    let t0 = Instant::now();
    while !search.join("stage.json").exists()
        && child.try_wait().unwrap().is_none()
        && t0.elapsed().as_secs() < 600
    {
        std::thread::sleep(Duration::from_millis(5));
    }
    std::fs::remove_file(&exe).unwrap();
    let st = child.wait().unwrap();
    let log = std::fs::read_to_string(search.with_file_name("task.log")).unwrap_or_default();
    assert!(st.success(), "{log}");
    assert!(
        log.contains("task finished") && log.contains("eval-sigma50-sweep-test: done"),
        "{log}"
    );
    let rec = hinas::sweep::task::stage_record(&search).unwrap();
    assert!(
        rec.first_start
            .is_some_and(|a| rec.last_end.is_some_and(|b| b >= a)),
        "{rec:?}"
    );
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn bad_plans_and_indices_are_one_line_errors() {
    let dir = scratch_dir("bad-plan");
    let bad = dir.join("bad.toml");
    let run_bad = || {
        hinas()
            .args(["sweep", "run"])
            .arg(&bad)
            .arg("--out")
            .arg(dir.join("out"))
            .output()
            .unwrap()
    };
    std::fs::write(&bad, "[grid]\nseeds = [0]\nsigmas = [25]\nsigma = 3\n").unwrap();
    assert_one_line_error(&run_bad(), "unknown field");
    std::fs::write(
        &bad,
        "[grid]\nseeds = [0]\nsigmas = [25]\n[search.overrides.search]\nepochz = 3\n",
    )
    .unwrap();
    assert_one_line_error(&run_bad(), "epochz");
    let task = |env: Option<(&str, &str)>| {
        let mut c = hinas();
        c.args(["sweep", "task"])
            .arg(plan())
            .arg("--out")
            .arg(dir.join("out"))
            .env_remove("SLURM_ARRAY_TASK_ID")
            .env_remove("JOB_COMPLETION_INDEX");
        if let Some((k, v)) = env {
            c.env(k, v);
        }
        c.output().unwrap()
    };
    assert_one_line_error(&task(None), "no task index");
    assert_one_line_error(&task(Some(("JOB_COMPLETION_INDEX", "9"))), "out of range");
    assert_one_line_error(
        &task(Some(("SLURM_ARRAY_TASK_ID", "x"))),
        "not a task index",
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn slurm_script_is_a_requeueable_job_array() {
    let out = scratch("sbatch");
    let o = sweep::slurm(
        &out,
        &[
            "--time",
            "0:30:00",
            "--signal-secs",
            "90",
            "--sbatch=--partition=gpu",
        ],
    );
    assert_ok(&o);
    let script_path = out.join("sweep.sbatch");
    assert!(
        String::from_utf8_lossy(&o.stdout).contains(&format!("sbatch {}", script_path.display()))
    );
    let s = std::fs::read_to_string(&script_path).unwrap();
    for want in [
        "#SBATCH --array=0-3%2",
        "#SBATCH --requeue",
        "#SBATCH --signal=B:USR1@90",
        "#SBATCH --time=0:30:00",
        "#SBATCH --partition=gpu",
        "sweep task",
        "--index \"$SLURM_ARRAY_TASK_ID\"",
    ] {
        assert!(s.contains(want), "{want:?} missing in:\n{s}");
    }
    let o = std::process::Command::new("bash")
        .arg("-n")
        .arg(&script_path)
        .output()
        .unwrap();
    assert_ok(&o);
    assert!(out.join("sweep.json").is_file());
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn the_documented_plan_parses_into_its_tasks() {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/sweep-plan.toml");
    let plan = hinas::sweep::plan::Loaded::load(&p).unwrap();
    let names: Vec<String> = plan.tasks().iter().map(|t| t.name()).collect();
    assert_eq!(names.len(), 10, "5 seeds x (darts-o1, random): {names:?}");
    assert_eq!(
        names[..3],
        [
            "darts-o1-cvpr2020-s0",
            "random-cvpr2020-s0",
            "darts-o1-cvpr2020-s1"
        ]
    );
    let sets = plan.sets();
    assert_eq!(sets.len(), 1);
    assert_eq!(sets[0].name, "test");
    assert_eq!(sets[0].source, "builtin:test");
}

// Statistics of the report, against values computed independently.
use hinas::sweep::stats;

#[test]
fn t_interval_matches_tables() {
    // t(0.975, 4) = 2.776 (any t table).
    let s = stats::summarize(&[1.0, 2.0, 3.0, 4.0, 5.0]);
    assert_eq!(s.n, 5);
    assert!((s.mean - 3.0).abs() < 1e-12);
    assert!((s.std - 2.5f64.sqrt()).abs() < 1e-12);
    let h = 2.776445 * 2.5f64.sqrt() / 5f64.sqrt();
    let (lo, hi) = s.ci.unwrap();
    assert!((lo - (3.0 - h)).abs() < 1e-5 && (hi - (3.0 + h)).abs() < 1e-5);
    assert!(stats::summarize(&[7.0]).ci.is_none());
}

#[test]
fn welch_matches_an_independent_computation() {
    // Expected values from the definitions, the p-value by numerically integrating the t
    // density's tail (independently of statrs): t = -3.67658, df = 5.43685, p = 0.012360.
    let a = [27.1, 27.4, 26.9, 27.3];
    let b = [27.6, 27.9, 28.3, 27.7];
    let w = stats::welch(&a, &b).unwrap();
    assert!((w.diff + 0.7).abs() < 1e-9);
    assert!((w.t + 3.676580).abs() < 1e-5, "t = {}", w.t);
    assert!((w.df - 5.436849).abs() < 1e-5, "df = {}", w.df);
    assert!((w.p - 0.012360).abs() < 2e-5, "p = {}", w.p);
    // Identical groups: no evidence of a difference.
    let same = stats::welch(&a, &a).unwrap();
    assert!(same.t.abs() < 1e-12 && (same.p - 1.0).abs() < 1e-9);
    assert!(stats::welch(&[1.0], &b).is_none());
    assert!(stats::welch(&[1.0, 1.0], &[2.0, 2.0]).is_none());
}

#[test]
fn bootstrap_brackets_the_difference() {
    let a = [27.1, 27.4, 26.9, 27.3];
    let b = [27.6, 27.9, 28.3, 27.7];
    let (lo, hi) = stats::bootstrap_diff(&a, &b, 4000, 0).unwrap();
    assert!(lo < -0.7 && -0.7 < hi && hi < 0.0, "({lo}, {hi})");
    assert_eq!(stats::bootstrap_diff(&a, &b, 4000, 0), Some((lo, hi)));
    // One seed has no spread to resample: no interval (it would show only b's spread).
    assert_eq!(stats::bootstrap_diff(&[27.8], &b, 4000, 0), None);
    assert_eq!(stats::bootstrap_diff(&a, &[27.8], 4000, 0), None);
}
