// conv2d_wgrad.wgsl for devices without 8-lane subgroups (kernel "conv2d_wgrad",
// src/ops/conv2d/wgrad.rs): wgrad8 with 64 lanes per workgroup (whole warps on real GPUs).

#include "conv2d_wgrad.wgsl"

const WL: u32 = 64u;
