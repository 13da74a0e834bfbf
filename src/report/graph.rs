//! Pictures of a cell and of the width path: Graphviz DOT (for users who have Graphviz) and a
//! self-drawn SVG (so a picture exists without it).

use crate::nn::cell::Edge;
use std::fmt::Write;

fn state_name(i: usize) -> String {
    match i {
        0 => "c_{k-2}".into(),
        1 => "c_{k-1}".into(),
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
    let _ = writeln!(s, "  out [label=\"c_{{k}}\", fillcolor=palegoldenrod];");
    for (n, e) in edges.iter().enumerate() {
        let _ = writeln!(s, "  s{} -> s{} [label=\"{}\"];", e.input, 2 + n / 2, e.op);
    }
    for j in 0..nodes {
        let _ = writeln!(s, "  s{} -> out;", j + 2);
    }
    s.push_str("}\n");
    s
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Several cells (one per layer, or one when tied) drawn side by side in one SVG.
pub fn cells_svg(cells: &[(String, Vec<Edge>)]) -> String {
    let (cw, ch) = (760.0, 330.0);
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{cw}\" height=\"{}\" font-family=\"sans-serif\" font-size=\"12\">\n",
        ch * cells.len() as f64
    );
    s.push_str("<defs><marker id=\"a\" markerWidth=\"8\" markerHeight=\"8\" refX=\"8\" refY=\"4\" orient=\"auto\"><path d=\"M0,0 L8,4 L0,8 z\"/></marker></defs>\n");
    for (k, (title, edges)) in cells.iter().enumerate() {
        let y0 = k as f64 * ch;
        let nodes = edges.len() / 2;
        let pos = |i: usize| -> (f64, f64) {
            if i < 2 {
                (60.0, y0 + 90.0 + 140.0 * i as f64)
            } else {
                let j = i - 2;
                (230.0 + 120.0 * j as f64, y0 + 70.0 + 180.0 * (j % 2) as f64)
            }
        };
        let _ = writeln!(
            s,
            "<text x=\"10\" y=\"{}\" font-weight=\"bold\">{}</text>",
            y0 + 18.0,
            esc(title)
        );
        for (n, e) in edges.iter().enumerate() {
            let (x1, y1) = pos(e.input);
            let (x2, y2) = pos(2 + n / 2);
            let _ = writeln!(
                s,
                "<line x1=\"{x1}\" y1=\"{y1}\" x2=\"{}\" y2=\"{y2}\" stroke=\"#555\" marker-end=\"url(#a)\"/>",
                x2 - 38.0
            );
            let (mx, my) = (
                (x1 + x2) / 2.0,
                (y1 + y2) / 2.0 - 4.0 + 12.0 * (n % 2) as f64,
            );
            let _ = writeln!(
                s,
                "<text x=\"{mx}\" y=\"{my}\" fill=\"#a33\" text-anchor=\"middle\">{}</text>",
                esc(&e.op)
            );
        }
        let out = (230.0 + 120.0 * nodes as f64 + 40.0, y0 + 160.0);
        for j in 0..nodes {
            let (x1, y1) = pos(2 + j);
            let _ = writeln!(
                s,
                "<line x1=\"{x1}\" y1=\"{y1}\" x2=\"{}\" y2=\"{}\" stroke=\"#bbb\" marker-end=\"url(#a)\"/>",
                out.0 - 38.0,
                out.1
            );
        }
        for i in 0..nodes + 2 {
            let (x, y) = pos(i);
            let fill = if i < 2 { "#cfe8cf" } else { "#cde3f5" };
            let _ = writeln!(s, "<rect x=\"{}\" y=\"{}\" width=\"76\" height=\"28\" rx=\"5\" fill=\"{fill}\" stroke=\"#333\"/>", x - 38.0, y - 14.0);
            let _ = writeln!(
                s,
                "<text x=\"{x}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
                y + 4.0,
                esc(&state_name(i))
            );
        }
        let _ = writeln!(s, "<rect x=\"{}\" y=\"{}\" width=\"76\" height=\"28\" rx=\"5\" fill=\"#eee8aa\" stroke=\"#333\"/>", out.0 - 38.0, out.1 - 14.0);
        let _ = writeln!(
            s,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">concat</text>",
            out.0,
            out.1 + 4.0
        );
    }
    s.push_str("</svg>\n");
    s
}

/// The trellis (layers x levels) with the chosen path highlighted.
pub fn network_dot(widths: &[usize], top_levels: &[usize], path: &[usize]) -> String {
    let mut s = String::from(
        "digraph network {\n  rankdir=LR;\n  node [shape=circle];\n  stem [shape=box];\n",
    );
    for (l, &top) in top_levels.iter().enumerate() {
        for j in 0..=top {
            let on = path[l] == j;
            let _ = writeln!(
                s,
                "  l{l}_{j} [label=\"L{l}\\n{}ch\"{}];",
                widths[j],
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
    s.push_str("}\n");
    s
}

pub fn network_svg(widths: &[usize], top_levels: &[usize], path: &[usize]) -> String {
    let levels = widths.len();
    let (w, h) = (
        160.0 + 140.0 * top_levels.len() as f64,
        80.0 + 90.0 * levels as f64,
    );
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" font-family=\"sans-serif\" font-size=\"12\">\n"
    );
    let pos = |l: usize, j: usize| (130.0 + 140.0 * l as f64, 50.0 + 90.0 * j as f64);
    let stem = (40.0, 50.0);
    // All possible moves in grey, the chosen path in orange.
    for (l, &top) in top_levels.iter().enumerate() {
        for j in 0..=top {
            let (x2, y2) = pos(l, j);
            let sources: Vec<(f64, f64)> = if l == 0 {
                (j <= 1).then_some(stem).into_iter().collect()
            } else {
                (0..=top_levels[l - 1])
                    .filter(|&i| i.abs_diff(j) <= 1)
                    .map(|i| pos(l - 1, i))
                    .collect()
            };
            for (x1, y1) in sources {
                let _ = writeln!(
                    s,
                    "<line x1=\"{x1}\" y1=\"{y1}\" x2=\"{x2}\" y2=\"{y2}\" stroke=\"#ccc\"/>"
                );
            }
        }
    }
    let mut prev = stem;
    for (l, &j) in path.iter().enumerate() {
        let p = pos(l, j);
        let _ = writeln!(
            s,
            "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"orange\" stroke-width=\"4\"/>",
            prev.0, prev.1, p.0, p.1
        );
        prev = p;
    }
    let _ = writeln!(s, "<rect x=\"15\" y=\"35\" width=\"50\" height=\"30\" fill=\"#ddd\" stroke=\"#333\"/><text x=\"40\" y=\"55\" text-anchor=\"middle\">stem</text>");
    for (l, &top) in top_levels.iter().enumerate() {
        let _ = writeln!(
            s,
            "<text x=\"{}\" y=\"20\" text-anchor=\"middle\">layer {l}</text>",
            pos(l, 0).0
        );
        for j in 0..=top {
            let (x, y) = pos(l, j);
            let fill = if path[l] == j { "orange" } else { "#fff" };
            let _ = writeln!(
                s,
                "<circle cx=\"{x}\" cy=\"{y}\" r=\"22\" fill=\"{fill}\" stroke=\"#333\"/>"
            );
            let _ = writeln!(
                s,
                "<text x=\"{x}\" y=\"{}\" text-anchor=\"middle\">{}ch</text>",
                y + 4.0,
                widths[j]
            );
        }
    }
    s.push_str("</svg>\n");
    s
}
