//! Which kernel family a launch uses: the 8-lane subgroup kernels (loads shared across a
//! subgroup with `subgroupBroadcast`) where the device has them and `Gpu::subgroup_kernels`
//! chose them, else the plain ones. Tests force the plain family on a device that has
//! subgroups, so both are covered on one machine.

use crate::gpu::Gpu;

thread_local! {
    static PLAIN_KERNELS: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f` with the kernels for devices without 8-lane subgroups on this thread, as they run
/// there (conv2d: gather8's weight loads and 64-lane workgroups, no gather16/32/64, 64-lane
/// wgrad8, no wgrad_sg; the 1x1 GEMM and the deformable matmul loading their own A values; no
/// one-pass deformable forward), for tests that cover both families on a device that has
/// subgroups.
#[doc(hidden)]
pub fn with_plain_kernels<R>(f: impl FnOnce() -> R) -> R {
    let old = PLAIN_KERNELS.with(|c| c.replace(true));
    let r = f();
    PLAIN_KERNELS.with(|c| c.set(old));
    r
}

/// Whether this launch uses the 8-lane subgroup kernel family.
pub(crate) fn subgroup_kernels(gpu: &Gpu) -> bool {
    gpu.subgroup_kernels() && !PLAIN_KERNELS.with(|c| c.get())
}
