// Channel concat / slice of NCHW tensors (ops/concat.rs) as a strided block copy: for every
// batch index b, `blk` contiguous floats move from src[b * src_stride + src_off] to
// dst[b * dst_stride + dst_off]. A channel range of an NCHW tensor is one such block per b.

struct Params {
    nb: u32,          // number of blocks (the batch size)
    blk: u32,         // floats per block
    src_stride: u32,
    src_off: u32,
    dst_stride: u32,
    dst_off: u32,
    leaky: u32,       // copy_blocks*: 1 = LeakyReLU with `slope` on the way (ReLU: slope 0)
    slope: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;
// The same buffers four floats at a time, for the `*4` entry points: the launcher uses them
// only when every block, stride and offset is a multiple of 4. On lavapipe each load or store
// with a computed index runs lane by lane, so moving a vec4 per lane step is ~4x less work.
@group(0) @binding(3) var<storage, read> src4: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> dst4: array<vec4<f32>>;

// Grids are [min(ceil(block / 256), 65535), nb]: the block index is the workgroup's y, so no
// invocation divides; blocks longer than 65535 * 256 floats (a full-resolution tile of the
// decoder's 176 channels) loop.

// One invocation per copied float (more when the grid is capped). `leaky` as in copy_blocks4.
@compute @workgroup_size(256)
fn copy_blocks(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let b = gid.y;
    for (var r = gid.x; r < p.blk; r += nwg.x * 256u) {
        var v = src[b * p.src_stride + p.src_off + r];
        if (p.leaky != 0u) {
            v = select(p.slope * v, v, v > 0.0);
        }
        dst[b * p.dst_stride + p.dst_off + r] = v;
    }
}

// The gradient of a slice: dst is the full-size tensor, zero outside the blocks (src is the
// sliced gradient, src_stride == blk, src_off == 0). One pass, no separate clear.
@compute @workgroup_size(256)
fn pad_blocks(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let b = gid.y;
    for (var r = gid.x; r < p.dst_stride; r += nwg.x * 256u) {
        let j = b * p.dst_stride + r;
        var v = 0.0;
        if (r >= p.dst_off && r < p.dst_off + p.blk) {
            v = src[b * p.blk + (r - p.dst_off)];
        }
        dst[j] = v;
    }
}

// copy_blocks on vec4s: every field of p counts vec4s here (the launcher divides by 4). With
// `leaky`, the activation of inference's fused concat (src/eval/infer/concat_act.rs), in the
// formula of elementwise.wgsl's leaky_relu_v4, so the values are the same.
@compute @workgroup_size(256)
fn copy_blocks4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let b = gid.y;
    for (var r = gid.x; r < p.blk; r += nwg.x * 256u) {
        var v = src4[b * p.src_stride + p.src_off + r];
        if (p.leaky != 0u) {
            v = select(p.slope * v, v, v > vec4<f32>(0.0));
        }
        dst4[b * p.dst_stride + p.dst_off + r] = v;
    }
}

// pad_blocks on vec4s (fields in vec4s, as copy_blocks4).
@compute @workgroup_size(256)
fn pad_blocks4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let b = gid.y;
    for (var r = gid.x; r < p.dst_stride; r += nwg.x * 256u) {
        let j = b * p.dst_stride + r;
        var v = vec4<f32>(0.0);
        if (r >= p.dst_off && r < p.dst_off + p.blk) {
            v = src4[b * p.blk + (r - p.dst_off)];
        }
        dst4[j] = v;
    }
}
