// Appended to conv2d_wgrad.wgsl (see src/ops/conv2d/wgrad.rs), for devices without 8-lane
// subgroups: wgrad8 with 64 lanes per workgroup (whole warps on real GPUs).

const WL: u32 = 64u;
