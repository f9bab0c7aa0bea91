//! PNG pictures: the same drawing as [`super::svg`], painted straight onto a tiny-skia
//! pixmap instead of written as SVG text (no SVG is written, parsed or laid out again),
//! with the bundled font of [`super::font`]. Nothing depends on the machine: a PNG has
//! the same pixels everywhere.

use tiny_skia::{FillRule, Mask, Paint, PathBuilder, Pixmap, Rect, Stroke, Transform};

use super::svg::Area;
use super::{PageSize, Target};
use crate::app::State;

/// `#rrggbb` as bytes; ink for anything else (every colour here is written so).
pub fn parse_hex(hex: &str) -> [u8; 3] {
    let v = hex
        .strip_prefix('#')
        .filter(|h| h.len() == 6)
        .and_then(|h| u32::from_str_radix(h, 16).ok())
        .unwrap_or(0x22_22_22);
    [(v >> 16) as u8, (v >> 8) as u8, v as u8]
}

fn paint(rgb: [u8; 3], opacity: f64, anti_alias: bool) -> Paint<'static> {
    let mut p = Paint::default();
    p.set_color_rgba8(
        rgb[0],
        rgb[1],
        rgb[2],
        (opacity.clamp(0.0, 1.0) * 255.0).round() as u8,
    );
    p.anti_alias = anti_alias;
    p
}

/// A page being painted.
pub struct Canvas {
    pm: Pixmap,
    /// The clips of the clipped groups drawn into, innermost last; the mask of one is
    /// made when a shape first reaches out of it.
    clip: Vec<(Area, Option<Mask>)>,
    /// Coverage of the polyline being drawn, one byte a pixel, zero outside `touched`.
    coverage: Vec<u8>,
    /// The pixels whose coverage is not zero.
    touched: Vec<u32>,
}

impl Canvas {
    /// A white page of `w`×`h` pixels.
    pub fn new(w: u32, h: u32) -> Result<Self, String> {
        let mut pm = Pixmap::new(w, h).ok_or_else(|| format!("cannot draw a {w}×{h} picture"))?;
        // Opaque white: every byte 255.
        pm.data_mut().fill(255);
        Ok(Self {
            pm,
            clip: Vec::new(),
            coverage: vec![0; w as usize * h as usize],
            touched: Vec::new(),
        })
    }

    /// The picture as PNG bytes.
    pub fn finish(self) -> Result<Vec<u8>, String> {
        encode(&self.pm).map_err(|e| format!("cannot encode the PNG: {e}"))
    }

    /// Clips what follows to `a` until [`Self::unclip`].
    pub fn clip(&mut self, a: Area) {
        self.clip.push((a, None));
    }

    pub fn unclip(&mut self) {
        self.clip.pop();
    }

    /// A filled rectangle, corners rounded by `rx`, with an optional outline
    /// (colour, width, opacity).
    pub fn rect(
        &mut self,
        a: Area,
        fill: [u8; 3],
        fill_opacity: f64,
        rx: f64,
        stroke: Option<([u8; 3], f64, f64)>,
    ) {
        if rx <= 0.0 && stroke.is_none() {
            // No path, no edges, no mask: tiny-skia's rectangle scan of the rectangle
            // cut to the clip.
            let a = match self.clip.last() {
                Some((c, _)) => intersect(a, *c),
                None => a,
            };
            if let Some(r) = rect(a) {
                self.pm.fill_rect(
                    r,
                    &paint(fill, fill_opacity, true),
                    Transform::identity(),
                    None,
                );
            }
            return;
        }
        let Some(r) = rect(a) else { return };
        let (w, h) = (self.pm.width(), self.pm.height());
        let reach = stroke.map_or(0.0, |(_, w, _)| w / 2.0);
        let mask = mask_for(&mut self.clip, w, h, outset(r, reach));
        if rx <= 0.0 {
            self.pm.fill_rect(
                r,
                &paint(fill, fill_opacity, true),
                Transform::identity(),
                mask,
            );
            if let Some((c, w, o)) = stroke {
                let path = PathBuilder::from_rect(r);
                let s = Stroke {
                    width: w as f32,
                    ..Stroke::default()
                };
                self.pm
                    .stroke_path(&path, &paint(c, o, true), &s, Transform::identity(), mask);
            }
            return;
        }
        let Some(path) = rounded(a, rx) else { return };
        self.pm.fill_path(
            &path,
            &paint(fill, fill_opacity, true),
            FillRule::Winding,
            Transform::identity(),
            mask,
        );
        if let Some((c, w, o)) = stroke {
            let s = Stroke {
                width: w as f32,
                ..Stroke::default()
            };
            self.pm
                .stroke_path(&path, &paint(c, o, true), &s, Transform::identity(), mask);
        }
    }

    /// A straight line `width` wide; `dash` (on, off) lengths for a dashed one.
    /// Horizontal and vertical lines are filled as rectangles (no stroker, no edges).
    #[allow(clippy::too_many_arguments)]
    pub fn line(
        &mut self,
        (x1, y1): (f64, f64),
        (x2, y2): (f64, f64),
        rgb: [u8; 3],
        width: f64,
        dash: Option<(f64, f64)>,
    ) {
        let p = paint(rgb, 1.0, true);
        let hw = width / 2.0;
        if y1 == y2 || x1 == x2 {
            let clip = self.clip.last().map(|(c, _)| *c);
            let horizontal = y1 == y2;
            let (a, b) = if horizontal {
                (x1.min(x2), x1.max(x2))
            } else {
                (y1.min(y2), y1.max(y2))
            };
            let (on, off) = dash.unwrap_or((b - a, 0.0));
            let mut s = a;
            while s < b {
                let e = (s + on).min(b);
                let area = if horizontal {
                    Area {
                        x: s,
                        y: y1 - hw,
                        w: e - s,
                        h: width,
                    }
                } else {
                    Area {
                        x: x1 - hw,
                        y: s,
                        w: width,
                        h: e - s,
                    }
                };
                let area = match clip {
                    Some(c) => intersect(area, c),
                    None => area,
                };
                if let Some(r) = rect(area) {
                    self.pm.fill_rect(r, &p, Transform::identity(), None);
                }
                if on + off <= 0.0 {
                    break;
                }
                s += on + off;
            }
            return;
        }
        let bounds = Rect::from_ltrb(
            (x1.min(x2) - hw) as f32,
            (y1.min(y2) - hw) as f32,
            (x1.max(x2) + hw) as f32,
            (y1.max(y2) + hw) as f32,
        );
        let (w, h) = (self.pm.width(), self.pm.height());
        let mask = mask_for(&mut self.clip, w, h, bounds);
        let mut b = PathBuilder::new();
        b.move_to(x1 as f32, y1 as f32);
        b.line_to(x2 as f32, y2 as f32);
        let Some(path) = b.finish() else { return };
        let mut s = Stroke {
            width: width as f32,
            ..Stroke::default()
        };
        if let Some((on, off)) = dash {
            s.dash = tiny_skia::StrokeDash::new(vec![on as f32, off as f32], 0.0);
        }
        self.pm
            .stroke_path(&path, &p, &s, Transform::identity(), mask);
    }

    /// Polylines (one per run of points, drawn as one shape: where runs or segments
    /// overlap, the ink is not laid twice), `width` wide, joins and ends rounded.
    ///
    /// Drawn by distance rather than by tiny-skia's stroker: a pixel's coverage is how
    /// far its centre is inside the line (the distance to the nearest segment against
    /// half the width, over one pixel of anti-aliasing), and a rectangular clip cuts
    /// border pixels by the fraction of them inside it. Graphs are thousands of short
    /// segments, for which building, sorting and supersampling stroke outlines cost
    /// most of a picture.
    pub fn polylines(&mut self, runs: &[Vec<(f64, f64)>], rgb: [u8; 3], width: f64, opacity: f64) {
        let (pw, ph) = (self.pm.width() as usize, self.pm.height() as usize);
        let clip = self.clip.last().map_or(
            Area {
                x: 0.0,
                y: 0.0,
                w: pw as f64,
                h: ph as f64,
            },
            |(c, _)| {
                intersect(
                    *c,
                    Area {
                        x: 0.0,
                        y: 0.0,
                        w: pw as f64,
                        h: ph as f64,
                    },
                )
            },
        );
        if clip.w <= 0.0 || clip.h <= 0.0 {
            return;
        }
        // Reach of ink from a segment: half the width and half a pixel of smoothing.
        let reach = width / 2.0 + 0.5;
        let reach2 = reach * reach;
        let (cx0, cy0) = (clip.x.floor() as i64, clip.y.floor() as i64);
        let (cx1, cy1) = (
            (clip.x + clip.w).ceil() as i64 - 1,
            (clip.y + clip.h).ceil() as i64 - 1,
        );
        // The part of pixel column (row) `p` inside the clip.
        let frac = |p: i64, lo: f64, hi: f64| -> f64 {
            let p = p as f64;
            ((p + 1.0).min(hi) - p.max(lo)).clamp(0.0, 1.0)
        };
        let coverage = &mut self.coverage;
        let touched = &mut self.touched;
        for run in runs.iter().filter(|r| r.len() > 1) {
            for seg in run.windows(2) {
                let ((x0, y0), (x1, y1)) = (seg[0], seg[1]);
                let (dx, dy) = (x1 - x0, y1 - y0);
                let len2 = dx * dx + dy * dy;
                let inv_len2 = if len2 > 0.0 { 1.0 / len2 } else { 0.0 };
                let ry0 = ((y0.min(y1) - reach).floor() as i64).max(cy0);
                let ry1 = ((y0.max(y1) + reach).ceil() as i64).min(cy1);
                let bx0 = ((x0.min(x1) - reach).floor() as i64).max(cx0);
                let bx1 = ((x0.max(x1) + reach).ceil() as i64).min(cx1);
                for py in ry0..=ry1 {
                    let yc = py as f64 + 0.5;
                    // Where the thick line crosses this row (a steep segment covers
                    // a few pixels of each row, not its whole box).
                    let (mut lo, mut hi) = (bx0, bx1);
                    if dy.abs() > 1e-9 {
                        let xc = x0 + (yc - y0) * dx / dy;
                        let half = reach * len2.sqrt() / dy.abs();
                        // Truncation, not floor: within the clip, x is never negative.
                        lo = lo.max((xc - half) as i64 - 2);
                        hi = hi.min((xc + half) as i64 + 2);
                    }
                    let fy = if py == cy0 || py == cy1 {
                        frac(py, clip.y, clip.y + clip.h)
                    } else {
                        1.0
                    };
                    let row = py as usize * pw;
                    let (ay, by) = (yc - y0, (yc - y0) * dy);
                    for px in lo..=hi {
                        let ax = px as f64 + 0.5 - x0;
                        let t = ((ax * dx + by) * inv_len2).clamp(0.0, 1.0);
                        let (ex, ey) = (ax - t * dx, ay - t * dy);
                        let d2 = ex * ex + ey * ey;
                        if d2 >= reach2 {
                            continue;
                        }
                        let mut c = (reach - d2.sqrt()).min(1.0) * fy;
                        if px == cx0 || px == cx1 {
                            c *= frac(px, clip.x, clip.x + clip.w);
                        }
                        let c8 = (c * 255.0 + 0.5) as u8;
                        let idx = row + px as usize;
                        let old = coverage[idx];
                        if c8 > old {
                            if old == 0 {
                                touched.push(idx as u32);
                            }
                            coverage[idx] = c8;
                        }
                    }
                }
            }
        }
        let alpha = opacity.clamp(0.0, 1.0);
        let pixels = self.pm.pixels_mut();
        for &idx in touched.iter() {
            let idx = idx as usize;
            let a = (f64::from(coverage[idx]) * alpha + 0.5) as u32;
            coverage[idx] = 0;
            over(&mut pixels[idx], rgb, a);
        }
        touched.clear();
    }

    pub fn circle(&mut self, cx: f64, cy: f64, r: f64, rgb: [u8; 3]) {
        let Some(path) = PathBuilder::from_circle(cx as f32, cy as f32, r as f32) else {
            return;
        };
        let (w, h) = (self.pm.width(), self.pm.height());
        let mask = mask_for(&mut self.clip, w, h, Some(path.bounds()));
        self.pm.fill_path(
            &path,
            &paint(rgb, 1.0, true),
            FillRule::Winding,
            Transform::identity(),
            mask,
        );
    }

    /// `text` with its baseline at `y`, starting at `x` (`anchor` start), centred on it
    /// (middle) or ending there (end). Returns where it ends.
    #[allow(clippy::too_many_arguments)]
    pub fn text(
        &mut self,
        x: f64,
        y: f64,
        size: f64,
        anchor: &str,
        bold: bool,
        rgb: [u8; 3],
        text: &str,
    ) -> f64 {
        let size = size as f32;
        let x = x as f32;
        let start = match anchor {
            "middle" => x - super::font::width(text, size, bold) / 2.0,
            "end" => x - super::font::width(text, size, bold),
            _ => x,
        };
        f64::from(super::font::draw(
            &mut self.pm,
            text,
            start,
            y as f32,
            size,
            bold,
            rgb,
        ))
    }
}

/// The mask for a shape whose ink stays within `bounds`, on a `w`×`h` page clipped by
/// `clip`: none when that is inside the innermost clip (as data in a plot always is),
/// which saves making and applying a page-sized mask.
fn mask_for(
    clip: &mut [(Area, Option<Mask>)],
    w: u32,
    h: u32,
    bounds: Option<Rect>,
) -> Option<&Mask> {
    let (a, mask) = clip.last_mut()?;
    let inside = bounds.is_some_and(|b| {
        f64::from(b.left()) >= a.x
            && f64::from(b.top()) >= a.y
            && f64::from(b.right()) <= a.x + a.w
            && f64::from(b.bottom()) <= a.y + a.h
    });
    if inside {
        return None;
    }
    if mask.is_none() {
        let mut m = Mask::new(w, h)?;
        if let Some(r) = rect(*a) {
            m.fill_path(
                &PathBuilder::from_rect(r),
                FillRule::Winding,
                true,
                Transform::identity(),
            );
        }
        *mask = Some(m);
    }
    mask.as_ref()
}

/// Source-over of opaque `rgb` at coverage `a` (0–255) onto a premultiplied pixel.
pub fn over(p: &mut tiny_skia::PremultipliedColorU8, rgb: [u8; 3], a: u32) {
    if a == 0 {
        return;
    }
    let inv = 255 - a;
    let mix = |s: u8, d: u8| ((u32::from(s) * a + u32::from(d) * inv + 127) / 255) as u8;
    let out_a = ((a * 255 + u32::from(p.alpha()) * inv + 127) / 255) as u8;
    // Premultiplied: the colour channels mix as alpha does, and stay within it.
    let c = |s: u8, d: u8| mix(s, d).min(out_a);
    if let Some(n) = tiny_skia::PremultipliedColorU8::from_rgba(
        c(rgb[0], p.red()),
        c(rgb[1], p.green()),
        c(rgb[2], p.blue()),
        out_a,
    ) {
        *p = n;
    }
}

/// The part of `a` inside `b` (empty when they do not meet).
fn intersect(a: Area, b: Area) -> Area {
    let (x0, y0) = (a.x.max(b.x), a.y.max(b.y));
    let (x1, y1) = ((a.x + a.w).min(b.x + b.w), (a.y + a.h).min(b.y + b.h));
    Area {
        x: x0,
        y: y0,
        w: (x1 - x0).max(0.0),
        h: (y1 - y0).max(0.0),
    }
}

/// `r` grown by `d` on every side.
fn outset(r: Rect, d: f64) -> Option<Rect> {
    let d = d as f32;
    Rect::from_ltrb(r.left() - d, r.top() - d, r.right() + d, r.bottom() + d)
}

/// `a` as a tiny-skia rectangle, if it has an area.
fn rect(a: Area) -> Option<Rect> {
    Rect::from_xywh(
        a.x as f32,
        a.y as f32,
        a.w.max(0.0) as f32,
        a.h.max(0.0) as f32,
    )
}

/// A rectangle with corners rounded by `rx` (quarter circles as cubic curves).
fn rounded(a: Area, rx: f64) -> Option<tiny_skia::Path> {
    let r = rx.min(a.w / 2.0).min(a.h / 2.0).max(0.0) as f32;
    let (x0, y0) = (a.x as f32, a.y as f32);
    let (x1, y1) = ((a.x + a.w) as f32, (a.y + a.h) as f32);
    // Control point distance of a quarter circle drawn as one cubic.
    let k = r * 0.552_284_8;
    let mut b = PathBuilder::new();
    b.move_to(x0 + r, y0);
    b.line_to(x1 - r, y0);
    b.cubic_to(x1 - r + k, y0, x1, y0 + r - k, x1, y0 + r);
    b.line_to(x1, y1 - r);
    b.cubic_to(x1, y1 - r + k, x1 - r + k, y1, x1 - r, y1);
    b.line_to(x0 + r, y1);
    b.cubic_to(x0 + r - k, y1, x0, y1 - r + k, x0, y1 - r);
    b.line_to(x0, y0 + r);
    b.cubic_to(x0, y0 + r - k, x0 + r - k, y0, x0 + r, y0);
    b.close();
    b.finish()
}

/// The pixmap as an 8-bit RGB PNG (every page is opaque), compressed with `png`'s fast
/// mode: the default level spent most of an export in deflate for files about as small.
fn encode(pixmap: &Pixmap) -> Result<Vec<u8>, png::EncodingError> {
    let (w, h) = (pixmap.width(), pixmap.height());
    let mut out = Vec::with_capacity(w as usize * h as usize / 4);
    let mut encoder = png::Encoder::new(&mut out, w, h);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::Fast);
    let mut writer = encoder.write_header()?;
    {
        let mut stream = writer.stream_writer()?;
        let mut row = vec![0u8; w as usize * 3];
        for line in pixmap.data().chunks_exact(w as usize * 4) {
            // Opaque pixels: premultiplied equals straight; alpha left out.
            for (rgb, rgba) in row.chunks_exact_mut(3).zip(line.chunks_exact(4)) {
                rgb.copy_from_slice(&rgba[..3]);
            }
            std::io::Write::write_all(&mut stream, &row)?;
        }
        stream.finish()?;
    }
    writer.finish()?;
    Ok(out)
}

/// The picture of `target` as a PNG of `size` pixels.
pub fn render(state: &State, target: Target, size: PageSize) -> Result<Vec<u8>, String> {
    super::svg::paint(state, target, size)
}
