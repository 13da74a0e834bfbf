//! The graph builder that the layers' `export` methods write into. Each layer's `export` sits
//! right under its `forward` and emits the same computation in the same order (eval mode: BN
//! with its running statistics), so a value is a tensor name here where it is a `Var` there.

use super::pb::{AttributeProto, GraphProto, NodeProto, TensorProto, ValueInfoProto};
use super::proto::{tensor, value_info, Attribute, Dim, TensorData};
use crate::checkpoint::HostTensor;
use std::collections::HashSet;

pub struct OnnxGraph<'a> {
    /// Host copies of the store's parameters, indexed by `nn::params::ParamId` (an index here,
    /// so that this module below nn does not name it).
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
    pub fn param(&mut self, id: impl Into<usize>) -> String {
        let (name, shape, data) = &self.params[id.into()];
        if self.names.insert(name.clone()) {
            let dims: Vec<i64> = shape.iter().map(|&d| d as i64).collect();
            self.initializers
                .push(tensor(name, &dims, &TensorData::F32(data.clone())));
        }
        name.clone()
    }

    pub fn param_shape(&self, id: impl Into<usize>) -> &[usize] {
        &self.params[id.into()].1
    }

    /// A constant initializer, shared by name (the first definition wins).
    pub fn constant(&mut self, name: &str, dims: &[usize], data: TensorData) -> String {
        debug_assert_eq!(dims.iter().product::<usize>(), data.len());
        if self.names.insert(name.to_string()) {
            let dims: Vec<i64> = dims.iter().map(|&d| d as i64).collect();
            self.initializers.push(tensor(name, &dims, &data));
        }
        name.to_string()
    }

    /// Appends a node with `outputs` results, named `<op_type>_<node index>[:k]`.
    pub fn node_n(
        &mut self,
        op_type: &str,
        inputs: &[&str],
        attributes: Vec<AttributeProto>,
        outputs: usize,
    ) -> Vec<String> {
        let name = format!("{op_type}_{}", self.nodes.len());
        let outs: Vec<String> = match outputs {
            1 => vec![name.clone()],
            n => (0..n).map(|k| format!("{name}:{k}")).collect(),
        };
        self.nodes.push(NodeProto {
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: outs.clone(),
            name: Some(name),
            op_type: Some(op_type.to_string()),
            attribute: attributes,
            ..Default::default()
        });
        outs
    }

    /// Appends a node with one result and returns its name.
    pub fn node(
        &mut self,
        op_type: &str,
        inputs: &[&str],
        attributes: Vec<AttributeProto>,
    ) -> String {
        self.node_n(op_type, inputs, attributes, 1).remove(0)
    }

    /// The finished graph: `output_value` is renamed to the graph output's name.
    pub fn finish(
        mut self,
        name: &str,
        input: ValueInfoProto,
        output_value: &str,
        output: ValueInfoProto,
    ) -> GraphProto {
        let out_name = output.name.clone().unwrap_or_default();
        for n in &mut self.nodes {
            for v in n.input.iter_mut().chain(n.output.iter_mut()) {
                if v == output_value {
                    v.clone_from(&out_name);
                }
            }
        }
        GraphProto {
            node: self.nodes,
            name: Some(name.to_string()),
            initializer: self.initializers,
            input: vec![input],
            output: vec![output],
            ..Default::default()
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
) -> Vec<AttributeProto> {
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
pub fn image_value(name: &str, channels: usize) -> ValueInfoProto {
    value_info(
        name,
        &[
            Dim::Param("N".into()),
            Dim::Value(channels as i64),
            Dim::Param("H".into()),
            Dim::Param("W".into()),
        ],
    )
}
