//! A minimal protobuf writer for the ONNX messages an exported network needs (onnx.proto, which
//! is proto2: field numbers below are from onnx 1.x's onnx.proto). Written by hand because the
//! encoding is ~100 lines and the crates that generate it need `protoc` or a build script.
//!
//! Repeated integers are written unpacked (proto2's default for these fields; parsers accept
//! either), tensor data as little-endian `raw_data`.

/// A protobuf byte stream being written.
#[derive(Default)]
pub struct Writer {
    pub buf: Vec<u8>,
}

const VARINT: u64 = 0;
const FIXED32: u64 = 5;
const LEN: u64 = 2;

impl Writer {
    fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.buf.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.buf.push(v as u8);
    }
    fn key(&mut self, field: u32, wire: u64) {
        self.varint(((field as u64) << 3) | wire);
    }
    /// An int32/int64 field (negative values take 10 bytes, as protobuf specifies).
    pub fn int(&mut self, field: u32, v: i64) {
        self.key(field, VARINT);
        self.varint(v as u64);
    }
    pub fn float(&mut self, field: u32, v: f32) {
        self.key(field, FIXED32);
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    pub fn bytes(&mut self, field: u32, b: &[u8]) {
        self.key(field, LEN);
        self.varint(b.len() as u64);
        self.buf.extend_from_slice(b);
    }
    pub fn string(&mut self, field: u32, s: &str) {
        self.bytes(field, s.as_bytes());
    }
    pub fn message(&mut self, field: u32, m: &impl Message) {
        self.bytes(field, &m.to_bytes());
    }
}

pub trait Message {
    fn encode(&self, w: &mut Writer);
    fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::default();
        self.encode(&mut w);
        w.buf
    }
}

pub struct ModelProto {
    pub ir_version: i64,
    pub opset_version: i64,
    pub producer_name: String,
    pub producer_version: String,
    pub doc_string: String,
    pub graph: GraphProto,
    pub metadata: Vec<(String, String)>,
}

struct OperatorSetId<'a>(&'a str, i64);

impl Message for OperatorSetId<'_> {
    fn encode(&self, w: &mut Writer) {
        w.string(1, self.0);
        w.int(2, self.1);
    }
}

struct StringEntry<'a>(&'a str, &'a str);

impl Message for StringEntry<'_> {
    fn encode(&self, w: &mut Writer) {
        w.string(1, self.0);
        w.string(2, self.1);
    }
}

impl Message for ModelProto {
    fn encode(&self, w: &mut Writer) {
        w.int(1, self.ir_version);
        w.string(2, &self.producer_name);
        w.string(3, &self.producer_version);
        w.string(6, &self.doc_string);
        w.message(7, &self.graph);
        w.message(8, &OperatorSetId("", self.opset_version));
        for (k, v) in &self.metadata {
            w.message(14, &StringEntry(k, v));
        }
    }
}

pub struct GraphProto {
    pub name: String,
    pub nodes: Vec<NodeProto>,
    pub initializers: Vec<TensorProto>,
    pub inputs: Vec<ValueInfo>,
    pub outputs: Vec<ValueInfo>,
}

impl Message for GraphProto {
    fn encode(&self, w: &mut Writer) {
        for n in &self.nodes {
            w.message(1, n);
        }
        w.string(2, &self.name);
        for t in &self.initializers {
            w.message(5, t);
        }
        for v in &self.inputs {
            w.message(11, v);
        }
        for v in &self.outputs {
            w.message(12, v);
        }
    }
}

pub struct NodeProto {
    pub name: String,
    pub op_type: String,
    /// An empty name skips an optional input.
    pub inputs: Vec<String>,
    pub outputs: Vec<String>,
    pub attributes: Vec<Attribute>,
}

impl Message for NodeProto {
    fn encode(&self, w: &mut Writer) {
        for i in &self.inputs {
            w.string(1, i);
        }
        for o in &self.outputs {
            w.string(2, o);
        }
        w.string(3, &self.name);
        w.string(4, &self.op_type);
        for a in &self.attributes {
            w.message(5, a);
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum AttrValue {
    Float(f32),
    Int(i64),
    Ints(Vec<i64>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Attribute {
    pub name: String,
    pub value: AttrValue,
}

impl Attribute {
    pub fn float(name: &str, v: f32) -> Self {
        Attribute {
            name: name.into(),
            value: AttrValue::Float(v),
        }
    }
    pub fn int(name: &str, v: i64) -> Self {
        Attribute {
            name: name.into(),
            value: AttrValue::Int(v),
        }
    }
    pub fn ints(name: &str, v: &[i64]) -> Self {
        Attribute {
            name: name.into(),
            value: AttrValue::Ints(v.to_vec()),
        }
    }
}

impl Message for Attribute {
    fn encode(&self, w: &mut Writer) {
        w.string(1, &self.name);
        // AttributeProto.type: FLOAT = 1, INT = 2, INTS = 7.
        match &self.value {
            AttrValue::Float(f) => {
                w.float(2, *f);
                w.int(20, 1);
            }
            AttrValue::Int(i) => {
                w.int(3, *i);
                w.int(20, 2);
            }
            AttrValue::Ints(v) => {
                for i in v {
                    w.int(8, *i);
                }
                w.int(20, 7);
            }
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

#[derive(Clone, Debug, PartialEq)]
pub struct TensorProto {
    pub name: String,
    pub dims: Vec<i64>,
    pub data: TensorData,
}

impl Message for TensorProto {
    fn encode(&self, w: &mut Writer) {
        for d in &self.dims {
            w.int(1, *d);
        }
        // TensorProto.DataType: FLOAT = 1, INT64 = 7.
        let (ty, raw): (i64, Vec<u8>) = match &self.data {
            TensorData::F32(v) => (1, v.iter().flat_map(|x| x.to_le_bytes()).collect()),
            TensorData::I64(v) => (7, v.iter().flat_map(|x| x.to_le_bytes()).collect()),
        };
        w.int(2, ty);
        w.string(8, &self.name);
        w.bytes(9, &raw);
    }
}

/// One dimension of a value's shape: fixed, or symbolic (named).
#[derive(Clone, Debug, PartialEq)]
pub enum Dim {
    Value(i64),
    Param(String),
}

/// A graph input or output: an f32 tensor of the given shape.
#[derive(Clone, Debug, PartialEq)]
pub struct ValueInfo {
    pub name: String,
    pub dims: Vec<Dim>,
}

struct Shape<'a>(&'a [Dim]);

impl Message for Shape<'_> {
    fn encode(&self, w: &mut Writer) {
        for d in self.0 {
            let mut dw = Writer::default();
            match d {
                Dim::Value(v) => dw.int(1, *v),
                Dim::Param(p) => dw.string(2, p),
            }
            w.bytes(1, &dw.buf);
        }
    }
}

struct TensorType<'a>(&'a [Dim]);

impl Message for TensorType<'_> {
    fn encode(&self, w: &mut Writer) {
        w.int(1, 1); // elem_type FLOAT
        w.message(2, &Shape(self.0));
    }
}

struct TypeProto<'a>(&'a [Dim]);

impl Message for TypeProto<'_> {
    fn encode(&self, w: &mut Writer) {
        w.message(1, &TensorType(self.0));
    }
}

impl Message for ValueInfo {
    fn encode(&self, w: &mut Writer) {
        w.string(1, &self.name);
        w.message(2, &TypeProto(&self.dims));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_match_the_protobuf_spec() {
        let mut w = Writer::default();
        w.int(1, 150);
        assert_eq!(w.buf, [0x08, 0x96, 0x01]); // the encoding guide's example
        let mut w = Writer::default();
        w.int(2, -1);
        assert_eq!(w.buf.len(), 1 + 10);
        assert_eq!(
            &w.buf[1..],
            &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]
        );
        let mut w = Writer::default();
        w.string(2, "testing");
        assert_eq!(w.buf, b"\x12\x07testing");
        let mut w = Writer::default();
        w.float(2, 1.0);
        assert_eq!(w.buf, [0x15, 0x00, 0x00, 0x80, 0x3f]);
    }

    #[test]
    fn a_tensor_encodes_dims_type_name_and_raw_data() {
        let t = TensorProto {
            name: "w".into(),
            dims: vec![2],
            data: TensorData::F32(vec![1.0, -2.0]),
        };
        let b = t.to_bytes();
        let mut want = vec![0x08, 2, 0x10, 1, 0x42, 1, b'w', 0x4a, 8];
        want.extend(1.0f32.to_le_bytes());
        want.extend((-2.0f32).to_le_bytes());
        assert_eq!(b, want);
    }
}
