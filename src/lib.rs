//! hinas: a wgpu/WGSL compute engine with tape autodiff, and HiNAS (hierarchical neural
//! architecture search for image denoising) on top of it.
//!
//! Layers, bottom up: [`gpu`] (device, buffers, pipelines) -> [`tape`] and [`ops`] (autodiff and
//! kernels) -> [`optim`] (optimisers, schedules). [`data`] (images, patches, metrics) sits beside
//! them and only uploads through [`gpu`].

pub mod checkpoint;
pub mod config_file;
pub mod data;
pub mod eval;
pub mod export;
pub mod gpu;
pub mod nn;
pub mod onnx;
pub mod ops;
pub mod optim;
pub mod outdir;
pub mod report;
pub mod search;
pub mod stop;
pub mod sweep;
pub mod tape;
pub mod train;

/// Every WGSL kernel the program builds, for the shader validation tests: the engine's
/// (`ops::kernels`) and those of the layers above it.
pub fn kernels() -> Vec<&'static gpu::Kernel> {
    let mut k = ops::kernels();
    k.push(&eval::infer::K_ABSMAX);
    k
}
