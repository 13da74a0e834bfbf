//! The graph builder that the layers' `export` methods write into. Each layer's `export` sits
//! right under its `forward` and emits the same computation in the same order (eval mode: BN
//! with its running statistics), so a value is a tensor name here where it is a `Var` there.

use super::proto::{Attribute, Dim, GraphProto, NodeProto, TensorData, TensorProto, ValueInfo};
use crate::checkpoint::HostTensor;
use crate::nn::params::ParamId;
use std::collections::HashSet;

pub struct OnnxGraph<'a> {
    /// Host copies of the store's parameters, indexed by [`ParamId`].
    params: &'a [HostTensor],
    nodes: Vec<NodeProto>,
    initializers: Vec<TensorProto>,
    names: HashSet<String>,
}

impl<'a> OnnxGraph<'a> {
    pub fn new(params: &'a [HostTensor]) -> Self {
        OnnxGraph {
            params,
            nodes: Vec::new(),
            initializers: Vec::new(),
            names: HashSet::new(),
        }
    }

    /// A parameter as an initializer named as in the model file (added on first use).
    pub fn param(&mut self, id: ParamId) -> String {
        let (name, shape, data) = &self.params[id.0];
        if self.names.insert(name.clone()) {
            self.initializers.push(TensorProto {
                name: name.clone(),
                dims: shape.iter().map(|&d| d as i64).collect(),
                data: TensorData::F32(data.clone()),
            });
        }
        name.clone()
    }

    pub fn param_shape(&self, id: ParamId) -> &[usize] {
        &self.params[id.0].1
    }

    /// A constant initializer, shared by name (the first definition wins).
    pub fn constant(&mut self, name: &str, dims: &[usize], data: TensorData) -> String {
        debug_assert_eq!(dims.iter().product::<usize>(), data.len());
        if self.names.insert(name.to_string()) {
            self.initializers.push(TensorProto {
                name: name.to_string(),
                dims: dims.iter().map(|&d| d as i64).collect(),
                data,
            });
        }
        name.to_string()
    }

    /// Appends a node with `outputs` results, named `<op_type>_<node index>[:k]`.
    pub fn node_n(
        &mut self,
        op_type: &str,
        inputs: &[&str],
        attributes: Vec<Attribute>,
        outputs: usize,
    ) -> Vec<String> {
        let name = format!("{op_type}_{}", self.nodes.len());
        let outs: Vec<String> = match outputs {
            1 => vec![name.clone()],
            n => (0..n).map(|k| format!("{name}:{k}")).collect(),
        };
        self.nodes.push(NodeProto {
            name,
            op_type: op_type.to_string(),
            inputs: inputs.iter().map(|s| s.to_string()).collect(),
            outputs: outs.clone(),
            attributes,
        });
        outs
    }

    /// Appends a node with one result and returns its name.
    pub fn node(&mut self, op_type: &str, inputs: &[&str], attributes: Vec<Attribute>) -> String {
        self.node_n(op_type, inputs, attributes, 1).remove(0)
    }

    /// The finished graph: `output_value` is renamed to the graph output's name.
    pub fn finish(
        mut self,
        name: &str,
        input: ValueInfo,
        output_value: &str,
        output: ValueInfo,
    ) -> GraphProto {
        for n in &mut self.nodes {
            for v in n.inputs.iter_mut().chain(n.outputs.iter_mut()) {
                if v == output_value {
                    v.clone_from(&output.name);
                }
            }
        }
        GraphProto {
            name: name.to_string(),
            nodes: self.nodes,
            initializers: self.initializers,
            inputs: vec![input],
            outputs: vec![output],
        }
    }
}

/// The attributes ONNX's Conv and DeformConv share (square kernels, symmetric padding).
pub fn conv_attrs(
    k: usize,
    stride: usize,
    pad: usize,
    dilation: usize,
    groups: usize,
) -> Vec<Attribute> {
    let (k, s, p, d) = (k as i64, stride as i64, pad as i64, dilation as i64);
    vec![
        Attribute::ints("dilations", &[d, d]),
        Attribute::int("group", groups as i64),
        Attribute::ints("kernel_shape", &[k, k]),
        Attribute::ints("pads", &[p, p, p, p]),
        Attribute::ints("strides", &[s, s]),
    ]
}

/// `[N, C, H, W]` with symbolic N, H and W.
pub fn image_value(name: &str, channels: usize) -> ValueInfo {
    ValueInfo {
        name: name.to_string(),
        dims: vec![
            Dim::Param("N".into()),
            Dim::Value(channels as i64),
            Dim::Param("H".into()),
            Dim::Param("W".into()),
        ],
    }
}
