//! One task of a sweep: search, then per sigma a retraining and an evaluation per test set. Every
//! stage is an ordinary `hinas` run (this same executable) in its own folder, with its output in
//! `<stage>.log` beside it; a stage whose `stage.json` says done is skipped, one with a checkpoint
//! is resumed, any other starts over in its folder. The task writes only inside its own folder,
//! atomically, so array elements on different nodes can share one sweep folder.

use super::plan::{sigma_name, Loaded, Task, TestSet};
use crate::checkpoint::write_atomic;
use serde::{Deserialize, Serialize};
use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// What a task folder says about itself (task.json), so `hinas report` needs no plan.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TaskInfo {
    pub name: String,
    #[serde(flatten)]
    pub task: Task,
    pub label: String,
    pub sigmas: Vec<f32>,
    pub sets: Vec<TestSet>,
}

impl TaskInfo {
    pub fn new(plan: &Loaded, task: &Task) -> TaskInfo {
        TaskInfo {
            name: task.name(),
            label: task.label(),
            task: task.clone(),
            sigmas: plan.plan.grid.sigmas.clone(),
            sets: plan.sets(),
        }
    }
}

/// A stage's record (stage.json), rewritten after every attempt.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct StageRecord {
    pub done: bool,
    /// Wall seconds of all attempts that ended (a killed attempt's time is lost).
    pub seconds: f64,
    pub attempts: u32,
    /// Exit status of the last attempt (None: killed by a signal).
    pub last_exit: Option<i32>,
    /// When the first attempt started and the last one ended (Unix seconds), so a report can
    /// give the sweep's span of wall time; absent in records of older builds.
    #[serde(default)]
    pub first_start: Option<f64>,
    #[serde(default)]
    pub last_end: Option<f64>,
}

fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

pub fn tasks_dir(out: &Path) -> PathBuf {
    out.join("tasks")
}

pub fn stage_record(dir: &Path) -> Option<StageRecord> {
    let text = std::fs::read_to_string(dir.join("stage.json")).ok()?;
    serde_json::from_str(&text).ok()
}

pub fn train_stage(sigma: f32) -> String {
    format!("train-sigma{}", sigma_name(sigma))
}

pub fn eval_stage(sigma: f32, set: &str) -> String {
    format!("eval-sigma{}-{set}", sigma_name(sigma))
}

/// The index of the task to run: `--index`, else Slurm's array index, else a Kubernetes Indexed
/// Job's completion index.
pub fn task_index(index: Option<usize>) -> anyhow::Result<usize> {
    if let Some(i) = index {
        return Ok(i);
    }
    for var in ["SLURM_ARRAY_TASK_ID", "JOB_COMPLETION_INDEX"] {
        if let Ok(v) = std::env::var(var) {
            return v
                .trim()
                .parse()
                .map_err(|_| anyhow::anyhow!("{var}={v:?} is not a task index"));
        }
    }
    anyhow::bail!("no task index: pass --index, or run as a Slurm array or Kubernetes Indexed Job")
}

/// Appends a line to the task's own log (task.log) and prints it.
struct TaskLog {
    file: Option<std::fs::File>,
    name: String,
}

impl TaskLog {
    fn line(&mut self, msg: &str) {
        println!("{}: {msg}", self.name);
        if let Some(f) = &mut self.file {
            let _ = writeln!(f, "{msg}");
        }
    }
}

/// The last non-empty line of a text file (for error messages and the report).
pub fn last_line(path: &Path) -> Option<String> {
    let text = std::fs::read(path).ok()?;
    let text = String::from_utf8_lossy(&text);
    text.lines()
        .rev()
        .map(|l| l.rsplit('\r').next().unwrap_or(l).trim())
        .find(|l| !l.is_empty())
        .map(str::to_string)
}

/// Sends SIGTERM (the stop request every hinas command honours) to a child.
pub fn terminate(child: &Child) {
    // SAFETY: kill(2) on a pid we spawned and have not reaped yet.
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGTERM);
    }
}

/// Waits for a child, forwarding a stop request to it once; returns its exit status (None when a
/// signal killed it).
pub fn wait_forwarding(child: &mut Child) -> anyhow::Result<Option<i32>> {
    let mut forwarded = false;
    loop {
        if let Some(st) = child.try_wait()? {
            return Ok(st.code());
        }
        if !forwarded && crate::stop::requested() {
            terminate(child);
            forwarded = true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

struct Runner<'a> {
    exe: PathBuf,
    dir: PathBuf,
    log: &'a mut TaskLog,
}

impl Runner<'_> {
    /// Runs a stage unless done: `args` start it in a fresh folder (`--out` is appended), a
    /// checkpoint in the folder resumes it instead (`resumable`).
    fn stage(&mut self, stage: &str, args: Vec<OsString>, resumable: bool) -> anyhow::Result<()> {
        let dir = self.dir.join(stage);
        let mut rec = stage_record(&dir).unwrap_or_default();
        if rec.done {
            return Ok(());
        }
        anyhow::ensure!(!crate::stop::requested(), crate::stop::Interrupted);
        let resume = resumable && dir.join("checkpoint.safetensors").is_file();
        let mut cmd = Command::new(&self.exe);
        if resume {
            cmd.arg(&args[0]).arg("--resume").arg(&dir);
        } else {
            cmd.args(&args).arg("--out").arg(&dir);
            // An unfinished stage without a checkpoint (an eval stopped mid-way, a checkpoint
            // lost with a node's scratch disk) left only a dead attempt's outputs: start over.
            if dir.is_dir() {
                cmd.arg("--force");
            }
        }
        let log_path = self.dir.join(format!("{stage}.log"));
        let mut log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .map_err(|e| anyhow::anyhow!("cannot open {}: {e}", log_path.display()))?;
        let line = format!(
            "{stage}: {} (attempt {})",
            if resume { "resuming" } else { "starting" },
            rec.attempts + 1
        );
        let _ = writeln!(log, "== {line}");
        self.log.line(&line);
        let started = Instant::now();
        rec.first_start.get_or_insert_with(unix_now);
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .map_err(|e| anyhow::anyhow!("cannot start {}: {e}", self.exe.display()))?;
        let code = wait_forwarding(&mut child)?;
        std::fs::create_dir_all(&dir)?;
        rec.attempts += 1;
        rec.seconds += started.elapsed().as_secs_f64();
        rec.last_exit = code;
        rec.last_end = Some(unix_now());
        rec.done = code == Some(0);
        write_atomic(
            &dir.join("stage.json"),
            serde_json::to_string_pretty(&rec)?.as_bytes(),
        )?;
        match code {
            Some(0) => {
                self.log
                    .line(&format!("{stage}: done in {:.1} s", rec.seconds));
                Ok(())
            }
            // A stage without checkpoints (eval) simply dies of the forwarded SIGTERM.
            None if crate::stop::requested() => {
                self.log.line(&format!("{stage}: stopped"));
                Err(crate::stop::Interrupted.into())
            }
            Some(crate::stop::EXIT_STATUS) => {
                self.log
                    .line(&format!("{stage}: stopped (checkpoint saved)"));
                Err(crate::stop::Interrupted.into())
            }
            _ => {
                let why = last_line(&log_path).unwrap_or_default();
                let status = code.map_or("killed by a signal".to_string(), |c| format!("exit {c}"));
                self.log.line(&format!("{stage}: failed ({status}): {why}"));
                anyhow::bail!("stage {stage} failed ({status}): {why}")
            }
        }
    }
}

fn os(v: impl Into<OsString>) -> OsString {
    v.into()
}

/// Writes a stage's merged config overrides into the task folder; returns `--config FILE` args.
fn config_args(plan: &Loaded, dir: &Path, which: &str) -> anyhow::Result<Vec<OsString>> {
    let st = if which == "search" {
        &plan.plan.search
    } else {
        &plan.plan.train
    };
    Ok(match plan.overrides(st)? {
        Some(v) => {
            let path = dir.join(format!("{which}-config.toml"));
            write_atomic(&path, toml::to_string_pretty(&v)?.as_bytes())?;
            vec![os("--config"), path.into_os_string()]
        }
        None => vec![],
    })
}

/// Runs task `index` of the plan into `out/tasks/<name>`.
pub fn run_task(plan: &Loaded, out: &Path, index: usize) -> anyhow::Result<()> {
    let tasks = plan.tasks();
    let task = tasks.get(index).ok_or_else(|| {
        anyhow::anyhow!(
            "task index {index} is out of range: the plan has {} tasks (0-{})",
            tasks.len(),
            tasks.len().saturating_sub(1)
        )
    })?;
    let info = TaskInfo::new(plan, task);
    let dir = tasks_dir(out).join(&info.name);
    std::fs::create_dir_all(&dir)
        .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", dir.display()))?;
    write_atomic(
        &dir.join("task.json"),
        serde_json::to_string_pretty(&info)?.as_bytes(),
    )?;
    let mut log = TaskLog {
        file: std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("task.log"))
            .ok(),
        name: info.name.clone(),
    };
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    log.line(&format!(
        "task started (index {index}, pid {}, host {})",
        std::process::id(),
        host.trim()
    ));
    let exe = super::running_exe()?;
    let p = &plan.plan;
    let mut r = Runner {
        exe,
        dir: dir.clone(),
        log: &mut log,
    };
    let result = (|| -> anyhow::Result<()> {
        let mut search = vec![
            os("search"),
            os("--space"),
            os(&task.space),
            os("--budget"),
            os(&p.search.budget),
            os("--data"),
            os(&p.search.data),
            os("--seed"),
            os(task.seed.to_string()),
        ];
        // Only non-default choices are passed, so plans of the default strategy also run on
        // builds that predate --strategy / --arch-order.
        if task.strategy != "darts" {
            search.extend([os("--strategy"), os(&task.strategy)]);
        }
        if let Some(o) = task.arch_order.filter(|&o| o != 1) {
            search.extend([os("--arch-order"), os(o.to_string())]);
        }
        search.extend(config_args(plan, &dir, "search")?);
        r.stage("search", search, true)?;
        let genotype = dir.join("search").join("genotype.json");
        let train_config = config_args(plan, &dir, "train")?;
        for &sigma in &p.grid.sigmas {
            let stage = train_stage(sigma);
            let mut train = vec![
                os("train"),
                os("--genotype"),
                genotype.clone().into_os_string(),
                os("--sigma"),
                os(sigma_name(sigma)),
                os("--budget"),
                os(&p.train.budget),
                os("--data"),
                os(&p.train.data),
                os("--seed"),
                os(task.seed.to_string()),
            ];
            train.extend(train_config.iter().cloned());
            r.stage(&stage, train, true)?;
            let model = dir.join(&stage).join("model.safetensors");
            for set in &info.sets {
                let eval = vec![
                    os("eval"),
                    os("--model"),
                    model.clone().into_os_string(),
                    os("--data"),
                    os(&set.source),
                    os("--sigma"),
                    os(sigma_name(sigma)),
                    os("--seed"),
                    os(p.eval.seed.to_string()),
                    os("--protocol"),
                    os(&p.eval.protocol),
                ];
                r.stage(&eval_stage(sigma, &set.name), eval, false)?;
            }
        }
        Ok(())
    })();
    match &result {
        Ok(()) => log.line("task finished"),
        Err(e) if crate::stop::is_interrupted(e) => log.line("task stopped; rerun it to continue"),
        Err(e) => log.line(&format!("task failed: {e:#}")),
    }
    result
}
