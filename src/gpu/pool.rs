//! Size-bucketed buffer pool with live/peak accounting.
//!
//! Every tensor owns one whole `wgpu::Buffer` (a buffer cannot be bound read-only and read-write
//! in one dispatch, so sub-slicing one big allocation does not work on wgpu). Buffers come back
//! to the pool when their tensor drops and are handed out again for any request of the same
//! bucket, so a training loop allocates nothing after its first step.

use std::collections::{BTreeSet, HashMap};

/// Every pooled buffer can also be bound as a uniform block: `gather56` and `gather16w*` read
/// their packed weights through one (src/ops/conv2d/gather.rs, `UNIFORM_WEIGHT_FLOATS`).
pub(crate) const USAGE: wgpu::BufferUsages = wgpu::BufferUsages::STORAGE
    .union(wgpu::BufferUsages::COPY_SRC)
    .union(wgpu::BufferUsages::COPY_DST)
    .union(wgpu::BufferUsages::UNIFORM);

/// Buckets are 2^k and 1.5*2^k bytes (at most 33 % waste), at least 256 bytes.
pub(crate) fn bucket(bytes: u64) -> u64 {
    let b = bytes.max(256);
    let p = b.next_power_of_two();
    let three_quarters = p / 4 * 3;
    if b <= three_quarters {
        three_quarters
    } else {
        p
    }
}

#[derive(Default)]
pub(crate) struct Pool {
    /// Free buffers by bucket. `take` hands out the smallest (wgpu's order of buffers): given
    /// the same free set and the same requests, every training step gets the same buffers in
    /// the same order, so the bind groups of its dispatches are made once and then found in the
    /// cache (kernel.rs). A last-in-first-out list hands them out in an order that drifts from
    /// step to step (measured: 5 % of bind groups reused instead of 100 %).
    free: HashMap<u64, BTreeSet<wgpu::Buffer>>,
    pub live_bytes: u64,
    pub peak_bytes: u64,
    pub reserved_bytes: u64,
}

/// Memory figures of a device, in bytes.
#[derive(Clone, Copy, Debug, Default)]
pub struct MemoryStats {
    /// Bytes held by live tensors now.
    pub live: u64,
    /// Highest `live` since the device opened (or since `reset_peak`).
    pub peak: u64,
    /// Bytes of GPU buffers the pool owns (live + cached for reuse).
    pub reserved: u64,
}

impl Pool {
    pub fn take(&mut self, device: &wgpu::Device, bytes: u64) -> wgpu::Buffer {
        let size = bucket(bytes);
        let buf = match self.free.get_mut(&size).and_then(BTreeSet::pop_first) {
            Some(b) => b,
            None => {
                self.reserved_bytes += size;
                device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some("tensor"),
                    size,
                    usage: USAGE,
                    mapped_at_creation: false,
                })
            }
        };
        self.live_bytes += size;
        self.peak_bytes = self.peak_bytes.max(self.live_bytes);
        buf
    }

    pub fn give_back(&mut self, buf: wgpu::Buffer) {
        let size = buf.size();
        self.live_bytes -= size;
        self.free.entry(size).or_default().insert(buf);
    }

    /// Frees every cached buffer (not the live ones).
    pub fn trim(&mut self) {
        for (size, bufs) in self.free.drain() {
            self.reserved_bytes -= size * bufs.len() as u64;
        }
    }

    pub fn stats(&self) -> MemoryStats {
        MemoryStats {
            live: self.live_bytes,
            peak: self.peak_bytes,
            reserved: self.reserved_bytes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::bucket;
    #[test]
    fn buckets_cover_request_with_bounded_waste() {
        for bytes in [1u64, 255, 256, 257, 1000, 4096, 4097, 6144, 6145, 1 << 30] {
            let b = bucket(bytes);
            assert!(b >= bytes);
            assert!(b <= (bytes.max(256) * 3).div_ceil(2) + 1, "{bytes} -> {b}");
        }
    }
}
