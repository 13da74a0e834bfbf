// Shared by the kernels that `#include "common.wgsl"` (composed by build.rs).

// The flat index of a one-invocation-per-item launch whose grid gpu::grid_1d folded into two
// dimensions (no dimension over 65535 workgroups). `wg` is the entry point's workgroup size,
// the same constant its @workgroup_size names; Gpu::dispatch_1d reads that size from the WGSL.
// The logistic function; two branches keep exp() from overflowing for large |x|.
fn logistic(x: f32) -> f32 {
    let e = exp(-abs(x));
    return select(e / (1.0 + e), 1.0 / (1.0 + e), x >= 0.0);
}

fn flat(gid: vec3<u32>, nwg: vec3<u32>, wg: u32) -> u32 {
    return gid.x + gid.y * nwg.x * wg;
}

// "No input tap reaches this output": i32::MIN, which no real coordinate takes (written as an
// expression because the literal 2147483648 does not fit an i32).
const NO_TAP: i32 = -2147483647 - 1;
