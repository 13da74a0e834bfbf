//! The GPU layer: device, buffer pool, pipeline cache, batched dispatch, tensors.
//!
//! Nothing here knows about autodiff or neural networks.

mod device;
pub mod elementwise;
mod kernel;
mod pool;
mod profile;
mod tensor;

pub use device::{describe, enumerate, DispatchSize, NO_ADAPTER_HINT};
pub use kernel::{
    compare_layout, grid_1d, wgsl_layout, Binding, Field, Kernel, Uniform, WgslLayout,
};
pub use pool::MemoryStats;
pub use profile::{format_report, KernelTime};
pub use tensor::{PendingRead, Tensor};

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Dispatches recorded before the pending command buffer is submitted.
const DISPATCHES_PER_SUBMIT: u32 = 64;

/// A handle to one opened device. Cheap to clone; all clones share pipelines, pool and queue.
#[derive(Clone)]
pub struct Gpu(Arc<Inner>);

/// Devices kept alive until the process exits (`keep_devices_until_exit`).
static KEPT_UNTIL_EXIT: std::sync::Mutex<Option<Vec<Gpu>>> = std::sync::Mutex::new(None);

/// For a process that ends with its command: every device `Gpu::open` returns from now on is
/// kept until exit rather than torn down when its last user lets go, and the operating system
/// reclaims it then. Tearing down a search's device (its pipelines, buffers and bind groups)
/// took lavapipe 5.7 s of wall time after every output was written. Not under `HINAS_PROFILE`,
/// whose report the teardown prints.
pub fn keep_devices_until_exit() {
    *KEPT_UNTIL_EXIT.lock().unwrap() = Some(Vec::new());
}

pub(crate) struct Inner {
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    pub info: wgpu::AdapterInfo,
    pub limits: wgpu::Limits,
    pub features: wgpu::Features,
    pub subgroup_kernels: bool,
    pub f32_filtering: bool,
    pub pool: Mutex<pool::Pool>,
    /// Free scratch rgba32float array textures, (width, height, layers) and view, the most
    /// recently returned last ([`Gpu::scratch_texture`]).
    pub textures: Mutex<Vec<(TextureSize, wgpu::TextureView)>>,
    pub border_sampler: std::sync::OnceLock<wgpu::Sampler>,
    pub pipelines: Mutex<HashMap<(&'static str, &'static str), Arc<kernel::Pipeline>>>,
    pub modules: Mutex<HashMap<&'static str, Arc<kernel::Module>>>,
    pub uniforms: Mutex<HashMap<Vec<u8>, wgpu::Buffer>>,
    pub bind_groups: Mutex<HashMap<kernel::BindKey, wgpu::BindGroup>>,
    pub recorder: Mutex<Recorder>,
    /// Print the profile to stderr when the device closes (`HINAS_PROFILE`).
    pub report_on_drop: std::sync::atomic::AtomicBool,
}

impl Drop for Inner {
    fn drop(&mut self) {
        if !self
            .report_on_drop
            .load(std::sync::atomic::Ordering::Relaxed)
        {
            return;
        }
        let mut rec = std::mem::take(self.recorder.get_mut().unwrap());
        Gpu::submit_locked(self, &mut rec);
        if let Some(p) = &rec.profiler {
            eprintln!(
                "GPU time per kernel ({}):\n{}",
                self.info.name,
                format_report(&p.report())
            );
        }
    }
}

/// A scratch texture taken from the device's free list ([`Gpu::scratch_texture`]); it goes back
/// when dropped.
pub struct ScratchTexture {
    gpu: Gpu,
    key: TextureSize,
    view: Option<wgpu::TextureView>,
}

/// A scratch texture's width, height and layers.
pub(crate) type TextureSize = (u32, u32, u32);

/// Free scratch textures kept for reuse (different tile sizes of one image each keep theirs).
const FREE_TEXTURES: usize = 8;

impl ScratchTexture {
    pub fn view(&self) -> &wgpu::TextureView {
        self.view.as_ref().expect("held until dropped")
    }
}

impl Drop for ScratchTexture {
    fn drop(&mut self) {
        let mut list = self.gpu.0.textures.lock().unwrap();
        list.push((self.key, self.view.take().expect("dropped once")));
        if list.len() > FREE_TEXTURES {
            list.remove(0); // pending command buffers keep their own references alive
        }
    }
}

#[derive(Default)]
pub(crate) struct Recorder {
    pub encoder: Option<wgpu::CommandEncoder>,
    pub pass: Option<wgpu::ComputePass<'static>>,
    pub dispatches: u32,
    pub profiler: Option<profile::Profiler>,
}

impl Gpu {
    /// Opens the chosen adapter (see [`device::choose_adapter`]) with the adapter's own limits.
    /// With `HINAS_PROFILE` set, per-kernel GPU times are collected and printed to stderr when
    /// the device is closed (see [`Gpu::enable_profiler`]).
    pub fn open() -> anyhow::Result<Gpu> {
        Self::open_for(DispatchSize::Large)
    }

    /// [`Gpu::open`] for a run whose dispatches are of `size`: on the software driver, small
    /// ones run on its queue thread ([`device::software_driver_threads`]). The first device a
    /// process opens decides it.
    pub fn open_for(size: DispatchSize) -> anyhow::Result<Gpu> {
        device::configure_software_driver(size);
        let adapter = device::choose_adapter()?;
        let gpu = Self::from_adapter(adapter)?;
        if std::env::var_os("HINAS_PROFILE").is_some() {
            gpu.enable_profiler()?;
            gpu.0
                .report_on_drop
                .store(true, std::sync::atomic::Ordering::Relaxed);
        } else if let Some(kept) = KEPT_UNTIL_EXIT.lock().unwrap().as_mut() {
            kept.push(gpu.clone());
        }
        Ok(gpu)
    }

    pub fn from_adapter(adapter: wgpu::Adapter) -> anyhow::Result<Gpu> {
        let limits = adapter.limits();
        let features = device::wanted_features(&adapter);
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("hinas"),
            required_features: features,
            required_limits: limits.clone(),
            experimental_features: wgpu::ExperimentalFeatures::disabled(),
            memory_hints: wgpu::MemoryHints::Performance,
            trace: wgpu::Trace::Off,
        }))
        .map_err(|e| anyhow::anyhow!("could not open GPU device: {e}"))?;
        let info = adapter.get_info();
        let subgroup_kernels = device::subgroup_kernels(&info, features);
        let f32_filtering = device::f32_filtering(&info, features);
        Ok(Gpu(Arc::new(Inner {
            device,
            queue,
            info,
            limits,
            features,
            subgroup_kernels,
            f32_filtering,
            pool: Mutex::new(pool::Pool::default()),
            textures: Mutex::new(Vec::new()),
            border_sampler: Default::default(),
            pipelines: Mutex::new(HashMap::new()),
            modules: Mutex::new(HashMap::new()),
            uniforms: Mutex::new(HashMap::new()),
            bind_groups: Mutex::new(HashMap::new()),
            recorder: Mutex::new(Recorder::default()),
            report_on_drop: Default::default(),
        })))
    }

    /// Starts timing every dispatch on the GPU (timestamps around each one). Each submit then
    /// waits for the GPU, so only the per-kernel times are meaningful, not the wall time.
    pub fn enable_profiler(&self) -> anyhow::Result<()> {
        if !self
            .0
            .features
            .contains(wgpu::Features::TIMESTAMP_QUERY_INSIDE_PASSES)
        {
            anyhow::bail!(
                "this adapter cannot write timestamps inside compute passes, so kernels cannot be profiled"
            );
        }
        self.flush();
        let mut rec = self.0.recorder.lock().unwrap();
        if rec.profiler.is_none() {
            rec.profiler = Some(profile::Profiler::new(
                &self.0.device,
                &self.0.queue,
                DISPATCHES_PER_SUBMIT,
            ));
        }
        Ok(())
    }

    /// GPU time per kernel since profiling began (or since [`Gpu::reset_profile`]), the most
    /// expensive first; empty when profiling is off.
    pub fn profile(&self) -> Vec<KernelTime> {
        self.flush();
        let rec = self.0.recorder.lock().unwrap();
        rec.profiler
            .as_ref()
            .map(|p| p.report())
            .unwrap_or_default()
    }

    pub fn reset_profile(&self) {
        self.flush();
        if let Some(p) = self.0.recorder.lock().unwrap().profiler.as_mut() {
            p.reset();
        }
    }

    pub fn device(&self) -> &wgpu::Device {
        &self.0.device
    }
    pub fn queue(&self) -> &wgpu::Queue {
        &self.0.queue
    }
    pub fn info(&self) -> &wgpu::AdapterInfo {
        &self.0.info
    }
    pub fn limits(&self) -> &wgpu::Limits {
        &self.0.limits
    }
    pub fn features(&self) -> wgpu::Features {
        self.0.features
    }
    /// Whether ops may use their kernels built on 8-lane subgroups (see
    /// [`device::subgroup_kernels`]).
    pub fn subgroup_kernels(&self) -> bool {
        self.0.subgroup_kernels
    }
    /// Whether a linear sampler may stand in for a bilinear sample computed in f32 (see
    /// [`device::f32_filtering`]).
    pub fn f32_filtering(&self) -> bool {
        self.0.f32_filtering
    }

    /// An rgba32float 2D array texture of this size that kernels may write as storage and then
    /// sample, held until the returned value drops. Like a pooled buffer, a returned texture
    /// goes to the next caller asking for its size (its last readers were recorded before, and
    /// dispatches run in order); the few most recently returned are kept.
    pub fn scratch_texture(&self, width: u32, height: u32, layers: u32) -> ScratchTexture {
        let key = (width, height, layers);
        let free = {
            let mut list = self.0.textures.lock().unwrap();
            list.iter()
                .rposition(|(k, _)| *k == key)
                .map(|i| list.remove(i).1)
        };
        let view = free.unwrap_or_else(|| {
            let tex = self.0.device.create_texture(&wgpu::TextureDescriptor {
                label: Some("scratch texture"),
                size: wgpu::Extent3d {
                    width,
                    height,
                    depth_or_array_layers: layers,
                },
                mip_level_count: 1,
                sample_count: 1,
                dimension: wgpu::TextureDimension::D2,
                format: wgpu::TextureFormat::Rgba32Float,
                usage: wgpu::TextureUsages::STORAGE_BINDING | wgpu::TextureUsages::TEXTURE_BINDING,
                view_formats: &[],
            });
            tex.create_view(&wgpu::TextureViewDescriptor {
                dimension: Some(wgpu::TextureViewDimension::D2Array),
                ..Default::default()
            })
        });
        ScratchTexture {
            gpu: self.clone(),
            key,
            view: Some(view),
        }
    }

    /// A linear, non-mipmapped sampler whose coordinates outside the texture read zeros.
    pub fn border_sampler(&self) -> wgpu::Sampler {
        self.0
            .border_sampler
            .get_or_init(|| {
                let mode = wgpu::AddressMode::ClampToBorder;
                self.0.device.create_sampler(&wgpu::SamplerDescriptor {
                    label: Some("zero-border linear sampler"),
                    address_mode_u: mode,
                    address_mode_v: mode,
                    address_mode_w: mode,
                    mag_filter: wgpu::FilterMode::Linear,
                    min_filter: wgpu::FilterMode::Linear,
                    border_color: Some(wgpu::SamplerBorderColor::TransparentBlack),
                    ..Default::default()
                })
            })
            .clone()
    }

    /// One line naming the adapter and driver, for logs and benchmark output.
    pub fn adapter_line(&self) -> String {
        let i = &self.0.info;
        let inline = i.device_type == wgpu::DeviceType::Cpu
            && std::env::var("LP_NUM_THREADS").is_ok_and(|v| v.trim() == "0");
        format!(
            "{} ({:?}, {} {}){}",
            i.name,
            i.backend,
            i.driver,
            i.driver_info,
            if inline {
                ", dispatches on the driver's queue thread (LP_NUM_THREADS=0)"
            } else {
                ""
            }
        )
    }
    /// Largest number of f32 elements one storage binding may hold.
    pub fn max_binding_elems(&self) -> usize {
        (self.0.limits.max_storage_buffer_binding_size / 4) as usize
    }

    pub fn memory(&self) -> MemoryStats {
        self.0.pool.lock().unwrap().stats()
    }
    pub fn reset_peak(&self) {
        let mut p = self.0.pool.lock().unwrap();
        p.peak_bytes = p.live_bytes;
    }
    /// Releases cached (not live) buffers back to the driver.
    pub fn trim(&self) {
        self.flush();
        // Cached bind groups hold their buffers alive.
        self.0.bind_groups.lock().unwrap().clear();
        self.0.pool.lock().unwrap().trim();
    }

    /// Runs `f` with the pending encoder, outside any compute pass (for copies and clears).
    pub(crate) fn with_encoder<R>(&self, f: impl FnOnce(&mut wgpu::CommandEncoder) -> R) -> R {
        let mut rec = self.0.recorder.lock().unwrap();
        rec.pass = None;
        let enc = rec.encoder.get_or_insert_with(|| {
            self.0
                .device
                .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: None })
        });
        f(enc)
    }

    /// Submits everything recorded so far.
    pub fn flush(&self) -> Option<wgpu::SubmissionIndex> {
        let mut rec = self.0.recorder.lock().unwrap();
        Self::submit_locked(&self.0, &mut rec)
    }

    fn submit_locked(inner: &Inner, rec: &mut Recorder) -> Option<wgpu::SubmissionIndex> {
        rec.pass = None;
        rec.dispatches = 0;
        let mut enc = rec.encoder.take()?;
        let timed = rec.profiler.as_ref().is_some_and(|p| p.resolve(&mut enc));
        let index = inner.queue.submit([enc.finish()]);
        if timed {
            rec.profiler.as_mut().unwrap().collect(&inner.device);
        }
        Some(index)
    }

    /// Submits and waits until the GPU has finished all work (for timing and tests).
    pub fn sync(&self) {
        self.flush();
        let _ = self.0.device.poll(wgpu::PollType::wait_indefinitely());
    }
}

/// What a run will need on the device, estimated from its config before anything is allocated.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MemoryEstimate {
    /// All live tensors at the peak (activations kept for the backward pass, gradients,
    /// parameters and optimiser state), in bytes; a rough figure (within ~2x).
    pub total: u64,
    /// One tensor the run cannot do without, in bytes (checked against the buffer limits).
    pub largest: u64,
}

/// Bytes for a message: MiB below a GiB, else GiB.
fn size(b: u64) -> String {
    let mib = b as f64 / (1u64 << 20) as f64;
    if mib < 1024.0 {
        format!("{mib:.1} MiB")
    } else {
        format!("{:.1} GiB", mib / 1024.0)
    }
}

/// The device memory runs are checked against: `HINAS_MEMORY_LIMIT_GIB` if set, else the system
/// memory for CPU adapters (the software driver allocates there); None where wgpu does not say.
pub fn memory_limit(gpu: &Gpu) -> Option<u64> {
    if let Ok(v) = std::env::var("HINAS_MEMORY_LIMIT_GIB") {
        if let Ok(g) = v.trim().parse::<f64>() {
            if g.is_finite() && g > 0.0 {
                return Some((g * (1u64 << 30) as f64) as u64);
            }
        }
    }
    if gpu.info().device_type != wgpu::DeviceType::Cpu {
        return None;
    }
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
    let kib: u64 = meminfo
        .lines()
        .find(|l| l.starts_with("MemTotal:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some(kib * 1024)
}

/// Refuses a run that cannot fit, with the estimate and the device's limit, before any of its
/// tensors is allocated (an allocation failure would abort the process instead).
pub fn check_memory(gpu: &Gpu, est: &MemoryEstimate, what: &str) -> anyhow::Result<()> {
    let l = gpu.limits();
    let buffer = l.max_buffer_size.min(l.max_storage_buffer_binding_size);
    anyhow::ensure!(
        est.largest <= buffer,
        "{what} needs a single tensor of {}, above this device's limit of {} for one buffer; lower batch_size, patch_size or the widths",
        size(est.largest),
        size(buffer)
    );
    if let Some(limit) = memory_limit(gpu) {
        anyhow::ensure!(
            est.total <= limit,
            "{what} needs about {} of device memory (estimated from its config), this device has {}; lower batch_size, patch_size, filter_multiplier or width_factors (or set HINAS_MEMORY_LIMIT_GIB)",
            size(est.total),
            size(limit)
        );
    }
    Ok(())
}
