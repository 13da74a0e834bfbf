// Appended to conv2d.wgsl (see src/ops/conv2d.rs): gather8 loading its 8 weights per step as
// two vec4, for devices without subgroups.

fn w8(wi: u32, sid: u32) -> W8 {
  return W8(wp[wi], wp[wi + 1u]);
}

@compute @workgroup_size(64)
fn gather8(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
           @builtin(num_workgroups) nwg: vec3<u32>) {
  gather8_body(wid, lid, nwg, 0u);
}
