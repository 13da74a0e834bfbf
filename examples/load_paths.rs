//! How fast the current adapter serves loads whose address differs per lane, by path: a storage
//! buffer read one float at a time, the same buffer read as vec4, a uniform buffer, and an
//! rgba32float texture read with `textureLoad`. Every kernel does the same number of loads per
//! invocation at pseudo-random addresses (so no path can be turned into one contiguous vector
//! load), sums them and writes one float. Prints loads and floats per second, median of rounds.
//!
//! Why: on lavapipe a storage load whose index is not a compile-time constant runs as a loop over
//! the SIMD lanes with a branch per lane, while texel fetches go through the sampler's gather
//! code; this measures what that difference is worth before any kernel is rebuilt on it.
//!
//!     cargo run --release --example load_paths

use hinas::gpu::Gpu;
use wgpu::util::DeviceExt;
#[path = "support/raw_wgpu.rs"]
mod raw_wgpu;

const INVOCATIONS: u32 = 1 << 16;
const LOADS: u32 = 64;
const TEX_W: u32 = 1024;
const TEX_H: u32 = 256;
/// Floats in the storage buffer (as many as the texture holds) and vec4s in the uniform buffer.
const FLOATS: u32 = TEX_W * TEX_H * 4;
const UNIFORM_VEC4: u32 = 4096;

const SHADER: &str = r#"
@group(0) @binding(0) var<storage, read> xs: array<f32>;
@group(0) @binding(1) var<storage, read> x4: array<vec4<f32>>;
@group(0) @binding(2) var<uniform> xu: array<vec4<f32>, 4096>;
@group(0) @binding(3) var tex: texture_2d<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

// A full-period step through the elements, so lanes never read neighbouring addresses.
fn addr(i: u32, k: u32, n: u32) -> u32 { return (i * 2654435761u + k * 40503u) & (n - 1u); }

@compute @workgroup_size(64)
fn scalar(@builtin(global_invocation_id) g: vec3<u32>) {
    var s = 0.0;
    for (var k = 0u; k < 64u; k++) { s += xs[addr(g.x, k, arrayLength(&xs))]; }
    out[g.x] = s;
}

@compute @workgroup_size(64)
fn vec4s(@builtin(global_invocation_id) g: vec3<u32>) {
    var s = vec4<f32>(0.0);
    for (var k = 0u; k < 64u; k++) { s += x4[addr(g.x, k, arrayLength(&x4))]; }
    out[g.x] = s.x + s.y + s.z + s.w;
}

@compute @workgroup_size(64)
fn uniform4(@builtin(global_invocation_id) g: vec3<u32>) {
    var s = vec4<f32>(0.0);
    for (var k = 0u; k < 64u; k++) { s += xu[addr(g.x, k, 4096u)]; }
    out[g.x] = s.x + s.y + s.z + s.w;
}

@compute @workgroup_size(64)
fn texel(@builtin(global_invocation_id) g: vec3<u32>) {
    var s = vec4<f32>(0.0);
    let w = textureDimensions(tex).x;
    let n = w * textureDimensions(tex).y;
    for (var k = 0u; k < 64u; k++) {
        let a = addr(g.x, k, n);
        s += textureLoad(tex, vec2<u32>(a % w, a / w), 0);
    }
    out[g.x] = s.x + s.y + s.z + s.w;
}
"#;

fn main() -> anyhow::Result<()> {
    let gpu = Gpu::open()?;
    println!("{}", gpu.adapter_line());
    let (device, queue) = (gpu.device(), gpu.queue());
    let data: Vec<f32> = (0..FLOATS).map(|i| (i % 97) as f32 * 0.01).collect();
    let storage = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
        label: Some("xs"),
        contents: bytemuck::cast_slice(&data),
        usage: wgpu::BufferUsages::STORAGE,
    });
    let uniform = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
        label: Some("xu"),
        contents: bytemuck::cast_slice(&data[..(UNIFORM_VEC4 * 4) as usize]),
        usage: wgpu::BufferUsages::UNIFORM,
    });
    let out = device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("out"),
        size: INVOCATIONS as u64 * 4,
        usage: wgpu::BufferUsages::STORAGE,
        mapped_at_creation: false,
    });
    let texture = raw_wgpu::rgba32f_texture(device, queue, TEX_W, TEX_H, &data);
    let view = texture.create_view(&Default::default());
    let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some("load_paths"),
        source: wgpu::ShaderSource::Wgsl(SHADER.into()),
    });
    let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
        label: None,
        entries: &[
            raw_wgpu::storage_entry(0, true),
            raw_wgpu::storage_entry(1, true),
            raw_wgpu::buffer_entry(2, wgpu::BufferBindingType::Uniform),
            wgpu::BindGroupLayoutEntry {
                binding: 3,
                visibility: wgpu::ShaderStages::COMPUTE,
                ty: wgpu::BindingType::Texture {
                    sample_type: wgpu::TextureSampleType::Float { filterable: false },
                    view_dimension: wgpu::TextureViewDimension::D2,
                    multisampled: false,
                },
                count: None,
            },
            raw_wgpu::storage_entry(4, false),
        ],
    });
    let bind = device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: None,
        layout: &layout,
        entries: &[
            raw_wgpu::buffer_binding(0, &storage),
            raw_wgpu::buffer_binding(1, &storage),
            raw_wgpu::buffer_binding(2, &uniform),
            wgpu::BindGroupEntry {
                binding: 3,
                resource: wgpu::BindingResource::TextureView(&view),
            },
            raw_wgpu::buffer_binding(4, &out),
        ],
    });
    let pipeline_layout = raw_wgpu::pipeline_layout(device, &layout);
    for (entry, floats_per_load) in [("scalar", 1), ("vec4s", 4), ("uniform4", 4), ("texel", 4)] {
        let pipeline = raw_wgpu::pipeline(device, &pipeline_layout, &module, entry);
        let run = || raw_wgpu::run_pass(device, queue, &pipeline, &bind, INVOCATIONS / 64, |_| {});
        run(); // compiles the shader in the driver
        let med = raw_wgpu::median_ms(run);
        let loads = (INVOCATIONS * LOADS) as f64;
        println!(
            "{entry:>9}: {med:7.2} ms per dispatch of {} loads, {:6.1} M loads/s, {:7.1} M floats/s",
            INVOCATIONS * LOADS,
            loads / med / 1e3,
            loads * floats_per_load as f64 / med / 1e3
        );
    }
    Ok(())
}
