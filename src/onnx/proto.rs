//! Building the ONNX messages an exported network needs, on the prost types generated from the
//! official onnx.proto ([`super::pb`]): attributes, initializers (little-endian `raw_data`) and
//! the graph's typed inputs and outputs.

use super::pb;
use super::pb::{attribute_proto::AttributeType, tensor_proto::DataType};

/// Builds attributes: `Attribute::int("axis", 1)` is an `AttributeProto` of type INT.
pub struct Attribute;

impl Attribute {
    fn named(name: &str, ty: AttributeType) -> pb::AttributeProto {
        pb::AttributeProto {
            name: Some(name.into()),
            r#type: Some(ty as i32),
            ..Default::default()
        }
    }
    pub fn float(name: &str, v: f32) -> pb::AttributeProto {
        pb::AttributeProto {
            f: Some(v),
            ..Self::named(name, AttributeType::Float)
        }
    }
    pub fn int(name: &str, v: i64) -> pb::AttributeProto {
        pb::AttributeProto {
            i: Some(v),
            ..Self::named(name, AttributeType::Int)
        }
    }
    pub fn ints(name: &str, v: &[i64]) -> pb::AttributeProto {
        pb::AttributeProto {
            ints: v.to_vec(),
            ..Self::named(name, AttributeType::Ints)
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum TensorData {
    F32(Vec<f32>),
    I64(Vec<i64>),
}

impl TensorData {
    pub fn len(&self) -> usize {
        match self {
            TensorData::F32(v) => v.len(),
            TensorData::I64(v) => v.len(),
        }
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// An initializer: dims, data type, name and the values as little-endian `raw_data`.
pub fn tensor(name: &str, dims: &[i64], data: &TensorData) -> pb::TensorProto {
    let (ty, raw): (DataType, Vec<u8>) = match data {
        TensorData::F32(v) => (
            DataType::Float,
            v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        ),
        TensorData::I64(v) => (
            DataType::Int64,
            v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        ),
    };
    pb::TensorProto {
        dims: dims.to_vec(),
        data_type: Some(ty as i32),
        name: Some(name.into()),
        raw_data: Some(raw),
        ..Default::default()
    }
}

/// One dimension of a value's shape: fixed, or symbolic (named).
#[derive(Clone, Debug, PartialEq)]
pub enum Dim {
    Value(i64),
    Param(String),
}

/// A graph input or output: an f32 tensor of the given shape.
pub fn value_info(name: &str, dims: &[Dim]) -> pb::ValueInfoProto {
    use pb::tensor_shape_proto::{dimension::Value, Dimension};
    let dim = dims
        .iter()
        .map(|d| Dimension {
            value: Some(match d {
                Dim::Value(v) => Value::DimValue(*v),
                Dim::Param(p) => Value::DimParam(p.clone()),
            }),
            ..Default::default()
        })
        .collect();
    pb::ValueInfoProto {
        name: Some(name.into()),
        r#type: Some(pb::TypeProto {
            value: Some(pb::type_proto::Value::TensorType(pb::type_proto::Tensor {
                elem_type: Some(DataType::Float as i32),
                shape: Some(pb::TensorShapeProto { dim }),
            })),
            ..Default::default()
        }),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;

    #[test]
    fn a_tensor_encodes_dims_type_name_and_raw_data() {
        let b = tensor("w", &[2], &TensorData::F32(vec![1.0, -2.0])).encode_to_vec();
        // The protobuf encoding of fields 1 (dims), 2 (data_type FLOAT), 8 (name), 9 (raw_data).
        let mut want = vec![0x08, 2, 0x10, 1, 0x42, 1, b'w', 0x4a, 8];
        want.extend(1.0f32.to_le_bytes());
        want.extend((-2.0f32).to_le_bytes());
        assert_eq!(b, want);
    }

    #[test]
    fn attributes_carry_their_type() {
        let a = Attribute::ints("pads", &[1, 1]);
        assert_eq!(a.r#type, Some(7)); // AttributeProto.INTS in onnx.proto
        let round = pb::AttributeProto::decode(&*a.encode_to_vec()).unwrap();
        assert_eq!(round, a);
    }
}
