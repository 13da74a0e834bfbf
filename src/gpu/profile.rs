//! Per-kernel GPU time, from timestamps written around every dispatch.
//!
//! Off by default: it costs a wait at every submit (the timestamps of one submit are read back
//! before the next one reuses the query slots), so wall time under profiling is not the normal
//! wall time; the per-dispatch GPU times are. Needs TIMESTAMP_QUERY_INSIDE_PASSES (lavapipe and
//! NVIDIA's Vulkan driver have it). Copies and clears recorded outside compute passes are not
//! counted.

use std::collections::HashMap;

/// Time spent in one (shader, entry point) over the profiled region.
#[derive(Clone, Debug)]
pub struct KernelTime {
    pub kernel: &'static str,
    pub entry: &'static str,
    pub calls: u64,
    pub seconds: f64,
}

pub(crate) struct Profiler {
    queries: wgpu::QuerySet,
    resolve: wgpu::Buffer,
    readback: wgpu::Buffer,
    capacity: u32,
    /// Labels of the dispatches recorded since the last submit, in query order.
    pending: Vec<(&'static str, &'static str)>,
    totals: HashMap<(&'static str, &'static str), (u64, u64)>,
    ns_per_tick: f64,
}

impl Profiler {
    pub fn new(device: &wgpu::Device, queue: &wgpu::Queue, dispatches: u32) -> Profiler {
        let capacity = 2 * dispatches;
        let bytes = 8 * capacity as u64;
        let buffer = |label, usage| {
            device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                size: bytes,
                usage,
                mapped_at_creation: false,
            })
        };
        use wgpu::BufferUsages as U;
        Profiler {
            queries: device.create_query_set(&wgpu::QuerySetDescriptor {
                label: Some("profile"),
                ty: wgpu::QueryType::Timestamp,
                count: capacity,
            }),
            resolve: buffer("profile-resolve", U::QUERY_RESOLVE | U::COPY_SRC),
            readback: buffer("profile-readback", U::MAP_READ | U::COPY_DST),
            capacity,
            pending: Vec::new(),
            totals: HashMap::new(),
            ns_per_tick: queue.get_timestamp_period() as f64,
        }
    }

    /// Slot of the next dispatch's start timestamp (its end is the slot after).
    pub fn begin(&mut self, kernel: &'static str, entry: &'static str) -> (&wgpu::QuerySet, u32) {
        let slot = 2 * self.pending.len() as u32;
        assert!(
            slot < self.capacity,
            "profiler: more dispatches than one submit holds"
        );
        self.pending.push((kernel, entry));
        (&self.queries, slot)
    }

    /// Appends the copy of this submit's timestamps to `enc`; returns whether there were any.
    pub fn resolve(&self, enc: &mut wgpu::CommandEncoder) -> bool {
        let n = 2 * self.pending.len() as u32;
        if n == 0 {
            return false;
        }
        enc.resolve_query_set(&self.queries, 0..n, &self.resolve, 0);
        enc.copy_buffer_to_buffer(&self.resolve, 0, &self.readback, 0, 8 * n as u64);
        true
    }

    /// After the submit that carried `resolve`: waits for it and adds the times up.
    pub fn collect(&mut self, device: &wgpu::Device) {
        let n = self.pending.len();
        let slice = self.readback.slice(..8 * 2 * n as u64);
        slice.map_async(wgpu::MapMode::Read, |_| {});
        let _ = device.poll(wgpu::PollType::wait_indefinitely());
        {
            let data = slice.get_mapped_range().expect("mapped profile readback");
            let ticks: &[u64] = bytemuck::cast_slice(&data);
            for (i, label) in self.pending.iter().enumerate() {
                let dt = ticks[2 * i + 1].saturating_sub(ticks[2 * i]);
                let e = self.totals.entry(*label).or_default();
                e.0 += 1;
                e.1 += dt;
            }
        }
        self.readback.unmap();
        self.pending.clear();
    }

    /// Totals so far, the most expensive first.
    pub fn report(&self) -> Vec<KernelTime> {
        let mut v: Vec<KernelTime> = self
            .totals
            .iter()
            .map(|(&(kernel, entry), &(calls, ticks))| KernelTime {
                kernel,
                entry,
                calls,
                seconds: ticks as f64 * self.ns_per_tick * 1e-9,
            })
            .collect();
        v.sort_by(|a, b| b.seconds.total_cmp(&a.seconds));
        v
    }

    pub fn reset(&mut self) {
        self.totals.clear();
    }
}

/// The report as a table: kernel, calls, total ms, share, mean us per call.
pub fn format_report(rows: &[KernelTime]) -> String {
    let total: f64 = rows.iter().map(|r| r.seconds).sum();
    let mut s = format!(
        "{:<36} {:>8} {:>11} {:>7} {:>10}\n",
        "kernel::entry", "calls", "total ms", "share", "us/call"
    );
    for r in rows {
        s += &format!(
            "{:<36} {:>8} {:>11.2} {:>6.1}% {:>10.1}\n",
            format!("{}::{}", r.kernel, r.entry),
            r.calls,
            r.seconds * 1e3,
            100.0 * r.seconds / total.max(1e-12),
            r.seconds * 1e6 / r.calls.max(1) as f64
        );
    }
    let calls: u64 = rows.iter().map(|r| r.calls).sum();
    s += &format!(
        "{:<36} {:>8} {:>11.2}\n",
        "all dispatches",
        calls,
        total * 1e3
    );
    s
}
