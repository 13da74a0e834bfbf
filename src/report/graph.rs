//! Pictures of a cell and of the width path: Graphviz DOT (for users who have Graphviz) and a
//! self-drawn SVG (so a picture exists without it).
//!
//! The cell SVG is an arc diagram: the states in one row (the two inputs, the nodes, the output),
//! each chosen edge an arc above the row with its op at the arc's top. An arc's height grows with
//! its span, and columns are wider than the longest label, so two labels either sit at different
//! heights (different spans) or at least a column apart (same span): they never overlap.

use crate::nn::cell::Edge;
use std::fmt::Write;

/// Readable state names (no TeX): c(k-2) and c(k-1) are the outputs of the two previous cells.
fn state_name(i: usize) -> String {
    match i {
        0 => "c(k-2)".into(),
        1 => "c(k-1)".into(),
        j => format!("node {}", j - 2),
    }
}

pub fn cell_dot(title: &str, edges: &[Edge]) -> String {
    let nodes = edges.len() / 2;
    let mut s =
        format!("digraph \"{title}\" {{\n  rankdir=LR;\n  node [shape=box, style=filled];\n");
    for i in 0..nodes + 2 {
        let colour = if i < 2 { "darkseagreen2" } else { "lightblue" };
        let _ = writeln!(
            s,
            "  s{i} [label=\"{}\", fillcolor={colour}];",
            state_name(i)
        );
    }
    let _ = writeln!(
        s,
        "  out [label=\"c(k) = concat\", fillcolor=palegoldenrod];"
    );
    for (n, e) in edges.iter().enumerate() {
        let _ = writeln!(s, "  s{} -> s{} [label=\"{}\"];", e.input, 2 + n / 2, e.op);
    }
    for j in 0..nodes {
        let _ = writeln!(s, "  s{} -> out [color=gray];", j + 2);
    }
    s.push_str("}\n");
    s
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A generous estimate of a sans-serif string's width in pixels (DejaVu Sans averages about
/// 0.6 em per character; digits and underscores 0.64).
pub fn text_width(s: &str, size: f64) -> f64 {
    s.chars().count() as f64 * size * 0.66
}

const FONT: f64 = 12.0;
const BOX_H: f64 = 30.0;
const MARGIN: f64 = 16.0;
/// Height added per column of span to an arc's top: more than a label's height.
const ARC_UNIT: f64 = 26.0;
const LABEL_H: f64 = 18.0;

const INPUT_FILL: &str = "#cfe8cf";
const NODE_FILL: &str = "#cde3f5";
const OUT_FILL: &str = "#eee8aa";
const OP_COLOUR: &str = "#a33";
const CONCAT_COLOUR: &str = "#999";

#[allow(clippy::too_many_arguments)] // an SVG rect's own attributes, named as in the markup
fn rect(s: &mut String, class: &str, x: f64, y: f64, w: f64, h: f64, fill: &str, stroke: &str) {
    let _ = writeln!(
        s,
        "<rect class=\"{class}\" x=\"{x:.1}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{h:.1}\" rx=\"4\" fill=\"{fill}\" stroke=\"{stroke}\"/>"
    );
}

fn text(s: &mut String, class: &str, x: f64, y: f64, anchor: &str, fill: &str, body: &str) {
    let _ = writeln!(
        s,
        "<text class=\"{class}\" x=\"{x:.1}\" y=\"{y:.1}\" text-anchor=\"{anchor}\" fill=\"{fill}\">{}</text>",
        esc(body)
    );
}

/// Legend rows: (swatch kind, colour, text); returns the height used.
fn legend(s: &mut String, x: f64, y: f64, rows: &[(&str, &str, &str)]) -> f64 {
    text(s, "legend", x, y + 12.0, "start", "#000", "Legend");
    let mut yy = y + 22.0;
    for (kind, colour, label) in rows {
        match *kind {
            "box" => rect(s, "legend", x, yy, 26.0, 14.0, colour, "#333"),
            "circle" => {
                let _ = writeln!(
                    s,
                    "<circle class=\"legend\" cx=\"{:.1}\" cy=\"{:.1}\" r=\"7\" fill=\"{colour}\" stroke=\"#333\"/>",
                    x + 13.0,
                    yy + 7.0
                );
            }
            "text" => text(s, "legend", x + 13.0, yy + 11.0, "middle", colour, "op"),
            _ => {
                let width = if *kind == "thick" { 5 } else { 2 };
                let _ = writeln!(
                    s,
                    "<line class=\"legend\" x1=\"{x:.1}\" y1=\"{y1:.1}\" x2=\"{:.1}\" y2=\"{y1:.1}\" stroke=\"{colour}\" stroke-width=\"{width}\"/>",
                    x + 26.0,
                    y1 = yy + 7.0
                );
            }
        }
        text(s, "legend", x + 34.0, yy + 11.0, "start", "#000", label);
        yy += 20.0;
    }
    yy - y
}

fn legend_width(rows: &[(&str, &str, &str)]) -> f64 {
    rows.iter()
        .map(|r| 34.0 + text_width(r.2, FONT))
        .fold(0.0, f64::max)
}

const CELL_LEGEND: [(&str, &str, &str); 5] = [
    (
        "box",
        INPUT_FILL,
        "input state: c(k-2), c(k-1) = outputs of the two previous cells",
    ),
    (
        "box",
        NODE_FILL,
        "intermediate node = sum of its two incoming edges",
    ),
    ("box", OUT_FILL, "output c(k) = concatenation of all nodes"),
    ("text", OP_COLOUR, "operation applied on an edge (arc)"),
    ("line", CONCAT_COLOUR, "node concatenated into the output"),
];

/// Several cells (one per layer, or one when tied) stacked in one SVG, with a legend.
pub fn cells_svg(cells: &[(String, Vec<Edge>)]) -> String {
    let max_label = cells
        .iter()
        .flat_map(|(_, e)| e.iter())
        .map(|e| text_width(&e.op, FONT))
        .fold(0.0, f64::max);
    let box_w = text_width("c(k) = concat", FONT) + 16.0;
    let dx = (max_label + 24.0).max(box_w + 24.0);
    let blocks: Vec<(f64, f64)> = cells
        .iter()
        .map(|(_, e)| {
            let nodes = e.len() / 2;
            // Title, arcs (the longest spans nodes + 1 columns), boxes, concat bus.
            let arcs = (nodes + 1) as f64 * ARC_UNIT + LABEL_H;
            let h = 28.0 + arcs + BOX_H + 40.0;
            let w = 2.0 * MARGIN + box_w + dx * (nodes + 2) as f64;
            (w, h)
        })
        .collect();
    let legend_h = 22.0 + 20.0 * CELL_LEGEND.len() as f64 + 8.0;
    let width = blocks
        .iter()
        .map(|b| b.0)
        .fold(2.0 * MARGIN + legend_width(&CELL_LEGEND), f64::max)
        .ceil();
    let height = (blocks.iter().map(|b| b.1).sum::<f64>() + legend_h + MARGIN).ceil();
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" font-family=\"sans-serif\" font-size=\"{FONT}\">\n"
    );
    let _ = writeln!(
        s,
        "<rect x=\"0\" y=\"0\" width=\"{width}\" height=\"{height}\" fill=\"#fff\"/>"
    );
    s.push_str("<defs><marker id=\"a\" markerWidth=\"8\" markerHeight=\"8\" refX=\"7\" refY=\"4\" orient=\"auto\"><path d=\"M0,0 L8,4 L0,8 z\" fill=\"#555\"/></marker><marker id=\"g\" markerWidth=\"8\" markerHeight=\"8\" refX=\"7\" refY=\"4\" orient=\"auto\"><path d=\"M0,0 L8,4 L0,8 z\" fill=\"#999\"/></marker></defs>\n");
    let mut y0 = 0.0;
    for ((title, edges), (_, bh)) in cells.iter().zip(&blocks) {
        let nodes = edges.len() / 2;
        text(&mut s, "title", MARGIN, y0 + 18.0, "start", "#000", title);
        let row_y = y0 + 28.0 + (nodes + 1) as f64 * ARC_UNIT + LABEL_H + BOX_H / 2.0;
        let cx = |p: usize| MARGIN + box_w / 2.0 + dx * p as f64;
        let top = row_y - BOX_H / 2.0;
        // Arcs under the boxes and labels.
        let mut labels = Vec::new();
        for (n, e) in edges.iter().enumerate() {
            let (ps, pt) = (e.input, 2 + n / 2);
            // The two edges of a node arrive side by side.
            let shift = if n % 2 == 0 { -8.0 } else { 8.0 };
            let (x1, x2) = (cx(ps) + 6.0, cx(pt) + shift);
            let h = ARC_UNIT * (pt - ps) as f64;
            // A cubic whose control points sit at h/0.75 peaks at h.
            let c = top - h / 0.75;
            let _ = writeln!(
                s,
                "<path class=\"edge\" d=\"M{x1:.1},{top:.1} C{x1:.1},{c:.1} {x2:.1},{c:.1} {x2:.1},{:.1}\" fill=\"none\" stroke=\"#555\" stroke-width=\"1.4\" marker-end=\"url(#a)\"/>",
                top - 1.0
            );
            labels.push(((x1 + x2) / 2.0, top - h, &e.op));
        }
        // The concatenation: a bus below the row into the output.
        let out = cx(nodes + 2);
        let bus = row_y + BOX_H / 2.0 + 20.0;
        for j in 0..nodes {
            let x = cx(2 + j);
            let _ = writeln!(
                s,
                "<line class=\"concat\" x1=\"{x:.1}\" y1=\"{:.1}\" x2=\"{x:.1}\" y2=\"{bus:.1}\" stroke=\"{CONCAT_COLOUR}\" stroke-width=\"1.4\"/>",
                row_y + BOX_H / 2.0
            );
        }
        let _ = writeln!(
            s,
            "<path class=\"concat\" d=\"M{:.1},{bus:.1} L{out:.1},{bus:.1} L{out:.1},{:.1}\" fill=\"none\" stroke=\"{CONCAT_COLOUR}\" stroke-width=\"1.4\" marker-end=\"url(#g)\"/>",
            cx(2),
            row_y + BOX_H / 2.0 + 1.0
        );
        for p in 0..nodes + 3 {
            let (fill, name) = match p {
                0 | 1 => (INPUT_FILL, state_name(p)),
                p if p == nodes + 2 => (OUT_FILL, "c(k) = concat".to_string()),
                p => (NODE_FILL, state_name(p)),
            };
            rect(
                &mut s,
                "state",
                cx(p) - box_w / 2.0,
                top,
                box_w,
                BOX_H,
                fill,
                "#333",
            );
            text(&mut s, "state", cx(p), row_y + 4.0, "middle", "#000", &name);
        }
        for (x, y, op) in labels {
            let w = text_width(op, FONT) + 8.0;
            let _ = writeln!(
                s,
                "<rect class=\"label\" x=\"{:.1}\" y=\"{:.1}\" width=\"{w:.1}\" height=\"{LABEL_H}\" fill=\"#fff\" fill-opacity=\"0.9\"/>",
                x - w / 2.0,
                y - LABEL_H / 2.0
            );
            text(&mut s, "op", x, y + 4.0, "middle", OP_COLOUR, op);
        }
        y0 += bh;
    }
    legend(&mut s, MARGIN, y0, &CELL_LEGEND);
    s.push_str("</svg>\n");
    s
}

/// The trellis (layers x levels) with the chosen path highlighted, from the noisy image through
/// the stem to the head.
pub fn network_dot(widths: &[usize], top_levels: &[usize], path: &[usize]) -> String {
    let mut s = String::from(
        "digraph network {\n  rankdir=LR;\n  node [shape=circle];\n  input [shape=box, label=\"noisy image\"];\n  stem [shape=box];\n  head [shape=box, label=\"decoder head\"];\n  output [shape=box, label=\"denoised image\"];\n  input -> stem;\n",
    );
    for (l, &top) in top_levels.iter().enumerate() {
        for (j, width) in widths.iter().enumerate().take(top + 1) {
            let on = path[l] == j;
            let _ = writeln!(
                s,
                "  l{l}_{j} [label=\"L{l}\\n{width}ch\"{}];",
                if on {
                    ", style=filled, fillcolor=orange"
                } else {
                    ""
                }
            );
        }
    }
    let mut prev = "stem".to_string();
    for (l, &j) in path.iter().enumerate() {
        let _ = writeln!(s, "  {prev} -> l{l}_{j} [penwidth=3, color=orange];");
        prev = format!("l{l}_{j}");
    }
    let _ = writeln!(
        s,
        "  {prev} -> head [penwidth=3, color=orange];\n  head -> output;"
    );
    s.push_str("}\n");
    s
}

const NETWORK_LEGEND: [(&str, &str, &str); 4] = [
    ("thick", "orange", "chosen width path"),
    ("line", "#ccc", "other moves the search could choose"),
    (
        "circle",
        "orange",
        "cell on the path (channels of its level)",
    ),
    ("circle", "#fff", "cell position not chosen"),
];

pub fn network_svg(widths: &[usize], top_levels: &[usize], path: &[usize]) -> String {
    let levels = widths.len();
    let layers = top_levels.len();
    let col = 130.0;
    let row = 80.0;
    let x_stem = MARGIN + 100.0 + 64.0;
    let x_layer = |l: usize| x_stem + col * (l + 1) as f64;
    let x_head = x_layer(layers) + 20.0;
    let y_level = |j: usize| 60.0 + row * j as f64;
    let head_w = 124.0;
    let legend_y = y_level(levels - 1) + 50.0;
    let width = (x_head + head_w / 2.0 + 140.0)
        .max(2.0 * MARGIN + legend_width(&NETWORK_LEGEND))
        .ceil();
    let height = (legend_y + 22.0 + 20.0 * NETWORK_LEGEND.len() as f64 + 12.0).ceil();
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" font-family=\"sans-serif\" font-size=\"{FONT}\">\n"
    );
    let _ = writeln!(
        s,
        "<rect x=\"0\" y=\"0\" width=\"{width}\" height=\"{height}\" fill=\"#fff\"/>"
    );
    s.push_str("<defs><marker id=\"a\" markerWidth=\"8\" markerHeight=\"8\" refX=\"7\" refY=\"4\" orient=\"auto\"><path d=\"M0,0 L8,4 L0,8 z\" fill=\"#333\"/></marker></defs>\n");
    let stem = (x_stem, y_level(0));
    // All possible moves in grey, the chosen path in orange.
    for (l, &top) in top_levels.iter().enumerate() {
        for j in 0..=top {
            let (x2, y2) = (x_layer(l), y_level(j));
            let sources: Vec<(f64, f64)> = if l == 0 {
                (j <= 1).then_some(stem).into_iter().collect()
            } else {
                (0..=top_levels[l - 1])
                    .filter(|&i| i.abs_diff(j) <= 1)
                    .map(|i| (x_layer(l - 1), y_level(i)))
                    .collect()
            };
            for (x1, y1) in sources {
                let _ = writeln!(
                    s,
                    "<line class=\"move\" x1=\"{x1:.1}\" y1=\"{y1:.1}\" x2=\"{x2:.1}\" y2=\"{y2:.1}\" stroke=\"#ccc\" stroke-width=\"2\"/>"
                );
            }
        }
    }
    let mut prev = stem;
    for (l, &j) in path.iter().enumerate() {
        let p = (x_layer(l), y_level(j));
        let _ = writeln!(
            s,
            "<line class=\"path\" x1=\"{:.1}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\" stroke=\"orange\" stroke-width=\"5\"/>",
            prev.0, prev.1, p.0, p.1
        );
        prev = p;
    }
    // The last cell feeds the head (which also takes a low-level branch, see the model code).
    let _ = writeln!(
        s,
        "<line class=\"path\" x1=\"{:.1}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\" stroke=\"orange\" stroke-width=\"5\"/>",
        prev.0,
        prev.1,
        x_head - head_w / 2.0,
        y_level(0)
    );
    // Input image -> stem, head -> output.
    let _ = writeln!(
        s,
        "<line class=\"io\" x1=\"{:.1}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\" stroke=\"#333\" stroke-width=\"1.5\" marker-end=\"url(#a)\"/>",
        MARGIN + 100.0,
        y_level(0),
        x_stem - 32.0,
        y_level(0)
    );
    rect(
        &mut s,
        "io",
        MARGIN,
        y_level(0) - 15.0,
        100.0,
        30.0,
        "#f4f4f4",
        "#333",
    );
    text(
        &mut s,
        "io",
        MARGIN + 50.0,
        y_level(0) + 4.0,
        "middle",
        "#000",
        "noisy image",
    );
    rect(
        &mut s,
        "stem",
        x_stem - 30.0,
        y_level(0) - 15.0,
        60.0,
        30.0,
        "#ddd",
        "#333",
    );
    text(
        &mut s,
        "stem",
        x_stem,
        y_level(0) + 4.0,
        "middle",
        "#000",
        "stem",
    );
    rect(
        &mut s,
        "head",
        x_head - head_w / 2.0,
        y_level(0) - 15.0,
        head_w,
        30.0,
        "#eee8aa",
        "#333",
    );
    text(
        &mut s,
        "head",
        x_head,
        y_level(0) + 4.0,
        "middle",
        "#000",
        "decoder head",
    );
    let _ = writeln!(
        s,
        "<line class=\"io\" x1=\"{:.1}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\" stroke=\"#333\" stroke-width=\"1.5\" marker-end=\"url(#a)\"/>",
        x_head,
        y_level(0) + 15.0,
        x_head,
        y_level(0) + 43.0
    );
    rect(
        &mut s,
        "io",
        x_head - head_w / 2.0,
        y_level(0) + 45.0,
        head_w,
        30.0,
        "#f4f4f4",
        "#333",
    );
    text(
        &mut s,
        "io",
        x_head,
        y_level(0) + 64.0,
        "middle",
        "#000",
        "denoised image",
    );
    for (l, &top) in top_levels.iter().enumerate() {
        text(
            &mut s,
            "layer",
            x_layer(l),
            22.0,
            "middle",
            "#000",
            &format!("layer {l}"),
        );
        for (j, width) in widths.iter().enumerate().take(top + 1) {
            let (x, y) = (x_layer(l), y_level(j));
            let fill = if path[l] == j { "orange" } else { "#fff" };
            let _ = writeln!(
                s,
                "<circle class=\"cell\" cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"24\" fill=\"{fill}\" stroke=\"#333\"/>"
            );
            text(
                &mut s,
                "cell",
                x,
                y + 4.0,
                "middle",
                "#000",
                &format!("{width}ch"),
            );
        }
    }
    for (j, w) in widths.iter().enumerate() {
        // Level names on the left, below the input boxes' row.
        if j > 0 {
            text(
                &mut s,
                "level",
                MARGIN,
                y_level(j) + 4.0,
                "start",
                "#555",
                &format!("level {j} ({w}ch)"),
            );
        }
    }
    text(
        &mut s,
        "level",
        MARGIN,
        y_level(0) - 24.0,
        "start",
        "#555",
        &format!("level 0 ({}ch)", widths[0]),
    );
    legend(&mut s, MARGIN, legend_y, &NETWORK_LEGEND);
    s.push_str("</svg>\n");
    s
}
