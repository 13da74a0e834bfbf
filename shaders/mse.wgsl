// Mean squared error and the generic two-pass sum reduction it is built on.
//
// Pass 1 (mse_partial): a capped number of workgroups walk the input with a grid stride, each
// invocation keeps a running sum, and the workgroup folds its 256 sums into one partial.
// Pass 2 (sum_partials): one workgroup adds the partials and scales the total.
// Both passes are deterministic (fixed order), so equal inputs give bit-equal losses.

#include "common.wgsl"

struct Params {
    n: u32,       // elements (pass 1, backward) or partials (pass 2)
    scale: f32,   // 1/n for the mean (pass 2), +-2/n (backward)
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read> gup: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

var<workgroup> red: array<f32, 256>;

fn fold(li: u32) {
    for (var s = 128u; s > 0u; s = s >> 1u) {
        if (li < s) {
            red[li] = red[li] + red[li + s];
        }
        workgroupBarrier();
    }
}

// a = pred, b = target; out[workgroup] = sum of (a - b)^2 over this workgroup's stride.
@compute @workgroup_size(256)
fn mse_partial(@builtin(local_invocation_index) li: u32, @builtin(workgroup_id) wg: vec3<u32>,
               @builtin(num_workgroups) nwg: vec3<u32>) {
    let stride = nwg.x * 256u;
    var acc = 0.0;
    for (var i = wg.x * 256u + li; i < p.n; i = i + stride) {
        let d = a[i] - b[i];
        acc = acc + d * d;
    }
    red[li] = acc;
    workgroupBarrier();
    fold(li);
    if (li == 0u) {
        out[wg.x] = red[0];
    }
}

// a = partials (p.n of them); out[0] = scale * sum. Dispatched as a single workgroup.
@compute @workgroup_size(256)
fn sum_partials(@builtin(local_invocation_index) li: u32) {
    var acc = 0.0;
    for (var i = li; i < p.n; i = i + 256u) {
        acc = acc + a[i];
    }
    red[li] = acc;
    workgroupBarrier();
    fold(li);
    if (li == 0u) {
        out[0] = red[0] * p.scale;
    }
}

// d mse / d pred = 2 (pred - target) / n, times the upstream scalar gradient; scale = +-2/n
// (negative for the target's gradient).
@compute @workgroup_size(256)
fn mse_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat(gid, nwg, 256u);
    if (i < p.n) {
        out[i] = gup[0] * p.scale * (a[i] - b[i]);
    }
}
