//! psnr.svg: per (space, sigma, test set) a panel with PSNR per strategy, one point per seed, the
//! mean as a bar and its 95 % t-interval as whiskers (plotters, SVG: no fonts needed to write).

use super::rows::Groups;
use super::stats::summarize;
use plotters::prelude::*;

fn err<E: std::fmt::Debug>(e: E) -> anyhow::Error {
    anyhow::anyhow!("cannot draw psnr.svg: {e:?}")
}

pub fn psnr_svg(groups: &Groups) -> anyhow::Result<String> {
    crate::report::plot::register_font();
    let panels = groups.len().max(1);
    let (w, h) = (360 * panels as u32, 380);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (w, h)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        if groups.is_empty() {
            root.draw(&Text::new(
                "no finished task yet",
                (20, 20),
                ("sans-serif", 16).into_font(),
            ))
            .map_err(err)?;
        }
        let areas = root.split_evenly((1, panels));
        for (area, ((space, sigma, set), strategies)) in areas.iter().zip(groups) {
            let all: Vec<f64> = strategies
                .iter()
                .flat_map(|(_, rs)| rs.iter().filter_map(|r| r.psnr))
                .collect();
            let summaries: Vec<_> = strategies
                .iter()
                .map(|(_, rs)| summarize(&rs.iter().filter_map(|r| r.psnr).collect::<Vec<_>>()))
                .collect();
            let lo = summaries
                .iter()
                .filter_map(|s| s.ci.map(|c| c.0))
                .chain(all.iter().copied())
                .fold(f64::INFINITY, f64::min);
            let hi = summaries
                .iter()
                .filter_map(|s| s.ci.map(|c| c.1))
                .chain(all.iter().copied())
                .fold(f64::NEG_INFINITY, f64::max);
            let pad = ((hi - lo) * 0.1).max(0.05);
            let k = strategies.len();
            let names: Vec<String> = strategies.iter().map(|(l, _)| l.clone()).collect();
            let mut chart = ChartBuilder::on(area)
                .caption(
                    format!("{space}, σ {sigma}, {set}"),
                    ("sans-serif", 16).into_font(),
                )
                .margin(12)
                .x_label_area_size(30)
                .y_label_area_size(55)
                .build_cartesian_2d(-0.5f64..(k as f64 - 0.5), (lo - pad)..(hi + pad))
                .map_err(err)?;
            let fmt = |x: &f64| {
                let i = x.round();
                if (x - i).abs() < 1e-6 && i >= 0.0 && (i as usize) < names.len() {
                    names[i as usize].clone()
                } else {
                    String::new()
                }
            };
            chart
                .configure_mesh()
                .disable_x_mesh()
                .x_labels(k.max(1) * 2 + 1)
                .x_label_formatter(&fmt)
                .y_desc("PSNR (dB)")
                .draw()
                .map_err(err)?;
            let colours = [BLUE, RED, GREEN, MAGENTA, CYAN];
            for (i, ((_, rs), s)) in strategies.iter().zip(&summaries).enumerate() {
                let x = i as f64;
                let c = colours[i % colours.len()];
                let n = rs.len().max(1) as f64;
                // Seeds side by side (in seed order) so equal scores stay visible.
                let mut rs: Vec<_> = rs.iter().filter(|r| r.psnr.is_some()).collect();
                rs.sort_by_key(|r| r.seed);
                chart
                    .draw_series(rs.iter().enumerate().map(|(j, r)| {
                        let dx = (j as f64 + 0.5) / n * 0.3 - 0.35;
                        Circle::new((x + dx, r.psnr.unwrap_or(0.0)), 4, c.mix(0.6).filled())
                    }))
                    .map_err(err)?;
                // Mean and interval right of the points, so neither hides the other.
                let xm = x + 0.12;
                let bar = |a: f64, b: f64, y: f64, width: u32| {
                    PathElement::new(vec![(xm + a, y), (xm + b, y)], BLACK.stroke_width(width))
                };
                chart
                    .draw_series([bar(-0.15, 0.15, s.mean, 2)])
                    .map_err(err)?;
                if let Some((l, u)) = s.ci {
                    chart
                        .draw_series([
                            PathElement::new(vec![(xm, l), (xm, u)], BLACK.stroke_width(1)),
                            bar(-0.07, 0.07, l, 1),
                            bar(-0.07, 0.07, u, 1),
                        ])
                        .map_err(err)?;
                }
            }
        }
        root.present().map_err(err)?;
    }
    Ok(svg)
}
