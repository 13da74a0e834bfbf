//! Every WGSL file in shaders/ parses and validates with naga (the same front end wgpu uses), so
//! a broken shader fails here with its name rather than at the first dispatch of some op.

#[test]
fn every_shader_parses_and_validates() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("shaders");
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "wgsl"))
        .collect();
    names.sort();
    assert!(
        names.len() >= 10,
        "expected the engine's shaders, found {}",
        names.len()
    );
    // A fragment whose first line reads "// Appended to X.wgsl ..." is validated as X + fragment;
    // X itself is then only validated through its fragments.
    let base_of = |p: &std::path::Path| -> Option<String> {
        let first = std::fs::read_to_string(p).ok()?.lines().next()?.to_string();
        let rest = first.strip_prefix("// Appended to ")?;
        Some(
            rest.split_whitespace()
                .next()?
                .trim_end_matches([',', ':', '.'])
                .to_string()
                + if rest.contains(".wgsl") { "" } else { ".wgsl" },
        )
    };
    let bases: Vec<String> = names.iter().filter_map(|p| base_of(p)).collect();
    for path in names {
        let file = path.file_name().unwrap().to_string_lossy().to_string();
        if bases.contains(&file) {
            continue;
        }
        let mut src = std::fs::read_to_string(&path).unwrap();
        if let Some(base) = base_of(&path) {
            src = std::fs::read_to_string(dir.join(&base))
                .unwrap_or_else(|_| panic!("{file}: base {base} missing"))
                + &src;
        }
        let module = naga::front::wgsl::parse_str(&src)
            .unwrap_or_else(|e| panic!("{}: {}", path.display(), e.emit_to_string(&src)));
        naga::valid::Validator::new(
            naga::valid::ValidationFlags::all(),
            naga::valid::Capabilities::all(),
        )
        .validate(&module)
        .unwrap_or_else(|e| panic!("{} does not validate: {e:?}", path.display()));
        assert!(
            !module.entry_points.is_empty(),
            "{} has no entry point",
            path.display()
        );
    }
}
