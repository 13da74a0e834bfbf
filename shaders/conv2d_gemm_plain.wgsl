// conv2d_gemm.wgsl for devices without subgroups (kernel "conv2d_gemm", src/ops/conv2d/gemm.rs):
// every lane loads a k step's eight A values itself, as two vec4 where the layout allows.

#include "conv2d_gemm.wgsl"

// A's rows m0..m0+7 at step k (`*ai` points at row m0), then `*ai` moved to step k + 1.
fn a_step(ai: ptr<function, u32>, rows: u32, sid: u32) -> Row8 {
  let i = *ai;
  switch p.a_mode {
    case 1u: {
      *ai = i + 2u;
      return Row8(a4[i], a4[i + 1u]);
    }
    case 2u: {
      *ai = i + p.a_sk;
      let hi = select(vec4<f32>(0.0), a4[select(0u, i / 4u + 1u, rows > 4u)], rows > 4u);
      return Row8(a4[i / 4u], hi);
    }
    default: {
      *ai = i + p.a_sk;
      return Row8(vec4<f32>(a_at(i, 0u, rows), a_at(i, 1u, rows), a_at(i, 2u, rows), a_at(i, 3u, rows)),
                  vec4<f32>(a_at(i, 4u, rows), a_at(i, 5u, rows), a_at(i, 6u, rows), a_at(i, 7u, rows)));
    }
  }
}

// Grid: x/z = folded (batch, group, column chunk), y = row block of 8.
@compute @workgroup_size(64)
fn gemm_v4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
           @builtin(num_workgroups) nwg: vec3<u32>) {
  body(wid, lid, nwg, 0u, true);
}

@compute @workgroup_size(64)
fn gemm_s(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
          @builtin(num_workgroups) nwg: vec3<u32>) {
  body(wid, lid, nwg, 0u, false);
}
