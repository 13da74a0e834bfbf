//! `hinas denoise`: PNG/JPEG in, PNG out, any size (whole, or in tiles whose output equals the
//! whole-image pass: see [`super::infer`]), grey or colour as the model was trained.

use super::infer::InferNet;
use crate::checkpoint::write_atomic;
use crate::data::{Channels, FloatImage, Image};
use crate::gpu::Gpu;
use crate::report::progress::{Mode, Progress};
use crate::train::config::check_sigma;
use crate::train::model::{Model, ModelFile};
use rand::{Rng, SeedableRng};
use rand_distr::StandardNormal;
use std::path::{Path, PathBuf};
use std::time::Instant;

pub struct DenoiseArgs {
    pub model: PathBuf,
    pub inputs: Vec<PathBuf>,
    /// Output folder; default: each input's own folder.
    pub out_dir: Option<PathBuf>,
    /// The input's noise level, if known (a warning when it differs from the model's).
    pub sigma: Option<f32>,
    /// Add Gaussian noise of this sigma first (and write the noisy image too).
    pub add_noise: Option<f32>,
    pub seed: u64,
    /// Largest tile side; `None`: as large as the device allows.
    pub tile: Option<usize>,
    /// Folder for the unquantised output (`--raw-out`, for comparisons with ONNX Runtime).
    pub raw_out: Option<PathBuf>,
    pub force: bool,
    /// Refuse inputs that decode into a damaged picture (see [`Image::damage`]) instead of
    /// warning.
    pub strict: bool,
    pub quiet: bool,
}

/// One processed input.
pub struct Denoised {
    pub input: PathBuf,
    pub output: PathBuf,
    pub noisy: Option<PathBuf>,
    pub width: usize,
    pub height: usize,
    pub seconds: f64,
}

fn stem(p: &Path) -> String {
    p.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "image".into())
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}

pub fn denoise(args: DenoiseArgs) -> anyhow::Result<Vec<Denoised>> {
    anyhow::ensure!(!args.inputs.is_empty(), "no input images given");
    for s in args.sigma.iter().chain(args.add_noise.iter()) {
        check_sigma(*s)?;
    }
    let file = ModelFile::read(&args.model)?;
    let channels = Channels::from_count(file.genotype.space.channels)
        .ok_or_else(|| anyhow::anyhow!("model has an unsupported channel count"))?;
    // Every input is decoded and every output path checked before the GPU is touched.
    let mut jobs = Vec::new();
    for input in &args.inputs {
        let bytes = std::fs::read(input)
            .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", input.display()))?;
        let img = Image::decode(&bytes)
            .map_err(|e| anyhow::anyhow!("cannot decode {}: {e}", input.display()))?
            .to_channels(channels);
        if let Some(why) = Image::damage(&bytes) {
            anyhow::ensure!(!args.strict, "{}: {why}", input.display());
            eprintln!(
                "warning: {}: {why}; denoising it as decoded (--strict refuses it)",
                input.display()
            );
        }
        let dir = match &args.out_dir {
            Some(d) => d.clone(),
            None => input
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .map(Path::to_path_buf)
                .unwrap_or_else(|| PathBuf::from(".")),
        };
        let name = stem(input);
        let output = dir.join(format!("{name}_denoised.png"));
        let noisy = args
            .add_noise
            .map(|s| dir.join(format!("{name}_noisy{}.png", s as u32)));
        for out in std::iter::once(&output).chain(noisy.iter()) {
            let is_input = args.inputs.iter().any(|i| same_file(i, out));
            let taken = jobs.iter().any(
                |(_, _, o, n): &(PathBuf, Image, PathBuf, Option<PathBuf>)| {
                    o == out || n.as_ref() == Some(out)
                },
            );
            anyhow::ensure!(
                !taken,
                "two inputs would write {}; give them different names",
                out.display()
            );
            anyhow::ensure!(
                args.force || (!is_input && !out.exists()),
                "{} already exists{}; use --force to overwrite it",
                out.display(),
                if is_input { " and is an input" } else { "" }
            );
        }
        jobs.push((input.clone(), img, output, noisy));
    }
    if let Some(d) = &args.out_dir {
        std::fs::create_dir_all(d)
            .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", d.display()))?;
    }
    let gpu = Gpu::open()?;
    let model = Model::from_file(&gpu, file, &args.model)?;
    let mut net = InferNet::from_model(&model)?;
    if let Some(t) = args.tile {
        anyhow::ensure!(t >= 1, "--tile must be at least 1");
        net.limit_tile(t);
    }
    if let Some(s) = args.sigma.or(args.add_noise) {
        if (s - model.sigma()).abs() > 0.5 && !args.quiet {
            eprintln!(
                "warning: the model was trained at sigma {}, the input has sigma {s}",
                model.sigma()
            );
        }
    }
    let mut done = Vec::new();
    let count = jobs.len();
    // Progress counts output pixels over all images, so one ETA covers the run and a large image
    // advances tile by tile: a bar on a terminal, a line every few seconds in a log.
    let total: usize = jobs
        .iter()
        .map(|(_, img, _, _)| img.width * img.height)
        .sum();
    let mut progress = Progress::new(Mode::detect(args.quiet), total as u64, 0);
    progress.header(&format!(
        "denoising {count} image{} with {} | {}",
        if count == 1 { "" } else { "s" },
        args.model.display(),
        gpu.adapter_line()
    ));
    progress.header(super::FIRST_PASS_COMPILES);
    for (k, (input, img, output, noisy_path)) in jobs.into_iter().enumerate() {
        let mut x = img.to_float();
        if let Some(s) = args.add_noise {
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(args.seed);
            rng.set_stream(k as u64);
            for v in &mut x.data {
                let n: f32 = rng.sample(StandardNormal);
                *v += n * s / 255.0;
            }
        }
        if let Some(p) = &noisy_path {
            write_atomic(p, &x.to_u8().to_png()?)?;
        }
        let t0 = Instant::now();
        // A retry with larger margins restarts the tiles; the pixels of this image count once.
        let mut left = img.width * img.height;
        let name = input.display().to_string();
        let y: FloatImage = net.denoise_observed(&x, &mut |tile| {
            let n = tile.pixels.min(left);
            left -= n;
            let what = |p: &Progress| {
                format!(
                    "image {}/{count} {name}: tile {}/{} | {}",
                    k + 1,
                    tile.index + 1,
                    tile.count,
                    p.times()
                )
            };
            progress.advance(n as u64, what);
            if tile.count > 1 {
                progress.line_every(10.0, false, what);
            }
        })?;
        progress.advance(left as u64, |p| {
            format!("image {}/{count} done | {}", k + 1, p.times())
        });
        let seconds = t0.elapsed().as_secs_f64();
        if let Some(dir) = &args.raw_out {
            std::fs::create_dir_all(dir)
                .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", dir.display()))?;
            let shape = vec![1, x.channels, x.height, x.width];
            crate::checkpoint::save(
                &dir.join(format!("{}_denoised.safetensors", stem(&input))),
                &[
                    ("input".into(), shape.clone(), x.data.clone()),
                    ("denoised".into(), shape, y.data.clone()),
                ],
                Default::default(),
            )?;
        }
        write_atomic(&output, &y.to_u8().to_png()?)?;
        if !args.quiet {
            progress.suspend(|| {
                println!(
                    "{} ({}x{}) -> {}{} in {:.2} s{}",
                    input.display(),
                    img.width,
                    img.height,
                    output.display(),
                    net.last_tiling()
                        .map(|t| format!(
                            " ({}x{} tiles, {} px margin for offsets up to {} px{})",
                            t.cols,
                            t.rows,
                            t.margin,
                            t.offset_bound,
                            if t.bands > 0 {
                                format!("; decoder in {} bands", t.bands)
                            } else {
                                String::new()
                            }
                        ))
                        .unwrap_or_default(),
                    seconds,
                    noisy_path
                        .as_ref()
                        .map(|p| format!(" (noisy input: {})", p.display()))
                        .unwrap_or_default()
                )
            });
        }
        done.push(Denoised {
            input,
            output,
            noisy: noisy_path,
            width: img.width,
            height: img.height,
            seconds,
        });
    }
    progress.finish();
    Ok(done)
}
