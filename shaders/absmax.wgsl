// max |x| over the first `per` elements of every `stride` of an f32 array (all of it when
// per = stride; the offsets of a packed DCNv2 predictor output otherwise), into one slot of a small result array (launcher:
// src/eval/infer.rs, which uses it to bound the deformable offsets of a tile). Max is exact and
// order-free, so the result does not depend on the grid.
//
// partial: workgroup w reduces elements w*256 + i + k*stride (stride = 256 * workgroups) to
//          part[w]; finish: one workgroup reduces the `parts` partial maxima to out[slot].

struct Params {
    n: u32,        // elements read: items * per
    parts: u32,
    slot: u32,
    per: u32,
    stride: u32,
    _p0: u32,
    _p1: u32,
    _p2: u32,
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
        m = max(m, abs(x[i / p.per * p.stride + i % p.per]));
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
    if (lid.x == 0u) { out[p.slot] = acc[0]; }
}
