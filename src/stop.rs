//! Stop requests (preemption): SIGTERM, SIGUSR1 and SIGINT set a flag that the long loops
//! (search steps, training steps, sweep stages) check between steps. A run that sees it finishes
//! the step in flight, writes its checkpoint atomically and fails with [`Interrupted`], which the
//! command line turns into exit status [`EXIT_STATUS`]; `--resume` (or rerunning the sweep)
//! continues from that step with results identical to an uninterrupted run.
//!
//! A second Ctrl-C exits at once (status 130), for a user who does not want to wait.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

/// EX_TEMPFAIL (sysexits.h): "try again later", which is what an interrupted run asks for.
pub const EXIT_STATUS: i32 = 75;

fn flag() -> &'static Arc<AtomicBool> {
    static FLAG: OnceLock<Arc<AtomicBool>> = OnceLock::new();
    FLAG.get_or_init(|| Arc::new(AtomicBool::new(false)))
}

/// Routes SIGTERM, SIGUSR1 and SIGINT to the stop flag (the command line calls this once).
pub fn install() -> anyhow::Result<()> {
    use signal_hook::consts::{SIGINT, SIGTERM, SIGUSR1};
    let f = flag();
    // Registered first, so it sees the flag as it was before this SIGINT set it.
    signal_hook::flag::register_conditional_shutdown(SIGINT, 130, Arc::clone(f))?;
    for sig in [SIGTERM, SIGUSR1, SIGINT] {
        signal_hook::flag::register(sig, Arc::clone(f))?;
    }
    Ok(())
}

/// Asks the running loops to stop at their next step boundary, as a signal would.
pub fn request() {
    flag().store(true, Ordering::SeqCst);
}

/// Whether a stop was requested. `HINAS_TEST_STOP_AFTER=N` (a test hook) requests one at the
/// N-th check, i.e. after N steps, which makes "interrupted mid-epoch" reproducible in tests.
pub fn requested() -> bool {
    static AFTER: OnceLock<Option<u64>> = OnceLock::new();
    static CHECKS: AtomicU64 = AtomicU64::new(0);
    if let Some(n) = *AFTER.get_or_init(|| {
        std::env::var("HINAS_TEST_STOP_AFTER")
            .ok()
            .and_then(|v| v.parse().ok())
    }) {
        if CHECKS.fetch_add(1, Ordering::SeqCst) + 1 >= n {
            request();
        }
    }
    flag().load(Ordering::SeqCst)
}

/// The error of a run that stopped on request after saving its checkpoint.
#[derive(Debug)]
pub struct Interrupted;

impl std::fmt::Display for Interrupted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "stopped on request; the checkpoint is saved and the run resumes where it stopped"
        )
    }
}

impl std::error::Error for Interrupted {}

pub fn is_interrupted(e: &anyhow::Error) -> bool {
    e.chain().any(|c| c.is::<Interrupted>())
}
