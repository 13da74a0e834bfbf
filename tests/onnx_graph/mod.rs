//! Reads back an ONNX file written by `hinas export` (prost's types of the official onnx.proto)
//! and runs its graph node by node with hinas' own ops.

use hinas::data::HostBatch;
use hinas::gpu::{Gpu, Tensor};
use hinas::onnx::pb;
use hinas::ops::batchnorm::{batch_norm_raw, BnRunning, EPS};
use hinas::ops::concat::{concat_raw, split_raw};
use hinas::ops::conv2d::{conv2d_raw, Conv2dCfg};
use hinas::ops::deform_conv::{deform_conv2d_raw, DeformCfg};
use hinas::ops::elementwise::{add_raw, leaky_relu_raw, sigmoid_raw, sub_raw};
use prost::Message;
use std::collections::HashMap;
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

fn value_info(v: &pb::ValueInfoProto) -> (String, Vec<String>) {
    use pb::tensor_shape_proto::dimension::Value;
    let Some(pb::type_proto::Value::TensorType(t)) =
        v.r#type.as_ref().and_then(|t| t.value.clone())
    else {
        panic!("{:?} is not a tensor", v.name)
    };
    assert_eq!(t.elem_type, Some(1), "elem_type FLOAT");
    let dims = t
        .shape
        .expect("a shape")
        .dim
        .iter()
        .map(|d| match d.value.as_ref().expect("a dimension") {
            Value::DimValue(v) => v.to_string(),
            Value::DimParam(p) => p.clone(),
        })
        .collect();
    (v.name().to_string(), dims)
}

/// Decodes an ONNX file with the prost types generated from the official onnx.proto.
pub fn decode(b: &[u8]) -> Onnx {
    let m = pb::ModelProto::decode(b).expect("a valid ModelProto");
    let g = m.graph.clone().expect("a graph");
    Onnx {
        ir_version: m.ir_version(),
        opsets: m
            .opset_import
            .iter()
            .map(|o| (o.domain().to_string(), o.version()))
            .collect(),
        nodes: g.node.iter().map(node).collect(),
        inits: g.initializer.iter().map(initializer).collect(),
        inputs: g.input.iter().map(value_info).collect(),
        outputs: g.output.iter().map(value_info).collect(),
    }
}

fn node(n: &pb::NodeProto) -> Node {
    use pb::attribute_proto::AttributeType;
    let attrs = n
        .attribute
        .iter()
        .map(|a| {
            let v = match a.r#type() {
                AttributeType::Float => Attr::F(a.f()),
                AttributeType::Int => Attr::I(a.i()),
                AttributeType::Ints => Attr::Is(a.ints.clone()),
                t => panic!("attribute {} of unexpected type {t:?}", a.name()),
            };
            (a.name().to_string(), v)
        })
        .collect();
    Node {
        op: n.op_type().to_string(),
        inputs: n.input.clone(),
        outputs: n.output.clone(),
        attrs,
    }
}

fn initializer(t: &pb::TensorProto) -> (String, Init) {
    (
        t.name().to_string(),
        Init {
            dims: t.dims.iter().map(|&d| d as usize).collect(),
            data_type: t.data_type() as i64,
            raw: t.raw_data().to_vec(),
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
