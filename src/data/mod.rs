//! Images, the built-in set, patch sampling with noise, metrics and test protocols.
//!
//! - [`image`]: 8-bit planar images, f32 images and NCHW host batches; PIL-exact luma.
//! - [`loader`]: folders of PNG/JPEG/BMP/TIFF, the embedded set ([`builtin`]), [`Source`].
//! - [`resize`]: PIL-exact bicubic resize (for the rescale augmentation).
//! - [`sampler`]: deterministic, resumable, prefetched training patches with AWGN.
//! - [`metrics`]: PSNR, SSIM (HiNAS and scikit-image conventions).
//! - [`protocol`]: standard and HiNAS-tiled evaluation around a denoiser closure.
//!
//! Noise is always `noisy = (clean_u8 + sigma * N(0,1)) / 255` with sigma in 0-255 units,
//! unclipped and unquantised; targets are `clean_u8 / 255` (HiNAS, docs/method.md §6).

pub mod builtin;
pub mod image;
pub mod loader;
pub mod metrics;
pub mod protocol;
pub mod resize;
pub mod sampler;

pub use builtin::{builtin_test, builtin_train};
pub use image::{luma, Channels, FloatImage, HostBatch, Image, NamedImage};
pub use loader::{hinas_split, load_folder, LoadOptions, LoadedSet, Source};
pub use metrics::{psnr, ssim_hinas, ssim_skimage, Scores};
pub use protocol::{
    denoise_image, evaluate, evaluate_each, noisy_image, tile_starts, EvalImage, EvalReport,
    Protocol,
};
pub use sampler::{Augment, PatchBatch, PatchSampler, SampleMode, SamplerConfig, SamplerState};
