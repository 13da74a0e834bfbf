//! Reads back an ONNX file written by `hinas export` (a tiny protobuf decoder for the fields
//! the exporter writes) and runs its graph node by node with hinas' own ops.

use hinas::data::HostBatch;
use hinas::gpu::{Gpu, Tensor};
use hinas::ops::batchnorm::{batch_norm_raw, BnRunning, EPS};
use hinas::ops::concat::{concat_raw, split_raw};
use hinas::ops::conv2d::{conv2d_raw, Conv2dCfg};
use hinas::ops::deform_conv::{deform_conv2d_raw, DeformCfg};
use hinas::ops::elementwise::{add_raw, leaky_relu_raw, sigmoid_raw, sub_raw};
use std::collections::HashMap;
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
pub enum Attr {
    F(f32),
    I(i64),
    Is(Vec<i64>),
}

pub struct Node {
    pub op: String,
    pub inputs: Vec<String>,
    pub outputs: Vec<String>,
    pub attrs: HashMap<String, Attr>,
}

impl Node {
    pub fn ints(&self, k: &str) -> Vec<i64> {
        match &self.attrs[k] {
            Attr::Is(v) => v.clone(),
            a => panic!("{k}: {a:?}"),
        }
    }
    pub fn int(&self, k: &str) -> i64 {
        match self.attrs[k] {
            Attr::I(v) => v,
            ref a => panic!("{k}: {a:?}"),
        }
    }
}

pub struct Init {
    pub dims: Vec<usize>,
    pub data_type: i64,
    pub raw: Vec<u8>,
}

pub struct Onnx {
    pub ir_version: i64,
    pub opsets: Vec<(String, i64)>,
    pub nodes: Vec<Node>,
    pub inits: Vec<(String, Init)>,
    /// (name, dims as text: a number or a symbol)
    pub inputs: Vec<(String, Vec<String>)>,
    pub outputs: Vec<(String, Vec<String>)>,
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

pub fn decode(b: &[u8]) -> Onnx {
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

/// Runs the decoded graph with hinas' ops; returns the `denoised` output.
pub fn interpret(m: &Onnx, gpu: &Gpu, x: &HostBatch) -> Vec<f32> {
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
