//! Shaders, the pipeline cache, and recording dispatches.
//!
//! Binding convention for every kernel: `@binding(0)` is a uniform block of parameters, and the
//! storage buffers follow at `@binding(1)`, `@binding(2)`, ... in the order the launcher passes
//! them. An entry point may use a subset; the cache reflects which bindings each entry point
//! uses (with naga) and binds only those.

use super::{Gpu, Inner, Recorder, DISPATCHES_PER_SUBMIT};
use std::sync::Arc;

/// A WGSL source file in shaders/, compiled into one pipeline per entry point on first use.
pub struct Kernel {
    pub name: &'static str,
    pub source: &'static str,
}

/// `kernel!("conv2d")` embeds shaders/conv2d.wgsl.
#[macro_export]
macro_rules! kernel {
    ($name:literal) => {
        $crate::gpu::Kernel {
            name: $name,
            source: include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/shaders/",
                $name,
                ".wgsl"
            )),
        }
    };
}

/// A bind group's identity: the pipeline and the buffers at its used bindings, in order.
/// The pool hands out the same buffers step after step (pool.rs), so from the second step on
/// every dispatch of a training loop finds its bind group made: creating one cost 8-12 us of
/// host time per dispatch, which on a fast GPU is longer than a small kernel.
#[derive(PartialEq, Eq, Hash)]
pub(crate) struct BindKey {
    /// The pipeline (its address: pipelines are never dropped while the device lives).
    pipeline: usize,
    buffers: Vec<wgpu::Buffer>,
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
}

/// Workgroup counts for `n` items at `per_group` items per workgroup, folded into two dimensions
/// so no dimension exceeds the 65535 limit. Shaders recover the flat index as
/// `gid.x + gid.y * num_workgroups.x * WG` (see shaders/common.wgsl conventions).
pub fn grid_1d(n: usize, per_group: u32) -> [u32; 3] {
    let groups = (n as u64).div_ceil(per_group as u64).max(1);
    if groups <= 65535 {
        [groups as u32, 1, 1]
    } else {
        let y = groups.div_ceil(65535);
        [groups.div_ceil(y) as u32, y as u32, 1]
    }
}

fn build(inner: &Inner, kernel: &Kernel, entry: &'static str) -> Pipeline {
    let module = naga::front::wgsl::parse_str(kernel.source).unwrap_or_else(|e| {
        panic!(
            "shader {}: {}",
            kernel.name,
            e.emit_to_string(kernel.source)
        )
    });
    let info = naga::valid::Validator::new(
        naga::valid::ValidationFlags::all(),
        naga::valid::Capabilities::all(),
    )
    .validate(&module)
    .unwrap_or_else(|e| panic!("shader {} does not validate: {e:?}", kernel.name));
    let ep = module
        .entry_points
        .iter()
        .position(|e| e.name == entry)
        .unwrap_or_else(|| panic!("shader {} has no entry point {entry}", kernel.name));
    let uses = info.get_entry_point(ep);
    let mut used_bindings: Vec<u32> = module
        .global_variables
        .iter()
        .filter(|(h, _)| !uses[*h].is_empty())
        .filter_map(|(_, v)| v.binding.as_ref().map(|b| b.binding))
        .collect();
    used_bindings.sort_unstable();
    let sm = inner
        .device
        .create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some(kernel.name),
            source: wgpu::ShaderSource::Wgsl(kernel.source.into()),
        });
    let pipeline = inner
        .device
        .create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some(entry),
            layout: None,
            module: &sm,
            entry_point: Some(entry),
            compilation_options: Default::default(),
            cache: None,
        });
    let layout = pipeline.get_bind_group_layout(0);
    Pipeline {
        pipeline,
        layout,
        used_bindings,
    }
}

impl Gpu {
    pub(crate) fn pipeline(&self, kernel: &Kernel, entry: &'static str) -> Arc<Pipeline> {
        let key = (kernel.name, entry);
        if let Some(p) = self.0.pipelines.lock().unwrap().get(&key) {
            return p.clone();
        }
        // Built outside the lock (compiling takes long); if another thread built the same one
        // meanwhile, the first stored wins, so every caller uses one pipeline (bind groups made
        // for one pipeline's layout do not fit another's).
        let p = Arc::new(build(&self.0, kernel, entry));
        self.0
            .pipelines
            .lock()
            .unwrap()
            .entry(key)
            .or_insert(p)
            .clone()
    }

    /// Compiles the pipeline now (so the first step does not pay for it).
    pub fn warm(&self, kernel: &Kernel, entry: &'static str) {
        self.pipeline(kernel, entry);
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
    /// (any `Pod` struct, padded to 16 bytes by the caller's layout), `buffers` bind from 1 on.
    pub fn dispatch<P: bytemuck::Pod>(
        &self,
        kernel: &Kernel,
        entry: &'static str,
        params: &P,
        buffers: &[&wgpu::Buffer],
        groups: [u32; 3],
    ) {
        let p = self.pipeline(kernel, entry);
        let uni = self.uniform(bytemuck::bytes_of(params));
        let bound: Vec<wgpu::Buffer> = p
            .used_bindings
            .iter()
            .map(|&b| {
                if b == 0 {
                    uni.clone()
                } else {
                    (*buffers
                        .get(b as usize - 1)
                        .unwrap_or_else(|| panic!("{}::{entry} needs binding {b}", kernel.name)))
                    .clone()
                }
            })
            .collect();
        let key = BindKey {
            pipeline: Arc::as_ptr(&p) as usize,
            buffers: bound,
        };
        let bg = {
            let mut cache = self.0.bind_groups.lock().unwrap();
            match cache.get(&key) {
                Some(bg) => bg.clone(),
                None => {
                    let entries: Vec<wgpu::BindGroupEntry> = p
                        .used_bindings
                        .iter()
                        .zip(&key.buffers)
                        .map(|(&binding, buf)| wgpu::BindGroupEntry {
                            binding,
                            resource: buf.as_entire_binding(),
                        })
                        .collect();
                    if cache.len() >= MAX_BIND_GROUPS
                        || (cache.len() % MAP_CHECK_EVERY == 0 && map_table_nearly_full())
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
