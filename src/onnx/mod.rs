//! Writing ONNX: a graph builder the layers' `export` methods add nodes to, and the protobuf
//! encoding of the few messages an ONNX file needs. It knows parameters only by id and host copy,
//! nothing of layers or models, so the nn layers can use it; the `hinas export` command itself is in `crate::export`.

pub mod graph;
pub mod proto;
