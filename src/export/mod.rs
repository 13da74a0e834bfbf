//! `hinas export`: a trained model as an ONNX file (opset 19, IR version 9) that ONNX Runtime
//! runs: input `noisy` `[N, C, H, W]` (N, H, W symbolic), output `denoised` = noisy - predicted
//! noise, exactly the eval-mode forward (no clamp, as ours has none). The deformable convs are
//! ONNX's DeformConv, BN is BatchNormalization with the running statistics, weights are
//! initializers named as in the model file. The nodes come from the `export` method beside each
//! layer's `forward` ([`OnnxGraph`]); the messages are prost's types of the official onnx.proto
//! ([`crate::onnx::pb`]).
//! tools/onnx_check.py compares ONNX Runtime's output with ours.

use crate::checkpoint::write_atomic;
use crate::gpu::Gpu;
use crate::onnx::graph::{image_value, OnnxGraph};
use crate::onnx::pb::{ModelProto, OperatorSetIdProto, StringStringEntryProto};
use crate::train::model::{Model, ModelFile};
use prost::Message;
use std::path::Path;

pub const OPSET: i64 = 19;
pub const IR_VERSION: i64 = 9;
pub const INPUT: &str = "noisy";
pub const OUTPUT: &str = "denoised";

/// The ONNX model of a loaded network; its metadata carries the model file's (genotype, sigma,
/// channels, ...).
pub fn onnx_model(model: &Model) -> ModelProto {
    let params = model.store.to_host();
    let mut g = OnnxGraph::new(&params);
    let y = model.net.export(&mut g, INPUT);
    let c = model.channels();
    let graph = g.finish(
        "hinas_denoiser",
        image_value(INPUT, c),
        &y,
        image_value(OUTPUT, c),
    );
    let mut metadata: Vec<(String, String)> = model
        .metadata
        .iter()
        .filter(|(k, _)| k.as_str() != "format")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    metadata.sort();
    ModelProto {
        ir_version: Some(IR_VERSION),
        producer_name: Some("hinas".into()),
        producer_version: Some(env!("CARGO_PKG_VERSION").into()),
        doc_string: Some(format!(
            "HiNAS denoiser ({c} channel(s), trained at sigma {}): {OUTPUT} = {INPUT} - predicted noise, values in [0, 1] scale, not clamped",
            model.sigma()
        )),
        graph: Some(graph),
        opset_import: vec![OperatorSetIdProto {
            domain: Some(String::new()),
            version: Some(OPSET),
        }],
        metadata_props: metadata
            .into_iter()
            .map(|(key, value)| StringStringEntryProto {
                key: Some(key),
                value: Some(value),
            })
            .collect(),
        ..Default::default()
    }
}

pub struct ExportSummary {
    pub nodes: usize,
    /// Trainable scalars (BN running statistics excluded), as `hinas eval` counts them.
    pub params: usize,
    pub bytes: usize,
}

/// Reads a model file and writes its ONNX file atomically.
pub fn export(model_path: &Path, onnx_path: &Path) -> anyhow::Result<ExportSummary> {
    let file = ModelFile::read(model_path)?;
    let same = match (model_path.canonicalize(), onnx_path.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    anyhow::ensure!(
        !same,
        "{} is the model itself; choose another output",
        onnx_path.display()
    );
    let gpu = Gpu::open()?;
    let model = Model::from_file(&gpu, file, model_path)?;
    let proto = onnx_model(&model);
    let bytes = proto.encode_to_vec();
    write_atomic(onnx_path, &bytes)?;
    Ok(ExportSummary {
        nodes: proto.graph.as_ref().map_or(0, |g| g.node.len()),
        params: model.param_count(),
        bytes: bytes.len(),
    })
}
