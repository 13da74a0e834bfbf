//! `hinas sweep run`: the tasks on this machine, N at a time, as child processes (`hinas sweep
//! task`) with a log file each; spread over the adapters when there are several.

use super::plan::Loaded;
use super::task::terminate;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Running {
    index: usize,
    slot: usize,
    child: Child,
    started: Instant,
}

/// How many adapters to spread tasks over: none when the user pinned one with HINAS_ADAPTER.
fn adapter_count() -> usize {
    if std::env::var_os("HINAS_ADAPTER").is_some() {
        return 0;
    }
    crate::gpu::enumerate().len()
}

pub fn run(plan: &Loaded, out: &Path, jobs: usize) -> anyhow::Result<()> {
    anyhow::ensure!(jobs >= 1, "-j must be at least 1");
    super::write_manifest(plan, out)?;
    let tasks = plan.tasks();
    let logs = out.join("logs");
    std::fs::create_dir_all(&logs)
        .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", logs.display()))?;
    let adapters = adapter_count();
    let exe = super::running_exe()?;
    println!(
        "sweep: {} tasks, {} at a time{} -> {}",
        tasks.len(),
        jobs,
        if adapters > 1 {
            format!(", over {adapters} adapters")
        } else {
            String::new()
        },
        out.display()
    );
    let started = Instant::now();
    let mut next = 0;
    let mut running: Vec<Running> = Vec::new();
    let (mut finished, mut failed, mut stopped) = (0usize, Vec::new(), 0usize);
    let mut forwarded = false;
    loop {
        let stop = crate::stop::requested();
        if stop && !forwarded {
            println!("sweep: stopping; the running tasks save their checkpoints");
            for r in &running {
                terminate(&r.child);
            }
            forwarded = true;
        }
        while !stop && running.len() < jobs && next < tasks.len() {
            let slot = (0..jobs)
                .find(|s| running.iter().all(|r| r.slot != *s))
                .expect("a free slot");
            let log_path = logs.join(format!("{}.log", tasks[next].name()));
            let log = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&log_path)
                .map_err(|e| anyhow::anyhow!("cannot open {}: {e}", log_path.display()))?;
            let mut cmd = Command::new(&exe);
            cmd.arg("sweep")
                .arg("task")
                .arg(&plan.path)
                .arg("--out")
                .arg(out)
                .arg("--index")
                .arg(next.to_string())
                .stdin(Stdio::null())
                .stdout(log.try_clone()?)
                .stderr(log);
            if adapters > 1 {
                cmd.env("HINAS_ADAPTER", (slot % adapters).to_string());
            }
            let child = cmd
                .spawn()
                .map_err(|e| anyhow::anyhow!("cannot start {}: {e}", exe.display()))?;
            running.push(Running {
                index: next,
                slot,
                child,
                started: Instant::now(),
            });
            next += 1;
        }
        if running.is_empty() {
            break;
        }
        let mut i = 0;
        while i < running.len() {
            if let Some(st) = running[i].child.try_wait()? {
                let r = running.swap_remove(i);
                let name = tasks[r.index].name();
                let secs = r.started.elapsed().as_secs_f64();
                match st.code() {
                    Some(0) => {
                        finished += 1;
                        println!(
                            "[{}/{}] {name}: finished ({secs:.1} s)",
                            finished + failed.len(),
                            tasks.len()
                        );
                    }
                    Some(crate::stop::EXIT_STATUS) => stopped += 1,
                    None if forwarded => stopped += 1,
                    code => {
                        let why = super::task::last_line(&logs.join(format!("{name}.log")))
                            .unwrap_or_default();
                        println!(
                            "[{}/{}] {name}: FAILED ({}): {why}",
                            finished + failed.len() + 1,
                            tasks.len(),
                            code.map_or("killed".into(), |c| format!("exit {c}"))
                        );
                        failed.push(name);
                    }
                }
            } else {
                i += 1;
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    println!(
        "sweep: {finished} finished, {} failed, {} not finished, in {:.1} s; `hinas report {}` merges the results",
        failed.len(),
        tasks.len() - finished - failed.len(),
        started.elapsed().as_secs_f64(),
        out.display()
    );
    if crate::stop::requested() || stopped > 0 {
        return Err(crate::stop::Interrupted.into());
    }
    anyhow::ensure!(
        failed.is_empty(),
        "{} of {} tasks failed ({}); their logs are in {}",
        failed.len(),
        tasks.len(),
        failed.join(", "),
        logs.display()
    );
    Ok(())
}
