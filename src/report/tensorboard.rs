//! TensorBoard scalars: an event file (`events.out.tfevents.<secs>.<host>.<pid>.hinas`) in the
//! run folder, so `tensorboard --logdir runs/` compares runs and seeds.
//!
//! The file is a TFRecord stream: each record is the data's length (u64 little endian), the
//! masked CRC32C of those 8 bytes, the data, and the masked CRC32C of the data. Each record's data
//! is one `Event` protobuf (tensorflow/core/util/event.proto): the first carries only
//! `file_version`, the others one `Summary` of `simple_value` scalars.

use prost::Message;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

/// `tensorflow.Summary.Value`, only the fields a scalar needs.
#[derive(Clone, PartialEq, prost::Message)]
pub struct SummaryValue {
    #[prost(string, tag = "1")]
    pub tag: String,
    #[prost(float, optional, tag = "2")]
    pub simple_value: Option<f32>,
}

/// `tensorflow.Summary`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Summary {
    #[prost(message, repeated, tag = "1")]
    pub value: Vec<SummaryValue>,
}

/// `tensorflow.Event`, only `wall_time`, `step`, `file_version` and `summary`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Event {
    #[prost(double, tag = "1")]
    pub wall_time: f64,
    #[prost(int64, tag = "2")]
    pub step: i64,
    #[prost(string, optional, tag = "3")]
    pub file_version: Option<String>,
    #[prost(message, optional, tag = "5")]
    pub summary: Option<Summary>,
}

/// The CRC masking TFRecord uses (a rotated CRC plus a constant, so a CRC of data that itself
/// holds CRCs does not degenerate).
pub fn masked_crc(data: &[u8]) -> u32 {
    let c = crc32c::crc32c(data);
    c.rotate_right(15).wrapping_add(0xa282_ead8)
}

/// One TFRecord record holding `data`.
pub fn record(data: &[u8]) -> Vec<u8> {
    let len = (data.len() as u64).to_le_bytes();
    let mut r = Vec::with_capacity(data.len() + 16);
    r.extend_from_slice(&len);
    r.extend_from_slice(&masked_crc(&len).to_le_bytes());
    r.extend_from_slice(data);
    r.extend_from_slice(&masked_crc(data).to_le_bytes());
    r
}

/// Splits a TFRecord stream into its records' data, checking both CRCs of every record.
pub fn read_records(mut bytes: &[u8]) -> anyhow::Result<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        anyhow::ensure!(bytes.len() >= 12, "truncated record header");
        let (len, rest) = bytes.split_at(8);
        let crc = u32::from_le_bytes(rest[..4].try_into().expect("4 bytes"));
        anyhow::ensure!(crc == masked_crc(len), "length CRC mismatch");
        let n = u64::from_le_bytes(len.try_into().expect("8 bytes")) as usize;
        let rest = &rest[4..];
        anyhow::ensure!(rest.len() >= n + 4, "truncated record data");
        let (data, rest) = rest.split_at(n);
        let crc = u32::from_le_bytes(rest[..4].try_into().expect("4 bytes"));
        anyhow::ensure!(crc == masked_crc(data), "data CRC mismatch");
        out.push(data.to_vec());
        bytes = &rest[4..];
    }
    Ok(out)
}

fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

fn hostname() -> String {
    let raw = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .unwrap_or_default();
    let h: String = raw
        .trim()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
        .collect();
    if h.is_empty() {
        "localhost".into()
    } else {
        h
    }
}

/// Appends scalar events to a new event file; each `scalars` call is flushed so a running
/// TensorBoard sees it at once.
pub struct EventWriter {
    file: File,
    path: PathBuf,
}

impl EventWriter {
    /// Creates a new event file in `dir` (a resumed run gets a file of its own; TensorBoard reads
    /// every file of a folder as one run).
    pub fn create(dir: &Path) -> anyhow::Result<EventWriter> {
        let secs = now() as u64;
        let base = format!(
            "events.out.tfevents.{secs}.{}.{}.hinas",
            hostname(),
            std::process::id()
        );
        let path = dir.join(base);
        let file = File::options()
            .create_new(true)
            .write(true)
            .open(&path)
            .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", path.display()))?;
        let mut w = EventWriter { file, path };
        w.write(&Event {
            wall_time: now(),
            step: 0,
            file_version: Some("brain.Event:2".into()),
            summary: None,
        })?;
        Ok(w)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn write(&mut self, e: &Event) -> anyhow::Result<()> {
        self.file
            .write_all(&record(&e.encode_to_vec()))
            .and_then(|_| self.file.flush())
            .map_err(|err| anyhow::anyhow!("cannot write {}: {err}", self.path.display()))
    }

    /// One event at `step` holding every finite (tag, value) given.
    pub fn scalars(&mut self, step: u64, values: &[(&str, f64)]) -> anyhow::Result<()> {
        let value: Vec<SummaryValue> = values
            .iter()
            .filter(|(_, v)| v.is_finite())
            .map(|(t, v)| SummaryValue {
                tag: t.to_string(),
                simple_value: Some(*v as f32),
            })
            .collect();
        if value.is_empty() {
            return Ok(());
        }
        self.write(&Event {
            wall_time: now(),
            step: step as i64,
            file_version: None,
            summary: Some(Summary { value }),
        })
    }
}
