//! Per test image, the PSNR of a trained model with BatchNorm normalising by its running
//! statistics (eval mode, what `eval` and `denoise` use) and by the image's own statistics
//! (train mode). A large gap on some images means the running statistics do not fit them:
//! the diagnosis behind the tiny budget's `bn_frozen_fraction` (EVAL.md).
//!
//!     cargo run --release --example bn_modes -- MODEL [SIGMA]

use hinas::data::{self, protocol::noisy_image, Channels, HostBatch, LoadOptions, Source};
use hinas::gpu::Gpu;
use hinas::nn::layers::Mode;
use hinas::tape::Tape;
use hinas::train::model::Model;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    anyhow::ensure!(args.len() >= 2, "usage: bn_modes MODEL [SIGMA]");
    let sigma: f32 = args.get(2).map_or(Ok(25.0), |s| s.parse())?;
    let gpu = Gpu::open()?;
    let model = Model::load(&gpu, std::path::Path::new(&args[1]))?;
    let ch = Channels::from_count(model.channels()).expect("1 or 3 channels");
    let images = Source::BuiltinTest.load(&LoadOptions::new(ch))?;
    println!("image            eval-mode PSNR   batch-stat PSNR");
    for (i, named) in images.iter().enumerate() {
        let noisy = noisy_image(&named.image, i, sigma, 0);
        let clean = named.image.to_float();
        let batch = HostBatch::from_image(&noisy);
        let mut psnr = Vec::new();
        for mode in [Mode::Eval, Mode::Train] {
            let mut t = Tape::inference(&gpu);
            let p = model.store.bind(&mut t, None);
            let x = t.constant(batch.upload(&gpu));
            let y = model.net.forward(&mut t, &p, &x, mode);
            let out = data::FloatImage::new(
                clean.width,
                clean.height,
                clean.channels,
                y.value().to_vec(),
            );
            psnr.push(data::metrics::psnr(&out, &clean));
        }
        println!("{:16} {:14.2} {:17.2}", named.name, psnr[0], psnr[1]);
    }
    Ok(())
}
