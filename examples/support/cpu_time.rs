//! Shared by the `*_cpu_time` examples: process CPU time per pass of a GPU op, which moves far
//! less with a shared machine's load than wall time when lavapipe runs on one thread.

use hinas::gpu::{Gpu, Tensor};
use std::time::Instant;

/// User + system CPU time of this process in ms (10 ms clock ticks).
fn cpu_ms() -> f64 {
    // /proc/self/stat fields 14 and 15: utime and stime in clock ticks (100 Hz on Linux).
    let s = std::fs::read_to_string("/proc/self/stat").expect("/proc/self/stat");
    let rest = &s[s.rfind(')').expect("stat format") + 2..];
    let f: Vec<&str> = rest.split(' ').collect();
    (f[11].parse::<f64>().unwrap() + f[12].parse::<f64>().unwrap()) * 10.0
}

/// Runs `f` once untimed, then `iters` times, waiting for the GPU after each; returns CPU ms and
/// wall ms per pass.
pub fn time_pass(gpu: &Gpu, iters: usize, f: &dyn Fn() -> Tensor) -> (f64, f64) {
    drop(f());
    gpu.sync();
    let (c0, t0) = (cpu_ms(), Instant::now());
    for _ in 0..iters {
        drop(f());
        gpu.sync();
    }
    let cpu = (cpu_ms() - c0) / iters as f64;
    (cpu, t0.elapsed().as_secs_f64() * 1e3 / iters as f64)
}
