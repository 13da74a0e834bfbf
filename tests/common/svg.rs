//! A small SVG reader for picture tests: every element's extent (shapes from their coordinates,
//! curves sampled, text from its anchor, font size and length) against the canvas.

/// One element: its tag, attributes, text content and the box it covers.
#[derive(Debug, Clone)]
pub struct Element {
    pub tag: String,
    pub attrs: Vec<(String, String)>,
    pub text: String,
    /// (x0, y0, x1, y1)
    pub bbox: Option<(f64, f64, f64, f64)>,
}

impl Element {
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
    fn num(&self, name: &str) -> f64 {
        self.attr(name)
            .and_then(|v| v.trim_end_matches("px").parse().ok())
            .unwrap_or(0.0)
    }
}

pub struct Svg {
    pub width: f64,
    pub height: f64,
    pub elements: Vec<Element>,
}

fn parse_attrs(s: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(eq) = rest.find("=\"") {
        let key = rest[..eq].trim().rsplit(' ').next().unwrap_or("").trim();
        let after = &rest[eq + 2..];
        let end = after.find('"').expect("closing quote");
        out.push((key.to_string(), after[..end].to_string()));
        rest = &after[end + 1..];
    }
    out
}

fn numbers(s: &str) -> Vec<f64> {
    s.split(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-' || c == 'e'))
        .filter(|t| !t.is_empty())
        .filter_map(|t| t.parse().ok())
        .collect()
}

/// Points along an absolute M/L/C path (cubics sampled, since control points may lie outside).
fn path_points(d: &str) -> Vec<(f64, f64)> {
    let mut pts = Vec::new();
    let mut cur = (0.0, 0.0);
    let mut cmd = 'M';
    let mut nums: Vec<f64> = Vec::new();
    let flush = |cmd: char, nums: &mut Vec<f64>, cur: &mut (f64, f64), pts: &mut Vec<_>| {
        match cmd {
            'M' | 'L' => {
                for p in nums.chunks(2).filter(|p| p.len() == 2) {
                    *cur = (p[0], p[1]);
                    pts.push(*cur);
                }
            }
            'C' => {
                for c in nums.chunks(6).filter(|c| c.len() == 6) {
                    let (p0, p1, p2, p3) = (*cur, (c[0], c[1]), (c[2], c[3]), (c[4], c[5]));
                    for i in 0..=32 {
                        let t = i as f64 / 32.0;
                        let u = 1.0 - t;
                        let b = |a: f64, b: f64, c: f64, d: f64| {
                            u * u * u * a
                                + 3.0 * u * u * t * b
                                + 3.0 * u * t * t * c
                                + t * t * t * d
                        };
                        pts.push((b(p0.0, p1.0, p2.0, p3.0), b(p0.1, p1.1, p2.1, p3.1)));
                    }
                    *cur = p3;
                }
            }
            'Z' | 'z' => {}
            other => panic!("path command {other} not handled by the test reader"),
        }
        nums.clear();
    };
    let mut token = String::new();
    for ch in d.chars().chain(std::iter::once(' ')) {
        if ch.is_ascii_alphabetic() && ch != 'e' {
            if let Ok(v) = token.parse() {
                nums.push(v);
            }
            token.clear();
            flush(cmd, &mut nums, &mut cur, &mut pts);
            cmd = ch;
        } else if ch == ','
            || ch.is_whitespace()
            || (ch == '-' && !token.is_empty() && !token.ends_with('e'))
        {
            if let Ok(v) = token.parse() {
                nums.push(v);
            }
            token.clear();
            if ch == '-' {
                token.push(ch);
            }
        } else {
            token.push(ch);
        }
    }
    flush(cmd, &mut nums, &mut cur, &mut pts);
    pts
}

fn bounds(pts: &[(f64, f64)]) -> Option<(f64, f64, f64, f64)> {
    if pts.is_empty() {
        return None;
    }
    let mut b = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
    for &(x, y) in pts {
        b = (b.0.min(x), b.1.min(y), b.2.max(x), b.3.max(y));
    }
    Some(b)
}

/// Text extent from its anchor: width ~0.62 em per character (DejaVu-like sans), height 1 em;
/// `dy` as plotters writes it, or the baseline at y; a rotate(±90/270) swaps the axes about (x, y).
fn text_box(e: &Element, default_size: f64) -> (f64, f64, f64, f64) {
    let size = e
        .attr("font-size")
        .and_then(|v| v.trim_end_matches("px").parse().ok())
        .unwrap_or(default_size);
    let (x, y) = (e.num("x"), e.num("y"));
    let w = e.text.chars().count() as f64 * size * 0.62;
    let (x0, x1) = match e.attr("text-anchor").unwrap_or("start") {
        "middle" => (x - w / 2.0, x + w / 2.0),
        "end" => (x - w, x),
        _ => (x, x + w),
    };
    let (y0, y1) = match e.attr("dy") {
        Some("0.76em") => (y, y + size),
        Some("0.5ex") => (y - size / 2.0, y + size / 2.0),
        _ => (y - 0.8 * size, y + 0.2 * size),
    };
    match e.attr("transform") {
        Some(t) if t.starts_with("rotate(90") || t.starts_with("rotate(270") => {
            // Rotating by a quarter turn about (x, y) swaps the offsets from (x, y).
            let (dx0, dx1, dy0, dy1) = (x0 - x, x1 - x, y0 - y, y1 - y);
            // rotate(270) maps an offset (dx, dy) to (dy, -dx); rotate(90) to (-dy, dx).
            let cw = t.starts_with("rotate(90");
            let (mut a, mut b, mut c, mut d) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
            for (px, py) in [(dx0, dy0), (dx1, dy0), (dx0, dy1), (dx1, dy1)] {
                let (qx, qy) = if cw { (-py, px) } else { (py, -px) };
                a = a.min(x + qx);
                b = b.max(x + qx);
                c = c.min(y + qy);
                d = d.max(y + qy);
            }
            (a, c, b, d)
        }
        Some(t) if !t.is_empty() => panic!("transform {t} not handled by the test reader"),
        _ => (x0, y0, x1, y1),
    }
}

pub fn parse(doc: &str) -> Svg {
    let mut elements = Vec::new();
    let (mut width, mut height) = (0.0, 0.0);
    let mut default_size = 16.0;
    let mut rest = doc;
    while let Some(start) = rest.find('<') {
        rest = &rest[start + 1..];
        let end = rest.find('>').expect("closing >");
        let tag_src = &rest[..end];
        rest = &rest[end + 1..];
        if tag_src.starts_with('/') || tag_src.starts_with('?') || tag_src.starts_with('!') {
            continue;
        }
        let tag = tag_src
            .split(|c: char| c.is_whitespace() || c == '/')
            .next()
            .unwrap_or("")
            .to_string();
        let attrs = parse_attrs(&tag_src[tag.len()..]);
        let mut e = Element {
            tag: tag.clone(),
            attrs,
            text: String::new(),
            bbox: None,
        };
        if tag == "svg" {
            width = e.num("width");
            height = e.num("height");
            if let Some(s) = e.attr("font-size") {
                default_size = s.parse().unwrap_or(16.0);
            }
            continue;
        }
        if tag == "text" {
            let close = rest.find("</text>").expect("closing </text>");
            e.text = rest[..close]
                .trim()
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&quot;", "\"")
                .replace("&amp;", "&");
            rest = &rest[close..];
        }
        e.bbox = match tag.as_str() {
            "rect" => {
                let (x, y) = (e.num("x"), e.num("y"));
                Some((x, y, x + e.num("width"), y + e.num("height")))
            }
            "line" => bounds(&[(e.num("x1"), e.num("y1")), (e.num("x2"), e.num("y2"))]),
            "circle" => {
                let (x, y, r) = (e.num("cx"), e.num("cy"), e.num("r"));
                Some((x - r, y - r, x + r, y + r))
            }
            "polyline" | "polygon" => {
                let n = numbers(e.attr("points").unwrap_or(""));
                bounds(&n.chunks(2).map(|p| (p[0], p[1])).collect::<Vec<_>>())
            }
            "path" => bounds(&path_points(e.attr("d").unwrap_or(""))),
            "text" => Some(text_box(&e, default_size)),
            _ => None,
        };
        elements.push(e);
    }
    Svg {
        width,
        height,
        elements,
    }
}

impl Svg {
    /// Elements outside the canvas, except marker shapes inside <defs> (they are not drawn where
    /// they are written).
    pub fn outside(&self, slack: f64) -> Vec<String> {
        self.elements
            .iter()
            .filter(|e| e.attr("id").is_none())
            .filter_map(|e| {
                let (x0, y0, x1, y1) = e.bbox?;
                let inside = x0 >= -slack
                    && y0 >= -slack
                    && x1 <= self.width + slack
                    && y1 <= self.height + slack;
                (!inside).then(|| format!("{} {:?} {:?} {:?}", e.tag, e.text, e.bbox, e.attrs))
            })
            .collect()
    }

    pub fn texts(&self) -> Vec<&str> {
        self.elements
            .iter()
            .filter(|e| e.tag == "text")
            .map(|e| e.text.as_str())
            .collect()
    }

    pub fn with_class<'a>(
        &'a self,
        tag: &'a str,
        class: &'a str,
    ) -> impl Iterator<Item = &'a Element> {
        self.elements
            .iter()
            .filter(move |e| e.tag == tag && e.attr("class") == Some(class))
    }
}

pub fn overlap(a: (f64, f64, f64, f64), b: (f64, f64, f64, f64)) -> bool {
    a.0 < b.2 && b.0 < a.2 && a.1 < b.3 && b.1 < a.3
}
