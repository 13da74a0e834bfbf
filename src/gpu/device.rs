//! Opening an adapter and describing the adapters a machine has.

use std::fmt::Write as _;

/// Only the primary native backends: the GL software adapter is several times slower.
pub const BACKENDS: wgpu::Backends = wgpu::Backends::PRIMARY;

/// The one-line hint printed when no adapter exists at all.
pub const NO_ADAPTER_HINT: &str = "no GPU adapter found (Vulkan/Metal/DX12): a software driver is \
needed; on Debian/Ubuntu install it with `apt-get install mesa-vulkan-drivers libvulkan1` \
(Debian 12: from bookworm-backports for Mesa 25, 3-8x faster)";

pub(crate) fn instance() -> wgpu::Instance {
    // Mesa's WSI complains on every instance creation without XDG_RUNTIME_DIR; it is harmless,
    // but a user should not see it.
    if std::env::var_os("XDG_RUNTIME_DIR").is_none() {
        // SAFETY-free: set before any thread of ours reads the environment concurrently.
        unsafe { std::env::set_var("XDG_RUNTIME_DIR", std::env::temp_dir()) };
    }
    let mut desc = wgpu::InstanceDescriptor::new_without_display_handle();
    desc.backends = BACKENDS;
    wgpu::Instance::new(desc)
}

/// What a run's dispatches are like, for the one driver setting that must be chosen before the
/// device opens: how Mesa's software driver (lavapipe) runs a dispatch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DispatchSize {
    /// Tensors of a few thousand values: a step is thousands of dispatches that each take
    /// tens of microseconds, so their fixed cost sets its time.
    Small,
    /// Everything else: each dispatch has enough workgroups to keep every core busy.
    Large,
}

/// Largest batch (images x pixels per image) whose steps run as [`DispatchSize::Small`].
/// Measured with `examples/step_time` on 2 cores (machine D, docs/perf-log.md "Dispatches on
/// lavapipe's queue thread"): search steps of 512-2,048 pixels per batch ran 0.55-0.89x the
/// time inline, 2,304 broke even and 4,096 ran 1.10-1.19x; a derived-network training step of
/// 6 x 32 x 32 ran 1.66x.
pub(crate) const SMALL_BATCH_PIXELS: usize = 2048;

impl DispatchSize {
    /// The class of a step over `batch` images of `pixels` pixels each.
    pub fn for_batch(batch: usize, pixels: usize) -> DispatchSize {
        if batch.saturating_mul(pixels) <= SMALL_BATCH_PIXELS {
            DispatchSize::Small
        } else {
            DispatchSize::Large
        }
    }
}

/// The `LP_NUM_THREADS` value to set for a run, given what the user set (never overridden).
/// lavapipe runs each dispatch on a pool of one thread per core, woken for every dispatch and
/// waited for; with 0 threads it runs the dispatch on its queue thread instead, which for
/// small dispatches is far cheaper than the wake-up and wait (the host thread keeps recording
/// the next dispatches meanwhile). Other drivers do not read the variable.
pub(crate) fn software_driver_threads(
    size: DispatchSize,
    user: Option<&str>,
) -> Option<&'static str> {
    match (size, user) {
        (DispatchSize::Small, None) => Some("0"),
        _ => None,
    }
}

/// Sets the software driver's thread count for `size` (see [`software_driver_threads`]).
/// The driver reads it when an instance is created.
pub(crate) fn configure_software_driver(size: DispatchSize) {
    let user = std::env::var("LP_NUM_THREADS").ok();
    if let Some(v) = software_driver_threads(size, user.as_deref()) {
        // Set while this process has no other thread reading the environment: the commands
        // open their device before starting any worker thread.
        unsafe { std::env::set_var("LP_NUM_THREADS", v) };
    }
}

/// All adapters of the primary backends.
pub fn enumerate() -> Vec<wgpu::Adapter> {
    pollster::block_on(instance().enumerate_adapters(BACKENDS))
}

fn rank(info: &wgpu::AdapterInfo) -> u32 {
    use wgpu::DeviceType::*;
    match info.device_type {
        DiscreteGpu => 0,
        IntegratedGpu => 1,
        VirtualGpu => 2,
        Cpu => 3,
        Other => 4,
    }
}

/// Picks the adapter: `HINAS_ADAPTER=<index>` (as `hinas info` numbers them; CUDA_VISIBLE_DEVICES
/// does not filter Vulkan devices, so this is how a sweep spreads its tasks) or
/// `HINAS_ADAPTER=<name substring>` if set, else the highest-performance one.
pub fn choose_adapter() -> anyhow::Result<wgpu::Adapter> {
    let mut adapters = enumerate();
    if adapters.is_empty() {
        anyhow::bail!("{NO_ADAPTER_HINT}");
    }
    if let Ok(want) = std::env::var("HINAS_ADAPTER") {
        let want_l = want.to_lowercase();
        let names: Vec<String> = adapters.iter().map(|a| a.get_info().name).collect();
        if let Ok(i) = want.trim().parse::<usize>() {
            anyhow::ensure!(
                i < adapters.len(),
                "HINAS_ADAPTER={i} but there are only {} adapters (0-{}: {})",
                adapters.len(),
                adapters.len() - 1,
                names.join(", ")
            );
            return Ok(adapters.swap_remove(i));
        }
        return adapters
            .into_iter()
            .find(|a| a.get_info().name.to_lowercase().contains(&want_l))
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "HINAS_ADAPTER={want:?} matches no adapter (have: {})",
                    names.join(", ")
                )
            });
    }
    adapters.sort_by_key(|a| rank(&a.get_info()));
    Ok(adapters.remove(0))
}

/// Whether the kernels that share loads across one 8-lane subgroup per workgroup (conv2d's
/// gather16/32/64, its weight loads in gather8, wgrad_sg) are used. They need subgroups of at least
/// 8 lanes, and by default run only where subgroups are exactly 8 wide (lavapipe, where they were
/// measured 1.3-3.4x faster): on a GPU with 32- or 64-wide SIMD units a workgroup of 8
/// invocations leaves most of each unit idle, so the plain kernels are the default there until
/// measured otherwise. `HINAS_SUBGROUP_KERNELS=1` or `=0` overrides the default (for measuring
/// both on one adapter); 1 is ignored where subgroups are missing or narrower than 8.
pub fn subgroup_kernels(info: &wgpu::AdapterInfo, features: wgpu::Features) -> bool {
    let possible = features.contains(wgpu::Features::SUBGROUP) && info.subgroup_min_size >= 8;
    match std::env::var("HINAS_SUBGROUP_KERNELS").as_deref() {
        Ok("1") => possible,
        Ok("0") => false,
        _ => possible && info.subgroup_max_size == 8,
    }
}

/// Features we use when present; none is required (no shader uses f16, so it is not requested;
/// `hinas info` still reports whether the adapter has it). The two sampler features serve the
/// texture-sampled deformable forward ([`f32_filtering`]).
pub fn wanted_features(adapter: &wgpu::Adapter) -> wgpu::Features {
    let want = wgpu::Features::TIMESTAMP_QUERY
        | wgpu::Features::TIMESTAMP_QUERY_INSIDE_ENCODERS
        | wgpu::Features::TIMESTAMP_QUERY_INSIDE_PASSES
        | wgpu::Features::SUBGROUP
        | SAMPLING_FEATURES;
    adapter.features() & want
}

/// Linear filtering of rgba32float textures and a sampler border of zeros.
const SAMPLING_FEATURES: wgpu::Features =
    wgpu::Features::FLOAT32_FILTERABLE.union(wgpu::Features::ADDRESS_MODE_CLAMP_TO_BORDER);

/// Whether a linear sampler of an rgba32float texture blends in f32, so that it may stand in
/// for a bilinear sample computed in the shader: true for Mesa's software driver (llvmpipe's
/// sampler filters float formats in float arithmetic), which also has the two features. A GPU's
/// texture unit blends with fixed-point weights (8 fractional bits on many), so GPUs say no.
/// `HINAS_TEXTURE_SAMPLING=0` turns it off (for measuring both paths on one adapter).
pub fn f32_filtering(info: &wgpu::AdapterInfo, features: wgpu::Features) -> bool {
    let software = info.device_type == wgpu::DeviceType::Cpu && info.name.contains("llvmpipe");
    software
        && features.contains(SAMPLING_FEATURES)
        && std::env::var("HINAS_TEXTURE_SAMPLING").as_deref() != Ok("0")
}

/// A human-readable block describing one adapter, for `hinas info`.
pub fn describe(adapter: &wgpu::Adapter) -> String {
    let i = adapter.get_info();
    let l = adapter.limits();
    let f = adapter.features();
    let mut s = String::new();
    let _ = writeln!(s, "{} ({:?}, {:?})", i.name, i.backend, i.device_type);
    let _ = writeln!(
        s,
        "  driver:                 {} {}",
        i.driver, i.driver_info
    );
    let _ = writeln!(
        s,
        "  vendor/device:          {:#06x}/{:#06x}",
        i.vendor, i.device
    );
    let _ = writeln!(
        s,
        "  max buffer size:        {} MiB",
        l.max_buffer_size >> 20
    );
    let _ = writeln!(
        s,
        "  max storage binding:    {} MiB",
        l.max_storage_buffer_binding_size >> 20
    );
    let _ = writeln!(
        s,
        "  storage buffers/stage:  {}",
        l.max_storage_buffers_per_shader_stage
    );
    let _ = writeln!(
        s,
        "  workgroup size max:     {}x{}x{}, {} invocations",
        l.max_compute_workgroup_size_x,
        l.max_compute_workgroup_size_y,
        l.max_compute_workgroup_size_z,
        l.max_compute_invocations_per_workgroup
    );
    let _ = writeln!(
        s,
        "  workgroup memory:       {} KiB",
        l.max_compute_workgroup_storage_size >> 10
    );
    let _ = writeln!(
        s,
        "  workgroups/dimension:   {}",
        l.max_compute_workgroups_per_dimension
    );
    let yn = |b: bool| if b { "yes" } else { "no" };
    let _ = writeln!(
        s,
        "  features:               timestamps {}, f16 {}, subgroups {} (size {}-{})",
        yn(f.contains(wgpu::Features::TIMESTAMP_QUERY)),
        yn(f.contains(wgpu::Features::SHADER_F16)),
        yn(f.contains(wgpu::Features::SUBGROUP)),
        i.subgroup_min_size,
        i.subgroup_max_size
    );
    let _ = writeln!(
        s,
        "  8-lane subgroup kernels: {} (HINAS_SUBGROUP_KERNELS=1|0 overrides)",
        yn(subgroup_kernels(&i, f))
    );
    let _ = writeln!(
        s,
        "  texture-sampled deformable conv: {} (f32 linear filtering; HINAS_TEXTURE_SAMPLING=0 turns it off)",
        yn(f32_filtering(&i, f))
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_up_to_the_measured_crossover_are_small() {
        // The default search (2 of 24x24) and the CI configs (2 of 16x16) run inline; the
        // `small` search (4 of 32x32) and the tiny retraining (6 of 32x32) keep the pool.
        assert_eq!(DispatchSize::for_batch(2, 24 * 24), DispatchSize::Small);
        assert_eq!(DispatchSize::for_batch(2, 16 * 16), DispatchSize::Small);
        assert_eq!(DispatchSize::for_batch(1, 2048), DispatchSize::Small);
        assert_eq!(DispatchSize::for_batch(1, 2049), DispatchSize::Large);
        assert_eq!(DispatchSize::for_batch(4, 32 * 32), DispatchSize::Large);
        assert_eq!(DispatchSize::for_batch(6, 32 * 32), DispatchSize::Large);
        assert_eq!(DispatchSize::for_batch(usize::MAX, 2), DispatchSize::Large);
    }

    #[test]
    fn the_users_driver_threads_win() {
        assert_eq!(
            software_driver_threads(DispatchSize::Small, None),
            Some("0")
        );
        assert_eq!(software_driver_threads(DispatchSize::Large, None), None);
        assert_eq!(
            software_driver_threads(DispatchSize::Small, Some("2")),
            None
        );
        assert_eq!(
            software_driver_threads(DispatchSize::Small, Some("0")),
            None
        );
    }
}
