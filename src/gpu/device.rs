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
/// `hinas info` still reports whether the adapter has it).
pub fn wanted_features(adapter: &wgpu::Adapter) -> wgpu::Features {
    let want = wgpu::Features::TIMESTAMP_QUERY
        | wgpu::Features::TIMESTAMP_QUERY_INSIDE_ENCODERS
        | wgpu::Features::TIMESTAMP_QUERY_INSIDE_PASSES
        | wgpu::Features::SUBGROUP;
    adapter.features() & want
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
    s
}
