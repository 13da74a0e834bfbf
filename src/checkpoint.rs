//! Tensor files (safetensors, f32) written atomically: a temp file in the same folder, fsync,
//! then rename, so a run killed at any moment leaves either the old file or the new one.

use crate::gpu::{Gpu, Tensor};
use anyhow::Context;
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// A named host tensor: (name, shape, data).
pub type HostTensor = (String, Vec<usize>, Vec<f32>);

pub fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| -> anyhow::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all(); // make the rename itself durable where the OS allows
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.with_context(|| format!("cannot write {}", path.display()))
}

pub fn save(
    path: &Path,
    tensors: &[HostTensor],
    metadata: HashMap<String, String>,
) -> anyhow::Result<()> {
    let bytes: Vec<Vec<u8>> = tensors
        .iter()
        .map(|(_, _, d)| bytemuck::cast_slice(d).to_vec())
        .collect();
    let views = tensors
        .iter()
        .zip(&bytes)
        .map(|((n, s, _), b)| {
            Ok((
                n.clone(),
                safetensors::tensor::TensorView::new(safetensors::Dtype::F32, s.clone(), b)?,
            ))
        })
        .collect::<Result<Vec<_>, safetensors::SafeTensorError>>()?;
    let data = safetensors::serialize(views, Some(metadata))?;
    write_atomic(path, &data)
}

pub fn load(path: &Path) -> anyhow::Result<(Vec<HostTensor>, HashMap<String, String>)> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let st = safetensors::SafeTensors::deserialize(&bytes)
        .map_err(|e| anyhow::anyhow!("{} is not a valid safetensors file: {e}", path.display()))?;
    let (_, meta) = safetensors::SafeTensors::read_metadata(&bytes)
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let mut out = Vec::new();
    for (name, v) in st.tensors() {
        anyhow::ensure!(
            v.dtype() == safetensors::Dtype::F32,
            "{}: tensor {name} is not f32",
            path.display()
        );
        let data = v
            .data()
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        out.push((name, v.shape().to_vec(), data));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok((out, meta.metadata().clone().unwrap_or_default()))
}

/// A run folder's checkpoint; searches and training runs use the same name, and the `format`
/// metadata tells them apart.
pub fn path(dir: &Path) -> PathBuf {
    dir.join("checkpoint.safetensors")
}

pub fn exists(dir: &Path) -> bool {
    path(dir).is_file()
}

/// The checkpoint of run folder `dir`, whose `format` metadata must be `format`; `what` names
/// the kind in the error ("search", "training").
pub fn read(
    dir: &Path,
    format: &str,
    what: &str,
) -> anyhow::Result<(Vec<HostTensor>, HashMap<String, String>)> {
    let path = path(dir);
    let (t, m) = load(&path)?;
    anyhow::ensure!(
        m.get("format").map(String::as_str) == Some(format),
        "{} is not a hinas {what} checkpoint",
        path.display()
    );
    Ok((t, m))
}

/// Metadata holding the format tag and the run's config (TOML), the fields every checkpoint has.
pub fn metadata(format: &str, config_toml: String) -> HashMap<String, String> {
    HashMap::from([
        ("format".to_string(), format.to_string()),
        ("config".to_string(), config_toml),
    ])
}

/// A metadata field a checkpoint must have.
pub fn meta_field<'a>(m: &'a HashMap<String, String>, key: &str) -> anyhow::Result<&'a str> {
    m.get(key)
        .map(String::as_str)
        .ok_or_else(|| anyhow::anyhow!("checkpoint lacks {key}"))
}

/// A JSON metadata field a checkpoint must have.
pub fn json_field<T: serde::de::DeserializeOwned>(
    m: &HashMap<String, String>,
    key: &str,
) -> anyhow::Result<T> {
    Ok(serde_json::from_str(meta_field(m, key)?)?)
}

/// A JSON metadata field that older checkpoints lack (then the default).
pub fn json_field_or_default<T: serde::de::DeserializeOwned + Default>(
    m: &HashMap<String, String>,
    key: &str,
) -> anyhow::Result<T> {
    Ok(match m.get(key) {
        Some(v) => serde_json::from_str(v)?,
        None => T::default(),
    })
}

/// The config a checkpoint's run used (not yet validated).
pub fn config_field<T: serde::de::DeserializeOwned>(
    m: &HashMap<String, String>,
) -> anyhow::Result<T> {
    toml::from_str(meta_field(m, "config")?).map_err(|e| anyhow::anyhow!("checkpoint config: {e}"))
}

/// Host tensors renamed `{prefix}{name}`, to share one file with other groups.
pub fn prefixed(prefix: &str, tensors: Vec<HostTensor>) -> Vec<HostTensor> {
    tensors
        .into_iter()
        .map(|(n, s, d)| (format!("{prefix}{n}"), s, d))
        .collect()
}

/// GPU tensors read back as `{prefix}{name}`; every read is queued before the first wait.
pub fn host(prefix: &str, tensors: Vec<(String, Tensor)>) -> Vec<HostTensor> {
    let pending: Vec<_> = tensors.iter().map(|(_, t)| t.read_async()).collect();
    tensors
        .into_iter()
        .zip(pending)
        .map(|((n, t), r)| (format!("{prefix}{n}"), t.shape().to_vec(), r.wait()))
        .collect()
}

/// Removes the tensors named `{prefix}…` from `tensors` and returns them without the prefix,
/// in their order.
pub fn take(tensors: &mut Vec<HostTensor>, prefix: &str) -> Vec<HostTensor> {
    let (hit, rest) = std::mem::take(tensors)
        .into_iter()
        .partition::<Vec<_>, _>(|(n, _, _)| n.starts_with(prefix));
    *tensors = rest;
    hit.into_iter()
        .map(|(n, s, d)| (n[prefix.len()..].to_string(), s, d))
        .collect()
}

/// [`take`] uploaded to the GPU (an optimiser's state).
pub fn take_gpu(gpu: &Gpu, tensors: &mut Vec<HostTensor>, prefix: &str) -> Vec<(String, Tensor)> {
    take(tensors, prefix)
        .into_iter()
        .map(|(n, s, d)| (n, Tensor::from_slice(gpu, &s, &d)))
        .collect()
}

/// A run folder must hold a checkpoint to be resumed, and must not hold one to start afresh
/// (`what` names the run: "search", "training run").
pub fn check_run_dir(dir: &Path, resume: bool, what: &str) -> anyhow::Result<()> {
    let has_checkpoint = exists(dir);
    if resume {
        anyhow::ensure!(
            has_checkpoint,
            "nothing to resume: {} holds no {what} checkpoint",
            dir.display()
        );
    } else {
        anyhow::ensure!(
            !has_checkpoint,
            "{} already holds a {what}; use --resume {0} to continue it or choose another --out",
            dir.display()
        );
    }
    Ok(())
}
