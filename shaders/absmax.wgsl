// max |x| of a flat f32 array, max-ed into one slot of a small result array (launcher:
// src/ops/absmax.rs). Max is exact and order-free, so the result does not depend on the grid.
//
// partial: workgroup w reduces elements w*256 + i + k*stride (stride = 256 * workgroups) to
//          part[w]; finish: one workgroup reduces the `parts` partial maxima into out[slot].

struct Params {
    n: u32,
    parts: u32,
    slot: u32,
    _pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> part: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

var<workgroup> acc: array<f32, 256>;

fn tree(lid: u32) {
    for (var s = 128u; s > 0u; s >>= 1u) {
        workgroupBarrier();
        if (lid < s) { acc[lid] = max(acc[lid], acc[lid + s]); }
    }
    workgroupBarrier();
}

@compute @workgroup_size(256)
fn partial(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let stride = 256u * p.parts;
    var m = 0.0;
    for (var i = wid.x * 256u + lid.x; i < p.n; i += stride) {
        m = max(m, abs(x[i]));
    }
    acc[lid.x] = m;
    tree(lid.x);
    if (lid.x == 0u) { part[wid.x] = acc[0]; }
}

@compute @workgroup_size(256)
fn finish(@builtin(local_invocation_id) lid: vec3<u32>) {
    var m = 0.0;
    for (var i = lid.x; i < p.parts; i += 256u) {
        m = max(m, part[i]);
    }
    acc[lid.x] = m;
    tree(lid.x);
    if (lid.x == 0u) { out[p.slot] = max(out[p.slot], acc[0]); }
}
