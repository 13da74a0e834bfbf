//! `hinas export`: a derived network with deformable, separable, dilated, plain and skip edges
//! and non-trivial BN statistics goes through the CLI to an ONNX file, which is then
//! (1) decoded here and checked structurally (opset, input/output, topological order, every
//!     parameter an initializer, DeformConv attributes),
//! (2) executed here node by node with hinas' own ops and compared with the model's forward, so
//!     the graph cannot drift from `forward` even where Python is absent, and
//! (3) run in ONNX Runtime by tools/onnx_check.py (`$HINAS_PYTHON`, default python3), which checks
//!     ONNX's own op semantics (DeformConv's offset layout, BatchNormalization); skipped with a
//!     message when Python or onnxruntime is missing.

use hinas::checkpoint;
use hinas::data::HostBatch;
use hinas::gpu::{Gpu, Tensor};
use hinas::nn::cell::Edge;
use hinas::nn::genotype::Genotype;
use hinas::ops::batchnorm::{batch_norm_raw, BnRunning, EPS};
use hinas::ops::concat::{concat_raw, split_raw};
use hinas::ops::conv2d::{conv2d_raw, Conv2dCfg};
use hinas::ops::deform_conv::{deform_conv2d_raw, DeformCfg};
use hinas::ops::elementwise::{add_raw, leaky_relu_raw, sigmoid_raw, sub_raw};
use hinas::train::config::TrainConfig;
use hinas::train::model::{retrain_genotype, Model};
use rand::Rng;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

mod common;
use common::cli::*;
use common::{gpu, rng, Rng64};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

// ---------------------------------------------------------------------------------------------
// A model with every op kind and random (non-trivial) BN statistics and offset predictors.

fn edge(op: &str, input: usize) -> Edge {
    Edge {
        op: op.into(),
        input,
    }
}

/// Grey: ReLU, path [0, 1, 0] (the decoder's low branch reads cell 0). Colour: LeakyReLU(0.2),
/// path [1, 1, 1] (the low branch is the reduce conv).
fn genotype(cfg: &TrainConfig, colour: bool) -> Genotype {
    let mut g = Genotype::load(&root().join("tests/configs/micro_genotype.json")).unwrap();
    g.cells = vec![
        vec![
            edge("def_c_3x3", 0),
            edge("sep_c_3x3", 1),
            edge("dil_c_3x3", 0),
            edge("skip_connect", 2),
        ],
        vec![
            edge("con_c_3x3", 1),
            edge("sep_c_5x5", 0),
            edge("dil_c_5x5", 2),
            edge("def_c_3x3", 1),
        ],
        vec![
            edge("skip_connect", 1),
            edge("def_c_3x3", 0),
            edge("sep_c_3x3", 2),
            edge("skip_connect", 0),
        ],
    ];
    g.path = if colour { vec![1, 1, 1] } else { vec![0, 1, 0] };
    g.space.leaky_slope = if colour { 0.2 } else { 0.0 };
    g.validate().unwrap();
    retrain_genotype(&g, cfg)
}

/// Writes the model file; BN statistics, affine parameters and the (zero-initialised) offset
/// predictors get random values so nothing is trivially 0/1 and deformable samples are fractional.
fn make_model(gpu: &Gpu, path: &Path, colour: bool) {
    let mut cfg =
        TrainConfig::resolve("tiny", Some(&root().join("tests/configs/train_micro.toml"))).unwrap();
    if colour {
        cfg.net.channels = 3;
    }
    let m = Model::new(gpu, &genotype(&cfg, colour), &cfg).unwrap();
    let mut r = rng(7 + colour as u64);
    for p in &m.store.params {
        let n = p.value.numel();
        let mut u =
            |lo: f32, hi: f32| -> Vec<f32> { (0..n).map(|_| r.random_range(lo..hi)).collect() };
        let data = if p.name.ends_with(".running_mean") {
            u(-0.3, 0.3)
        } else if p.name.ends_with(".running_var") {
            u(0.4, 2.0)
        } else if p.name.ends_with(".gamma") {
            u(0.5, 1.5)
        } else if p.name.ends_with(".beta_bn") {
            u(-0.2, 0.2)
        } else if p.name.contains(".offset.") {
            let fan_in = (n / p.value.shape()[0]).max(1) as f32;
            let b = 2.0 / fan_in.sqrt();
            u(-b, b)
        } else {
            continue;
        };
        p.value.write(&data);
    }
    m.save(path, &[]).unwrap();
}

// ---------------------------------------------------------------------------------------------
// A tiny protobuf decoder for the fields the exporter writes.

enum Field<'a> {
    Int(u64),
    Bytes(&'a [u8]),
    F32(f32),
}

fn varint(b: &mut &[u8]) -> u64 {
    let (mut v, mut shift) = (0u64, 0);
    loop {
        let byte = b[0];
        *b = &b[1..];
        v |= ((byte & 0x7f) as u64) << shift;
        if byte < 0x80 {
            return v;
        }
        shift += 7;
    }
}

fn fields(mut b: &[u8]) -> Vec<(u32, Field<'_>)> {
    let mut out = Vec::new();
    while !b.is_empty() {
        let key = varint(&mut b);
        let f = match key & 7 {
            0 => Field::Int(varint(&mut b)),
            2 => {
                let n = varint(&mut b) as usize;
                let (head, rest) = b.split_at(n);
                b = rest;
                Field::Bytes(head)
            }
            5 => {
                let v = f32::from_le_bytes(b[..4].try_into().unwrap());
                b = &b[4..];
                Field::F32(v)
            }
            w => panic!("unexpected wire type {w}"),
        };
        out.push(((key >> 3) as u32, f));
    }
    out
}

fn text(f: &Field) -> String {
    match f {
        Field::Bytes(b) => String::from_utf8(b.to_vec()).unwrap(),
        _ => panic!("expected a string"),
    }
}

fn int(f: &Field) -> i64 {
    match f {
        Field::Int(v) => *v as i64,
        _ => panic!("expected a varint"),
    }
}

fn bytes<'a>(f: &Field<'a>) -> &'a [u8] {
    match f {
        Field::Bytes(b) => b,
        _ => panic!("expected bytes"),
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Attr {
    F(f32),
    I(i64),
    Is(Vec<i64>),
}

struct Node {
    op: String,
    inputs: Vec<String>,
    outputs: Vec<String>,
    attrs: HashMap<String, Attr>,
}

impl Node {
    fn ints(&self, k: &str) -> Vec<i64> {
        match &self.attrs[k] {
            Attr::Is(v) => v.clone(),
            a => panic!("{k}: {a:?}"),
        }
    }
    fn int(&self, k: &str) -> i64 {
        match self.attrs[k] {
            Attr::I(v) => v,
            ref a => panic!("{k}: {a:?}"),
        }
    }
}

struct Init {
    dims: Vec<usize>,
    data_type: i64,
    raw: Vec<u8>,
}

struct Onnx {
    ir_version: i64,
    opsets: Vec<(String, i64)>,
    nodes: Vec<Node>,
    inits: Vec<(String, Init)>,
    /// (name, dims as text: a number or a symbol)
    inputs: Vec<(String, Vec<String>)>,
    outputs: Vec<(String, Vec<String>)>,
}

fn value_info(b: &[u8]) -> (String, Vec<String>) {
    let mut name = String::new();
    let mut dims = Vec::new();
    for (k, f) in fields(b) {
        match k {
            1 => name = text(&f),
            2 => {
                let (_, tensor) = fields(bytes(&f))
                    .into_iter()
                    .find(|(k, _)| *k == 1)
                    .unwrap();
                for (k, f) in fields(bytes(&tensor)) {
                    if k == 1 {
                        assert_eq!(int(&f), 1, "elem_type FLOAT");
                    } else if k == 2 {
                        for (_, d) in fields(bytes(&f)) {
                            let (k, v) = fields(bytes(&d)).into_iter().next().unwrap();
                            dims.push(if k == 1 {
                                int(&v).to_string()
                            } else {
                                text(&v)
                            });
                        }
                    }
                }
            }
            _ => {}
        }
    }
    (name, dims)
}

fn decode(b: &[u8]) -> Onnx {
    let mut m = Onnx {
        ir_version: 0,
        opsets: vec![],
        nodes: vec![],
        inits: vec![],
        inputs: vec![],
        outputs: vec![],
    };
    for (k, f) in fields(b) {
        match k {
            1 => m.ir_version = int(&f),
            8 => {
                let fs = fields(bytes(&f));
                let dom = fs
                    .iter()
                    .find(|(k, _)| *k == 1)
                    .map(|(_, f)| text(f))
                    .unwrap_or_default();
                let ver = fs
                    .iter()
                    .find(|(k, _)| *k == 2)
                    .map(|(_, f)| int(f))
                    .unwrap();
                m.opsets.push((dom, ver));
            }
            7 => {
                for (k, f) in fields(bytes(&f)) {
                    match k {
                        1 => m.nodes.push(node(bytes(&f))),
                        5 => m.inits.push(initializer(bytes(&f))),
                        11 => m.inputs.push(value_info(bytes(&f))),
                        12 => m.outputs.push(value_info(bytes(&f))),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    m
}

fn node(b: &[u8]) -> Node {
    let mut n = Node {
        op: String::new(),
        inputs: vec![],
        outputs: vec![],
        attrs: HashMap::new(),
    };
    for (k, f) in fields(b) {
        match k {
            1 => n.inputs.push(text(&f)),
            2 => n.outputs.push(text(&f)),
            4 => n.op = text(&f),
            5 => {
                let (mut name, mut val, mut ints) = (String::new(), None, vec![]);
                for (k, f) in fields(bytes(&f)) {
                    match (k, &f) {
                        (1, _) => name = text(&f),
                        (2, Field::F32(v)) => val = Some(Attr::F(*v)),
                        (3, _) => val = Some(Attr::I(int(&f))),
                        (8, _) => ints.push(int(&f)),
                        _ => {}
                    }
                }
                n.attrs.insert(name, val.unwrap_or(Attr::Is(ints)));
            }
            _ => {}
        }
    }
    n
}

fn initializer(b: &[u8]) -> (String, Init) {
    let (mut name, mut dims, mut data_type, mut raw) = (String::new(), vec![], 0, vec![]);
    for (k, f) in fields(b) {
        match k {
            1 => dims.push(int(&f) as usize),
            2 => data_type = int(&f),
            8 => name = text(&f),
            9 => raw = bytes(&f).to_vec(),
            _ => {}
        }
    }
    (
        name,
        Init {
            dims,
            data_type,
            raw,
        },
    )
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
// Runs the decoded graph with hinas' ops.

fn interpret(m: &Onnx, gpu: &Gpu, x: &HostBatch) -> Vec<f32> {
    let mut vals: HashMap<String, Tensor> = HashMap::new();
    let mut ints: HashMap<String, Vec<i64>> = HashMap::new();
    for (name, init) in &m.inits {
        if init.data_type == 7 {
            let v = init
                .raw
                .chunks_exact(8)
                .map(|c| i64::from_le_bytes(c.try_into().unwrap()));
            ints.insert(name.clone(), v.collect());
        } else {
            let v: Vec<f32> = init
                .raw
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
                .collect();
            vals.insert(name.clone(), Tensor::from_slice(gpu, &init.dims, &v));
        }
    }
    vals.insert("noisy".into(), Tensor::from_slice(gpu, &x.shape, &x.data));
    for n in &m.nodes {
        let get = |i: usize| vals[&n.inputs[i]].clone();
        let one = |p: &str| -> usize {
            let v = n.ints(p);
            assert!(v.iter().all(|&e| e == v[0]), "{p} not uniform: {v:?}");
            v[0] as usize
        };
        let outs: Vec<Tensor> = match n.op.as_str() {
            "Conv" => {
                let cfg = Conv2dCfg::new(
                    one("strides"),
                    one("pads"),
                    one("dilations"),
                    n.int("group") as usize,
                );
                let w = get(1);
                assert_eq!(
                    n.ints("kernel_shape"),
                    [w.shape()[2] as i64, w.shape()[3] as i64]
                );
                let b = (n.inputs.len() > 2).then(|| get(2));
                vec![conv2d_raw(&get(0), &w, b.as_ref(), cfg)]
            }
            "BatchNormalization" => {
                assert_eq!(n.attrs["epsilon"], Attr::F(EPS));
                let running = BnRunning {
                    mean: get(3),
                    var: get(4),
                };
                vec![batch_norm_raw(&get(0), Some((&get(1), &get(2))), &running, false).0]
            }
            "Relu" => vec![leaky_relu_raw(&get(0), 0.0)],
            "LeakyRelu" => match n.attrs["alpha"] {
                Attr::F(a) => vec![leaky_relu_raw(&get(0), a)],
                ref a => panic!("alpha {a:?}"),
            },
            "Sigmoid" => vec![sigmoid_raw(&get(0))],
            "Add" => vec![add_raw(&get(0), &get(1))],
            "Sub" => vec![sub_raw(&get(0), &get(1))],
            "Concat" => {
                assert_eq!(n.int("axis"), 1);
                let xs: Vec<Tensor> = (0..n.inputs.len()).map(get).collect();
                vec![concat_raw(&xs.iter().collect::<Vec<_>>())]
            }
            "Split" => {
                assert_eq!(n.int("axis"), 1);
                let sizes: Vec<usize> = ints[&n.inputs[1]].iter().map(|&s| s as usize).collect();
                assert_eq!(sizes.len(), n.outputs.len());
                split_raw(&get(0), &sizes)
            }
            "DeformConv" => {
                let cfg = DeformCfg {
                    stride: one("strides"),
                    padding: one("pads"),
                    dilation: one("dilations"),
                    groups: n.int("group") as usize,
                    offset_groups: n.int("offset_group") as usize,
                };
                let b = (!n.inputs[3].is_empty()).then(|| get(3));
                let mask = get(4);
                vec![deform_conv2d_raw(
                    &get(0),
                    &get(2),
                    Some(&mask),
                    &get(1),
                    b.as_ref(),
                    cfg,
                )]
            }
            op => panic!("no interpreter for {op}"),
        };
        for (name, t) in n.outputs.iter().zip(outs) {
            vals.insert(name.clone(), t);
        }
    }
    vals["denoised"].to_vec()
}

// ---------------------------------------------------------------------------------------------
// ONNX Runtime, through tools/onnx_check.py.

fn onnx_runtime_check(onnx: &Path, case: &Path) {
    let py = std::env::var("HINAS_PYTHON").unwrap_or_else(|_| "python3".into());
    let out = std::process::Command::new(&py)
        .arg(root().join("tools/onnx_check.py"))
        .arg(onnx)
        .arg(case)
        .output();
    let o = match out {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            eprintln!("skipped: ONNX Runtime check ({py} not found; set HINAS_PYTHON)");
            return;
        }
        Err(e) => panic!("cannot run {py}: {e}"),
        Ok(o) => o,
    };
    let stdout = String::from_utf8_lossy(&o.stdout);
    match o.status.code() {
        Some(0) => eprintln!("{}", stdout.trim()),
        Some(77) => eprintln!("skipped: ONNX Runtime check: {}", stdout.trim()),
        c => panic!("onnx_check.py exited with {c:?}:\n{stdout}\n{}", stderr(&o)),
    }
}

fn export_and_check(name: &str, colour: bool, shape: [usize; 4], seed: u64) {
    let gpu = gpu();
    let dir = scratch(name);
    std::fs::create_dir_all(&dir).unwrap();
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
    let dir = scratch("errors");
    std::fs::create_dir_all(&dir).unwrap();
    let export = |model: &Path, onnx: &Path| {
        hinas()
            .args(["export", "--model"])
            .arg(model)
            .arg("--onnx")
            .arg(onnx)
            .output()
            .unwrap()
    };
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
    assert_one_line_error(&export(&model, &model), "is the model itself");
    assert!(!out.exists());
    assert!(
        hinas::train::model::ModelFile::read(&model).is_ok(),
        "the model is intact"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
