//! `hinas export`: a derived network with deformable, separable, dilated, plain and skip edges
//! and non-trivial BN statistics goes through the CLI to an ONNX file, which is then
//! (1) decoded here and checked structurally (opset, input/output, topological order, every
//!     parameter an initializer, DeformConv attributes),
//! (2) executed here node by node with hinas' own ops and compared with the model's forward, so
//!     the graph cannot drift from `forward` even where Python is absent, and
//! (3) run in ONNX Runtime by tools/onnx_check.py (`$HINAS_PYTHON`, default python3), which checks
//!     ONNX's own op semantics (DeformConv's offset layout, BatchNormalization); skipped with a
//!     printed line when Python or onnxruntime is missing, except under CI=true (.ci/run makes
//!     a virtual environment with onnxruntime), where a missing runtime fails the test.

use hinas::checkpoint;
use hinas::data::HostBatch;
use hinas::gpu::Gpu;
use hinas::nn::genotype::Genotype;
use hinas::train::config::TrainConfig;
use hinas::train::model::{retrain_genotype, Model};
use rand::Rng;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

mod common;
use common::cli::*;
use common::models::{every_op_cells, micro_setup, randomise};
use common::{gpu, rng, Rng64};
mod onnx_graph;
use onnx_graph::{decode, interpret, Init, Onnx};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

// ---------------------------------------------------------------------------------------------
// A model with every op kind and random (non-trivial) BN statistics and offset predictors.

/// Grey: ReLU, path [0, 1, 1] (the decoder's low branch reads cell 0). Colour: LeakyReLU(0.2),
/// path [1, 1, 1] (the low branch is the reduce conv).
fn genotype(cfg: &TrainConfig, g: Genotype, colour: bool) -> Genotype {
    let mut g = Genotype {
        cells: every_op_cells(),
        path: if colour { vec![1, 1, 1] } else { vec![0, 1, 1] },
        ..g
    };
    g.space.leaky_slope = if colour { 0.2 } else { 0.0 };
    g.validate().unwrap();
    retrain_genotype(&g, cfg)
}

/// Writes the model file, with random BN statistics, affine parameters and offset predictors.
fn make_model(gpu: &Gpu, path: &Path, colour: bool) {
    let (mut cfg, g) = micro_setup();
    if colour {
        cfg.net.channels = 3;
    }
    let m = Model::new(gpu, &genotype(&cfg, g, colour), &cfg).unwrap();
    randomise(&m, 7 + colour as u64, 2.0);
    m.save(path, &[]).unwrap();
}

// ---------------------------------------------------------------------------------------------
// Structural checks.

fn check_structure(m: &Onnx, model_file: &Path, channels: usize) {
    assert_eq!(m.ir_version, 9);
    assert_eq!(m.opsets, vec![(String::new(), 19)]);
    let c = channels.to_string();
    let dims = vec!["N".to_string(), c, "H".into(), "W".into()];
    assert_eq!(m.inputs, vec![("noisy".to_string(), dims.clone())]);
    assert_eq!(m.outputs, vec![("denoised".to_string(), dims)]);

    // Every model tensor is an initializer under its own name, with its shape; the rest are
    // named constants.
    let (tensors, _) = checkpoint::load(model_file).unwrap();
    let by_name: HashMap<&str, &Init> = m.inits.iter().map(|(n, i)| (n.as_str(), i)).collect();
    assert_eq!(by_name.len(), m.inits.len(), "duplicate initializer names");
    for (name, shape, data) in &tensors {
        let init = by_name
            .get(name.as_str())
            .unwrap_or_else(|| panic!("{name} not exported"));
        assert_eq!(&init.dims, shape, "{name}");
        assert_eq!(init.data_type, 1, "{name}");
        let got: Vec<f32> = init
            .raw
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
            .collect();
        assert_eq!(&got, data, "{name}");
    }
    for (name, init) in &m.inits {
        let elem = if init.data_type == 7 { 8 } else { 4 };
        assert_eq!(
            init.raw.len(),
            init.dims.iter().product::<usize>() * elem,
            "{name}"
        );
        assert!(
            name.starts_with("const.") || tensors.iter().any(|t| &t.0 == name),
            "unexpected initializer {name}"
        );
    }

    // Topological order: every input exists before it is read; names are assigned once.
    let mut known: HashSet<String> = by_name.keys().map(|s| s.to_string()).collect();
    known.insert("noisy".into());
    for n in &m.nodes {
        for i in &n.inputs {
            assert!(
                i.is_empty() || known.contains(i),
                "{} reads {i:?} before it exists",
                n.op
            );
        }
        for o in &n.outputs {
            assert!(known.insert(o.clone()), "{o} assigned twice");
        }
    }
    assert!(known.contains("denoised"));
    assert_eq!(m.nodes.last().unwrap().op, "Sub");

    let count = |op: &str| m.nodes.iter().filter(|n| n.op == op).count();
    let allowed = [
        "Conv",
        "BatchNormalization",
        "Relu",
        "LeakyRelu",
        "Add",
        "Sub",
        "Concat",
        "Split",
        "Sigmoid",
        "DeformConv",
    ];
    for n in &m.nodes {
        assert!(allowed.contains(&n.op.as_str()), "unexpected op {}", n.op);
    }
    let act = if channels == 1 { "Relu" } else { "LeakyRelu" };
    assert!(count(act) > 0 && count(act) + count("Sigmoid") + count("Split") < m.nodes.len());
    assert_eq!(
        count("Relu") + count("LeakyRelu"),
        count(act),
        "one activation kind"
    );
    // Three def_c_3x3 edges; each a DeformConv fed by Split/Sigmoid of its offset conv.
    assert_eq!(count("DeformConv"), 3);
    assert_eq!(count("Split"), 3);
    assert_eq!(count("Sigmoid"), 3);
    for n in m.nodes.iter().filter(|n| n.op == "DeformConv") {
        assert_eq!(n.inputs.len(), 5);
        assert_eq!(n.inputs[3], "", "no bias");
        assert_eq!(n.int("offset_group"), 2);
        assert_eq!(n.ints("kernel_shape"), [3, 3]);
        assert_eq!(n.ints("pads"), [1, 1, 1, 1]);
        assert_eq!(n.ints("strides"), [1, 1]);
        assert_eq!(n.ints("dilations"), [1, 1]);
        assert_eq!(n.int("group"), 1);
    }
    // Dilated edges: dil_c_3x3 (pad 2) and dil_c_5x5 (pad 4), both dilation 2.
    let dilated: Vec<Vec<i64>> = m
        .nodes
        .iter()
        .filter(|n| n.op == "Conv" && n.ints("dilations") == [2, 2])
        .map(|n| n.ints("pads"))
        .collect();
    assert_eq!(dilated, vec![vec![2; 4], vec![4; 4]]);
    // 3 cells of 2 nodes: 6 Adds; a Concat per cell and the decoder's.
    assert_eq!(count("Add"), 6);
    assert_eq!(count("Concat"), 4);
    assert_eq!(count("Sub"), 1);
}

// ---------------------------------------------------------------------------------------------
// ONNX Runtime, through tools/onnx_check.py.

/// A missing Python or onnxruntime (.ci/run provides both).
fn skip_or_fail(why: &str) {
    common::skip_unless_ci(&format!("ONNX Runtime check: {why}"));
}

fn onnx_runtime_check(onnx: &Path, case: &Path) {
    let py = std::env::var("HINAS_PYTHON").unwrap_or_else(|_| "python3".into());
    let out = std::process::Command::new(&py)
        .arg(root().join("tools/onnx_check.py"))
        .arg(onnx)
        .arg(case)
        .output();
    let o = match out {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return skip_or_fail(&format!("{py} not found; set HINAS_PYTHON"));
        }
        Err(e) => panic!("cannot run {py}: {e}"),
        Ok(o) => o,
    };
    let stdout = String::from_utf8_lossy(&o.stdout);
    match o.status.code() {
        Some(0) => eprintln!("{}", stdout.trim()),
        Some(77) => skip_or_fail(stdout.trim().trim_start_matches("skipped: ")),
        c => panic!("onnx_check.py exited with {c:?}:\n{stdout}\n{}", stderr(&o)),
    }
}

fn export_and_check(name: &str, colour: bool, shape: [usize; 4], seed: u64) {
    let gpu = gpu();
    let dir = scratch_dir(name);
    let model_path = dir.join("model.safetensors");
    make_model(&gpu, &model_path, colour);
    let onnx_path = dir.join("model.onnx");
    let o = hinas()
        .args(["export", "--model"])
        .arg(&model_path)
        .arg("--onnx")
        .arg(&onnx_path)
        .output()
        .unwrap();
    assert!(o.status.success(), "export failed: {}", stderr(&o));
    let line = String::from_utf8_lossy(&o.stdout);
    assert_eq!(line.lines().count(), 1, "{line}");
    assert!(
        line.contains(" nodes, ") && line.contains(" parameters, ") && line.contains(" bytes"),
        "{line}"
    );

    let bytes = std::fs::read(&onnx_path).unwrap();
    assert!(line.contains(&format!("{} bytes", bytes.len())), "{line}");
    let m = decode(&bytes);
    check_structure(&m, &model_path, shape[1]);

    let model = Model::load(&gpu, &model_path).unwrap();
    let mut r: Rng64 = rng(seed);
    let x = HostBatch::new(
        shape,
        (0..shape.iter().product())
            .map(|_| r.random_range(0.0..1.0f32))
            .collect(),
    );
    let ours = model.run(&x).unwrap().data;
    assert!(ours.iter().all(|v| v.is_finite()));
    let spread = ours.iter().fold(0.0f32, |a, &v| a.max((v - ours[0]).abs()));
    assert!(spread > 1e-3, "a constant output would prove nothing");
    let replayed = interpret(&m, &gpu, &x);
    let max_err = ours
        .iter()
        .zip(&replayed)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(
        max_err < 1e-5,
        "the exported graph replayed with hinas' ops differs by {max_err}"
    );

    let case = dir.join("case.safetensors");
    checkpoint::save(
        &case,
        &[
            ("input".into(), shape.to_vec(), x.data.clone()),
            ("expected".into(), shape.to_vec(), ours),
        ],
        HashMap::new(),
    )
    .unwrap();
    onnx_runtime_check(&onnx_path, &case);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn grey_model_exports_and_matches() {
    export_and_check("grey", false, [1, 1, 23, 29], 11);
}

#[test]
fn colour_model_exports_and_matches() {
    export_and_check("colour", true, [2, 3, 19, 17], 12);
}

#[test]
fn export_errors_are_one_line() {
    let dir = scratch_dir("errors");
    let export_with = |model: &Path, onnx: &Path, extra: &[&str]| {
        hinas()
            .args(["export", "--model"])
            .arg(model)
            .arg("--onnx")
            .arg(onnx)
            .args(extra)
            .output()
            .unwrap()
    };
    let export = |model: &Path, onnx: &Path| export_with(model, onnx, &[]);
    let out = dir.join("out.onnx");
    assert_one_line_error(
        &export(&dir.join("missing.safetensors"), &out),
        "does not exist",
    );
    let junk = dir.join("junk.safetensors");
    std::fs::write(&junk, b"not a model").unwrap();
    assert_one_line_error(&export(&junk, &out), "not a valid safetensors file");
    let model = dir.join("model.safetensors");
    make_model(&gpu(), &model, false);
    assert_one_line_error(
        &export(&model, &dir.join("no/such/dir/out.onnx")),
        "cannot write",
    );
    assert_one_line_error(&export(&model, &model), "already exists; use --force");
    // Not even --force replaces the model being exported.
    assert_one_line_error(
        &export_with(&model, &model, &["--force"]),
        "is the model itself",
    );
    assert!(!out.exists());
    // An existing file is never replaced without --force (here a picture, as `--onnx x.png`).
    let png = dir.join("x.png");
    std::fs::write(&png, b"a picture").unwrap();
    assert_one_line_error(&export(&model, &png), "x.png already exists; use --force");
    assert_eq!(std::fs::read(&png).unwrap(), b"a picture");
    let o = export_with(&model, &png, &["--force", "-q"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).trim(),
        png.to_str().unwrap()
    );
    assert_ne!(std::fs::read(&png).unwrap(), b"a picture");
    assert!(
        hinas::train::model::ModelFile::read(&model).is_ok(),
        "the model is intact"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
