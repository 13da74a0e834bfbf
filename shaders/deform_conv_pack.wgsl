// Channel slices for the DCNv2 wrapper (ops/deform_conv.rs, split_offset_mask): the predictor
// conv emits [N, 3*og*kk, H, W]; the first 2*og*kk channels are the offsets, the rest the mask
// logits. `slice` copies channels [c0, c0 + cs) out; `unslice` writes a slice's gradient back
// into a full-size tensor (zeros elsewhere).

struct Sl {
    n: u32,      // elements of the slice: batch * cs * hw
    ct: u32,     // channels of the full tensor
    cs: u32,     // channels of the slice
    c0: u32,
    hw: u32,
    _p0: u32, _p1: u32, _p2: u32,
}

@group(0) @binding(0) var<uniform> q: Sl;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;

fn flat(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return gid.x + gid.y * nwg.x * 256u;
}

// Index in the full tensor of element i of the slice.
fn full_index(i: u32) -> u32 {
    let pix = i % q.hw;
    let t = i / q.hw;
    let c = t % q.cs;
    let b = t / q.cs;
    return (b * q.ct + q.c0 + c) * q.hw + pix;
}

@compute @workgroup_size(256)
fn slice(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat(gid, nwg);
    if (i < q.n) { dst[i] = src[full_index(i)]; }
}

// dst must be zeroed first; only the slice's channels are written.
@compute @workgroup_size(256)
fn unslice(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat(gid, nwg);
    if (i < q.n) { dst[full_index(i)] = src[i]; }
}
