//! Data pipeline: loader errors, PIL-exact luma and resize, the built-in set, sampler
//! determinism / resume / noise statistics, and the test protocols.

mod common;
use common::cli::scratch_dir;
use common::*;

use hinas::data::sampler::{augmented_patch, flip_lr, rotate90};
use hinas::data::*;
use std::path::Path;

fn textured(w: usize, h: usize, c: usize, seed: u64) -> Image {
    let mut r = rng(seed);
    let data = uniform(&mut r, w * h * c, 0.0, 256.0)
        .iter()
        .map(|&v| v as u8)
        .collect();
    Image::new(w, h, c, data)
}

fn write_png(path: &Path, img: &Image) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, img.to_png().unwrap()).unwrap();
}

#[test]
fn loader_missing_path_is_an_error() {
    let p = Path::new("/nonexistent/hinas/images");
    let e = load_folder(p, &LoadOptions::new(Channels::Grey)).unwrap_err();
    let msg = format!("{e:#}");
    assert!(msg.contains("/nonexistent/hinas/images"), "{msg}");
    assert!(!msg.contains('\n'), "one line: {msg}");
}

#[test]
fn loader_empty_folder_is_an_error() {
    let d = scratch_dir("empty");
    std::fs::write(d.join("README.txt"), "not an image").unwrap();
    let e = load_folder(&d, &LoadOptions::new(Channels::Grey)).unwrap_err();
    let msg = format!("{e:#}");
    assert!(msg.contains("no image files"), "{msg}");
    assert!(msg.contains(&*d.to_string_lossy()), "{msg}");
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn loader_recurses_sorts_converts_and_skips_corrupt_files() {
    let d = scratch_dir("mixed");
    let colour = textured(70, 66, 3, 1);
    let grey = textured(80, 64, 1, 2);
    write_png(&d.join("b/colour.png"), &colour);
    write_png(&d.join("a.PNG"), &grey);
    std::fs::write(d.join("bad.jpg"), b"\xff\xd8 definitely not a jpeg").unwrap();
    std::fs::write(d.join("notes.txt"), "ignored").unwrap();
    let opts = LoadOptions::new(Channels::Grey).min_size(64);

    let set = load_folder(&d, &opts).unwrap();
    let names: Vec<&str> = set.images.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, ["a.PNG", "b/colour.png"]);
    assert_eq!(set.images[0].image, grey);
    assert_eq!(set.images[1].image, colour.to_channels(Channels::Grey));
    assert_eq!(set.skipped.len(), 1);
    assert!(set.skipped[0].0.ends_with("bad.jpg"));

    let colour_set = load_folder(&d, &LoadOptions::new(Channels::Color)).unwrap();
    assert_eq!(colour_set.images[1].image, colour);
    assert_eq!(colour_set.images[0].image.channels, 3);
    assert_eq!(colour_set.images[0].image.plane(2), grey.data.as_slice());

    let e = load_folder(&d, &opts.clone().strict(true)).unwrap_err();
    let msg = format!("{e:#}");
    assert!(msg.contains("bad.jpg"), "{msg}");

    // A single file is a set of one.
    let one = load_folder(&d.join("a.PNG"), &opts).unwrap();
    assert_eq!(one.images.len(), 1);
    assert_eq!(one.images[0].name, "a.PNG");
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn loader_only_corrupt_files_is_an_error() {
    let d = scratch_dir("corrupt");
    std::fs::write(d.join("x.png"), b"garbage").unwrap();
    let e = load_folder(&d, &LoadOptions::new(Channels::Grey)).unwrap_err();
    assert!(format!("{e:#}").contains("x.png"));
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn loader_too_small_image_is_an_error() {
    let d = scratch_dir("small");
    write_png(&d.join("big.png"), &textured(64, 64, 1, 3));
    write_png(&d.join("tiny.png"), &textured(63, 100, 1, 4));
    let e = load_folder(&d, &LoadOptions::new(Channels::Grey).min_size(64)).unwrap_err();
    let msg = format!("{e:#}");
    assert!(
        msg.contains("tiny.png") && msg.contains("63x100") && msg.contains("64x64"),
        "{msg}"
    );
    assert!(load_folder(&d, &LoadOptions::new(Channels::Grey).min_size(63)).is_ok());
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn luma_matches_pillow() {
    let fx = Fixture::load("data");
    let rgb = fx.data("luma.rgb");
    let l = fx.data("luma.l");
    assert!(l.len() > 200);
    for (i, want) in l.iter().enumerate() {
        let (r, g, b) = (rgb[3 * i] as u8, rgb[3 * i + 1] as u8, rgb[3 * i + 2] as u8);
        assert_eq!(luma(r, g, b) as f64, *want, "luma({r},{g},{b})");
    }
    // Hard-coded Pillow 13 values where rounding and the old truncation differ.
    assert_eq!(luma(2, 0, 0), 1);
    assert_eq!(luma(177, 175, 175), 176);
    assert_eq!(luma(10, 200, 30), 124);
    assert_eq!(luma(255, 255, 255), 255);
}

fn fixture_image(fx: &Fixture, key: &str) -> Image {
    let (s, d) = fx.get(key);
    Image::new(s[2], s[1], s[0], d.iter().map(|&v| v as u8).collect())
}

#[test]
fn bicubic_resize_matches_pillow_exactly() {
    let fx = Fixture::load("data");
    let cases = [
        "grey_down",
        "grey_up",
        "grey_v_only",
        "grey_h_only",
        "grey_odd",
        "color_down",
        "color_up",
    ];
    for case in cases {
        let src = fixture_image(&fx, &format!("resize.{case}.in"));
        let want = fixture_image(&fx, &format!("resize.{case}.out"));
        let got = resize::resize(&src, want.width, want.height);
        assert_eq!(got, want, "resize {case}");
        // Any window equals the crop of the full resize.
        let (w, h) = (want.width, want.height);
        let win = resize::resize_crop(&src, w, h, w / 3, h / 4, w / 2, h / 2);
        assert_eq!(win, want.crop(w / 3, h / 4, w / 2, h / 2), "window {case}");
    }
}

#[test]
fn builtin_sets_decode_and_are_disjoint() {
    let train = builtin_train(Channels::Grey);
    let test = builtin_test(Channels::Color);
    assert_eq!(train.len(), 16);
    assert_eq!(test.len(), 12);
    assert!(train
        .iter()
        .all(|i| i.image.width >= 192 && i.image.channels == 1));
    assert!(test
        .iter()
        .all(|i| i.image.width == 256 && i.image.height == 256 && i.image.channels == 3));
    let prefix = |n: &str| n.split(['_', '.']).next().unwrap().to_string();
    for t in &test {
        assert!(train.iter().all(|tr| prefix(&tr.name) != prefix(&t.name)));
    }
    // Names are sorted and the folder loader reads the same pixels.
    let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/builtin/test");
    let loaded = load_folder(&folder, &LoadOptions::new(Channels::Color)).unwrap();
    let a: Vec<_> = loaded.images.iter().map(|i| (&i.name, &i.image)).collect();
    let b: Vec<_> = test.iter().map(|i| (&i.name, &i.image)).collect();
    assert_eq!(a, b);
    let src: Source = "builtin:test".parse().unwrap();
    assert_eq!(src, Source::BuiltinTest);
    assert!(src
        .load(&LoadOptions::new(Channels::Grey).min_size(257))
        .is_err());
}

fn sampler(images: Vec<Image>, mode: SampleMode, prefetch: usize, seed: u64) -> PatchSampler {
    let mut cfg = SamplerConfig::new(3, &[15.0, 50.0]);
    cfg.patch = 16;
    cfg.mode = mode;
    cfg.prefetch = prefetch;
    PatchSampler::new(images, cfg, seed).unwrap()
}

fn small_set() -> Vec<Image> {
    (0..5)
        .map(|i| textured(30 + 3 * i, 24 + i, 1, 10 + i as u64))
        .collect()
}

#[test]
fn sampler_is_deterministic_resumable_and_thread_independent() {
    let mut a = sampler(small_set(), SampleMode::Random, 0, 7);
    let mut b = sampler(small_set(), SampleMode::Random, 3, 7);
    let first: Vec<PatchBatch> = (0..6).map(|_| a.next_host()).collect();
    for (k, want) in first.iter().enumerate() {
        let got = b.next_host();
        assert_eq!(&got, want, "batch {k} with prefetch");
        assert_eq!(got.noisy.shape, [3, 1, 16, 16]);
    }
    // Save / restore, through serde, into a sampler with another seed and prefetch running.
    let state = a.state();
    assert_eq!(state.batches, 6);
    let json = serde_json::to_string(&state).unwrap();
    let later: Vec<PatchBatch> = (0..3).map(|_| a.next_host()).collect();
    let mut c = sampler(small_set(), SampleMode::Random, 2, 999);
    c.next_host();
    c.restore(serde_json::from_str(&json).unwrap());
    for want in &later {
        assert_eq!(&c.next_host(), want);
    }
    assert_eq!(b.batch_at(7), later[1]);
    // Another seed gives other batches.
    let mut d = sampler(small_set(), SampleMode::Random, 0, 8);
    assert_ne!(d.next_host().noisy, first[0].noisy);
}

#[test]
fn epoch_mode_visits_every_image_once_per_epoch() {
    // Constant images identify themselves in the clean patch.
    let images: Vec<Image> = (0..7)
        .map(|i| Image::new(20, 18, 1, vec![10 * i as u8 + 5; 20 * 18]))
        .collect();
    let mut cfg = SamplerConfig::new(3, &[25.0]);
    cfg.patch = 16;
    cfg.mode = SampleMode::Epoch;
    cfg.augment = Augment::none();
    let mut s = PatchSampler::new(images, cfg, 3).unwrap();
    assert_eq!(s.batches_per_epoch(), 3);
    let mut orders = Vec::new();
    for epoch in 0..3 {
        assert_eq!(s.epoch(), epoch);
        let mut seen = Vec::new();
        for j in 0..3 {
            let b = s.next_host();
            assert_eq!(b.clean.shape[0], if j == 2 { 1 } else { 3 });
            for i in 0..b.clean.len() {
                let v = (b.clean.item(i).data[0] * 255.0).round() as usize;
                seen.push((v - 5) / 10);
            }
        }
        let mut sorted = seen.clone();
        sorted.sort();
        assert_eq!(sorted, (0..7).collect::<Vec<_>>(), "epoch {epoch}");
        orders.push(seen);
    }
    assert_ne!(orders[0], orders[1], "each epoch reshuffles");
}

#[test]
fn noise_has_the_requested_statistics() {
    let mut cfg = SamplerConfig::new(8, &[25.0]);
    cfg.prefetch = 0;
    let mut s = PatchSampler::new(vec![textured(100, 90, 3, 5)], cfg, 11).unwrap();
    let mut sum = 0.0;
    let mut sq = 0.0;
    let mut n = 0.0;
    for _ in 0..4 {
        let b = s.next_host();
        assert!(b.sigmas.iter().all(|&s| s == 25.0));
        assert_eq!(b.noisy.shape, [8, 3, 64, 64]);
        for (x, y) in b.noisy.data.iter().zip(&b.clean.data) {
            let d = 255.0 * (*x as f64 - *y as f64);
            sum += d;
            sq += d * d;
            n += 1.0;
        }
        // Clean targets are exact multiples of 1/255; noisy values leave [0, 1] (unclipped).
        assert!(b
            .clean
            .data
            .iter()
            .all(|v| ((v * 255.0).round() - v * 255.0).abs() < 1e-4));
        assert!(b.noisy.data.iter().any(|v| !(0.0..=1.0).contains(v)));
    }
    let mean = sum / n;
    let std = (sq / n - mean * mean).sqrt();
    assert!(mean.abs() < 0.2, "mean {mean}");
    assert!((std - 25.0).abs() < 0.25, "std {std}");
}

#[test]
fn sigma_is_drawn_per_patch_from_the_list() {
    let mut cfg = SamplerConfig::new(16, &[30.0, 50.0, 70.0]);
    cfg.patch = 8;
    let mut s = PatchSampler::new(vec![textured(20, 20, 1, 1)], cfg, 2).unwrap();
    let b = s.next_host();
    for want in [30.0, 50.0, 70.0] {
        assert!(b.sigmas.contains(&want));
    }
    for i in 0..16 {
        let (x, y) = (b.noisy.item(i), b.clean.item(i));
        let var = x
            .data
            .iter()
            .zip(&y.data)
            .map(|(a, c)| ((a - c) as f64 * 255.0).powi(2))
            .sum::<f64>()
            / 64.0;
        let ratio = var.sqrt() / b.sigmas[i] as f64;
        assert!(ratio > 0.6 && ratio < 1.4, "patch {i}: ratio {ratio}");
    }
}

#[test]
fn augmentation_keeps_the_patch_size() {
    let aug = Augment {
        rescale_prob: 1.0,
        ..Augment::hinas()
    };
    let mut r = rng(4);
    for (w, h, c) in [(64, 64, 1), (70, 100, 3), (81, 65, 1), (200, 150, 3)] {
        let img = textured(w, h, c, w as u64);
        for _ in 0..10 {
            let p = augmented_patch(&img, 64, &aug, &mut r);
            assert_eq!((p.width, p.height, p.channels), (64, 64, c));
        }
    }
    // Without augmentation a patch is a plain crop.
    let img = textured(40, 30, 1, 9);
    let p = augmented_patch(&img, 30, &Augment::none(), &mut r);
    let x0 = (0..=10).find(|&x| img.crop(x, 0, 30, 30) == p);
    assert!(x0.is_some());
}

#[test]
fn rotation_and_flip_follow_pil() {
    let img = Image::new(2, 2, 1, vec![1, 2, 3, 4]);
    // PIL rotate(90) is counter-clockwise: the top-right pixel moves to the top-left.
    assert_eq!(rotate90(&img).data, [2, 4, 1, 3]);
    assert_eq!(flip_lr(&img).data, [2, 1, 4, 3]);
    let t = textured(9, 9, 3, 1);
    let r4 = rotate90(&rotate90(&rotate90(&rotate90(&t))));
    assert_eq!(r4, t);
    assert_eq!(flip_lr(&flip_lr(&t)), t);
}

#[test]
fn sampler_rejects_bad_input() {
    let cfg = SamplerConfig::new(2, &[25.0]);
    assert!(PatchSampler::new(vec![], cfg.clone(), 0).is_err());
    let e = PatchSampler::new(vec![textured(63, 80, 1, 0)], cfg.clone(), 0).unwrap_err();
    assert!(format!("{e}").contains("63x80"));
    let mixed = vec![textured(64, 64, 1, 0), textured(64, 64, 3, 0)];
    assert!(PatchSampler::new(mixed, cfg.clone(), 0).is_err());
    let mut no_sigma = cfg;
    no_sigma.sigmas.clear();
    assert!(PatchSampler::new(vec![textured(64, 64, 1, 0)], no_sigma, 0).is_err());
}

#[test]
fn sampler_uploads_batches_to_the_gpu() {
    let gpu = gpu();
    let mut cfg = SamplerConfig::new(2, &[25.0]);
    cfg.patch = 8;
    let mut s = PatchSampler::new(vec![textured(12, 12, 3, 1)], cfg, 5).unwrap();
    let want = s.batch_at(0);
    let (noisy, clean) = s.next_gpu(&gpu);
    assert_eq!(noisy.shape(), &[2, 3, 8, 8]);
    assert_eq!(noisy.to_vec(), want.noisy.data);
    assert_eq!(clean.to_vec(), want.clean.data);
}

fn named(images: Vec<Image>) -> Vec<NamedImage> {
    images
        .into_iter()
        .enumerate()
        .map(|(i, image)| NamedImage {
            name: format!("img{i}"),
            image,
        })
        .collect()
}

#[test]
fn tiles_cover_every_pixel() {
    // dn_eval.py on a 481x321 BSD image: 10 x 7 = 70 tiles.
    assert_eq!(tile_starts(481, 64, 48).len(), 10);
    assert_eq!(tile_starts(321, 64, 48).len(), 7);
    assert_eq!(tile_starts(481, 64, 48).last(), Some(&417));
    assert_eq!(tile_starts(64, 64, 48), [0]);
    assert_eq!(tile_starts(112, 64, 48), [0, 48]);
    assert_eq!(tile_starts(40, 64, 48), [0]);
    for len in 1..200 {
        for (tile, stride) in [(64, 48), (16, 16), (20, 7)] {
            let s = tile_starts(len, tile, stride);
            let t = tile.min(len);
            let mut covered = vec![0; len];
            for &x in &s {
                assert!(x + t <= len);
                covered[x..x + t].iter_mut().for_each(|c| *c += 1);
            }
            assert!(covered.iter().all(|&c| c > 0), "len {len} tile {tile}");
            assert!(s.windows(2).all(|w| w[0] < w[1]), "no duplicates: {s:?}");
        }
    }
}

#[test]
fn protocols_reconstruct_with_an_identity_denoiser() {
    let images = named(vec![
        textured(100, 77, 1, 1),
        textured(64, 64, 3, 2),
        textured(50, 90, 1, 3),
    ]);
    let identity = |b: &HostBatch| Ok(b.clone());
    for protocol in [
        Protocol::Standard,
        Protocol::hinas_tiles(),
        Protocol::Tiled {
            tile: 20,
            stride: 7,
            batch: 5,
        },
    ] {
        // Without noise, stitching (with averaging on overlaps) gives the clean image back.
        let r = evaluate(&images, 0.0, 0, protocol, identity).unwrap();
        for (e, im) in r.images.iter().zip(&images) {
            assert_eq!(e.output, im.image.to_float(), "{protocol:?} {}", e.name);
            assert!(e.scores.psnr.is_infinite());
            assert!((e.scores.ssim_hinas - 1.0).abs() < 1e-12);
            assert!((e.scores.ssim_skimage - 1.0).abs() < 1e-12);
        }
    }
    // With noise, the standard protocol's identity output is the noisy image, the same for a
    // given seed and image index, and another seed changes it.
    let r = evaluate(&images, 25.0, 42, Protocol::Standard, identity).unwrap();
    for (i, e) in r.images.iter().enumerate() {
        assert_eq!(e.output, noisy_image(&images[i].image, i, 25.0, 42));
    }
    assert_ne!(
        noisy_image(&images[0].image, 0, 25.0, 42),
        noisy_image(&images[0].image, 0, 25.0, 43)
    );
    assert!(r.mean.psnr > 19.0 && r.mean.psnr < 22.0, "{:?}", r.mean);
    // Fresh noise per tile, averaged on overlaps: a little less noise than the standard protocol.
    let t = evaluate(&images, 25.0, 42, Protocol::hinas_tiles(), identity).unwrap();
    assert!(t.mean.psnr > r.mean.psnr, "{:?} vs {:?}", t.mean, r.mean);
}

#[test]
fn protocol_reports_a_denoiser_with_the_wrong_shape() {
    let images = named(vec![textured(40, 40, 1, 1)]);
    let bad = |b: &HostBatch| {
        let mut s = b.shape;
        s[2] -= 1;
        Ok(HostBatch::new(s, vec![0.0; s.iter().product()]))
    };
    for p in [Protocol::Standard, Protocol::hinas_tiles()] {
        let e = evaluate(&images, 25.0, 0, p, bad).unwrap_err();
        assert!(format!("{e}").contains("denoiser returned"));
    }
}

#[test]
fn hinas_search_split() {
    assert_eq!(hinas_split(300, 0.02, 0.5), (0..147, 147..294, 294..300));
    assert_eq!(hinas_split(16, 0.02, 0.5), (0..7, 7..15, 15..16));
}
