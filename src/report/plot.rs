//! Line-plot figures (loss curves, architecture weights, validation scores) drawn with plotters,
//! written as SVG and as PNG. The PNG's text is rasterised from a font compiled into the binary
//! (DejaVu Sans, assets/fonts), so no system font is looked up at run time.

use plotters::coord::Shift;
use plotters::element::{Circle, Cross, PathElement, Rectangle, Text, TriangleMarker};
use plotters::prelude::*;
use plotters::series::{DashedLineSeries, LineSeries};
use plotters::style::{FontStyle, RGBColor, ShapeStyle};
use std::path::Path;

const FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
const FAMILY: &str = "sans-serif";

/// Twenty colours no two of which are alike (Tableau 10, then a darker/lighter set): within one
/// panel a colour is never used twice; past twenty series the marker shape tells them apart.
pub const PALETTE: [(u8, u8, u8); 20] = [
    (31, 119, 180),
    (255, 127, 14),
    (44, 160, 44),
    (214, 39, 40),
    (148, 103, 189),
    (140, 86, 75),
    (227, 119, 194),
    (127, 127, 127),
    (188, 189, 34),
    (23, 190, 207),
    (0, 0, 0),
    (0, 63, 92),
    (153, 0, 0),
    (0, 100, 0),
    (255, 215, 0),
    (102, 0, 153),
    (0, 255, 127),
    (255, 0, 255),
    (128, 128, 0),
    (0, 0, 255),
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Marker {
    Circle,
    Triangle,
    Cross,
}

const MARKERS: [Marker; 3] = [Marker::Circle, Marker::Triangle, Marker::Cross];

/// The (colour, marker) of the k-th series of a panel; distinct for every k.
pub fn style_of(k: usize) -> ((u8, u8, u8), Marker) {
    (
        PALETTE[k % PALETTE.len()],
        MARKERS[(k / PALETTE.len()) % MARKERS.len()],
    )
}

pub struct Series {
    pub name: String,
    /// (x, y); a non-finite y leaves a gap in the line.
    pub points: Vec<(f64, f64)>,
    /// Reference lines (e.g. the noisy input's score) are dashed.
    pub dashed: bool,
    /// Style index (see [`style_of`]) when the same quantity should look the same in every
    /// panel of a figure; default: the series' position in its panel.
    pub style: Option<usize>,
}

impl Series {
    pub fn new(name: impl Into<String>, points: Vec<(f64, f64)>) -> Series {
        Series {
            name: name.into(),
            points,
            dashed: false,
            style: None,
        }
    }

    pub fn styled(mut self, k: usize) -> Series {
        self.style = Some(k);
        self
    }

    pub fn dashed(mut self) -> Series {
        self.dashed = true;
        self
    }
}

pub struct Panel {
    pub title: String,
    pub x_desc: String,
    pub y_desc: String,
    pub series: Vec<Series>,
    /// Ticks only at whole numbers (epochs, iterations).
    pub integer_x: bool,
}

impl Panel {
    pub fn new(title: impl Into<String>, x_desc: &str, y_desc: &str) -> Panel {
        Panel {
            title: title.into(),
            x_desc: x_desc.into(),
            y_desc: y_desc.into(),
            series: Vec::new(),
            integer_x: true,
        }
    }

    pub fn with(mut self, s: Series) -> Panel {
        self.series.push(s);
        self
    }
}

/// Panels in rows (a row may be shorter than `columns`); every panel has the same size.
pub struct Figure {
    pub rows: Vec<Vec<Panel>>,
    pub columns: usize,
    pub panel_size: (u32, u32),
}

impl Figure {
    pub fn new(rows: Vec<Vec<Panel>>) -> Figure {
        let columns = rows.iter().map(Vec::len).max().unwrap_or(1).max(1);
        Figure {
            rows,
            columns,
            panel_size: (560, 320),
        }
    }

    pub fn size(&self) -> (u32, u32) {
        (
            self.panel_size.0 * self.columns as u32,
            self.panel_size.1 * self.rows.len().max(1) as u32,
        )
    }
}

const LEGEND_W: u32 = 180;

/// Registers the embedded font with plotters (idempotent); every plotters drawing that has text
/// needs it first, since plotters here looks up no system font.
pub fn register_font() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // The font is compiled in; a parse failure would be a broken build, caught by the tests.
        let _ = plotters::style::register_font(FAMILY, FontStyle::Normal, FONT);
    });
}

fn finite_range(vals: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    let (lo, hi) = vals
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(v), b.max(v))
        });
    lo.is_finite().then_some((lo, hi))
}

/// Padded y range: 6% margins; a flat series gets a band around its value.
fn y_range(lo: f64, hi: f64) -> (f64, f64) {
    if hi - lo <= 1e-12 * lo.abs().max(1.0) {
        let d = (lo.abs() * 0.01).max(1e-6);
        return (lo - d, hi + d);
    }
    let pad = (hi - lo) * 0.06;
    (lo - pad, hi + pad)
}

/// Tick labels with as many decimals as the tick spacing needs (about 6 ticks per axis).
fn decimals(lo: f64, hi: f64) -> usize {
    let step = (hi - lo) / 6.0;
    if step <= 0.0 || !step.is_finite() {
        return 3;
    }
    (-step.log10().floor() + 1.0).clamp(0.0, 8.0) as usize
}

fn tick(v: f64, d: usize) -> String {
    let s = format!("{v:.d$}");
    // "-0.000" reads as a different value from "0.000".
    if s.starts_with('-') && s[1..].chars().all(|c| c == '0' || c == '.') {
        s[1..].to_string()
    } else {
        s
    }
}

fn rgb(c: (u8, u8, u8)) -> RGBColor {
    RGBColor(c.0, c.1, c.2)
}

type DrawResult<DB> = Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

/// Draws marker `$m` of colour `$colour` at `$at` on `$area` (a macro: the plot and the legend
/// have different coordinate types).
macro_rules! draw_marker {
    ($area:expr, $at:expr, $m:expr, $colour:expr) => {{
        let colour = $colour;
        match $m {
            Marker::Circle => $area.draw(&Circle::new($at, 3, colour.filled())),
            Marker::Triangle => $area.draw(&TriangleMarker::new($at, 5, colour.filled())),
            Marker::Cross => $area.draw(&Cross::new(
                $at,
                4,
                ShapeStyle::from(&colour).stroke_width(2),
            )),
        }
    }};
}

fn draw_panel<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, p: &Panel) -> DrawResult<DB> {
    let title_style = TextStyle::from((FAMILY, 19).into_font()).color(&BLACK);
    let area = area.titled(&p.title, title_style)?;
    let (w, _) = area.dim_in_pixel();
    let (plot, legend) = area.split_horizontally(w.saturating_sub(LEGEND_W));
    let xs = finite_range(p.series.iter().flat_map(|s| s.points.iter().map(|q| q.0)));
    let ys = finite_range(
        p.series
            .iter()
            .flat_map(|s| s.points.iter().filter(|q| q.0.is_finite()).map(|q| q.1)),
    );
    let (x0, x1) = match xs {
        Some((a, b)) if b > a => (a, b),
        Some((a, _)) => (a - 1.0, a + 1.0),
        None => (0.0, 1.0),
    };
    let (y0, y1) = ys.map(|(a, b)| y_range(a, b)).unwrap_or((0.0, 1.0));
    let mut chart = ChartBuilder::on(&plot)
        .margin_top(6)
        .margin_right(14)
        .margin_left(6)
        .x_label_area_size(44)
        .y_label_area_size(70)
        .build_cartesian_2d(x0..x1, y0..y1)?;
    let yd = decimals(y0, y1);
    let xd = if p.integer_x { 0 } else { decimals(x0, x1) };
    let integer_x = p.integer_x;
    let x_fmt = move |v: &f64| {
        if integer_x && (v - v.round()).abs() > 1e-6 {
            String::new()
        } else {
            tick(*v, xd)
        }
    };
    let y_fmt = move |v: &f64| tick(*v, yd);
    let x_labels = if integer_x {
        ((x1 - x0).round() as usize + 1).clamp(2, 10)
    } else {
        8
    };
    let label_font = (FAMILY, 15).into_font();
    let desc_font = (FAMILY, 16).into_font();
    chart
        .configure_mesh()
        .x_desc(p.x_desc.as_str())
        .y_desc(p.y_desc.as_str())
        .x_labels(x_labels)
        .y_labels(6)
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&y_fmt)
        .label_style(label_font)
        .axis_desc_style(desc_font)
        .light_line_style(RGBColor(240, 240, 240))
        .bold_line_style(RGBColor(215, 215, 215))
        .draw()?;
    if ys.is_none() {
        chart.plotting_area().draw(&Text::new(
            "no data yet",
            (x0 + (x1 - x0) * 0.4, (y0 + y1) / 2.0),
            (FAMILY, 17).into_font().color(&RGBColor(120, 120, 120)),
        ))?;
    }
    for (k, s) in p.series.iter().enumerate() {
        let k = s.style.unwrap_or(k);
        let (c, m) = style_of(k);
        let colour = rgb(c);
        let style = ShapeStyle::from(&colour).stroke_width(2);
        // Split at gaps so a missing value does not draw a line across it.
        let mut segments: Vec<Vec<(f64, f64)>> = vec![Vec::new()];
        for &(x, y) in &s.points {
            if x.is_finite() && y.is_finite() {
                segments.last_mut().expect("one segment").push((x, y));
            } else if !segments.last().expect("one segment").is_empty() {
                segments.push(Vec::new());
            }
        }
        for seg in segments.iter().filter(|s| s.len() > 1) {
            if s.dashed {
                chart.draw_series(DashedLineSeries::new(seg.clone(), 7, 5, style))?;
            } else {
                chart.draw_series(LineSeries::new(seg.clone(), style))?;
            }
        }
        let n: usize = segments.iter().map(Vec::len).sum();
        // Markers where lines alone could be confused or would be invisible (single points).
        if !s.dashed && (n <= 40 || k >= PALETTE.len() || segments.iter().any(|s| s.len() == 1)) {
            for seg in &segments {
                if n <= 40 || k >= PALETTE.len() || seg.len() == 1 {
                    for &q in seg {
                        draw_marker!(chart.plotting_area(), q, m, colour)?;
                    }
                }
            }
        }
    }
    // Legend beside the plot, one row per series, in the series' own colour and marker.
    let font = (FAMILY, 15).into_font().color(&BLACK);
    for (row, s) in p.series.iter().enumerate() {
        let k = s.style.unwrap_or(row);
        let (c, m) = style_of(k);
        let colour = rgb(c);
        let y = 16 + 20 * row as i32;
        let style = ShapeStyle::from(&colour).stroke_width(2);
        if s.dashed {
            legend.draw(&PathElement::new(vec![(4, y), (12, y)], style))?;
            legend.draw(&PathElement::new(vec![(18, y), (26, y)], style))?;
        } else {
            legend.draw(&PathElement::new(vec![(4, y), (26, y)], style))?;
            draw_marker!(legend, (15, y), m, colour)?;
        }
        let name: String = s.name.chars().take(18).collect();
        legend.draw(&Text::new(name, (32, y - 7), font.clone()))?;
    }
    Ok(())
}

fn draw_figure<DB: DrawingBackend>(root: DrawingArea<DB, Shift>, fig: &Figure) -> DrawResult<DB> {
    root.fill(&WHITE)?;
    let (pw, ph) = fig.panel_size;
    for (r, row) in fig.rows.iter().enumerate() {
        for (c, panel) in row.iter().enumerate() {
            let (x, y) = (c as i32 * pw as i32, r as i32 * ph as i32);
            let cell = root.clone().shrink((x, y), (pw, ph));
            // A thin frame separates panels of a grid.
            cell.draw(&Rectangle::new(
                [(0, 0), (pw as i32 - 1, ph as i32 - 1)],
                ShapeStyle::from(&RGBColor(225, 225, 225)).stroke_width(1),
            ))?;
            draw_panel(&cell.margin(4, 4, 4, 4), panel)?;
        }
    }
    root.present()
}

/// The figure as an SVG document.
pub fn svg(fig: &Figure) -> anyhow::Result<String> {
    register_font();
    let mut s = String::new();
    {
        let root = SVGBackend::with_string(&mut s, fig.size()).into_drawing_area();
        draw_figure(root, fig).map_err(|e| anyhow::anyhow!("cannot draw the plot: {e}"))?;
    }
    Ok(s)
}

/// The figure as a PNG file's bytes.
pub fn png(fig: &Figure) -> anyhow::Result<Vec<u8>> {
    register_font();
    let (w, h) = fig.size();
    let mut buf = vec![255u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buf, (w, h)).into_drawing_area();
        draw_figure(root, fig).map_err(|e| anyhow::anyhow!("cannot draw the plot: {e}"))?;
    }
    let img = image::RgbImage::from_raw(w, h, buf).expect("buffer sized for the image");
    let mut bytes = Vec::new();
    img.write_to(
        &mut std::io::Cursor::new(&mut bytes),
        image::ImageFormat::Png,
    )?;
    Ok(bytes)
}

/// Writes `stem.svg` and `stem.png` (atomically) beside each other.
pub fn save(dir: &Path, stem: &str, fig: &Figure) -> anyhow::Result<()> {
    crate::checkpoint::write_atomic(&dir.join(format!("{stem}.svg")), svg(fig)?.as_bytes())?;
    crate::checkpoint::write_atomic(&dir.join(format!("{stem}.png")), &png(fig)?)
}
