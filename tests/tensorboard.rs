//! TensorBoard event files: the TFRecord framing and Event protobufs checked by an independent
//! decoder here (bitwise CRC32C, hand-read protobuf wire format), and the file read back by
//! TensorBoard's own EventAccumulator in the Python named by HINAS_PYTHON (skipped with a line
//! when that is unset or lacks tensorboard, except under CI=true, where it must run).

use hinas::report::tensorboard::EventWriter;
use std::path::{Path, PathBuf};
use std::process::Command;

mod common;
use common::cli::scratch_dir;
use common::skip_unless_ci;

/// CRC32C (Castagnoli, reflected 0x82F63B78), bit by bit: a reference that shares nothing with
/// the crc32c crate the writer uses.
fn crc32c_ref(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0x82F6_3B78
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn masked(data: &[u8]) -> u32 {
    let c = crc32c_ref(data);
    c.rotate_right(15).wrapping_add(0xa282_ead8)
}

fn varint(b: &[u8], i: &mut usize) -> u64 {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = b[*i];
        *i += 1;
        v |= ((byte & 0x7f) as u64) << shift;
        if byte & 0x80 == 0 {
            break;
        }
    }
    v
}

/// (field number, wire type, payload) of every field of a protobuf message.
fn fields(b: &[u8]) -> Vec<(u64, u64, Vec<u8>)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let key = varint(b, &mut i);
        let (field, wire) = (key >> 3, key & 7);
        let payload = match wire {
            0 => varint(b, &mut i).to_le_bytes().to_vec(),
            1 => {
                i += 8;
                b[i - 8..i].to_vec()
            }
            2 => {
                let n = varint(b, &mut i) as usize;
                i += n;
                b[i - n..i].to_vec()
            }
            5 => {
                i += 4;
                b[i - 4..i].to_vec()
            }
            w => panic!("unexpected wire type {w}"),
        };
        out.push((field, wire, payload));
    }
    out
}

#[derive(Debug, Default)]
struct Decoded {
    wall_time: f64,
    step: i64,
    file_version: Option<String>,
    values: Vec<(String, f32)>,
}

fn decode_event(b: &[u8]) -> Decoded {
    let mut e = Decoded::default();
    for (f, w, p) in fields(b) {
        match (f, w) {
            (1, 1) => e.wall_time = f64::from_le_bytes(p.try_into().unwrap()),
            (2, 0) => e.step = u64::from_le_bytes(p.try_into().unwrap()) as i64,
            (3, 2) => e.file_version = Some(String::from_utf8(p).unwrap()),
            (5, 2) => {
                for (vf, vw, v) in fields(&p) {
                    assert_eq!((vf, vw), (1, 2), "Summary.value is field 1");
                    let (mut tag, mut val) = (String::new(), None);
                    for (ff, fw, x) in fields(&v) {
                        match (ff, fw) {
                            (1, 2) => tag = String::from_utf8(x).unwrap(),
                            (2, 5) => val = Some(f32::from_le_bytes(x.try_into().unwrap())),
                            other => panic!("unexpected Summary.Value field {other:?}"),
                        }
                    }
                    e.values.push((tag, val.expect("simple_value")));
                }
            }
            other => panic!("unexpected Event field {other:?}"),
        }
    }
    e
}

/// Splits the file into records, checking the length and both masked CRCs of each.
fn records(bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let len = &bytes[i..i + 8];
        let n = u64::from_le_bytes(len.try_into().unwrap()) as usize;
        let crc = u32::from_le_bytes(bytes[i + 8..i + 12].try_into().unwrap());
        assert_eq!(crc, masked(len), "length CRC of the record at byte {i}");
        let data = &bytes[i + 12..i + 12 + n];
        let crc = u32::from_le_bytes(bytes[i + 12 + n..i + 16 + n].try_into().unwrap());
        assert_eq!(crc, masked(data), "data CRC of the record at byte {i}");
        out.push(data.to_vec());
        i += 16 + n;
    }
    assert_eq!(i, bytes.len());
    out
}

const SCALARS: [(u64, &str, f64); 5] = [
    (1, "loss/weight", 0.125),
    (1, "val/psnr", 27.5),
    (2, "loss/weight", 0.0625),
    (2, "val/psnr", 28.25),
    (3, "lr", 0.001),
];

fn write_sample(dir: &Path) -> PathBuf {
    let mut w = EventWriter::create(dir).unwrap();
    for step in 1..=3u64 {
        let vals: Vec<(&str, f64)> = SCALARS
            .iter()
            .filter(|s| s.0 == step)
            .map(|s| (s.1, s.2))
            .collect();
        // Non-finite values (no validation yet) are left out, not written as NaN.
        let mut with_nan = vals.clone();
        with_nan.push(("val/ssim", f64::NAN));
        w.scalars(step, &with_nan).unwrap();
    }
    w.path().to_path_buf()
}

#[test]
fn reference_crc32c_is_the_standard_one() {
    // The check value of CRC-32C (RFC 3720 appendix B.4 lists the same polynomial).
    assert_eq!(crc32c_ref(b"123456789"), 0xE306_9283);
    assert_eq!(crc32c_ref(b"123456789"), crc32c::crc32c(b"123456789"));
}

#[test]
fn event_file_records_and_protobufs_decode_independently() {
    let dir = scratch_dir("decode");
    let path = write_sample(&dir);
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        name.starts_with("events.out.tfevents.") && name.ends_with(".hinas"),
        "{name}"
    );
    let parts: Vec<&str> = name.split('.').collect();
    assert!(
        parts[3].parse::<u64>().unwrap() > 1_600_000_000,
        "seconds in {name}"
    );
    assert_eq!(
        parts[parts.len() - 2],
        std::process::id().to_string(),
        "pid in {name}"
    );
    let events: Vec<Decoded> = records(&std::fs::read(&path).unwrap())
        .iter()
        .map(|r| decode_event(r))
        .collect();
    assert_eq!(events.len(), 4);
    assert_eq!(events[0].file_version.as_deref(), Some("brain.Event:2"));
    assert!(events[0].values.is_empty());
    let mut got = Vec::new();
    for e in &events[1..] {
        assert!(e.wall_time > 1.6e9 && e.file_version.is_none());
        for (t, v) in &e.values {
            got.push((e.step as u64, t.clone(), *v));
        }
    }
    let want: Vec<(u64, String, f32)> = SCALARS
        .iter()
        .map(|s| (s.0, s.1.to_string(), s.2 as f32))
        .collect();
    assert_eq!(got, want);
    // The crate's own reader agrees and rejects a corrupted byte.
    let mut bytes = std::fs::read(&path).unwrap();
    assert_eq!(
        hinas::report::tensorboard::read_records(&bytes)
            .unwrap()
            .len(),
        4
    );
    let last = bytes.len() - 6;
    bytes[last] ^= 1;
    assert!(hinas::report::tensorboard::read_records(&bytes).is_err());
    let _ = std::fs::remove_dir_all(&dir);
}

const READER: &str = r#"
import json, sys
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
acc = EventAccumulator(sys.argv[1])
acc.Reload()
out = {t: [[e.step, e.value] for e in acc.Scalars(t)] for t in acc.Tags()["scalars"]}
print(json.dumps(out))
"#;

#[test]
fn tensorboard_reads_the_event_file() {
    let python = match std::env::var("HINAS_PYTHON") {
        Ok(p) if !p.is_empty() => p,
        _ => {
            return skip_unless_ci(
                "HINAS_PYTHON is not set (a Python with the tensorboard package; .ci/run sets it)",
            );
        }
    };
    let has = Command::new(&python)
        .args(["-c", "import tensorboard"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !has {
        return skip_unless_ci(&format!("{python} cannot import tensorboard"));
    }
    let dir = scratch_dir("reader");
    write_sample(&dir);
    let o = Command::new(&python)
        .args(["-c", READER])
        .arg(&dir)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "TensorBoard's reader failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let got: std::collections::BTreeMap<String, Vec<(i64, f64)>> =
        serde_json::from_str(stdout.lines().last().unwrap_or("")).unwrap();
    let mut want: std::collections::BTreeMap<String, Vec<(i64, f64)>> = Default::default();
    for (step, tag, v) in SCALARS {
        want.entry(tag.to_string())
            .or_default()
            .push((step as i64, v as f32 as f64));
    }
    assert_eq!(got, want);
    let _ = std::fs::remove_dir_all(&dir);
}
