// Lanes 0-7's values of `v`, handed to every lane of the subgroup (subgroups of >= 8 lanes): the
// eight values one step of a register-tiled kernel needs in every lane, loaded one per lane. On
// lavapipe each load with a computed index runs lane by lane, so this is one load for eight.
struct Lanes8 { lo: vec4<f32>, hi: vec4<f32> }

fn broadcast8(v: f32) -> Lanes8 {
  return Lanes8(vec4<f32>(subgroupBroadcast(v, 0u), subgroupBroadcast(v, 1u), subgroupBroadcast(v, 2u),
                          subgroupBroadcast(v, 3u)),
                vec4<f32>(subgroupBroadcast(v, 4u), subgroupBroadcast(v, 5u), subgroupBroadcast(v, 6u),
                          subgroupBroadcast(v, 7u)));
}
