//! Sweeps: a grid of independent search -> retrain -> eval chains (strategies x arch orders x
//! seeds x spaces, each retrained per sigma), run on this machine (`hinas sweep run`), as a Slurm
//! job array (`hinas sweep slurm`) or one task at a time by any scheduler that hands out indices
//! (`hinas sweep task`: Slurm arrays, Kubernetes Indexed Jobs); `hinas report` merges a sweep.
//!
//! Layout of a sweep folder DIR:
//! - `sweep.json`: the plan's path and its task list (written by `run` and `slurm`);
//! - `tasks/<strategy>[-o<order>]-<space>-s<seed>/`: `task.json`, `task.log`, one folder per
//!   stage (`search`, `train-sigma25`, `eval-sigma25-<set>`) with `stage.json` once it ran,
//!   and `<stage>.log` with the stage's output;
//! - `logs/`: one log per task (local) or per array element (Slurm);
//! - `results.csv`, `summary.md`, `psnr.svg`: written by `hinas report DIR`.

pub mod local;
pub mod plan;
pub mod plot;
pub mod report;
pub mod rows;
pub mod slurm;
pub mod stats;
pub mod task;

use plan::Loaded;
use std::path::{Path, PathBuf};

#[derive(clap::Subcommand)]
pub enum SweepCommand {
    /// Run every task of a plan on this machine, N at a time; rerun to continue.
    Run {
        /// The plan (TOML; see docs/sweep-plan.toml).
        plan: PathBuf,
        /// The sweep folder.
        #[arg(long)]
        out: PathBuf,
        /// Tasks at a time.
        #[arg(short = 'j', long, default_value_t = 1)]
        jobs: usize,
    },
    /// Write DIR/sweep.sbatch, a Slurm job array of the plan's tasks, and print the sbatch command.
    Slurm {
        plan: PathBuf,
        #[arg(long)]
        out: PathBuf,
        /// At most this many array elements at once (--array=0-N%K).
        #[arg(long)]
        max_parallel: Option<usize>,
        /// Time limit per element (sbatch --time), e.g. 4:00:00.
        #[arg(long)]
        time: Option<String>,
        /// GPUs per element (sbatch --gpus-per-task).
        #[arg(long)]
        gpus_per_task: Option<String>,
        /// Seconds before the time limit at which hinas checkpoints and the element requeues.
        #[arg(long, default_value_t = 300)]
        signal_secs: u32,
        #[arg(long, default_value = "hinas-sweep")]
        job_name: String,
        /// Any other sbatch option, as one #SBATCH line (repeatable), e.g. --sbatch=--partition=gpu.
        #[arg(long = "sbatch", allow_hyphen_values = true)]
        sbatch: Vec<String>,
    },
    /// Run one task: --index, else $SLURM_ARRAY_TASK_ID, else $JOB_COMPLETION_INDEX.
    Task {
        plan: PathBuf,
        #[arg(long)]
        out: PathBuf,
        #[arg(long)]
        index: Option<usize>,
    },
}

/// `hinas report DIR`.
#[derive(clap::Args)]
pub struct ReportArgs {
    /// The sweep folder.
    pub dir: PathBuf,
    /// The plan, to list tasks that never started (default: the one sweep.json names).
    #[arg(long)]
    pub plan: Option<PathBuf>,
    #[arg(long)]
    pub quiet: bool,
}

/// What `run` and `slurm` leave in DIR so `hinas report` knows every task, started or not.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct Manifest {
    pub plan: PathBuf,
    pub tasks: Vec<task::TaskInfo>,
}

pub fn write_manifest(plan: &Loaded, out: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(out)
        .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", out.display()))?;
    let m = Manifest {
        plan: plan.path.clone(),
        tasks: plan
            .tasks()
            .iter()
            .map(|t| task::TaskInfo::new(plan, t))
            .collect(),
    };
    crate::checkpoint::write_atomic(
        &out.join("sweep.json"),
        serde_json::to_string_pretty(&m)?.as_bytes(),
    )
}

pub fn sweep(cmd: SweepCommand) -> anyhow::Result<()> {
    match cmd {
        SweepCommand::Run { plan, out, jobs } => {
            let plan = Loaded::load(&plan)?;
            local::run(&plan, &std::path::absolute(out)?, jobs)
        }
        SweepCommand::Slurm {
            plan,
            out,
            max_parallel,
            time,
            gpus_per_task,
            signal_secs,
            job_name,
            sbatch,
        } => {
            let plan = Loaded::load(&plan)?;
            let out = std::path::absolute(out)?;
            write_manifest(&plan, &out)?;
            std::fs::create_dir_all(out.join("logs"))?;
            let exe = std::env::current_exe()?;
            let o = slurm::SlurmOptions {
                max_parallel,
                time,
                gpus_per_task,
                signal_secs,
                job_name,
                extra: sbatch,
            };
            let path = out.join("sweep.sbatch");
            crate::checkpoint::write_atomic(
                &path,
                slurm::script(&plan, &out, &exe, &o).as_bytes(),
            )?;
            println!(
                "wrote {} ({} tasks); submit with:\nsbatch {}",
                path.display(),
                plan.tasks().len(),
                path.display()
            );
            Ok(())
        }
        SweepCommand::Task { plan, out, index } => {
            let index = task::task_index(index)?;
            let plan = Loaded::load(&plan)?;
            task::run_task(&plan, &std::path::absolute(out)?, index)
        }
    }
}

/// The executable that child stages and tasks run: this very binary, even when its file has been
/// replaced since it started (a rebuild or an upgrade during a sweep would otherwise leave
/// `current_exe` pointing at "... (deleted)" and fail every later stage, or mix two builds in
/// one task).
pub(crate) fn running_exe() -> anyhow::Result<std::path::PathBuf> {
    let proc_exe = std::path::Path::new("/proc/self/exe");
    if proc_exe.exists() {
        return Ok(proc_exe.to_path_buf());
    }
    Ok(std::env::current_exe()?)
}
