//! The pictures a user opens (alphas, loss, cell, network) and the progress lines of runs whose
//! stderr is not a terminal: rendered from synthetic histories and genotypes through the library,
//! and from a micro search and a micro training run through the binary. Every SVG element must
//! lie inside its canvas; PNGs must decode at the figure's size and not be blank.

use hinas::nn::cell::Edge;
use hinas::nn::space::SpaceCfg;
use hinas::report::{graph, plot};
use hinas::search::state::EpochLog;
use hinas::train::state::IntervalLog;
use std::path::{Path, PathBuf};

mod common;
use common::cli::*;
use common::svg;

fn softmax(logits: &[f64]) -> Vec<f32> {
    let m = logits.iter().cloned().fold(f64::MIN, f64::max);
    let e: Vec<f64> = logits.iter().map(|l| (l - m).exp()).collect();
    let s: f64 = e.iter().sum();
    e.iter().map(|v| (v / s) as f32).collect()
}

/// A plausible search history: weights drifting from uniform, validation from `val_from` on.
fn history(sp: &SpaceCfg, epochs: usize, val_from: usize) -> Vec<EpochLog> {
    let k = sp.ops.len();
    let e = hinas::nn::cell::edge_count(sp.nodes);
    let sets = if sp.tied_cells { 1 } else { sp.layers };
    let mask = hinas::nn::supernet::beta_mask(sp);
    (1..=epochs)
        .map(|ep| {
            let t = ep as f64 / epochs as f64;
            let mut arch = Vec::new();
            for row in 0..sets * e {
                let l: Vec<f64> = (0..k)
                    .map(|o| 2.0 * t * ((row * 7 + o * 3) as f64).sin())
                    .collect();
                arch.extend(softmax(&l));
            }
            for (r, m) in mask.chunks(3).enumerate() {
                let l: Vec<f64> = (0..3)
                    .map(|d| t * ((r + d) as f64).cos() + m[d] as f64)
                    .collect();
                arch.extend(softmax(&l));
            }
            let val = ep >= val_from;
            serde_json::from_value(serde_json::json!({
                "epoch": ep,
                "weight_loss": 0.08 / (1.0 + ep as f64),
                "arch_loss": if ep > 1 { Some(0.09 / (1.0 + ep as f64)) } else { None },
                "lr": 0.025 * (1.0 - t * 0.9),
                "val_psnr": val.then_some(20.0 + ep as f64 * 0.5),
                "val_ssim": val.then_some(0.5 + ep as f64 * 0.01),
                "val_psnr_noisy": val.then_some(18.6),
                "val_ssim_noisy": val.then_some(0.31),
                "seconds": 3.0,
                "peak_mib": 100.0,
                "arch": arch,
                "genotype_changed": ep % 2 == 0,
                "alpha_entropy": 2.0 - t,
                "beta_entropy": 0.9 - 0.3 * t,
                "min_margin": 0.01 * t,
                "skip_none_edges": ep % 3,
            }))
            .expect("epoch log from JSON")
        })
        .collect()
}

/// With HINAS_KEEP_PICTURES=DIR the pictures are also written there, to look at.
fn keep(name: &str, bytes: &[u8]) {
    if let Ok(d) = std::env::var("HINAS_KEEP_PICTURES") {
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(Path::new(&d).join(name), bytes).unwrap();
    }
}

#[track_caller]
fn check_svg(doc: &str, what: &str) -> svg::Svg {
    let s = svg::parse(doc);
    assert!(
        s.width > 100.0 && s.height > 100.0,
        "{what}: canvas {}x{}",
        s.width,
        s.height
    );
    assert!(
        s.elements.len() > 10,
        "{what}: only {} elements",
        s.elements.len()
    );
    let out = s.outside(1.0);
    assert!(
        out.is_empty(),
        "{what}: elements outside the {}x{} canvas:\n{}",
        s.width,
        s.height,
        out.join("\n")
    );
    s
}

#[track_caller]
fn check_png(bytes: &[u8], size: (u32, u32), what: &str) {
    let img = image::load_from_memory(bytes)
        .expect("PNG decodes")
        .to_rgb8();
    assert_eq!(img.dimensions(), size, "{what}");
    let ink = img.pixels().filter(|p| p.0 != [255, 255, 255]).count();
    let n = (size.0 * size.1) as usize;
    assert!(
        ink > n / 100 && ink < n / 2,
        "{what}: {ink} of {n} pixels drawn"
    );
    // Coloured curves, not only black text and grey grid.
    let coloured = img
        .pixels()
        .filter(|p| {
            let [r, g, b] = p.0.map(i32::from);
            (r - g).abs().max((g - b).abs()).max((r - b).abs()) > 60
        })
        .count();
    assert!(coloured > 200, "{what}: {coloured} coloured pixels");
}

/// Within a panel no two series look the same (colour and marker), so legends never repeat.
fn check_styles(fig: &plot::Figure) {
    for p in fig.rows.iter().flatten() {
        let mut seen = std::collections::HashSet::new();
        for (k, s) in p.series.iter().enumerate() {
            let (c, m) = plot::style_of(s.style.unwrap_or(k));
            assert!(
                seen.insert((c, format!("{m:?}"), s.dashed)),
                "panel {:?} repeats a style",
                p.title
            );
        }
    }
}

#[test]
fn styles_never_repeat() {
    let all: std::collections::HashSet<_> = (0..60)
        .map(|k| format!("{:?}", plot::style_of(k)))
        .collect();
    assert_eq!(all.len(), 60);
    let colours: std::collections::HashSet<_> = plot::PALETTE.iter().collect();
    assert_eq!(colours.len(), plot::PALETTE.len());
}

#[test]
fn alphas_picture_has_every_panel_inside_its_canvas() {
    for (space, tied) in [("cvpr2020", true), ("ijcv2022", false)] {
        let sp = SpaceCfg::preset(space).unwrap();
        assert_eq!(sp.tied_cells, tied);
        let h = history(&sp, 8, 5);
        let fig = hinas::search::output::alphas_figure(&sp, &h);
        check_styles(&fig);
        let titles: Vec<&str> = fig
            .rows
            .iter()
            .flatten()
            .map(|p| p.title.as_str())
            .collect();
        for want in [
            "training losses",
            "validation PSNR",
            "validation SSIM",
            "mean edge entropy",
            "smallest decision margin",
            "beta, layer 0 from level 0",
            "beta, layer 2 from level 2",
        ] {
            assert!(
                titles.contains(&want),
                "{space}: no panel {want:?} in {titles:?}"
            );
        }
        // One alpha panel per cell set, one beta panel per router.
        let alphas = titles.iter().filter(|t| t.starts_with("alpha")).count();
        assert_eq!(alphas, if tied { 1 } else { sp.layers });
        let betas = titles.iter().filter(|t| t.starts_with("beta")).count();
        assert_eq!(betas, hinas::nn::supernet::router_rows(&sp));
        let psnr = fig.rows[0]
            .iter()
            .find(|p| p.title == "validation PSNR")
            .unwrap();
        assert!(psnr
            .series
            .iter()
            .any(|s| s.dashed && s.name == "noisy input"));
        // Epochs count from 1 as log.csv does.
        assert_eq!(psnr.series[0].points[0].0, 1.0);
        let doc = plot::svg(&fig).unwrap();
        keep(&format!("alphas-{space}.svg"), doc.as_bytes());
        keep(&format!("alphas-{space}.png"), &plot::png(&fig).unwrap());
        let s = check_svg(&doc, &format!("alphas.svg ({space})"));
        let texts = s.texts();
        for want in [
            "epoch",
            "PSNR (dB)",
            "noisy input",
            "entropy (nats)",
            "sep_c_3x3",
            "stay (to level 0)",
        ] {
            assert!(texts.contains(&want), "{space}: no text {want:?}");
        }
        // Real ticks: every epoch from 1 to 8 is labelled.
        for e in 1..=8 {
            assert!(
                texts.contains(&e.to_string().as_str()),
                "{space}: no tick {e}"
            );
        }
        check_png(
            &plot::png(&fig).unwrap(),
            fig.size(),
            &format!("alphas.png ({space})"),
        );
    }
}

#[test]
fn alphas_picture_of_a_first_epoch_has_no_data_gaps_drawn_as_lines() {
    // One epoch, no validation yet: panels say so instead of drawing an empty range.
    let sp = SpaceCfg::preset("cvpr2020").unwrap();
    let fig = hinas::search::output::alphas_figure(&sp, &history(&sp, 1, 5));
    let doc = plot::svg(&fig).unwrap();
    let s = check_svg(&doc, "alphas.svg after one epoch");
    assert!(s.texts().contains(&"no data yet"));
    check_png(
        &plot::png(&fig).unwrap(),
        fig.size(),
        "alphas.png after one epoch",
    );
}

#[test]
fn loss_picture_counts_iterations() {
    let h: Vec<IntervalLog> = (1..=12)
        .map(|i| IntervalLog {
            iteration: 40 * i,
            train_loss: 0.05 / i as f64,
            lr: 0.01 * (1.0 - i as f64 / 13.0),
            val_psnr: 24.0 + (i as f64).ln(),
            val_ssim: 0.6 + 0.01 * i as f64,
            score: 0.0,
            best: i % 3 == 0,
            seconds: 2.0,
        })
        .collect();
    let fig = hinas::train::loss_figure(&h);
    keep("loss.svg", plot::svg(&fig).unwrap().as_bytes());
    keep("loss.png", &plot::png(&fig).unwrap());
    check_styles(&fig);
    let s = check_svg(&plot::svg(&fig).unwrap(), "loss.svg");
    let texts = s.texts();
    assert!(texts.contains(&"iteration"), "x axis titled in iterations");
    assert!(
        texts.contains(&"480") || texts.contains(&"400"),
        "iteration ticks: {texts:?}"
    );
    check_png(&plot::png(&fig).unwrap(), fig.size(), "loss.png");
}

fn cell(ops: &[&str], nodes: usize) -> Vec<Edge> {
    // Node j takes its first and its last predecessor, so spans range from 1 to nodes + 1.
    (0..nodes)
        .flat_map(|j| {
            [0, j + 1]
                .into_iter()
                .enumerate()
                .map(move |(n, input)| (j, n, input))
        })
        .map(|(j, n, input)| Edge {
            op: ops[(2 * j + n) % ops.len()].to_string(),
            input,
        })
        .collect()
}

#[test]
fn cell_picture_fits_and_labels_never_overlap() {
    let long = [
        "sep_c_5x5",
        "dil_c_5x5",
        "skip_connect",
        "con_c_3x3",
        "def_c_3x3",
    ];
    let cases = vec![
        vec![("cell (shared by all layers)".to_string(), cell(&long, 4))],
        (0..3)
            .map(|l| (format!("layer {l} cell"), cell(&long[l..], 2 + l)))
            .collect(),
        // Every node fed by the two inputs: all arcs start at the same boxes.
        vec![(
            "same inputs".to_string(),
            (0..5)
                .flat_map(|_| {
                    [0, 1].map(|i| Edge {
                        op: "skip_connect".into(),
                        input: i,
                    })
                })
                .collect(),
        )],
    ];
    for (i, cells) in cases.into_iter().enumerate() {
        let doc = graph::cells_svg(&cells);
        keep(&format!("cell-{i}.svg"), doc.as_bytes());
        let s = check_svg(&doc, "cell.svg");
        let labels: Vec<_> = s
            .with_class("rect", "label")
            .map(|e| e.bbox.unwrap())
            .collect();
        assert_eq!(labels.len(), cells.iter().map(|c| c.1.len()).sum::<usize>());
        let boxes: Vec<_> = s
            .with_class("rect", "state")
            .map(|e| e.bbox.unwrap())
            .collect();
        for (i, a) in labels.iter().enumerate() {
            for b in &labels[i + 1..] {
                assert!(!svg::overlap(*a, *b), "labels overlap: {a:?} {b:?}");
            }
            for b in &boxes {
                assert!(!svg::overlap(*a, *b), "label over a node: {a:?} {b:?}");
            }
        }
        // The op text fits its label background.
        for t in s.with_class("text", "op") {
            let tb = t.bbox.unwrap();
            assert!(
                labels
                    .iter()
                    .any(|l| l.0 <= tb.0 + 2.0 && tb.2 <= l.2 + 2.0 && svg::overlap(*l, tb)),
                "{:?} outside its label",
                t.text
            );
        }
        let texts = s.texts();
        assert!(
            texts.contains(&"c(k-2)") && texts.contains(&"c(k-1)"),
            "{texts:?}"
        );
        assert!(!doc.contains("_{"), "TeX left in the picture");
        assert!(texts.contains(&"Legend"));
        assert!(texts.iter().any(|t| t.contains("concatenation")));
    }
}

#[test]
fn network_picture_has_head_and_legend() {
    for (widths, tops, path) in [
        (vec![10, 20, 40], vec![1, 2, 2], vec![1, 1, 0]),
        (vec![2, 4], vec![1, 1, 1], vec![0, 1, 1]),
        (
            vec![10, 15, 20, 30, 40],
            vec![1, 2, 3, 4, 4, 4, 4, 4],
            vec![1, 2, 3, 4, 3, 2, 1, 0],
        ),
    ] {
        let doc = graph::network_svg(&widths, &tops, &path);
        keep(&format!("network-{}.svg", tops.len()), doc.as_bytes());
        let s = check_svg(&doc, "network.svg");
        let texts = s.texts();
        for want in [
            "noisy image",
            "stem",
            "decoder head",
            "denoised image",
            "Legend",
            "chosen width path",
        ] {
            assert!(texts.contains(&want), "no {want:?} in {texts:?}");
        }
        let cells: Vec<_> = s.with_class("circle", "cell").collect();
        assert_eq!(cells.len(), tops.iter().map(|t| t + 1).sum::<usize>());
        let dot = graph::network_dot(&widths, &tops, &path);
        assert!(dot.contains("-> head"));
    }
}

fn event_file(dir: &Path) -> PathBuf {
    let files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("events.out.tfevents.")
        })
        .collect();
    assert_eq!(files.len(), 1, "one event file in {}", dir.display());
    assert!(files[0].to_string_lossy().ends_with(".hinas"));
    files[0].clone()
}

/// (step, tag) of every scalar in an event file.
fn scalars(path: &Path) -> Vec<(i64, String, f32)> {
    use prost::Message;
    let bytes = std::fs::read(path).unwrap();
    let mut out = Vec::new();
    for r in hinas::report::tensorboard::read_records(&bytes).unwrap() {
        let e = hinas::report::tensorboard::Event::decode(r.as_slice()).unwrap();
        for v in e.summary.map(|s| s.value).unwrap_or_default() {
            out.push((e.step, v.tag, v.simple_value.unwrap()));
        }
    }
    out
}

/// A micro search and a micro training, with stderr a pipe: one plain line per epoch /
/// validation interval, every picture inside its canvas, an event file with the scalars.
#[test]
fn micro_runs_print_lines_and_leave_readable_pictures() {
    let root = scratch("runs");
    let search = root.join("search");
    let o = hinas()
        .args(["search", "--config"])
        .arg(configs().join("micro.toml"))
        .arg("--out")
        .arg(&search)
        .output()
        .unwrap();
    let err = stderr(&o);
    assert!(o.status.success(), "search failed: {err}");
    let epoch_lines: Vec<&str> = err.lines().filter(|l| l.starts_with("epoch ")).collect();
    assert_eq!(epoch_lines.len(), 3, "one line per epoch:\n{err}");
    for (i, l) in epoch_lines.iter().enumerate() {
        assert!(l.starts_with(&format!("epoch {}/3 | loss ", i + 1)), "{l}");
        assert!(
            l.contains(" | lr ") && l.contains("elapsed") && l.contains("ETA"),
            "{l}"
        );
    }
    assert!(epoch_lines[0].contains("includes pipeline compilation"));
    assert!(
        epoch_lines[2].contains(" | val ") && epoch_lines[2].contains("ETA 0:00"),
        "{}",
        epoch_lines[2]
    );
    assert!(
        !err.contains('\r') && !err.contains("\u{1b}["),
        "no bar escapes in a pipe"
    );
    for name in ["alphas", "cell", "network"] {
        let doc = std::fs::read_to_string(search.join(format!("{name}.svg"))).unwrap();
        check_svg(&doc, &format!("{name}.svg of the micro search"));
    }
    let sp = hinas::search::config::SearchConfig::resolve(
        "cvpr2020",
        "tiny",
        Some(&configs().join("micro.toml")),
    )
    .unwrap()
    .space;
    let fig_size = hinas::search::output::alphas_figure(&sp, &[]).size();
    check_png(
        &std::fs::read(search.join("alphas.png")).unwrap(),
        fig_size,
        "alphas.png of the micro search",
    );
    let s = scalars(&event_file(&search));
    for step in 1..=3 {
        assert!(
            s.iter().any(|(st, t, _)| *st == step && t == "loss/weight"),
            "{s:?}"
        );
    }
    assert!(s.iter().any(|(_, t, v)| t == "val/psnr" && *v > 0.0));
    assert!(s.iter().any(|(_, t, _)| t == "arch/alpha_entropy"));

    let train = root.join("train");
    std::fs::create_dir_all(&root).unwrap();
    let cfg = root.join("train.toml");
    std::fs::write(&cfg, micro_train_toml(6, 2)).unwrap();
    let o = hinas()
        .args(["train", "--genotype"])
        .arg(search.join("genotype.json"))
        .arg("--config")
        .arg(&cfg)
        .arg("--out")
        .arg(&train)
        .output()
        .unwrap();
    let err = stderr(&o);
    assert!(o.status.success(), "train failed: {err}");
    let lines: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with("iteration "))
        .collect();
    assert_eq!(lines.len(), 3, "one line per validation interval:\n{err}");
    assert!(
        lines[0].starts_with("iteration 2/6 | loss ")
            && lines[0].contains("val ")
            && lines[0].contains("ETA"),
        "{}",
        lines[0]
    );
    let doc = std::fs::read_to_string(train.join("loss.svg")).unwrap();
    let svg = check_svg(&doc, "loss.svg of the micro training");
    assert!(svg.texts().contains(&"iteration"));
    let fig_size = hinas::train::loss_figure(&[]).size();
    check_png(
        &std::fs::read(train.join("loss.png")).unwrap(),
        fig_size,
        "loss.png of the micro training",
    );
    let s = scalars(&event_file(&train));
    for step in [2, 4, 6] {
        assert!(
            s.iter().any(|(st, t, _)| *st == step && t == "val/psnr"),
            "{s:?}"
        );
    }
    if std::env::var("HINAS_KEEP_PICTURES").is_err() {
        let _ = std::fs::remove_dir_all(&root);
    } else {
        eprintln!("micro runs kept in {}", root.display());
    }
}
