//! Every kernel the engine builds (`hinas::kernels()`, the WGSL of shaders/ with its
//! `#include`s resolved by build.rs) parses and validates with naga (the same front end wgpu
//! uses), so a broken shader fails here with its name rather than at the first dispatch of some
//! op. Kernels meant for devices without subgroups are validated without the subgroup
//! capabilities (lavapipe has subgroups, so nothing else would catch one slipping in).

use hinas::gpu::{compare_layout, wgsl_layout, Field, Kernel};

#[test]
fn every_kernel_parses_and_validates() {
    let kernels = hinas::kernels();
    assert!(kernels.len() >= 10, "expected the engine's kernels");
    for k in &kernels {
        let (module, _) = k.parse().unwrap_or_else(|e| panic!("{e}"));
        assert!(
            !module.entry_points.is_empty(),
            "{} has no entry point",
            k.name
        );
    }
    // Every file in shaders/ is a kernel or included by one: none is left unvalidated.
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("shaders");
    let files: Vec<(String, String)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "wgsl"))
        .map(|p| {
            let name = p.file_stem().unwrap().to_string_lossy().to_string();
            (name, std::fs::read_to_string(&p).unwrap())
        })
        .collect();
    for (name, _) in &files {
        let included = files
            .iter()
            .any(|(_, text)| text.contains(&format!("#include \"{name}.wgsl\"")));
        assert!(
            included || kernels.iter().any(|k| k.file == name.as_str()),
            "shaders/{name}.wgsl is neither a kernel in hinas::kernels() nor included by one"
        );
    }
}

#[test]
fn kernels_without_subgroups_reject_subgroup_operations() {
    // The validation must fail, not merely the kernel be free of subgroup code today.
    let slipped = |k: &Kernel| {
        let source: &'static str = Box::leak(
            format!(
                "{}\nfn slipped_in(v: f32) -> f32 {{ return subgroupBroadcast(v, 0u); }}\n",
                k.source
            )
            .into_boxed_str(),
        );
        Kernel { source, ..*k }
    };
    let kernels = hinas::kernels();
    let plain = kernels.iter().filter(|k| !k.subgroups).count();
    assert!(plain >= 10);
    for k in kernels {
        let k = slipped(k);
        let r = k.parse();
        if k.subgroups {
            r.unwrap_or_else(|e| panic!("{e}"));
        } else {
            let e = r
                .err()
                .unwrap_or_else(|| panic!("{}: subgroup call validated", k.name));
            assert!(e.contains("does not validate"), "{e}");
        }
    }
}

#[test]
fn uniform_layout_check_catches_swapped_and_moved_fields() {
    // The check every first dispatch runs (gpu::Gpu::dispatch) against a struct with a vec and
    // padding; the op tests exercise it on the engine's own parameter blocks.
    let src = "struct P { n: u32, alpha: f32, _pad0: u32, v: vec4<f32> }
               @group(0) @binding(0) var<uniform> p: P;
               @compute @workgroup_size(1) fn main() { _ = p.n; }";
    let module = naga::front::wgsl::parse_str(src).unwrap();
    let ty = module.global_variables.iter().next().unwrap().1.ty;
    let wgsl = wgsl_layout(&module, ty);
    let f = |name, offset, size| Field { name, offset, size };
    let good = [
        f("n", 0, 4),
        f("alpha", 4, 4),
        f("_pad", 8, 8),
        f("v", 16, 16),
    ];
    assert_eq!(compare_layout(&good, 32, &wgsl), Ok(()));
    let swapped = [
        f("alpha", 0, 4),
        f("n", 4, 4),
        f("_pad", 8, 8),
        f("v", 16, 16),
    ];
    assert!(compare_layout(&swapped, 32, &wgsl).is_err());
    let moved = [f("n", 0, 4), f("alpha", 4, 4), f("v", 8, 16)];
    assert!(compare_layout(&moved, 32, &wgsl).is_err());
    let short = [f("n", 0, 4), f("alpha", 4, 4)];
    assert!(compare_layout(&short, 16, &wgsl).is_err());
}
