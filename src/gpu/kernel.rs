//! Shaders, the pipeline cache, and recording dispatches.
//!
//! Binding convention for every kernel: `@binding(0)` is a uniform block of parameters, and the
//! storage buffers follow at `@binding(1)`, `@binding(2)`, ... in the order the launcher passes
//! them. An entry point may use a subset; the cache reflects which bindings each entry point
//! uses (with naga) and binds only those.

use super::{Gpu, Inner, Recorder, DISPATCHES_PER_SUBMIT};
use std::sync::Arc;

/// A WGSL kernel: a file in shaders/ with its `#include`s resolved (see build.rs), parsed once
/// and compiled into one pipeline per entry point on first use.
pub struct Kernel {
    /// The name pipelines and profiles are filed under.
    pub name: &'static str,
    /// Its file in shaders/, without `.wgsl`.
    pub file: &'static str,
    /// The composed WGSL text.
    pub source: &'static str,
    /// Whether the text uses subgroup operations. A kernel that does not is validated without
    /// the subgroup capabilities, so none can slip into code meant for devices without them.
    pub subgroups: bool,
}

impl Kernel {
    /// The naga capabilities the kernel is validated with.
    pub fn capabilities(&self) -> naga::valid::Capabilities {
        let all = naga::valid::Capabilities::all();
        if self.subgroups {
            all
        } else {
            all - naga::valid::Capabilities::SUBGROUP
                - naga::valid::Capabilities::SUBGROUP_BARRIER
                - naga::valid::Capabilities::SUBGROUP_VERTEX_STAGE
        }
    }

    /// Parses and validates the text (with [`Kernel::capabilities`]).
    pub fn parse(&self) -> Result<(naga::Module, naga::valid::ModuleInfo), String> {
        let module = naga::front::wgsl::parse_str(self.source)
            .map_err(|e| format!("shader {}: {}", self.name, e.emit_to_string(self.source)))?;
        let info =
            naga::valid::Validator::new(naga::valid::ValidationFlags::all(), self.capabilities())
                .validate(&module)
                .map_err(|e| format!("shader {} does not validate: {e:?}", self.name))?;
        Ok((module, info))
    }
}

/// `kernel!("conv2d")` embeds shaders/conv2d.wgsl as composed by build.rs; `kernel!("conv2d",
/// "conv2d_plain")` files the composed conv2d_plain.wgsl under the name "conv2d"; a trailing
/// `subgroups` marks a kernel that uses subgroup operations.
#[macro_export]
macro_rules! kernel {
    ($name:literal) => {
        $crate::kernel!($name, $name)
    };
    ($name:literal, $file:literal) => {
        $crate::gpu::Kernel {
            name: $name,
            file: $file,
            source: include_str!(concat!(env!("OUT_DIR"), "/shaders/", $file, ".wgsl")),
            subgroups: false,
        }
    };
    ($name:literal, $file:literal, subgroups) => {
        $crate::gpu::Kernel {
            name: $name,
            file: $file,
            source: include_str!(concat!(env!("OUT_DIR"), "/shaders/", $file, ".wgsl")),
            subgroups: true,
        }
    };
}

/// A kernel's text parsed, validated and handed to the device once, shared by the pipelines of
/// all its entry points.
pub(crate) struct Module {
    naga: naga::Module,
    info: naga::valid::ModuleInfo,
    shader: wgpu::ShaderModule,
}

/// What a kernel binds from `@binding(1)` on: a storage buffer, or a texture view or sampler
/// (the texture-sampled kernels; [`Gpu::dispatch_bound`]).
#[derive(Clone, Copy)]
pub enum Binding<'a> {
    Buffer(&'a wgpu::Buffer),
    Texture(&'a wgpu::TextureView),
    Sampler(&'a wgpu::Sampler),
}

/// A bound resource, owned, as the bind-group cache keys it.
#[derive(PartialEq, Eq, Hash)]
pub(crate) enum Bound {
    Buffer(wgpu::Buffer),
    Texture(wgpu::TextureView),
    Sampler(wgpu::Sampler),
}

impl Bound {
    fn resource(&self) -> wgpu::BindingResource<'_> {
        match self {
            Bound::Buffer(b) => b.as_entire_binding(),
            Bound::Texture(t) => wgpu::BindingResource::TextureView(t),
            Bound::Sampler(s) => wgpu::BindingResource::Sampler(s),
        }
    }
}

/// A bind group's identity: the pipeline and the resources at its used bindings, in order.
/// The pool hands out the same buffers step after step (pool.rs), so from the second step on
/// every dispatch of a training loop finds its bind group made: creating one cost 8-12 us of
/// host time per dispatch, which on a fast GPU is longer than a small kernel.
#[derive(PartialEq, Eq, Hash)]
pub(crate) struct BindKey {
    /// The pipeline (its address: pipelines are never dropped while the device lives).
    pipeline: usize,
    bound: Vec<Bound>,
}

/// Cached bind groups at most (a `tiny` search step needs ~39,000); then the cache starts
/// again. Each holds its buffers alive, so `Gpu::trim` empties it.
const MAX_BIND_GROUPS: usize = 1 << 17;

/// How often (in cache insertions) the process's memory-map table is looked at.
const MAP_CHECK_EVERY: usize = 1024;

/// Whether the process uses more than 3/4 of the kernel's memory-map limit (Linux
/// `vm.max_map_count`, 65,530 by default). Mesa's software driver maps memory for every
/// descriptor set: with the cache holding ~100,000 bind groups (a search without cell sharing)
/// its allocations fail past the limit and it crashes inside `vkAllocateDescriptorSets`, so the
/// cache is emptied well before that. Elsewhere this is never true.
fn map_table_nearly_full() -> bool {
    #[cfg(target_os = "linux")]
    {
        static LIMIT: std::sync::OnceLock<Option<usize>> = std::sync::OnceLock::new();
        let limit = *LIMIT.get_or_init(|| {
            std::fs::read_to_string("/proc/sys/vm/max_map_count")
                .ok()
                .and_then(|s| s.trim().parse().ok())
        });
        let (Some(limit), Ok(maps)) = (limit, std::fs::read("/proc/self/maps")) else {
            return false;
        };
        let used = maps.iter().filter(|&&b| b == b'\n').count();
        used > limit / 4 * 3
    }
    #[cfg(not(target_os = "linux"))]
    false
}

pub(crate) struct Pipeline {
    pipeline: wgpu::ComputePipeline,
    layout: wgpu::BindGroupLayout,
    used_bindings: Vec<u32>,
    /// The entry point's `@workgroup_size`, as naga reads it from the WGSL.
    workgroup_size: [u32; 3],
    /// The WGSL struct at `@binding(0)`, if the entry point uses one: name and layout.
    uniform: Option<(String, WgslLayout)>,
    /// Set once the Rust parameter type of the first dispatch matched `uniform`.
    checked: std::sync::OnceLock<()>,
}

/// A WGSL struct's fields (name, offset, size) and its size in bytes.
pub type WgslLayout = (Vec<(String, u32, u32)>, u32);

/// Workgroup counts for `n` items at `per_group` items per workgroup, folded into two dimensions
/// so no dimension exceeds the 65535 limit. Shaders recover the flat index as
/// `flat(gid, num_workgroups, WG)` of shaders/common.wgsl.
pub fn grid_1d(n: usize, per_group: u32) -> [u32; 3] {
    let groups = (n as u64).div_ceil(per_group as u64).max(1);
    if groups <= 65535 {
        [groups as u32, 1, 1]
    } else {
        let y = groups.div_ceil(65535);
        [groups.div_ceil(y) as u32, y as u32, 1]
    }
}

fn module(inner: &Inner, kernel: &Kernel) -> Module {
    let (naga, info) = kernel.parse().unwrap_or_else(|e| panic!("{e}"));
    let shader = inner
        .device
        .create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some(kernel.name),
            source: wgpu::ShaderSource::Wgsl(kernel.source.into()),
        });
    Module { naga, info, shader }
}

fn build(inner: &Inner, m: &Module, kernel: &Kernel, entry: &'static str) -> Pipeline {
    let module = &m.naga;
    let ep = module
        .entry_points
        .iter()
        .position(|e| e.name == entry)
        .unwrap_or_else(|| panic!("shader {} has no entry point {entry}", kernel.name));
    let uses = m.info.get_entry_point(ep);
    let used: Vec<_> = module
        .global_variables
        .iter()
        .filter(|(h, _)| !uses[*h].is_empty())
        .collect();
    let mut used_bindings: Vec<u32> = used
        .iter()
        .filter_map(|(_, v)| v.binding.as_ref().map(|b| b.binding))
        .collect();
    used_bindings.sort_unstable();
    let uniform = used
        .iter()
        .find(|(_, v)| v.binding.as_ref().is_some_and(|b| b.binding == 0))
        .map(|(_, v)| {
            let name = module.types[v.ty].name.clone().unwrap_or_default();
            (name, wgsl_layout(module, v.ty))
        });
    let pipeline = inner
        .device
        .create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some(entry),
            layout: None,
            module: &m.shader,
            entry_point: Some(entry),
            compilation_options: Default::default(),
            cache: None,
        });
    let layout = pipeline.get_bind_group_layout(0);
    Pipeline {
        pipeline,
        layout,
        used_bindings,
        workgroup_size: module.entry_points[ep].workgroup_size,
        uniform,
        checked: std::sync::OnceLock::new(),
    }
}

/// A field of a uniform parameter block: name, byte offset, byte size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Field {
    pub name: &'static str,
    pub offset: usize,
    pub size: usize,
}

/// A `#[repr(C)]` parameter block that mirrors a WGSL struct; declare it with
/// [`crate::uniform!`], which lists its fields.
pub trait Uniform: bytemuck::Pod {
    const FIELDS: &'static [Field];
}

/// Declares a `#[repr(C)]` uniform parameter struct and its field list ([`Uniform`]). The first
/// pipeline built for an entry point compares the list with naga's layout of the WGSL struct at
/// `@binding(0)`: same names in the same order at the same offsets and sizes, fields whose names
/// start with `_` (padding) aside, and the same size up to the 16-byte rounding of the buffer.
/// A mismatch panics naming both sides, so a test fails instead of computing garbage.
#[macro_export]
macro_rules! uniform {
    (
        $(#[$m:meta])*
        $vis:vis struct $name:ident {
            $($(#[$fm:meta])* $fvis:vis $f:ident : $t:ty),* $(,)?
        }
    ) => {
        $(#[$m])*
        #[repr(C)]
        #[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
        $vis struct $name {
            $($(#[$fm])* $fvis $f: $t),*
        }
        impl $crate::gpu::Uniform for $name {
            const FIELDS: &'static [$crate::gpu::Field] = &[$(
                $crate::gpu::Field {
                    name: stringify!($f),
                    offset: ::std::mem::offset_of!($name, $f),
                    size: ::std::mem::size_of::<$t>(),
                }
            ),*];
        }
    };
}

/// The WGSL struct's fields (name, offset, size) and its size, from naga.
pub fn wgsl_layout(module: &naga::Module, ty: naga::Handle<naga::Type>) -> WgslLayout {
    let mut layouter = naga::proc::Layouter::default();
    layouter
        .update(module.to_ctx())
        .expect("a validated module has a layout");
    match &module.types[ty].inner {
        naga::TypeInner::Struct { members, span } => (
            members
                .iter()
                .map(|m| {
                    (
                        m.name.clone().unwrap_or_default(),
                        m.offset,
                        layouter[m.ty].size,
                    )
                })
                .collect(),
            *span,
        ),
        _ => (Vec::new(), layouter[ty].size),
    }
}

/// Compares a Rust field list and size with a WGSL layout (see [`crate::uniform!`]).
pub fn compare_layout(fields: &[Field], size: usize, wgsl: &WgslLayout) -> Result<(), String> {
    let rust: Vec<(String, u32, u32)> = fields
        .iter()
        .filter(|f| !f.name.starts_with('_'))
        .map(|f| (f.name.to_string(), f.offset as u32, f.size as u32))
        .collect();
    let theirs: Vec<(String, u32, u32)> = wgsl
        .0
        .iter()
        .filter(|f| !f.0.starts_with('_'))
        .cloned()
        .collect();
    for i in 0..rust.len().max(theirs.len()) {
        if rust.get(i) != theirs.get(i) {
            return Err(format!(
                "field {i} is {:?} in Rust, {:?} in WGSL (name, offset, size)",
                rust.get(i),
                theirs.get(i)
            ));
        }
    }
    let round = |n: u32| n.div_ceil(16) * 16;
    if round(size as u32) != round(wgsl.1) {
        return Err(format!("size {size} in Rust, {} in WGSL", wgsl.1));
    }
    Ok(())
}

impl Gpu {
    pub(crate) fn pipeline(&self, kernel: &Kernel, entry: &'static str) -> Arc<Pipeline> {
        let key = (kernel.name, entry);
        if let Some(p) = self.0.pipelines.lock().unwrap().get(&key) {
            return p.clone();
        }
        let module = self.module(kernel);
        // Built outside the lock (compiling takes long); if another thread built the same one
        // meanwhile, the first stored wins, so every caller uses one pipeline (bind groups made
        // for one pipeline's layout do not fit another's).
        let p = Arc::new(build(&self.0, &module, kernel, entry));
        self.0
            .pipelines
            .lock()
            .unwrap()
            .entry(key)
            .or_insert(p)
            .clone()
    }

    /// The kernel's text parsed and handed to the device, once for all its entry points.
    fn module(&self, kernel: &Kernel) -> Arc<Module> {
        if let Some(m) = self.0.modules.lock().unwrap().get(kernel.name) {
            return m.clone();
        }
        let m = Arc::new(module(&self.0, kernel));
        self.0
            .modules
            .lock()
            .unwrap()
            .entry(kernel.name)
            .or_insert(m)
            .clone()
    }

    /// Compiles the pipeline now (so the first step does not pay for it).
    pub fn warm(&self, kernel: &Kernel, entry: &'static str) {
        self.pipeline(kernel, entry);
    }

    /// The entry point's workgroup size as declared in its WGSL (`@workgroup_size`), so launch
    /// grids follow the shader instead of a copy of its numbers.
    pub fn workgroup_size(&self, kernel: &Kernel, entry: &'static str) -> [u32; 3] {
        self.pipeline(kernel, entry).workgroup_size
    }

    /// [`Gpu::dispatch`] of one invocation per item for `n` items, on the [`grid_1d`] of the
    /// entry point's own workgroup size (the shader recovers the flat index with `flat()` of
    /// shaders/common.wgsl).
    pub fn dispatch_1d<P: Uniform>(
        &self,
        kernel: &Kernel,
        entry: &'static str,
        params: &P,
        buffers: &[&wgpu::Buffer],
        n: usize,
    ) {
        let [x, y, z] = self.workgroup_size(kernel, entry);
        self.dispatch(kernel, entry, params, buffers, grid_1d(n, x * y * z));
    }

    /// An immutable uniform buffer with these bytes; identical parameter blocks share one buffer.
    fn uniform(&self, bytes: &[u8]) -> wgpu::Buffer {
        let mut map = self.0.uniforms.lock().unwrap();
        if let Some(b) = map.get(bytes) {
            return b.clone();
        }
        if map.len() > 16384 {
            map.clear(); // pending command buffers keep their own references alive
        }
        let size = (bytes.len() as u64).div_ceil(16) * 16;
        let buf = self.0.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("params"),
            size: size.max(16),
            usage: wgpu::BufferUsages::UNIFORM,
            mapped_at_creation: true,
        });
        {
            let mut padded = bytes.to_vec();
            padded.resize(size.max(16) as usize, 0);
            buf.slice(..)
                .get_mapped_range_mut()
                .expect("fresh mapped buffer")
                .copy_from_slice(&padded);
        }
        buf.unmap();
        map.insert(bytes.to_vec(), buf.clone());
        buf
    }

    /// Records one dispatch of `entry` in `kernel`. `params` is the uniform block at binding 0
    /// (a struct declared with [`crate::uniform!`], whose layout is checked against the WGSL's when the pipeline is built), `buffers` bind from 1 on.
    pub fn dispatch<P: Uniform>(
        &self,
        kernel: &Kernel,
        entry: &'static str,
        params: &P,
        buffers: &[&wgpu::Buffer],
        groups: [u32; 3],
    ) {
        let bindings: Vec<Binding> = buffers.iter().map(|&b| Binding::Buffer(b)).collect();
        self.dispatch_bound(kernel, entry, params, &bindings, groups);
    }

    /// [`Gpu::dispatch`] with textures or samplers among the bindings.
    pub fn dispatch_bound<P: Uniform>(
        &self,
        kernel: &Kernel,
        entry: &'static str,
        params: &P,
        bindings: &[Binding],
        groups: [u32; 3],
    ) {
        let p = self.pipeline(kernel, entry);
        p.checked.get_or_init(|| {
            if let Some((name, wgsl)) = &p.uniform {
                if let Err(e) = compare_layout(P::FIELDS, std::mem::size_of::<P>(), wgsl) {
                    panic!(
                        "{}::{entry}: Rust {} does not match WGSL {name}: {e}",
                        kernel.name,
                        std::any::type_name::<P>()
                    );
                }
            }
        });
        let uni = self.uniform(bytemuck::bytes_of(params));
        let bound: Vec<Bound> = p
            .used_bindings
            .iter()
            .map(|&b| {
                if b == 0 {
                    return Bound::Buffer(uni.clone());
                }
                match bindings
                    .get(b as usize - 1)
                    .unwrap_or_else(|| panic!("{}::{entry} needs binding {b}", kernel.name))
                {
                    Binding::Buffer(x) => Bound::Buffer((*x).clone()),
                    Binding::Texture(x) => Bound::Texture((*x).clone()),
                    Binding::Sampler(x) => Bound::Sampler((*x).clone()),
                }
            })
            .collect();
        let key = BindKey {
            pipeline: Arc::as_ptr(&p) as usize,
            bound,
        };
        let bg = {
            let mut cache = self.0.bind_groups.lock().unwrap();
            match cache.get(&key) {
                Some(bg) => bg.clone(),
                None => {
                    let entries: Vec<wgpu::BindGroupEntry> = p
                        .used_bindings
                        .iter()
                        .zip(&key.bound)
                        .map(|(&binding, res)| wgpu::BindGroupEntry {
                            binding,
                            resource: res.resource(),
                        })
                        .collect();
                    if cache.len() >= MAX_BIND_GROUPS
                        || (cache.len().is_multiple_of(MAP_CHECK_EVERY) && map_table_nearly_full())
                    {
                        cache.clear();
                    }
                    let bg = self.0.device.create_bind_group(&wgpu::BindGroupDescriptor {
                        label: None,
                        layout: &p.layout,
                        entries: &entries,
                    });
                    cache.insert(key, bg.clone());
                    bg
                }
            }
        };
        let mut rec = self.0.recorder.lock().unwrap();
        if rec.pass.is_none() {
            let dev = &self.0.device;
            let enc = rec.encoder.get_or_insert_with(|| {
                dev.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: None })
            });
            let pass = enc
                .begin_compute_pass(&wgpu::ComputePassDescriptor {
                    label: None,
                    timestamp_writes: None,
                })
                .forget_lifetime();
            rec.pass = Some(pass);
        }
        let Recorder { pass, profiler, .. } = &mut *rec;
        let pass = pass.as_mut().unwrap();
        pass.set_pipeline(&p.pipeline);
        pass.set_bind_group(0, &bg, &[]);
        match profiler {
            Some(prof) => {
                let (queries, slot) = prof.begin(kernel.name, entry);
                pass.write_timestamp(queries, slot);
                pass.dispatch_workgroups(groups[0], groups[1], groups[2]);
                pass.write_timestamp(queries, slot + 1);
            }
            None => pass.dispatch_workgroups(groups[0], groups[1], groups[2]),
        }
        rec.dispatches += 1;
        if rec.dispatches >= DISPATCHES_PER_SUBMIT {
            Gpu::submit_locked(&self.0, &mut rec);
        }
    }
}
