//! Inference plan (src/eval/infer.rs): the folded plan gives the model's own eval forward, and
//! an image cut into tiles gives the whole-image output within 1e-4, with deformable offsets of
//! several pixels; a margin below the receptive field does not.

use hinas::data::{FloatImage, HostBatch};
use hinas::eval::infer::{plan_tiles, InferNet};
use hinas::gpu::Gpu;
use hinas::nn::genotype::Genotype;
use hinas::ops::conv2d::with_wide64_from;
use hinas::ops::deform_conv::with_direct_forward;
use hinas::train::model::{retrain_genotype, Model};
use rand::Rng;

mod common;
use common::models::{every_op_cells, micro_setup, randomise};
use common::{gpu, rng};

/// Every op kind, BN statistics and affine parameters away from 0/1, and offset predictors
/// scaled so the offsets reach several pixels (`offset_scale`).
fn model(gpu: &Gpu, offset_scale: f32) -> Model {
    let (cfg, g) = micro_setup();
    let g = Genotype {
        cells: every_op_cells(),
        path: vec![0, 1, 0],
        ..g
    };
    g.validate().unwrap();
    let m = Model::new(gpu, &retrain_genotype(&g, &cfg), &cfg).unwrap();
    randomise(&m, 11, offset_scale);
    m
}

fn image(w: usize, h: usize, seed: u64) -> FloatImage {
    let mut r = rng(seed);
    let data = (0..w * h)
        .map(|i| {
            let (x, y) = ((i % w) as f32, (i / w) as f32);
            0.5 + 0.3 * (x * 0.21).sin() * (y * 0.13).cos() + r.random_range(-0.1..0.1)
        })
        .collect();
    FloatImage::new(w, h, 1, data)
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

#[test]
fn folded_plan_matches_the_model_forward() {
    let gpu = gpu();
    let m = model(&gpu, 6.0);
    let net = InferNet::from_model(&m).unwrap();
    let x = HostBatch::new([2, 1, 23, 30], image(30, 46, 1).data);
    let want = m.run(&x).unwrap().data;
    let got = net.run_any(&x).unwrap().data;
    let d = max_diff(&want, &got);
    assert!(d < 1e-4, "plan vs model forward: {d}");
    // Every deformable conv reads its predictor's output whole (infer/packed_deform.rs); on
    // sizes whose positions come in fours, through the one-pass forward where the device has it.
    assert!(net.packed_deforms() > 0, "no packed deformable conv");
    let x = HostBatch::new([2, 1, 24, 32], image(32, 48, 3).data);
    let want = m.run(&x).unwrap().data;
    for direct in [false, true] {
        let got = with_direct_forward(direct, || net.run_any(&x).unwrap().data);
        let d = max_diff(&want, &got);
        assert!(
            d < 1e-4,
            "plan (direct forward {direct}) vs model forward: {d}"
        );
    }
    // The decoder's 48 + 128-channel concat and its depthwise conv run per input
    // (src/eval/infer/split_concat.rs), so the widest value is a 128-channel one.
    assert_eq!(net.widest_channels(), 128);
    // The stem's ReLU followed by a cell's input ReLU runs once (the second is an identity).
    assert_eq!(net.activations_of_relu_outputs(), 0);
    // Adds of a deformable output run in its store (infer/deform_add.rs), and the ReLUs of
    // concats read only by them in the concat's copies (infer/concat_act.rs).
    assert!(net.deforms_with_addend() > 0, "no fused Add");
    assert!(net.activated_concats() > 0, "no fused concat activation");
    // BN folding and shared activations leave fewer ops than the graph has nodes.
    let nodes = hinas::export::onnx_model(&m)
        .graph
        .expect("a graph")
        .node
        .len();
    assert!(
        net.step_count() < nodes,
        "{} steps of {nodes}",
        net.step_count()
    );
}

/// With gather64 from any size, the decoder's depthwise -> 1x1 pairs (the 128- and 48-channel
/// parts of its first separable conv, then its second) pass their values as pixel blocks
/// (ops/conv2d/blocks.rs), and the plan still gives the model's forward.
#[test]
fn pixel_blocks_in_the_plan_match_the_model_forward() {
    let gpu = gpu();
    let m = model(&gpu, 6.0);
    let net = InferNet::from_model(&m).unwrap();
    let x = HostBatch::new([2, 1, 23, 30], image(30, 46, 4).data);
    let want = m.run(&x).unwrap().data;
    with_wide64_from(0, || {
        let blocked = net.pixel_block_count(2, 23, 30);
        assert_eq!(blocked, if gpu.subgroup_kernels() { 3 } else { 0 });
        let got = net.run_any(&x).unwrap().data;
        let d = max_diff(&want, &got);
        assert!(d < 1e-4, "plan with pixel blocks vs model forward: {d}");
    });
    // Not at this size with the pixel rule of gather64 (the 1x1 convs take the GEMM).
    assert_eq!(net.pixel_block_count(2, 23, 30), 0);
}

/// Offset predictors run by their deformable steps in bands of rows (infer/band_predictor.rs,
/// on devices with the 8-lane subgroup kernels) give the same output, to the bit, as the same
/// steps with each predictor output whole, and the model's forward.
#[test]
fn predictors_in_row_bands_equal_the_whole_predictor_output() {
    let gpu = gpu();
    let m = model(&gpu, 6.0);
    let mut net = InferNet::from_model(&m).unwrap();
    if !gpu.subgroup_kernels() {
        assert_eq!(net.banded_predictors(), 0);
        println!("skipped: predictor bands need the 8-lane subgroup kernels");
        return;
    }
    assert_eq!(net.banded_predictors(), net.packed_deforms());
    assert!(net.banded_predictors() > 0);
    // 64 x 48: every level's positions in fours; the 8-lane wide gathers (gather56 for the
    // 54-channel predictors) and the one-pass deformable forward forced at these sizes, as a
    // large tile takes them.
    let img = image(64, 48, 7);
    let run = |net: &InferNet, wide_from: usize| {
        with_wide64_from(wide_from, || {
            with_direct_forward(true, || net.denoise(&img).unwrap())
        })
    };
    let want = m.run(&HostBatch::from_image(&img)).unwrap().data;
    // Bands of 4 rows at every level; then at most 40 rows with gather56/64 from 1,024 pixels:
    // 48 rows as 40 + 8 would leave a last band of 512 pixels, too few for the gather56 launch
    // the rows need, so the bands must come out even (24 + 24).
    for (rows, wide_from) in [(4, 0), (40, 1024)] {
        net.limit_band_rows(usize::MAX);
        let whole = run(&net, wide_from);
        assert!(net.last_tiling().is_none(), "fits one pass");
        net.limit_band_rows(rows);
        let banded = run(&net, wide_from);
        let same = whole
            .data
            .iter()
            .zip(&banded.data)
            .all(|(a, b)| a.to_bits() == b.to_bits());
        assert!(
            same,
            "bands of {rows} rows vs whole predictors: {}",
            max_diff(&whole.data, &banded.data)
        );
        let d = max_diff(&want, &banded.data);
        assert!(d < 1e-4, "bands of {rows} rows vs model forward: {d}");
    }
}

#[test]
fn several_tiles_equal_the_whole_image() {
    let gpu = gpu();
    // Offset predictors scaled so the offsets reach several pixels.
    let m = model(&gpu, 15.0);
    let mut net = InferNet::from_model(&m).unwrap();
    let (w, h) = (200, 160);
    let img = image(w, h, 2);
    let whole = net.denoise(&img).unwrap();
    assert!(net.last_tiling().is_none(), "fits one pass");
    net.limit_tile(150);
    let tiled = net.denoise(&img).unwrap();
    let t = net.last_tiling().expect("tiled");
    eprintln!("{t:?}");
    assert!(t.cols * t.rows >= 2, "{t:?}");
    assert_eq!(
        t.margin,
        net.radius(t.offset_bound),
        "margin not cut: {t:?}"
    );
    let d = max_diff(&whole.data, &tiled.data);
    assert!(d < 1e-4, "tiled vs whole: {d} ({t:?})");
    // The same tiles with no margin (cores of 100 x 80, already in fours, so not widened) do
    // not give the whole-image output.
    let short = net.denoise_with_margin(&img, 0).unwrap();
    let d = max_diff(&whole.data, &short.data);
    assert!(d > 1e-3, "a short margin should show at the seams: {d}");
}

/// Tiles in two stages (src/eval/infer/stages.rs): the cells on tiles sized by their widest
/// value, the decoder in bands of rows of each tile, give the whole-image output; bands without
/// the decoder's own margin do not.
#[test]
fn tiles_with_the_decoder_in_bands_equal_the_whole_image() {
    let gpu = gpu();
    let m = model(&gpu, 15.0);
    let mut net = InferNet::from_model(&m).unwrap();
    let (a, b) = net.stage_pixels().expect("a plan in two stages");
    // The decoder holds 128 channels. The cells hold at most the offset predictors' 54, or,
    // where the predictors run inside their deformable steps (infer/band_predictor.rs), 16.
    let cells = if net.banded_predictors() > 0 { 16 } else { 54 };
    assert_eq!(a / b, 128 / cells, "{a} vs {b} pixels");
    let (w, h) = (200, 160);
    let img = image(w, h, 5);
    let whole = net.denoise(&img).unwrap();
    assert!(net.last_tiling().is_none(), "fits one pass");
    net.limit_stage_pixels(200 * 110, 200 * 24);
    let staged = net.denoise(&img).unwrap();
    let t = net.last_tiling().expect("tiled");
    eprintln!("{t:?}");
    assert!(
        t.cols * t.rows >= 2 && t.bands >= 2 * t.cols * t.rows,
        "{t:?}"
    );
    assert_eq!(t.margin, net.radius(t.offset_bound), "{t:?}");
    let d = max_diff(&whole.data, &staged.data);
    assert!(d < 1e-4, "two stages vs whole: {d} ({t:?})");
    // Also where the decoder's depthwise -> 1x1 pairs pass pixel blocks (chosen per band).
    let blocked = with_wide64_from(0, || net.denoise(&img).unwrap());
    let d = max_diff(&whole.data, &blocked.data);
    assert!(d < 1e-4, "two stages with pixel blocks vs whole: {d}");
    net.set_band_margin(0);
    let short = net.denoise(&img).unwrap();
    let d = max_diff(&whole.data, &short.data);
    assert!(
        d > 1e-3,
        "bands without margin should show at their seams: {d}"
    );
}

#[test]
fn tile_plans_cover_the_image_within_the_limit() {
    for (w, h, r, max) in [
        (360, 203, 41, 160 * 160),
        (1024, 1024, 53, 190_000),
        (4256, 2832, 77, 190_000),
        (50, 7, 3, 100),
    ] {
        let p = plan_tiles(w, h, r, max).unwrap();
        for (len, spans) in [(w, &p.xs), (h, &p.ys)] {
            assert_eq!(spans[0].c0, 0);
            assert_eq!(spans.last().unwrap().c1, len);
            for s in spans.windows(2) {
                assert_eq!(s[0].c1, s[1].c0, "cores tile the axis");
            }
            for s in spans.iter() {
                assert!(s.c0 < s.c1);
                // The margin, widened to a span in fours where the axis allows.
                assert!(s.t0 <= s.c0.saturating_sub(r));
                assert!(s.t1 >= (s.c1 + r).min(len) && s.t1 <= len);
                let (t, least) = (s.t1 - s.t0, (s.c1 + r).min(len) - s.c0.saturating_sub(r));
                assert!(t < least + 4);
                assert!(
                    t % 4 == 0 || len < least.next_multiple_of(4),
                    "{s:?} of {len}"
                );
            }
        }
        for x in &p.xs {
            for y in &p.ys {
                assert!((x.t1 - x.t0) * (y.t1 - y.t0) <= max);
            }
        }
    }
    // A margin wider than any tile allows has no plan.
    assert!(plan_tiles(100, 100, 40, 60 * 60).is_none());
}

/// Where stage B starts with a cell's output concat (as in the tiny genotype, whose last concat
/// holds 64 channels), its bands read the concatenated stage-A values in place at their rows
/// (src/eval/infer/stages.rs) and still give the whole-image output.
#[test]
fn bands_reading_stage_values_in_place_equal_the_whole_image() {
    let gpu = gpu();
    let (cfg, g) = micro_setup();
    let g = Genotype {
        cells: every_op_cells(),
        path: vec![0, 0, 1],
        ..g
    };
    let m = Model::new(&gpu, &retrain_genotype(&g, &cfg), &cfg).unwrap();
    randomise(&m, 12, 15.0);
    let mut net = InferNet::from_model(&m).unwrap();
    assert!(
        net.stage_values_read_in_place() > 0,
        "no value read in place"
    );
    let img = image(200, 160, 6);
    let whole = net.denoise(&img).unwrap();
    assert!(net.last_tiling().is_none(), "fits one pass");
    net.limit_stage_pixels(200 * 110, 200 * 24);
    let staged = net.denoise(&img).unwrap();
    let t = net.last_tiling().expect("tiled");
    assert!(t.bands >= 2 * t.cols * t.rows, "{t:?}");
    let d = max_diff(&whole.data, &staged.data);
    assert!(d < 1e-4, "bands reading in place vs whole: {d} ({t:?})");
}
