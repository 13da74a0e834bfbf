// Appended to conv2d.wgsl (see src/ops/conv2d.rs): gather8 with the 8 weights of a step loaded
// by one scalar load per lane (lane i of each 8 loads weight i) and handed to every lane with
// subgroupBroadcast. All lanes use the same weights, and on lavapipe each non-constant-index load
// runs lane by lane, so this turns two vec4 loads into one scalar load (~17 % faster there).
// Needs subgroups of at least 8 lanes.

fn w8(wi: u32, sid: u32) -> W8 {
  let v = wp1[wi * 4u + (sid & 7u)];
  return W8(vec4<f32>(subgroupBroadcast(v, 0u), subgroupBroadcast(v, 1u), subgroupBroadcast(v, 2u), subgroupBroadcast(v, 3u)),
            vec4<f32>(subgroupBroadcast(v, 4u), subgroupBroadcast(v, 5u), subgroupBroadcast(v, 6u), subgroupBroadcast(v, 7u)));
}

@compute @workgroup_size(64)
fn gather8(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
           @builtin(num_workgroups) nwg: vec3<u32>, @builtin(subgroup_invocation_id) sid: u32) {
  gather8_body(wid, lid, nwg, sid);
}
