//! PSNR / SSIM of the noisy inputs themselves (an identity "denoiser"), standard protocol, seed 0:
//! the floor any denoiser has to beat. Uses the built-in test set and, when tools/fetch-data has
//! run, the fetched test sets.
//!
//!     cargo run --release --example noisy_floor [-- SEED]

use hinas::data::*;
use std::path::Path;

fn main() -> anyhow::Result<()> {
    let seed: u64 = std::env::args().nth(1).map_or(Ok(0), |s| s.parse())?;
    let sigmas = [15.0, 25.0, 30.0, 50.0, 70.0];
    let tiny_color: Vec<NamedImage> = builtin::TEST
        .iter()
        .map(|(name, bytes)| NamedImage {
            name: name.to_string(),
            image: Image::decode(bytes).expect("embedded image"),
        })
        .filter(|im| im.image.channels == 3)
        .collect();
    let mut sets = vec![
        (
            "builtin tiny12 (grey)".to_string(),
            builtin_test(Channels::Grey),
        ),
        ("builtin tiny12 colour part (8)".to_string(), tiny_color),
    ];
    let fetched = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/fetched");
    for (dir, ch) in [
        ("regset21-grey", Channels::Grey),
        ("regset13-color", Channels::Color),
    ] {
        let p = fetched.join(dir);
        if p.exists() {
            let set = load_folder(&p, &LoadOptions::new(ch).strict(true))?;
            sets.push((format!("fetched {dir}"), set.images));
        } else {
            eprintln!("{}: missing (run tools/fetch-data), skipped", p.display());
        }
    }
    println!(
        "noisy inputs, standard protocol, seed {seed}: PSNR dB / SSIM (HiNAS) / SSIM (skimage)"
    );
    print!("| set | images |");
    for s in sigmas {
        print!(" sigma {s} |");
    }
    println!("\n|---|---|{}", "---|".repeat(sigmas.len()));
    for (name, images) in &sets {
        print!("| {name} | {} |", images.len());
        for sigma in sigmas {
            let r = evaluate(images, sigma, seed, Protocol::Standard, |b| Ok(b.clone()))?;
            let m = r.mean;
            print!(
                " {:.2} / {:.4} / {:.4} |",
                m.psnr, m.ssim_hinas, m.ssim_skimage
            );
        }
        println!();
    }
    Ok(())
}
