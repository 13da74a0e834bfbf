//! What a bilinear sample of four channels costs on the current adapter, by path: four scalar
//! storage loads per channel with the weights computed in the shader (what the deformable conv
//! does), against one `textureSampleLevel` of an rgba32float texture with a linear,
//! clamp-to-border sampler (the four channels in one texel), and against two paths that stay
//! exact on every device (a GPU's texture unit blends with fixed-point weights): four
//! `textureLoad`s of the corner texels, or four nearest-filtered samples at their centres,
//! blended with the shader's weights; against one vec4 storage load per channel from a copy
//! of the planes laid out as 2 x 2 footprints (`from_quads`); against the same 16 scalar loads
//! from a window of the planes that each workgroup first copies into workgroup memory
//! (`from_shared`); and, as a probe whose sums are wrong, with the corner indices made
//! subgroup-uniform by `subgroupBroadcast` (`from_bcast`: whether the driver then loads once per
//! subgroup; lavapipe does not, it still loads lane by lane); and one `textureGather` per
//! channel for its four corners (`from_gather`, exact on any device). Each invocation takes 64
//! samples near its own pixel, as a deformable conv's taps are; the kernels write their sums,
//! and the program prints the time per dispatch and how far the paths' sums are apart.
//!
//! Why: on lavapipe every storage load with a computed index runs lane by lane with a bounds
//! check (docs/perf-log.md, "Load paths on lavapipe"), and the deformable conv takes 16 of them
//! per four positions and channel; the sampler gathers whole texels and blends them across
//! lanes. What came of it (a texture-sampled deformable forward, measured and dropped) is in
//! docs/perf-log.md, "The deformable forward's sampling". The sums differ by up to ~5e-5: the
//! texture path's (p + 0.5) / size rounds where p + 0.5 crosses a power of two; with that
//! rounding copied into the buffer path they agree within 1e-7 (the filter is float arithmetic).
//!
//!     cargo run --release --example bilinear_paths

use wgpu::util::DeviceExt;
#[path = "support/raw_wgpu.rs"]
mod raw_wgpu;

const W: u32 = 512;
const H: u32 = 512;
const INVOCATIONS: u32 = W * H;

const SHADER: &str = r#"
@group(0) @binding(0) var<storage, read> xs: array<f32>;   // [4][H][W]
@group(0) @binding(1) var tex: texture_2d<f32>;            // [H][W] texels of 4 channels
@group(0) @binding(2) var samp: sampler;
@group(0) @binding(3) var<storage, read_write> out: array<vec4<f32>>;
@group(0) @binding(4) var near: sampler;                   // nearest, clamp to edge
@group(0) @binding(5) var<storage, read> quads: array<vec4<f32>>; // [4][H+1][W+1] corner quads

const W: u32 = 512u;
const H: u32 = 512u;

// Sample k of invocation i: its pixel plus an offset in (-2, 2) with a fractional part.
fn pos(i: u32, k: u32) -> vec2<f32> {
  let a = i * 2654435761u + k * 40503u;
  let b = a * 1664525u + 1013904223u;
  let dx = f32(a & 0xfffffu) / 262144.0 - 2.0;
  let dy = f32(b & 0xfffffu) / 262144.0 - 2.0;
  return vec2<f32>(f32(i % W) + dx, f32(i / W) + dy);
}

fn inside(y: i32, x: i32) -> bool {
  return y >= 0 && y < i32(H) && x >= 0 && x < i32(W);
}

// The top-left corner of a point's 2x2 footprint and its four bilinear weights (00, 01, 10, 11).
struct Corners { y0: i32, x0: i32, w: vec4<f32> }

fn corners(p: vec2<f32>) -> Corners {
  let f = floor(p);
  let l = p - f;
  return Corners(i32(f.y), i32(f.x), vec4<f32>((1.0 - l.y) * (1.0 - l.x), (1.0 - l.y) * l.x,
                                             l.y * (1.0 - l.x), l.y * l.x));
}

fn ld(c: u32, y: i32, x: i32) -> f32 {
  let ok = inside(y, x);
  return select(0.0, xs[(c * H + u32(select(0, y, ok))) * W + u32(select(0, x, ok))], ok);
}

// Corner (y, x) of channel c from the storage buffer, or with `in_window` (a constant per entry
// point) from the workgroup's window (from_shared, below; y and x relative to it).
fn corner(in_window: bool, c: u32, y: i32, x: i32) -> f32 {
  if (in_window) {
    return wld(c, y, x);
  }
  return ld(c, y, x);
}

// The four channels of one sample: each channel's footprint (top-left corner (y0, x0)) blended
// with q's weights.
fn blend_loads(in_window: bool, q: Corners, y0: i32, x0: i32) -> vec4<f32> {
  var v = vec4<f32>(0.0);
  for (var c = 0u; c < 4u; c++) {
    v[c] = q.w.x * corner(in_window, c, y0, x0) + q.w.y * corner(in_window, c, y0, x0 + 1)
         + q.w.z * corner(in_window, c, y0 + 1, x0) + q.w.w * corner(in_window, c, y0 + 1, x0 + 1);
  }
  return v;
}

@compute @workgroup_size(64)
fn from_buffer(@builtin(global_invocation_id) g: vec3<u32>) {
  var s = vec4<f32>(0.0);
  for (var k = 0u; k < 64u; k++) {
    let q = corners(pos(g.x, k));
    s += blend_loads(false, q, q.y0, q.x0);
  }
  out[g.x] = s;
}

// One texel (4 channels) of the texture, zero outside.
fn texel(y: i32, x: i32) -> vec4<f32> {
  let ok = inside(y, x);
  return select(vec4<f32>(0.0), textureLoad(tex, vec2<i32>(select(0, x, ok), select(0, y, ok)), 0), ok);
}

// One texel by a nearest sample at its centre (exact on any device), zero outside.
fn texel_near(y: i32, x: i32) -> vec4<f32> {
  let ok = inside(y, x);
  let c = (vec2<f32>(f32(x), f32(y)) + 0.5) / vec2<f32>(f32(W), f32(H));
  return select(vec4<f32>(0.0), textureSampleLevel(tex, near, c, 0.0), ok);
}

// A footprint's four texels blended with the shader's weights, fetched by `textureLoad` or by
// nearest samples (a constant per entry point, so the choice compiles away).
fn blend_texels(q: Corners, nearest: bool) -> vec4<f32> {
  if (nearest) {
    return q.w.x * texel_near(q.y0, q.x0) + q.w.y * texel_near(q.y0, q.x0 + 1)
         + q.w.z * texel_near(q.y0 + 1, q.x0) + q.w.w * texel_near(q.y0 + 1, q.x0 + 1);
  }
  return q.w.x * texel(q.y0, q.x0) + q.w.y * texel(q.y0, q.x0 + 1)
       + q.w.z * texel(q.y0 + 1, q.x0) + q.w.w * texel(q.y0 + 1, q.x0 + 1);
}

fn sum_texels(i: u32, nearest: bool) -> vec4<f32> {
  var s = vec4<f32>(0.0);
  for (var k = 0u; k < 64u; k++) {
    s += blend_texels(corners(pos(i, k)), nearest);
  }
  return s;
}

@compute @workgroup_size(64)
fn from_texels(@builtin(global_invocation_id) g: vec3<u32>) {
  out[g.x] = sum_texels(g.x, false);
}

@compute @workgroup_size(64)
fn from_nearest(@builtin(global_invocation_id) g: vec3<u32>) {
  out[g.x] = sum_texels(g.x, true);
}

// The footprint whose top-left corner is (y, x), one vec4 load: the quad grid starts at (-1, -1)
// and is zero outside the image, so only footprints wholly outside need the test.
fn quad(c: u32, y: i32, x: i32) -> vec4<f32> {
  let ok = y >= -1 && y < i32(H) && x >= -1 && x < i32(W);
  let i = (c * (H + 1u) + u32(select(0, y + 1, ok))) * (W + 1u) + u32(select(0, x + 1, ok));
  return select(vec4<f32>(0.0), quads[i], ok);
}

@compute @workgroup_size(64)
fn from_quads(@builtin(global_invocation_id) g: vec3<u32>) {
  var s = vec4<f32>(0.0);
  for (var k = 0u; k < 64u; k++) {
    let q = corners(pos(g.x, k));
    var v = vec4<f32>(0.0);
    for (var c = 0u; c < 4u; c++) {
      let t = quad(c, q.y0, q.x0);
      v[c] = q.w.x * t.x + q.w.y * t.y + q.w.z * t.z + q.w.w * t.w;
    }
    s += v;
  }
  out[g.x] = s;
}

// The four corners of each channel by `textureGather` (one component per call: exact texel
// values on any device), zeroed outside the image and blended with the shader's weights.
@compute @workgroup_size(64)
fn from_gather(@builtin(global_invocation_id) g: vec3<u32>) {
  var s = vec4<f32>(0.0);
  let size = vec2<f32>(f32(W), f32(H));
  for (var k = 0u; k < 64u; k++) {
    let q = corners(pos(g.x, k));
    // The footprint's centre: (x0 + 1, y0 + 1) in texel units, well inside the texel pick.
    let c = vec2<f32>(f32(q.x0) + 1.0, f32(q.y0) + 1.0) / size;
    let in00 = inside(q.y0, q.x0);
    let in01 = inside(q.y0, q.x0 + 1);
    let in10 = inside(q.y0 + 1, q.x0);
    let in11 = inside(q.y0 + 1, q.x0 + 1);
    // textureGather's order: (x0, y1), (x1, y1), (x1, y0), (x0, y0).
    let t0 = textureGather(0, tex, near, c);
    let t1 = textureGather(1, tex, near, c);
    let t2 = textureGather(2, tex, near, c);
    let t3 = textureGather(3, tex, near, c);
    let w = q.w * vec4<f32>(f32(in00), f32(in01), f32(in10), f32(in11));
    s += vec4<f32>(dot(w, vec4<f32>(t0.w, t0.z, t0.x, t0.y)), dot(w, vec4<f32>(t1.w, t1.z, t1.x, t1.y)),
                   dot(w, vec4<f32>(t2.w, t2.z, t2.x, t2.y)), dot(w, vec4<f32>(t3.w, t3.z, t3.x, t3.y)));
  }
  out[g.x] = s;
}

// Probe (sums wrong): every lane samples lane 0's positions, the corner index made uniform by a
// subgroup broadcast, to see whether lavapipe then loads once for the subgroup.
@compute @workgroup_size(64)
fn from_bcast(@builtin(global_invocation_id) g: vec3<u32>) {
  var s = vec4<f32>(0.0);
  for (var k = 0u; k < 64u; k++) {
    let q = corners(pos(g.x, k));
    s += blend_loads(false, q, subgroupBroadcast(q.y0, 0u), subgroupBroadcast(q.x0, 0u));
  }
  out[g.x] = s;
}

// A workgroup's 64 pixels of one row and their samples' 5 x 68 window of the four planes, copied
// once into workgroup memory (zero outside the image), then sampled from there.
const WIN_H: u32 = 5u;
const WIN_W: u32 = 68u;
var<workgroup> win: array<f32, 1360>;

fn wld(c: u32, y: i32, x: i32) -> f32 {
  return win[(c * WIN_H + u32(y)) * WIN_W + u32(x)];
}

@compute @workgroup_size(64)
fn from_shared(@builtin(global_invocation_id) g: vec3<u32>,
               @builtin(local_invocation_index) l: u32,
               @builtin(workgroup_id) wg: vec3<u32>) {
  let first = wg.x * 64u;
  let y_base = i32(first / W) - 2;
  let x_base = i32(first % W) - 2;
  for (var e = l; e < 4u * WIN_H * WIN_W; e += 64u) {
    let c = e / (WIN_H * WIN_W);
    let r = e % (WIN_H * WIN_W);
    win[e] = ld(c, y_base + i32(r / WIN_W), x_base + i32(r % WIN_W));
  }
  workgroupBarrier();
  var s = vec4<f32>(0.0);
  for (var k = 0u; k < 64u; k++) {
    let q = corners(pos(g.x, k));
    s += blend_loads(true, q, q.y0 - y_base, q.x0 - x_base);
  }
  out[g.x] = s;
}

@compute @workgroup_size(64)
fn from_texture(@builtin(global_invocation_id) g: vec3<u32>) {
  var s = vec4<f32>(0.0);
  let size = vec2<f32>(f32(W), f32(H));
  for (var k = 0u; k < 64u; k++) {
    s += textureSampleLevel(tex, samp, (pos(g.x, k) + 0.5) / size, 0.0);
  }
  out[g.x] = s;
}
"#;

fn main() -> anyhow::Result<()> {
    // Its own device: the library does not request the two sampler features it needs.
    let needed = wgpu::Features::FLOAT32_FILTERABLE
        | wgpu::Features::ADDRESS_MODE_CLAMP_TO_BORDER
        | wgpu::Features::SUBGROUP;
    let adapter = hinas::gpu::enumerate()
        .into_iter()
        .find(|a| a.features().contains(needed))
        .ok_or_else(|| anyhow::anyhow!("no adapter with float32 filtering and clamp-to-border"))?;
    println!("{}", adapter.get_info().name);
    let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
        required_features: needed,
        ..Default::default()
    }))?;
    let (device, queue) = (&device, &queue);
    let planes: Vec<f32> = (0..4 * W * H)
        .map(|i| ((i.wrapping_mul(2654435761) >> 8) % 1000) as f32 * 1e-3 - 0.5)
        .collect();
    let texels: Vec<f32> = (0..W * H)
        .flat_map(|p| (0..4).map(move |c| (c, p)))
        .map(|(c, p)| planes[(c * W * H + p) as usize])
        .collect();
    // Corner quads (00, 01, 10, 11) of every footprint from (-1, -1), zero outside.
    let px = |c: u32, y: i64, x: i64| -> f32 {
        if y < 0 || x < 0 || y >= H as i64 || x >= W as i64 {
            0.0
        } else {
            planes[((c * H) as i64 * W as i64 + y * W as i64 + x) as usize]
        }
    };
    let quad_values: Vec<f32> = (0..4u32)
        .flat_map(|c| (-1..H as i64).map(move |y| (c, y)))
        .flat_map(|(c, y)| (-1..W as i64).map(move |x| (c, y, x)))
        .flat_map(|(c, y, x)| {
            [
                px(c, y, x),
                px(c, y, x + 1),
                px(c, y + 1, x),
                px(c, y + 1, x + 1),
            ]
        })
        .collect();
    let quad_storage = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
        label: Some("quads"),
        contents: bytemuck::cast_slice(&quad_values),
        usage: wgpu::BufferUsages::STORAGE,
    });
    let storage = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
        label: Some("xs"),
        contents: bytemuck::cast_slice(&planes),
        usage: wgpu::BufferUsages::STORAGE,
    });
    let out_bytes = INVOCATIONS as u64 * 16;
    let out = device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("out"),
        size: out_bytes,
        usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
        mapped_at_creation: false,
    });
    let readback = device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("readback"),
        size: out_bytes,
        usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    });
    let texture = raw_wgpu::rgba32f_texture(device, queue, W, H, &texels);
    let view = texture.create_view(&Default::default());
    let mode = wgpu::AddressMode::ClampToBorder;
    let sampler = device.create_sampler(&wgpu::SamplerDescriptor {
        address_mode_u: mode,
        address_mode_v: mode,
        mag_filter: wgpu::FilterMode::Linear,
        min_filter: wgpu::FilterMode::Linear,
        border_color: Some(wgpu::SamplerBorderColor::TransparentBlack),
        ..Default::default()
    });
    let nearest = device.create_sampler(&wgpu::SamplerDescriptor::default());
    let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some("bilinear_paths"),
        source: wgpu::ShaderSource::Wgsl(SHADER.into()),
    });
    let entry = |binding, ty| wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::COMPUTE,
        ty,
        count: None,
    };
    let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
        label: None,
        entries: &[
            raw_wgpu::storage_entry(0, true),
            entry(
                1,
                wgpu::BindingType::Texture {
                    sample_type: wgpu::TextureSampleType::Float { filterable: true },
                    view_dimension: wgpu::TextureViewDimension::D2,
                    multisampled: false,
                },
            ),
            entry(
                2,
                wgpu::BindingType::Sampler(wgpu::SamplerBindingType::Filtering),
            ),
            raw_wgpu::storage_entry(3, false),
            entry(
                4,
                wgpu::BindingType::Sampler(wgpu::SamplerBindingType::Filtering),
            ),
            raw_wgpu::storage_entry(5, true),
        ],
    });
    let bind = device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: None,
        layout: &layout,
        entries: &[
            raw_wgpu::buffer_binding(0, &storage),
            wgpu::BindGroupEntry {
                binding: 1,
                resource: wgpu::BindingResource::TextureView(&view),
            },
            wgpu::BindGroupEntry {
                binding: 2,
                resource: wgpu::BindingResource::Sampler(&sampler),
            },
            raw_wgpu::buffer_binding(3, &out),
            wgpu::BindGroupEntry {
                binding: 4,
                resource: wgpu::BindingResource::Sampler(&nearest),
            },
            raw_wgpu::buffer_binding(5, &quad_storage),
        ],
    });
    let pipeline_layout = raw_wgpu::pipeline_layout(device, &layout);
    let mut sums: Vec<Vec<f32>> = Vec::new();
    for entry in [
        "from_buffer",
        "from_texture",
        "from_texels",
        "from_nearest",
        "from_quads",
        "from_shared",
        "from_bcast",
        "from_gather",
    ] {
        let pipeline = raw_wgpu::pipeline(device, &pipeline_layout, &module, entry);
        let groups = INVOCATIONS / 64;
        // The first run compiles the shader in the driver; its sums are read back.
        raw_wgpu::run_pass(device, queue, &pipeline, &bind, groups, |enc| {
            enc.copy_buffer_to_buffer(&out, 0, &readback, 0, out_bytes)
        });
        let slice = readback.slice(..);
        slice.map_async(wgpu::MapMode::Read, |_| {});
        device.poll(wgpu::PollType::wait_indefinitely()).unwrap();
        sums.push(bytemuck::cast_slice(&slice.get_mapped_range()?).to_vec());
        readback.unmap();
        let med = raw_wgpu::median_ms(|| {
            raw_wgpu::run_pass(device, queue, &pipeline, &bind, groups, |_| {})
        });
        let samples = INVOCATIONS as f64 * 64.0;
        println!(
            "{entry:>8}: {med:7.2} ms per dispatch, {:6.1} M samples of 4 channels per second",
            samples / med / 1e3
        );
    }
    // How far an entry's sums are from the storage-buffer path's.
    let from_buffer = |i: usize| {
        sums[0]
            .iter()
            .zip(&sums[i])
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max)
    };
    println!("max |buffer - texture| over the sums: {:e}", from_buffer(1));
    println!("max |buffer - quads| over the sums: {:e}", from_buffer(4));
    println!("max |buffer - shared| over the sums: {:e}", from_buffer(5));
    println!("max |buffer - gather| over the sums: {:e}", from_buffer(7));
    Ok(())
}
