// Weight and bias gradients of conv2d (launchers: src/ops/conv2d.rs).
//
// dw[co, ci, ky, kx] = sum over (n, oy, ox) of gy[n, co, oy, ox] * x[n, ci', iy, ix]. Each
// workgroup owns 8 output channels x 8 "taps", a tap being one (ci, ky, kx) of the flattened
// cin/groups * kh * kw reduction axis of the weight (so 1x1 convs block over input channels and
// 3x3 ones over the 9 spatial taps alike), and reduces over one chunk of the N * Hout * Wout
// output pixels: each lane walks its own quads of 4 output pixels and keeps 8 x 8 partial sums in
// registers; the 64 lanes are summed once at the end through workgroup memory. Chunks write
// separate partial sums and `wgrad_finish` adds them up: deterministic, no atomics, and no
// batch/channel transposition of the tensors.

struct WGrad {
  n: u32, cin: u32, h: u32, w: u32,
  cout: u32, ho: u32, wo: u32, cin_g: u32,
  cout_g: u32, blocks_g: u32, kh: u32, kw: u32,
  stride: u32, pad: u32, dil: u32, ntaps: u32,     // ntaps = cin_g * kh * kw
  quads: u32, items: u32, ipc: u32, tblocks: u32,  // quads = ceil(wo / 4), items = n * ho * quads, ipc = items per chunk
  nblk: u32, chunks: u32, total: u32, _pad: u32,   // nblk = groups * blocks_g, total = elements of dw (finish)
}

@group(0) @binding(0) var<uniform> q: WGrad;
@group(0) @binding(1) var<storage, read> gy: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read_write> part: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> part_in: array<f32>;
@group(0) @binding(5) var<storage, read_write> out: array<f32>;
@group(0) @binding(6) var<storage, read> gy4: array<vec4<f32>>;  // gy again, when wo % 4 == 0

var<workgroup> red: array<vec4<f32>, 1024>;
var<workgroup> red1: array<f32, 64>;

struct Tap { c: u32, dy: i32, dx: i32, ok: bool }

fn tap(blk: u32, tb: u32, i: u32) -> Tap {
  let t = tb * 8u + i;
  let tt = min(t, q.ntaps - 1u);
  let kk = q.kh * q.kw;
  let ci = tt / kk;
  let r = tt % kk;
  let g = blk / q.blocks_g;
  let c = (g * q.cin_g + ci) * q.h * q.w;
  return Tap(c, i32((r / q.kw) * q.dil) - i32(q.pad), i32((r % q.kw) * q.dil) - i32(q.pad), t < q.ntaps);
}

fn xv(t: Tap, xb: u32, iy0: i32, ix0: i32) -> f32 {
  let iy = iy0 + t.dy;
  let ix = ix0 + t.dx;
  let ok = t.ok && iy >= 0 && iy < i32(q.h) && ix >= 0 && ix < i32(q.w);
  return select(0.0, x[xb + t.c + select(0u, u32(iy) * q.w + u32(ix), ok)], ok);
}

fn wgrad_body(wid: vec3<u32>, lid: vec3<u32>, vec: bool) {
  let chunk = wid.x;
  let blk = wid.y;
  let tb = wid.z;
  let howo = q.ho * q.wo;
  let g = blk / q.blocks_g;
  let cb = (blk % q.blocks_g) * 8u;
  // Channel offsets, clamped into the group: the duplicates of padding channels are discarded.
  let cl = g * q.cout_g;
  let ch = q.cout_g - 1u;
  let o0 = (cl + min(cb, ch)) * howo;      let o1 = (cl + min(cb + 1u, ch)) * howo;
  let o2 = (cl + min(cb + 2u, ch)) * howo; let o3 = (cl + min(cb + 3u, ch)) * howo;
  let o4 = (cl + min(cb + 4u, ch)) * howo; let o5 = (cl + min(cb + 5u, ch)) * howo;
  let o6 = (cl + min(cb + 6u, ch)) * howo; let o7 = (cl + min(cb + 7u, ch)) * howo;
  let t0 = tap(blk, tb, 0u); let t1 = tap(blk, tb, 1u); let t2 = tap(blk, tb, 2u); let t3 = tap(blk, tb, 3u);
  let t4 = tap(blk, tb, 4u); let t5 = tap(blk, tb, 5u); let t6 = tap(blk, tb, 6u); let t7 = tap(blk, tb, 7u);
  var c0l = vec4<f32>(0.0); var c0h = vec4<f32>(0.0); var c1l = vec4<f32>(0.0); var c1h = vec4<f32>(0.0);
  var c2l = vec4<f32>(0.0); var c2h = vec4<f32>(0.0); var c3l = vec4<f32>(0.0); var c3h = vec4<f32>(0.0);
  var c4l = vec4<f32>(0.0); var c4h = vec4<f32>(0.0); var c5l = vec4<f32>(0.0); var c5h = vec4<f32>(0.0);
  var c6l = vec4<f32>(0.0); var c6h = vec4<f32>(0.0); var c7l = vec4<f32>(0.0); var c7h = vec4<f32>(0.0);
  let end = min((chunk + 1u) * q.ipc, q.items);
  let s = i32(q.stride);
  // Item it = (nn * ho + oy) * quads + qd, advanced by 64 per step without dividing in the loop
  // (integer division runs lane by lane on a CPU driver).
  let it0 = chunk * q.ipc + lid.x;
  var qd = it0 % q.quads;
  var oy = (it0 / q.quads) % q.ho;
  var nn = it0 / (q.quads * q.ho);
  let dq = 64u % q.quads;
  let drow = 64u / q.quads;
  for (var it = it0; it < end; it += 64u) {
    let gb = nn * q.cout * howo + oy * q.wo;
    let xb = nn * q.cin * q.h * q.w;
    let iy0 = i32(oy) * s;
    // With wo % 4 == 0 a quad is 4 aligned pixels of one row: one vec4 load per channel.
    var v0 = vec4<f32>(0.0); var v1 = vec4<f32>(0.0); var v2 = vec4<f32>(0.0); var v3 = vec4<f32>(0.0);
    var v4 = vec4<f32>(0.0); var v5 = vec4<f32>(0.0); var v6 = vec4<f32>(0.0); var v7 = vec4<f32>(0.0);
    if (vec) {
      let g4 = (gb + qd * 4u) / 4u;
      v0 = gy4[g4 + o0 / 4u]; v1 = gy4[g4 + o1 / 4u]; v2 = gy4[g4 + o2 / 4u]; v3 = gy4[g4 + o3 / 4u];
      v4 = gy4[g4 + o4 / 4u]; v5 = gy4[g4 + o5 / 4u]; v6 = gy4[g4 + o6 / 4u]; v7 = gy4[g4 + o7 / 4u];
    }
    for (var j = 0u; j < 4u; j++) {
      let ox = qd * 4u + j;
      let pok = ox < q.wo;
      var gl: vec4<f32>;
      var gh: vec4<f32>;
      if (vec) {
        gl = vec4<f32>(v0[j], v1[j], v2[j], v3[j]);
        gh = vec4<f32>(v4[j], v5[j], v6[j], v7[j]);
      } else {
        let gj = gb + select(0u, ox, pok);
        gl = select(vec4<f32>(0.0), vec4<f32>(gy[gj + o0], gy[gj + o1], gy[gj + o2], gy[gj + o3]), pok);
        gh = select(vec4<f32>(0.0), vec4<f32>(gy[gj + o4], gy[gj + o5], gy[gj + o6], gy[gj + o7]), pok);
      }
      let ix0 = i32(ox) * s;
      let x0 = xv(t0, xb, iy0, ix0); c0l += gl * x0; c0h += gh * x0;
      let x1 = xv(t1, xb, iy0, ix0); c1l += gl * x1; c1h += gh * x1;
      let x2 = xv(t2, xb, iy0, ix0); c2l += gl * x2; c2h += gh * x2;
      let x3 = xv(t3, xb, iy0, ix0); c3l += gl * x3; c3h += gh * x3;
      let x4 = xv(t4, xb, iy0, ix0); c4l += gl * x4; c4h += gh * x4;
      let x5 = xv(t5, xb, iy0, ix0); c5l += gl * x5; c5h += gh * x5;
      let x6 = xv(t6, xb, iy0, ix0); c6l += gl * x6; c6h += gh * x6;
      let x7 = xv(t7, xb, iy0, ix0); c7l += gl * x7; c7h += gh * x7;
    }
    qd += dq;
    oy += drow;
    if (qd >= q.quads) { qd -= q.quads; oy += 1u; }
    while (oy >= q.ho) { oy -= q.ho; nn += 1u; }
  }
  let l = lid.x;
  red[l] = c0l; red[64u + l] = c0h; red[128u + l] = c1l; red[192u + l] = c1h;
  red[256u + l] = c2l; red[320u + l] = c2h; red[384u + l] = c3l; red[448u + l] = c3h;
  red[512u + l] = c4l; red[576u + l] = c4h; red[640u + l] = c5l; red[704u + l] = c5h;
  red[768u + l] = c6l; red[832u + l] = c6h; red[896u + l] = c7l; red[960u + l] = c7h;
  workgroupBarrier();
  if (l < 16u) {
    var sum = vec4<f32>(0.0);
    for (var k = 0u; k < 64u; k++) { sum += red[l * 64u + k]; }
    // part[chunk][blk][tb][tap i][channel half] as vec4 (l = 2 * i + half)
    part[((chunk * q.nblk + blk) * q.tblocks + tb) * 16u + l] = sum;
  }
}

// Grid: x = pixel chunk, y = output-channel block (group-major), z = tap block.
@compute @workgroup_size(64)
fn wgrad8(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  wgrad_body(wid, lid, false);
}

@compute @workgroup_size(64)
fn wgrad8_v4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  wgrad_body(wid, lid, true);
}

// dw in PyTorch layout [cout, cin_g, kh, kw]: adds the chunks' partial sums.
@compute @workgroup_size(256)
fn wgrad_finish(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let e = gid.x + gid.y * nwg.x * 256u;
  if (e >= q.total) { return; }
  let co = e / q.ntaps;
  let t = e % q.ntaps;
  let g = co / q.cout_g;
  let col = co % q.cout_g;
  let blk = g * q.blocks_g + col / 8u;
  let r = col % 8u;
  // element index inside one chunk's block: ((blk * tblocks + tb) * 8 + i) * 8 + r
  let inner = ((blk * q.tblocks + t / 8u) * 8u + t % 8u) * 8u + r;
  let stride = q.nblk * q.tblocks * 64u;
  var s = 0.0;
  for (var c = 0u; c < q.chunks; c++) { s += part_in[c * stride + inner]; }
  out[e] = s;
}

// db[c] = sum of gy over (n, oy, ox): one workgroup per channel (grid folded over x/y).
@compute @workgroup_size(64)
fn bias_grad(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
             @builtin(num_workgroups) nwg: vec3<u32>) {
  let c = wid.x + wid.y * nwg.x;
  let howo = q.ho * q.wo;
  var s = 0.0;
  if (c < q.cout) {
    for (var n = 0u; n < q.n; n++) {
      let b = (n * q.cout + c) * howo;
      for (var i = lid.x; i < howo; i += 64u) { s += gy[b + i]; }
    }
  }
  red1[lid.x] = s;
  workgroupBarrier();
  if (lid.x == 0u && c < q.cout) {
    var t = 0.0;
    for (var k = 0u; k < 64u; k++) { t += red1[k]; }
    out[c] = t;
  }
}
