//! Shared test helpers: one device per test process, seeded random inputs, finite differences in
//! f64, norm-wise comparisons, PyTorch fixtures, and skipping what needs a missing tool.
#![allow(dead_code)]

pub mod cli;
pub mod models;
pub mod svg;
pub mod sweep;

use hinas::gpu::{Gpu, Tensor};
use rand::{Rng, SeedableRng};
use std::collections::HashMap;
use std::sync::OnceLock;

/// The device shared by every test of this binary (opening one per test costs ~50-200 ms).
pub fn gpu() -> Gpu {
    static GPU: OnceLock<Gpu> = OnceLock::new();
    GPU.get_or_init(|| {
        Gpu::open().expect("tests need a GPU adapter (see README: mesa-vulkan-drivers)")
    })
    .clone()
}

pub type Rng64 = rand_chacha::ChaCha8Rng;

pub fn rng(seed: u64) -> Rng64 {
    Rng64::seed_from_u64(seed)
}

/// Uniform values in [lo, hi).
pub fn uniform(rng: &mut Rng64, n: usize, lo: f64, hi: f64) -> Vec<f64> {
    (0..n).map(|_| rng.random_range(lo..hi)).collect()
}

pub fn to_f32(v: &[f64]) -> Vec<f32> {
    v.iter().map(|&x| x as f32).collect()
}
pub fn to_f64(v: &[f32]) -> Vec<f64> {
    v.iter().map(|&x| x as f64).collect()
}

/// A GPU tensor holding the f32 rounding of `data`; returns the rounded f64 values too, so the
/// CPU reference sees exactly what the GPU sees.
pub fn upload(gpu: &Gpu, shape: &[usize], data: &[f64]) -> (Tensor, Vec<f64>) {
    let f = to_f32(data);
    (Tensor::from_slice(gpu, shape, &f), to_f64(&f))
}

/// Central finite differences in f64 of `dot(r, f(x))` with respect to x.
pub fn numeric_grad(f: &dyn Fn(&[f64]) -> Vec<f64>, x: &[f64], r: &[f64], h: f64) -> Vec<f64> {
    let mut x = x.to_vec();
    (0..x.len())
        .map(|i| {
            let orig = x[i];
            x[i] = orig + h;
            let fp = dot(r, &f(&x));
            x[i] = orig - h;
            let fm = dot(r, &f(&x));
            x[i] = orig;
            (fp - fm) / (2.0 * h)
        })
        .collect()
}

pub fn dot(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Norm-wise relative error max|got - want| / max|want| (elementwise relative error is
/// meaningless for entries near zero).
pub fn rel_err(got: &[f32], want: &[f64]) -> f64 {
    assert_eq!(got.len(), want.len(), "length mismatch");
    let scale = want.iter().fold(0.0f64, |m, v| m.max(v.abs())).max(1e-12);
    let diff = got
        .iter()
        .zip(want)
        .fold(0.0f64, |m, (g, w)| m.max((*g as f64 - w).abs()));
    diff / scale
}

#[track_caller]
pub fn assert_close(what: &str, got: &[f32], want: &[f64], tol: f64) {
    assert!(
        got.iter().all(|v| v.is_finite()),
        "{what}: non-finite output"
    );
    let e = rel_err(got, want);
    assert!(e < tol, "{what}: relative error {e:.3e} >= {tol:.0e}");
    // Guard against vacuous passes on all-zero data.
    assert!(
        want.iter().any(|v| v.abs() > 1e-9),
        "{what}: reference is all zeros"
    );
}

/// Whether this runs under CI (.ci/run), which provides every optional tool.
pub fn ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// A test that needs a missing tool: fails under CI, elsewhere returns after a `skipped:` line
/// written straight to stderr (libtest captures `println!`, not a direct write).
#[track_caller]
pub fn skip_unless_ci(why: &str) {
    assert!(!ci(), "CI=true but {why}");
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "skipped: {why}");
}

/// `assert_close` that also logs the error (see it with `--nocapture`).
#[track_caller]
pub fn close(what: &str, got: &[f32], want: &[f64], tol: f64) {
    eprintln!("{what}: rel err {:.2e}", rel_err(got, want));
    assert_close(what, got, want, tol);
}

/// Tensors of tests/fixtures/<name>.safetensors, written by tools/gen_fixtures.py.
pub struct Fixture {
    tensors: HashMap<String, (Vec<usize>, Vec<f32>)>,
    name: String,
}

impl Fixture {
    pub fn load(name: &str) -> Fixture {
        let path = format!(
            "{}/tests/fixtures/{name}.safetensors",
            env!("CARGO_MANIFEST_DIR")
        );
        let bytes = std::fs::read(&path)
            .unwrap_or_else(|e| panic!("{path}: {e} (run tools/gen_fixtures.py)"));
        let st = safetensors::SafeTensors::deserialize(&bytes).expect("bad fixture file");
        let mut tensors = HashMap::new();
        for (k, v) in st.tensors() {
            assert_eq!(v.dtype(), safetensors::Dtype::F32, "{k}: fixtures are f32");
            let data: Vec<f32> = v
                .data()
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect();
            tensors.insert(k.to_string(), (v.shape().to_vec(), data));
        }
        Fixture {
            tensors,
            name: name.to_string(),
        }
    }

    pub fn get(&self, key: &str) -> (&[usize], &[f32]) {
        let (s, d) = self
            .tensors
            .get(key)
            .unwrap_or_else(|| panic!("fixture {} has no {key}", self.name));
        (s, d)
    }

    pub fn data(&self, key: &str) -> Vec<f64> {
        to_f64(self.get(key).1)
    }

    pub fn tensor(&self, gpu: &Gpu, key: &str) -> Tensor {
        let (s, d) = self.get(key);
        Tensor::from_slice(gpu, s, d)
    }

    pub fn has(&self, key: &str) -> bool {
        self.tensors.contains_key(key)
    }

    pub fn keys(&self) -> Vec<String> {
        let mut k: Vec<String> = self.tensors.keys().cloned().collect();
        k.sort();
        k
    }
}
