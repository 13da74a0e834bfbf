//! hinas: a wgpu/WGSL compute engine with tape autodiff, and HiNAS (hierarchical neural
//! architecture search for image denoising) on top of it.
//!
//! Layers, bottom up: [`gpu`] (device, buffers, pipelines) -> [`tape`] and [`ops`] (autodiff and
//! kernels) -> [`nn`] (networks, the loss) and [`optim`] (optimisers, schedules) -> [`search`],
//! [`train`] and [`eval`] -> [`sweep`] and the command line; no module names one above it. [`data`]
//! (images, patches, metrics) sits beside the engine and only uploads through [`gpu`];
//! [`checkpoint`] and [`config_file`] are files and settings that every layer may use.

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

/// Every WGSL kernel the program builds, for the shader validation tests: the ops'
/// (`ops::kernels`) and those of the layers above them, listed here so that no layer names a
/// higher one.
pub fn kernels() -> Vec<&'static gpu::Kernel> {
    let mut k = ops::kernels();
    k.extend([&optim::K, &optim::multi::K, &optim::unrolled::K]);
    k
}
