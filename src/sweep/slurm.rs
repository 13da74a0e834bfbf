//! `hinas sweep slurm`: a Slurm job-array script whose element i runs `hinas sweep task --index i`.
//!
//! Preemption and time limits: the array is `--requeue`able; Slurm signals the batch shell
//! (`--signal=B:USR1@secs`) that long before the limit, the script passes it on to hinas, which
//! checkpoints after the step in flight and exits 75; the script then requeues its own element,
//! which resumes. A preempted (SIGTERM'd) element checkpoints the same way and Slurm requeues it.

use super::plan::Loaded;
use std::fmt::Write;
use std::path::Path;

pub struct SlurmOptions {
    pub max_parallel: Option<usize>,
    pub time: Option<String>,
    pub gpus_per_task: Option<String>,
    pub signal_secs: u32,
    pub job_name: String,
    pub extra: Vec<String>,
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

pub fn script(plan: &Loaded, out: &Path, exe: &Path, o: &SlurmOptions) -> String {
    let n = plan.tasks().len();
    let logs = out.join("logs");
    let mut s = String::from("#!/bin/bash\n");
    let _ = writeln!(
        s,
        "# Written by `hinas sweep slurm`: one array element per sweep task."
    );
    let _ = writeln!(s, "#SBATCH --job-name={}", o.job_name);
    let _ = writeln!(
        s,
        "#SBATCH --array=0-{}{}",
        n - 1,
        o.max_parallel.map(|k| format!("%{k}")).unwrap_or_default()
    );
    let _ = writeln!(s, "#SBATCH --ntasks=1");
    let _ = writeln!(s, "#SBATCH --requeue");
    let _ = writeln!(s, "#SBATCH --signal=B:USR1@{}", o.signal_secs);
    let _ = writeln!(s, "#SBATCH --open-mode=append");
    let _ = writeln!(s, "#SBATCH --output={}/slurm-%A_%a.out", logs.display());
    if let Some(t) = &o.time {
        let _ = writeln!(s, "#SBATCH --time={t}");
    }
    if let Some(g) = &o.gpus_per_task {
        let _ = writeln!(s, "#SBATCH --gpus-per-task={g}");
    }
    for e in &o.extra {
        let _ = writeln!(s, "#SBATCH {e}");
    }
    let _ = write!(
        s,
        r#"
# hinas runs in the background so this shell can pass signals on: USR1 (time limit near) and
# TERM (preemption, scancel) make it finish its step, checkpoint and exit 75.
{exe} sweep task {plan} --out {out} --index "$SLURM_ARRAY_TASK_ID" &
pid=$!
near_limit=0
trap 'near_limit=1; kill -USR1 $pid 2>/dev/null' USR1
trap 'kill -TERM $pid 2>/dev/null' TERM
while true; do
    wait $pid
    status=$?
    # wait returns early (status > 128) when a trapped signal arrives; hinas is still running.
    kill -0 $pid 2>/dev/null || break
done
if [ "$status" -eq 75 ] && [ "$near_limit" -eq 1 ]; then
    echo "time limit near: requeueing ${{SLURM_ARRAY_JOB_ID}}_${{SLURM_ARRAY_TASK_ID}} to resume"
    scontrol requeue "${{SLURM_ARRAY_JOB_ID}}_${{SLURM_ARRAY_TASK_ID}}"
fi
exit $status
"#,
        exe = quote(&exe.display().to_string()),
        plan = quote(&plan.path.display().to_string()),
        out = quote(&out.display().to_string()),
    );
    s
}
