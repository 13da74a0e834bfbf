// Deformable convolution, input gradient by transposing the sampling (ops/deform_conv/backward.rs).
//
// After shaders/deform_conv.wgsl's dx_count (or `coord` with count_dx), `cnt` holds per bucket
// (= (image, offset group, input pixel)) how many sample points touch it. Here: an exclusive scan
// of the counts into `start` and back into `cnt` as dx_fill's slot counters (three passes: block
// sums, a serial scan of the block sums, block-local scans; or, for few buckets, `scan_small`
// in one), a
// per-bucket sort of the entries dx_fill wrote (so the summation order does not depend on thread
// timing), and the gather: every input pixel sums weight * column-gradient over its bucket.

#include "common.wgsl"

// Invocations per workgroup of the one-item-per-invocation entry points.
const WG: u32 = 64u;

struct Dx {
    nbk: u32,      // buckets in this chunk: nb * og * h * w
    nblk: u32,     // scan blocks of BLK buckets
    hw: u32,
    og: u32,
    cpg: u32,      // channels per offset group
    cbpg: u32,     // blocks of 4 channels per offset group
    kk: u32,
    nc: u32,       // columns in this chunk (row stride of the column gradient)
    cin: u32,
    b0: u32,
    ngather: u32,  // nb * og * cbpg * hw
    accumulate: u32,
}

const BLK: u32 = 256u;

@group(0) @binding(0) var<uniform> q: Dx;
@group(0) @binding(1) var<storage, read_write> cnt: array<u32>;
@group(0) @binding(2) var<storage, read_write> bsum: array<u32>;
@group(0) @binding(3) var<storage, read_write> start: array<u32>;
@group(0) @binding(4) var<storage, read> start_r: array<u32>;
@group(0) @binding(5) var<storage, read_write> ent: array<u32>;
@group(0) @binding(6) var<storage, read> ent_r: array<u32>;
@group(0) @binding(7) var<storage, read> gcol: array<f32>;
@group(0) @binding(8) var<storage, read_write> gx: array<f32>;

@compute @workgroup_size(WG)
fn scan_blocks(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat(gid, nwg, WG);
    if (i >= q.nblk) { return; }
    let lo = i * BLK;
    let hi = min(lo + BLK, q.nbk);
    var s = 0u;
    for (var j = lo; j < hi; j++) { s += cnt[j]; }
    bsum[i] = s;
}

// One invocation: the block sums are few (buckets / 256).
@compute @workgroup_size(1)
fn scan_top() {
    var run = 0u;
    for (var i = 0u; i < q.nblk; i++) {
        let t = bsum[i];
        bsum[i] = run;
        run += t;
    }
    start[q.nbk] = run;
}

@compute @workgroup_size(WG)
fn scan_apply(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat(gid, nwg, WG);
    if (i >= q.nblk) { return; }
    let lo = i * BLK;
    let hi = min(lo + BLK, q.nbk);
    var run = bsum[i];
    for (var j = lo; j < hi; j++) {
        let n = cnt[j];
        start[j] = run;
        // dx_fill's slot counter starts at the bucket's start: slot = atomicAdd(cnt, 1).
        cnt[j] = run;
        run += n;
    }
}

// The whole scan in one invocation, for chunks of few buckets (the launcher's SMALL_SCAN).
// Integer sums, so the starts equal the three-pass scan's; one dispatch instead of three,
// whose fixed cost dominates a small search's input gradient on lavapipe.
@compute @workgroup_size(1)
fn scan_small() {
    var run = 0u;
    for (var j = 0u; j < q.nbk; j++) {
        let n = cnt[j];
        start[j] = run;
        cnt[j] = run;
        run += n;
    }
    start[q.nbk] = run;
}

fn key_at(i: u32) -> u32 { return ent[2u * i]; }

fn swap(i: u32, j: u32) {
    let k = ent[2u * i];
    let w = ent[2u * i + 1u];
    ent[2u * i] = ent[2u * j];
    ent[2u * i + 1u] = ent[2u * j + 1u];
    ent[2u * j] = k;
    ent[2u * j + 1u] = w;
}

// Sorts one bucket's entries by key (keys are unique within a bucket). dx_fill's invocations
// run in roughly key order, so buckets arrive nearly sorted: insertion sort, which is linear on
// such input, for the usual small buckets (~4*kk entries); heap sort, O(n log n) whatever the
// order, for big ones (arbitrary offsets may pile many sample points onto one pixel).
@compute @workgroup_size(WG)
fn sort(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let bk = flat(gid, nwg, WG);
    if (bk >= q.nbk) { return; }
    let base = start_r[bk];
    let n = start_r[bk + 1u] - base;
    if (n < 2u) { return; }
    if (n <= 64u) {
        // `top`: the largest key of the sorted prefix, kept in a register so an entry already
        // in place costs one load (the usual case).
        var top = ent[2u * base];
        for (var i = 1u; i < n; i++) {
            let k = ent[2u * (base + i)];
            if (top <= k) {
                top = k;
                continue;
            }
            let w = ent[2u * (base + i) + 1u];
            var j = i;
            while (j > 0u && ent[2u * (base + j - 1u)] > k) {
                ent[2u * (base + j)] = ent[2u * (base + j - 1u)];
                ent[2u * (base + j) + 1u] = ent[2u * (base + j - 1u) + 1u];
                j -= 1u;
            }
            ent[2u * (base + j)] = k;
            ent[2u * (base + j) + 1u] = w;
        }
        return;
    }
    // Build a max-heap, then repeatedly move the maximum to the end.
    var end = n;
    var i = n / 2u;
    loop {
        // Sift-down phase of heapify for node i (heap of size `end`); when i reaches 0 and the
        // heap is built, shrink the heap instead.
        var root: u32;
        if (i > 0u) {
            i -= 1u;
            root = i;
        } else {
            end -= 1u;
            if (end == 0u) { break; }
            swap(base, base + end);
            root = 0u;
        }
        loop {
            let l = 2u * root + 1u;
            if (l >= end) { break; }
            var child = l;
            if (l + 1u < end && key_at(base + l + 1u) > key_at(base + l)) { child = l + 1u; }
            if (key_at(base + child) <= key_at(base + root)) { break; }
            swap(base + root, base + child);
            root = child;
        }
    }
}

// gx[b, c, pixel] (+)= sum over the bucket of weight * gcol[c*kk*nc + key], four channels of one
// offset group per invocation so each entry is read once per four channels.
@compute @workgroup_size(WG)
fn gather(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let t = flat(gid, nwg, WG);
    if (t >= q.ngather) { return; }
    let pix = t % q.hw;
    let t1 = t / q.hw;
    let cb = t1 % (q.og * q.cbpg);
    let bi = t1 / (q.og * q.cbpg);
    let g = cb / q.cbpg;
    let cl = (cb % q.cbpg) * 4u;
    let c0 = g * q.cpg + cl;
    let last = g * q.cpg + q.cpg - 1u;
    let stride = q.kk * q.nc;
    let r0 = c0 * stride;
    let r1 = min(c0 + 1u, last) * stride;
    let r2 = min(c0 + 2u, last) * stride;
    let r3 = min(c0 + 3u, last) * stride;
    let bk = (bi * q.og + g) * q.hw + pix;
    let lo = start_r[bk];
    let hi = start_r[bk + 1u];
    var acc = vec4<f32>(0.0);
    for (var e = lo; e < hi; e++) {
        let key = ent_r[2u * e];
        let w = bitcast<f32>(ent_r[2u * e + 1u]);
        acc += w * vec4<f32>(gcol[r0 + key], gcol[r1 + key], gcol[r2 + key], gcol[r3 + key]);
    }
    let nch = min(4u, q.cpg - cl);
    var o = ((q.b0 + bi) * q.cin + c0) * q.hw + pix;
    for (var c = 0u; c < nch; c++) {
        var v = acc[c];
        if (q.accumulate != 0u) { v += gx[o]; }
        gx[o] = v;
        o += q.hw;
    }
}
