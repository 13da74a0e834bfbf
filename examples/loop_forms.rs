//! Probe: does a reduction written out as straight code (no loop, no `if`) run faster on
//! lavapipe than the same work inside a loop? Inside any loop or branch lavapipe blends every
//! store to a variable with the execution mask; straight code has no mask to blend with.
//! Each kernel: 8-lane workgroups, per lane 4 source loads per step handed round by
//! subgroupBroadcast and 16 vec4 accumulators x 2 products per step (a gather64-like body at a
//! quarter of its accumulators), `STEPS` steps.
//!
//!     cargo run --release --example loop_forms [STEPS]   (default 72: 8 channels x 9 taps)

use hinas::gpu::Gpu;
use wgpu::util::DeviceExt;
#[path = "support/raw_wgpu.rs"]
#[allow(dead_code)]
mod raw_wgpu;

const GROUPS: u32 = 8192;
const ACC: u32 = 16;

fn body(step: &str) -> String {
    let mut s = String::new();
    s += &format!("  {{ let i = {step};\n");
    s += "    let w0 = wt[(i * 2u) & 1023u]; let w1 = wt[(i * 2u + 1u) & 1023u];\n";
    for j in 0..4 {
        s += &format!("    let x{j} = xs[(base + i * 97u + {j}u * 8u) & mask];\n");
    }
    for a in 0..ACC {
        let (j, l) = (a / 8, a % 8);
        s += &format!(
            "    {{ let v = subgroupBroadcast(x{j}, {l}u); let t = subgroupBroadcast(x{}, {l}u); acc{a} += w0 * v; acc{a} += w1 * t; }}\n",
            j + 2
        );
    }
    s += "  }\n";
    s
}

fn shader(steps: u32) -> String {
    let mut s = String::from(
        "struct P { steps: u32, _a: u32, _b: u32, _c: u32 }\n\
         @group(0) @binding(0) var<storage, read> xs: array<f32>;\n\
         @group(0) @binding(1) var<storage, read> wt: array<vec4<f32>>;\n\
         @group(0) @binding(2) var<uniform> p: P;\n\
         @group(0) @binding(3) var<storage, read_write> out: array<vec4<f32>>;\n",
    );
    let const_loop = format!("  for (var s = 0u; s < {steps}u; s++) {{\n");
    for (entry, head, tail) in [
        (
            "looped",
            "  for (var s = 0u; s < p.steps; s++) {\n",
            "  }\n",
        ),
        ("looped_const", const_loop.as_str(), "  }\n"),
        ("straight", "", ""),
    ] {
        s += &format!(
            "@compute @workgroup_size(8)\nfn {entry}(@builtin(global_invocation_id) g: vec3<u32>, @builtin(subgroup_invocation_id) sid: u32) {{\n"
        );
        s += "  let mask = arrayLength(&xs) - 1u;\n  let base = g.x * 32u + sid;\n";
        for a in 0..ACC {
            s += &format!("  var acc{a} = vec4<f32>(0.0);\n");
        }
        s += head;
        if head.is_empty() {
            for step in 0..steps {
                s += &body(&format!("{step}u"));
            }
        } else {
            s += &body("s");
        }
        s += tail;
        s += "  var t = vec4<f32>(0.0);\n";
        for a in 0..ACC {
            s += &format!("  t += acc{a};\n");
        }
        s += "  out[g.x] = t;\n}\n";
    }
    s
}

fn main() -> anyhow::Result<()> {
    let steps: u32 = std::env::args().nth(1).map_or(Ok(72), |a| a.parse())?;
    let gpu = Gpu::open()?;
    println!("{}", gpu.adapter_line());
    let (device, queue) = (gpu.device(), gpu.queue());
    let xs: Vec<f32> = (0..1u32 << 20).map(|i| (i % 97) as f32 * 0.01).collect();
    let wt: Vec<f32> = (0..4096u32).map(|i| (i % 13) as f32 * 0.1).collect();
    let mk = |label, bytes: &[u8], usage| {
        device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some(label),
            contents: bytes,
            usage,
        })
    };
    let xs_b = mk("xs", bytemuck::cast_slice(&xs), wgpu::BufferUsages::STORAGE);
    let wt_b = mk("wt", bytemuck::cast_slice(&wt), wgpu::BufferUsages::STORAGE);
    let p_b = mk(
        "p",
        bytemuck::cast_slice(&[steps, 0, 0, 0]),
        wgpu::BufferUsages::UNIFORM,
    );
    let out = device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("out"),
        size: GROUPS as u64 * 8 * 16,
        usage: wgpu::BufferUsages::STORAGE,
        mapped_at_creation: false,
    });
    let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some("loop_forms"),
        source: wgpu::ShaderSource::Wgsl(shader(steps).into()),
    });
    let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
        label: None,
        entries: &[
            raw_wgpu::storage_entry(0, true),
            raw_wgpu::storage_entry(1, true),
            raw_wgpu::buffer_entry(2, wgpu::BufferBindingType::Uniform),
            raw_wgpu::storage_entry(3, false),
        ],
    });
    let bind = device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: None,
        layout: &layout,
        entries: &[
            raw_wgpu::buffer_binding(0, &xs_b),
            raw_wgpu::buffer_binding(1, &wt_b),
            raw_wgpu::buffer_binding(2, &p_b),
            raw_wgpu::buffer_binding(3, &out),
        ],
    });
    let pipeline_layout = raw_wgpu::pipeline_layout(device, &layout);
    let names = ["looped", "looped_const", "straight"];
    let pipes: Vec<_> = names
        .iter()
        .map(|e| {
            let t = std::time::Instant::now();
            let pl = raw_wgpu::pipeline(device, &pipeline_layout, &module, e);
            raw_wgpu::run_pass(device, queue, &pl, &bind, GROUPS, |_| {});
            println!(
                "{e}: first dispatch (compile) {:.0} ms",
                t.elapsed().as_secs_f64() * 1e3
            );
            pl
        })
        .collect();
    for round in 0..3 {
        for (e, pl) in names.iter().zip(&pipes) {
            let med = raw_wgpu::median_ms(|| {
                raw_wgpu::run_pass(device, queue, pl, &bind, GROUPS, |_| {})
            });
            let fmas = GROUPS as f64 * 8.0 * steps as f64 * ACC as f64 * 2.0 * 4.0;
            println!(
                "round {round} {e:>13}: {med:7.2} ms, {:6.2} GFLOP/s",
                2.0 * fmas / med / 1e6
            );
        }
    }
    Ok(())
}
