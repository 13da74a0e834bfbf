//! `hinas eval` (scores of a trained model on a test set, beside the noisy input's) and
//! `hinas denoise` (any image, any size); both run the network through [`infer::InferNet`]
//! (eval-mode plan, exact tiles).

pub mod denoise;
pub mod infer;
mod infer_graph;

use crate::checkpoint::write_atomic;
use crate::data::{self, LoadOptions, Protocol, Scores, Source};
use crate::gpu::Gpu;
use crate::report::progress::{Mode, Progress};
use crate::train::config::check_sigma;
use crate::train::model::{Model, ModelFile};
use serde::Serialize;
use std::fmt::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

pub struct EvalArgs {
    pub model: PathBuf,
    pub data: Source,
    /// Noise levels; empty = the model's training sigma.
    pub sigmas: Vec<f32>,
    pub protocol: Protocol,
    pub out_dir: PathBuf,
    pub seed: u64,
    pub quiet: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct ImageRow {
    pub image: String,
    pub denoised: Scores,
    pub noisy: Scores,
}

#[derive(Clone, Debug, Serialize)]
pub struct SigmaResult {
    pub sigma: f32,
    pub images: Vec<ImageRow>,
    pub mean_denoised: Scores,
    pub mean_noisy: Scores,
    /// Model time (upload, forward, readback) per megapixel of input.
    pub ms_per_megapixel: f64,
}

#[derive(Clone, Debug, Serialize)]
pub struct EvalResult {
    pub model: String,
    pub data: String,
    pub protocol: String,
    pub seed: u64,
    pub train_sigma: f32,
    pub params: usize,
    pub adapter: String,
    pub sigmas: Vec<SigmaResult>,
}

fn protocol_name(p: Protocol) -> String {
    match p {
        Protocol::Standard => "standard".into(),
        Protocol::Tiled { tile, stride, .. } => format!("hinas-tiles({tile}/{stride})"),
    }
}

/// Why the first image takes longer on a new machine: the driver compiles each pipeline at its
/// first dispatch (on lavapipe ~12 s for the tiny model's, BENCHMARKS.md, "The first `hinas
/// denoise` on a machine").
pub(crate) const FIRST_PASS_COMPILES: &str = "(the first image also compiles the GPU pipelines: \
     tens of seconds once with a software driver and an empty shader cache, less afterwards)";

pub fn eval(args: EvalArgs) -> anyhow::Result<EvalResult> {
    for &s in &args.sigmas {
        check_sigma(s)?;
    }
    let file = ModelFile::read(&args.model)?;
    let channels = data::Channels::from_count(file.genotype.space.channels)
        .ok_or_else(|| anyhow::anyhow!("model has an unsupported channel count"))?;
    // skimage's SSIM crops 5 pixels off every side of its 11x11-filtered map.
    let images = args.data.load(
        &LoadOptions::new(channels)
            .strict(true)
            .min_size_for(11, "SSIM window"),
    )?;
    anyhow::ensure!(!images.is_empty(), "no test images in {}", args.data);
    std::fs::create_dir_all(&args.out_dir)
        .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", args.out_dir.display()))?;
    let gpu = Gpu::open()?;
    let model = Model::from_file(&gpu, file, &args.model)?;
    let net = infer::InferNet::from_model(&model)?;
    let sigmas = if args.sigmas.is_empty() {
        vec![model.sigma()]
    } else {
        args.sigmas.clone()
    };
    let mut results = Vec::new();
    let n = images.len();
    let mut progress = Progress::new(Mode::detect(args.quiet), (n * sigmas.len()) as u64, 0);
    progress.header(FIRST_PASS_COMPILES);
    // Warm-up: pipelines are compiled on first use and should not count as runtime.
    let side = images[0].image.width.min(images[0].image.height).min(64);
    net.run_any(&data::HostBatch::new(
        [1, model.channels(), side, side],
        vec![0.5; model.channels() * side * side],
    ))?;
    for &sigma in &sigmas {
        let (mut secs, mut pixels) = (0.0f64, 0usize);
        let report = data::evaluate_each(
            &images,
            sigma,
            args.seed,
            args.protocol,
            |batch| {
                let t0 = Instant::now();
                let out = net.run_any(batch);
                secs += t0.elapsed().as_secs_f64();
                pixels += batch.shape[0] * batch.shape[2] * batch.shape[3];
                out
            },
            |i, im| {
                let what = |p: &Progress| {
                    format!(
                        "sigma {sigma} image {}/{n} {}: {:.2} dB | {}",
                        i + 1,
                        im.name,
                        im.scores.psnr,
                        p.times()
                    )
                };
                progress.advance(1, what);
                progress.line_every(0.0, true, what);
            },
        )?;
        let rows: Vec<ImageRow> = report
            .images
            .iter()
            .enumerate()
            .map(|(i, e)| {
                let clean = images[i].image.to_float();
                let noisy = data::noisy_image(&images[i].image, i, sigma, args.seed);
                ImageRow {
                    image: e.name.clone(),
                    denoised: e.scores,
                    noisy: Scores::of(&noisy, &clean),
                }
            })
            .collect();
        let noisy: Vec<Scores> = rows.iter().map(|r| r.noisy).collect();
        results.push(SigmaResult {
            sigma,
            mean_denoised: report.mean,
            mean_noisy: Scores::mean(&noisy),
            images: rows,
            ms_per_megapixel: secs * 1e3 / (pixels as f64 / 1e6),
        });
    }
    progress.finish();
    let result = EvalResult {
        model: args.model.display().to_string(),
        data: args.data.to_string(),
        protocol: protocol_name(args.protocol),
        seed: args.seed,
        train_sigma: model.sigma(),
        params: model.param_count(),
        adapter: gpu.adapter_line(),
        sigmas: results,
    };
    write_outputs(&args.out_dir, &result)?;
    Ok(result)
}

/// eval.csv: one row per sigma and image (the means are in eval.json and the table, not among
/// the rows, so every row is an image); eval.json: everything.
fn write_outputs(dir: &Path, r: &EvalResult) -> anyhow::Result<()> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "sigma",
        "image",
        "psnr",
        "ssim_hinas",
        "ssim_skimage",
        "noisy_psnr",
        "noisy_ssim_hinas",
        "noisy_ssim_skimage",
    ])?;
    for s in &r.sigmas {
        for im in &s.images {
            let (d, n) = (&im.denoised, &im.noisy);
            w.write_record([
                s.sigma.to_string(),
                im.image.clone(),
                format!("{:.4}", d.psnr),
                format!("{:.5}", d.ssim_hinas),
                format!("{:.5}", d.ssim_skimage),
                format!("{:.4}", n.psnr),
                format!("{:.5}", n.ssim_hinas),
                format!("{:.5}", n.ssim_skimage),
            ])?;
        }
    }
    let csv = w.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?;
    write_atomic(&dir.join("eval.csv"), &csv)?;
    write_atomic(
        &dir.join("eval.json"),
        serde_json::to_string_pretty(r)?.as_bytes(),
    )
}

/// The terminal table: per sigma, every image and the mean, denoised beside noisy.
pub fn table(r: &EvalResult) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "model {} (trained at sigma {}, {} parameters) | {} | protocol {}",
        r.model, r.train_sigma, r.params, r.data, r.protocol
    );
    for s in &r.sigmas {
        let _ = writeln!(
            o,
            "\nsigma {:<5} {:>9} {:>11} {:>12} | {:>9} {:>11} {:>12}",
            s.sigma, "PSNR", "SSIM(hinas)", "SSIM(skimg)", "noisy", "SSIM(hinas)", "SSIM(skimg)"
        );
        let mut line = |name: &str, d: &Scores, n: &Scores| {
            let _ = writeln!(
                o,
                "{:<11} {:>9.2} {:>11.4} {:>12.4} | {:>9.2} {:>11.4} {:>12.4}",
                name.chars().take(11).collect::<String>(),
                d.psnr,
                d.ssim_hinas,
                d.ssim_skimage,
                n.psnr,
                n.ssim_hinas,
                n.ssim_skimage
            );
        };
        for im in &s.images {
            line(&im.image, &im.denoised, &im.noisy);
        }
        line("MEAN", &s.mean_denoised, &s.mean_noisy);
        let _ = writeln!(o, "runtime {:.0} ms per megapixel", s.ms_per_megapixel);
    }
    o
}
