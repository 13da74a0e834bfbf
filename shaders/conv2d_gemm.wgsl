// Register-tiled matrix multiply C[M, N] = A[M, K] * B[K, N] (row-major), batched over
// (batch, group), for 1x1 convolutions and `matmul_raw` (launchers: src/ops/conv2d/gemm.rs).
// Included by conv2d_gemm_plain.wgsl and conv2d_gemm_sg.wgsl, which define how a k step's
// eight A values are loaded (`a_step`) and the entry points.
//
// A, `groups` blocks of M x K, is read in place, element (m, k) of group g at g*M*K + m*a_sm +
// k*a_sk: a 1x1 conv's weight [G*M, K] (a_sm = K, a_sk = 1) or, for its input gradient, the same
// weight read transposed (a_sm = 1, a_sk = M); or, for image-sized forwards, from a copy packed
// in 8-row blocks (`a_mode`, in `body`). The rows an invocation owns depend only on the
// workgroup, so every lane loads the same A values (uniform addresses). The invocation's 8
// consecutive columns of B come in as two vec4 loads when N is a multiple of 4 (gemm_v4), else as
// 8 scalars (gemm_s). 64 FMAs per k step, no workgroup memory (slower than registers on
// lavapipe). gemm_v4 also stores its 8x8 block as 16 vec4 rows instead of 64 scalars: on lavapipe
// every store with a computed index runs lane by lane like a load, and at the small K of a cell's
// 1x1 convs (16-64) the 64 scalar stores were a third of the memory operations.

struct Gemm {
  m: u32, k: u32, n: u32, blocks: u32,           // blocks = ceil(m / 8) (rows are per group)
  chunks: u32, groups: u32, total: u32, has_bias: u32, // chunks = workgroups per batch along N, total = batches * groups * chunks
  b_nstride: u32, b_gstride: u32, c_nstride: u32, c_gstride: u32,
  act: u32, slope: f32,                          // act != 0: LeakyReLU(slope) after the bias (inference)
  a_sm: u32, a_sk: u32,                          // A's strides along m and k (see above)
  a_mode: u32, _p1: u32, _p2: u32, _p3: u32,     // how A is loaded: see `body`
}

@group(0) @binding(0) var<uniform> p: Gemm;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(7) var<storage, read> a4: array<vec4<f32>>;        // = a, where a_mode allows
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read> b4: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> bias: array<f32>;
@group(0) @binding(5) var<storage, read_write> c: array<f32>;
@group(0) @binding(6) var<storage, read_write> c4: array<vec4<f32>>;  // = c (gemm_v4 only)

struct Row8 { lo: vec4<f32>, hi: vec4<f32> }

fn row_v4(base: u32, col: u32) -> Row8 {
  // base and col are multiples of 4; col < n, so the first vec4 is inside the row.
  let ok_lo = col < p.n;
  let ok_hi = col + 4u < p.n;
  let lo = select(vec4<f32>(0.0), b4[select(0u, (base + col) / 4u, ok_lo)], ok_lo);
  let hi = select(vec4<f32>(0.0), b4[select(0u, (base + col) / 4u + 1u, ok_hi)], ok_hi);
  return Row8(lo, hi);
}

fn ld(base: u32, col: u32) -> f32 {
  let ok = col < p.n;
  return select(0.0, b[select(0u, base + col, ok)], ok);
}

fn row_s(base: u32, col: u32) -> Row8 {
  return Row8(vec4<f32>(ld(base, col), ld(base, col + 1u), ld(base, col + 2u), ld(base, col + 3u)),
              vec4<f32>(ld(base, col + 4u), ld(base, col + 5u), ld(base, col + 6u), ld(base, col + 7u)));
}

// A's element (m0 + r, k) at `ai` + r * a_sm, zero past the last row.
fn a_at(ai: u32, r: u32, rows: u32) -> f32 {
  let ok = r < rows;
  return select(0.0, a[select(0u, ai + r * p.a_sm, ok)], ok);
}

fn b_row(rb: u32, col: u32, vec: bool) -> Row8 {
  if (vec) { return row_v4(rb, col); }
  return row_s(rb, col);
}

fn act(v: f32) -> f32 {
  if (p.act != 0u) { return select(p.slope * v, v, v > 0.0); }
  return v;
}

fn put(cb: u32, rows: u32, m0: u32, bias0: u32, col: u32, lo: vec4<f32>, hi: vec4<f32>) {
  if (col >= p.n) { return; }
  for (var r = 0u; r < 4u; r++) {
    if (r < rows) {
      var v = lo[r];
      if (p.has_bias != 0u) { v += bias[bias0 + r]; }
      c[cb + (m0 + r) * p.n + col] = act(v);
    }
    if (r + 4u < rows) {
      var v = hi[r];
      if (p.has_bias != 0u) { v += bias[bias0 + 4u + r]; }
      c[cb + (m0 + 4u + r) * p.n + col] = act(v);
    }
  }
}

fn act4(v: vec4<f32>) -> vec4<f32> {
  if (p.act != 0u) { return select(p.slope * v, v, v > vec4<f32>(0.0)); }
  return v;
}

// Row r of the block: columns col..col+3 in `lo`, col+4..col+7 in `hi`. col < n and n, the
// strides and col are multiples of 4, so the first vec4 is whole and inside the row.
fn put_row(cb: u32, rows: u32, m0: u32, bias0: u32, col: u32, r: u32, lo: vec4<f32>, hi: vec4<f32>) {
  if (r >= rows) { return; }
  var bv = 0.0;
  if (p.has_bias != 0u) { bv = bias[bias0 + r]; }
  let i = (cb + (m0 + r) * p.n + col) / 4u;
  c4[i] = act4(lo + bv);
  if (col + 4u < p.n) { c4[i + 1u] = act4(hi + bv); }
}

fn body(wid: vec3<u32>, lid: vec3<u32>, nwg: vec3<u32>, sid: u32, vec: bool) {
  let flat = wid.x + wid.z * nwg.x;
  if (flat >= p.total) { return; }
  let bg = flat / p.chunks;              // batch * groups + group
  let g = bg % p.groups;
  let nb = bg / p.groups;
  let col = ((flat % p.chunks) * 64u + lid.x) * 8u;
  let blk = wid.y;
  let base = nb * p.b_nstride + g * p.b_gstride;
  let m0 = blk * 8u;
  let rows = min(p.m - m0, 8u);
  // a_mode 0: A read in place (the plain variant: 8 scalar loads per k step; the subgroup
  // variant: one per lane); 1: packed by conv2d.wgsl's pack_weights into [group][M / 8][K][8],
  // 2 vec4 per step (the plain launcher packs for image-sized forwards, where the scalar loads
  // cost more than the packing pass); 2: read in place where a column's rows are contiguous and
  // 16-byte aligned (a_sm = 1, M % 4 == 0), 2 vec4 per step. Modes 1 and 2 are plain only.
  var ai = g * p.m * p.k + m0 * p.a_sm;
  if (p.a_mode == 1u) { ai = (g * p.blocks + blk) * p.k * 2u; }
  var l0 = vec4<f32>(0.0); var h0 = vec4<f32>(0.0); var l1 = vec4<f32>(0.0); var h1 = vec4<f32>(0.0);
  var l2 = vec4<f32>(0.0); var h2 = vec4<f32>(0.0); var l3 = vec4<f32>(0.0); var h3 = vec4<f32>(0.0);
  var l4 = vec4<f32>(0.0); var h4 = vec4<f32>(0.0); var l5 = vec4<f32>(0.0); var h5 = vec4<f32>(0.0);
  var l6 = vec4<f32>(0.0); var h6 = vec4<f32>(0.0); var l7 = vec4<f32>(0.0); var h7 = vec4<f32>(0.0);
  var rb = base;
  for (var kk = 0u; kk < p.k; kk++) {
    let w = a_step(&ai, rows, sid);
    let wl = w.lo;
    let wh = w.hi;
    let r = b_row(rb, col, vec);
    l0 += wl * r.lo.x; h0 += wh * r.lo.x; l1 += wl * r.lo.y; h1 += wh * r.lo.y;
    l2 += wl * r.lo.z; h2 += wh * r.lo.z; l3 += wl * r.lo.w; h3 += wh * r.lo.w;
    l4 += wl * r.hi.x; h4 += wh * r.hi.x; l5 += wl * r.hi.y; h5 += wh * r.hi.y;
    l6 += wl * r.hi.z; h6 += wh * r.hi.z; l7 += wl * r.hi.w; h7 += wh * r.hi.w;
    rb += p.n;
  }
  let cb = nb * p.c_nstride + g * p.c_gstride;
  let bias0 = g * p.m + m0;
  if (vec) {
    // Transposed in registers: l_j / h_j hold rows 0-3 / 4-7 of column col + j.
    if (col >= p.n) { return; }
    put_row(cb, rows, m0, bias0, col, 0u, vec4<f32>(l0.x, l1.x, l2.x, l3.x), vec4<f32>(l4.x, l5.x, l6.x, l7.x));
    put_row(cb, rows, m0, bias0, col, 1u, vec4<f32>(l0.y, l1.y, l2.y, l3.y), vec4<f32>(l4.y, l5.y, l6.y, l7.y));
    put_row(cb, rows, m0, bias0, col, 2u, vec4<f32>(l0.z, l1.z, l2.z, l3.z), vec4<f32>(l4.z, l5.z, l6.z, l7.z));
    put_row(cb, rows, m0, bias0, col, 3u, vec4<f32>(l0.w, l1.w, l2.w, l3.w), vec4<f32>(l4.w, l5.w, l6.w, l7.w));
    put_row(cb, rows, m0, bias0, col, 4u, vec4<f32>(h0.x, h1.x, h2.x, h3.x), vec4<f32>(h4.x, h5.x, h6.x, h7.x));
    put_row(cb, rows, m0, bias0, col, 5u, vec4<f32>(h0.y, h1.y, h2.y, h3.y), vec4<f32>(h4.y, h5.y, h6.y, h7.y));
    put_row(cb, rows, m0, bias0, col, 6u, vec4<f32>(h0.z, h1.z, h2.z, h3.z), vec4<f32>(h4.z, h5.z, h6.z, h7.z));
    put_row(cb, rows, m0, bias0, col, 7u, vec4<f32>(h0.w, h1.w, h2.w, h3.w), vec4<f32>(h4.w, h5.w, h6.w, h7.w));
    return;
  }
  put(cb, rows, m0, bias0, col, l0, h0);
  put(cb, rows, m0, bias0, col + 1u, l1, h1);
  put(cb, rows, m0, bias0, col + 2u, l2, h2);
  put(cb, rows, m0, bias0, col + 3u, l3, h3);
  put(cb, rows, m0, bias0, col + 4u, l4, h4);
  put(cb, rows, m0, bias0, col + 5u, l5, h5);
  put(cb, rows, m0, bias0, col + 6u, l6, h6);
  put(cb, rows, m0, bias0, col + 7u, l7, h7);
}
