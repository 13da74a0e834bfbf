//! The exported ONNX graph (prost types) as the plain records `infer` plans from: nodes with
//! their inputs, outputs and attributes, initializers decoded from their little-endian raw data,
//! and the graph input's shape.

use crate::onnx::pb;
use crate::onnx::proto::{Dim, TensorData};

#[derive(Clone, Debug, PartialEq)]
pub enum AttrValue {
    Int(i64),
    Ints(Vec<i64>),
    Float(f32),
    Other,
}

#[derive(Debug)]
pub struct Attribute {
    pub name: String,
    pub value: AttrValue,
}

pub struct NodeProto {
    pub name: String,
    pub op_type: String,
    pub inputs: Vec<String>,
    pub outputs: Vec<String>,
    pub attributes: Vec<Attribute>,
}

pub struct TensorProto {
    pub name: String,
    pub dims: Vec<i64>,
    pub data: TensorData,
}

pub struct ValueInfo {
    pub name: String,
    pub dims: Vec<Dim>,
}

pub struct GraphProto {
    pub nodes: Vec<NodeProto>,
    pub initializers: Vec<TensorProto>,
    pub inputs: Vec<ValueInfo>,
    pub outputs: Vec<ValueInfo>,
}

fn attribute(a: &pb::AttributeProto) -> Attribute {
    use pb::attribute_proto::AttributeType as T;
    let value = match a.r#type() {
        T::Int => AttrValue::Int(a.i()),
        T::Ints => AttrValue::Ints(a.ints.clone()),
        T::Float => AttrValue::Float(a.f()),
        _ => AttrValue::Other,
    };
    Attribute {
        name: a.name().to_string(),
        value,
    }
}

fn tensor(t: &pb::TensorProto) -> anyhow::Result<TensorProto> {
    use pb::tensor_proto::DataType;
    let raw = t.raw_data();
    let data = match DataType::try_from(t.data_type()).ok() {
        Some(DataType::Float) => TensorData::F32(
            raw.chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect(),
        ),
        Some(DataType::Int64) => TensorData::I64(
            raw.chunks_exact(8)
                .map(|b| i64::from_le_bytes(b.try_into().expect("8 bytes")))
                .collect(),
        ),
        _ => anyhow::bail!("initializer {:?} has data type {}", t.name(), t.data_type()),
    };
    Ok(TensorProto {
        name: t.name().to_string(),
        dims: t.dims.clone(),
        data,
    })
}

fn value_info(v: &pb::ValueInfoProto) -> ValueInfo {
    use pb::tensor_shape_proto::dimension::Value;
    let dims = match v.r#type.as_ref().and_then(|t| t.value.as_ref()) {
        Some(pb::type_proto::Value::TensorType(t)) => t
            .shape
            .as_ref()
            .map(|s| {
                s.dim
                    .iter()
                    .map(|d| match &d.value {
                        Some(Value::DimValue(x)) => Dim::Value(*x),
                        Some(Value::DimParam(p)) => Dim::Param(p.clone()),
                        None => Dim::Param(String::new()),
                    })
                    .collect()
            })
            .unwrap_or_default(),
        _ => Vec::new(),
    };
    ValueInfo {
        name: v.name().to_string(),
        dims,
    }
}

/// The graph of `model` as plain records.
pub fn read(model: &pb::ModelProto) -> anyhow::Result<GraphProto> {
    let g = model
        .graph
        .as_ref()
        .ok_or_else(|| anyhow::anyhow!("the ONNX model has no graph"))?;
    Ok(GraphProto {
        nodes: g
            .node
            .iter()
            .map(|n| NodeProto {
                name: n.name().to_string(),
                op_type: n.op_type().to_string(),
                inputs: n.input.clone(),
                outputs: n.output.clone(),
                attributes: n.attribute.iter().map(attribute).collect(),
            })
            .collect(),
        initializers: g.initializer.iter().map(tensor).collect::<Result<_, _>>()?,
        inputs: g.input.iter().map(value_info).collect(),
        outputs: g.output.iter().map(value_info).collect(),
    })
}
