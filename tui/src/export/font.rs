//! Text for PNG pictures: the bundled DejaVu Sans (regular and bold, under the Bitstream
//! Vera licence, see `tui/assets/fonts/LICENSE-DejaVu.txt`), laid out by the fonts'
//! advance widths and drawn from glyph coverage masks kept between exports. No system
//! font is ever looked up, so a PNG has the same pixels on every machine.
//!
//! A glyph is rasterised once per size and quarter-pixel position (anti-aliased by
//! tiny-skia from its outline, read with skrifa), then blended wherever it appears: a
//! dashboard repeats the same few dozen glyphs hundreds of times.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use skrifa::instance::{LocationRef, Size};
use skrifa::outline::{DrawSettings, OutlinePen};
use skrifa::{FontRef, GlyphId, MetadataProvider, OutlineGlyphCollection};
use tiny_skia::{FillRule, Paint, PathBuilder, Pixmap, Transform};

static REGULAR: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
static BOLD: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans-Bold.ttf");

/// One face: its glyph outlines and horizontal metrics.
struct Face {
    outlines: OutlineGlyphCollection<'static>,
    charmap: skrifa::charmap::Charmap<'static>,
    /// Advance widths in font units, by glyph id.
    advances: Vec<f32>,
    units_per_em: f32,
}

impl Face {
    fn load(bytes: &'static [u8]) -> Self {
        // The fonts are compiled in and checked by the tests: they always parse.
        let font = FontRef::new(bytes).expect("the bundled font parses");
        let metrics = font.glyph_metrics(Size::unscaled(), LocationRef::default());
        let advances = (0..metrics.glyph_count())
            .map(|g| metrics.advance_width(GlyphId::new(g)).unwrap_or(0.0))
            .collect();
        let units_per_em = f32::from(
            font.metrics(Size::unscaled(), LocationRef::default())
                .units_per_em
                .max(1),
        );
        Self {
            outlines: font.outline_glyphs(),
            charmap: font.charmap(),
            advances,
            units_per_em,
        }
    }

    fn glyph(&self, c: char) -> GlyphId {
        self.charmap.map(c).unwrap_or(GlyphId::NOTDEF)
    }

    /// Advance of glyph `g` at `size` px per em.
    fn advance(&self, g: GlyphId, size: f32) -> f32 {
        self.advances
            .get(g.to_u32() as usize)
            .copied()
            .unwrap_or(0.0)
            * size
            / self.units_per_em
    }
}

fn faces() -> &'static [Face; 2] {
    static FACES: OnceLock<[Face; 2]> = OnceLock::new();
    FACES.get_or_init(|| [Face::load(REGULAR), Face::load(BOLD)])
}

/// Width in px of `text` set at `size` px per em.
pub fn width(text: &str, size: f32, bold: bool) -> f32 {
    let face = &faces()[usize::from(bold)];
    text.chars()
        .map(|c| face.advance(face.glyph(c), size))
        .sum()
}

/// A glyph's coverage: `alpha` rows of `w` bytes, its top-left corner at (`left`, `top`)
/// from the pen position rounded down.
struct Coverage {
    left: i32,
    top: i32,
    w: usize,
    h: usize,
    alpha: Vec<u8>,
}

/// Glyph, size in 1/64 px, face, and the pen's fraction of a pixel in quarters (x, y).
type Key = (u32, u32, bool, u8, u8);

/// Rasterised glyphs, shared by every export of the process. Bounded: emptied when it
/// holds more than [`CACHE_MAX`] glyphs (a picture uses a few hundred).
fn cache() -> &'static Mutex<HashMap<Key, Option<Coverage>>> {
    static CACHE: OnceLock<Mutex<HashMap<Key, Option<Coverage>>>> = OnceLock::new();
    CACHE.get_or_init(|| Mutex::new(HashMap::new()))
}

const CACHE_MAX: usize = 20_000;

/// Collects an outline into a tiny-skia path, y pointing down, shifted by (`dx`, `dy`).
struct Pen {
    b: PathBuilder,
    dx: f32,
    dy: f32,
}

impl OutlinePen for Pen {
    fn move_to(&mut self, x: f32, y: f32) {
        self.b.move_to(x + self.dx, self.dy - y);
    }
    fn line_to(&mut self, x: f32, y: f32) {
        self.b.line_to(x + self.dx, self.dy - y);
    }
    fn quad_to(&mut self, cx0: f32, cy0: f32, x: f32, y: f32) {
        self.b
            .quad_to(cx0 + self.dx, self.dy - cy0, x + self.dx, self.dy - y);
    }
    fn curve_to(&mut self, cx0: f32, cy0: f32, cx1: f32, cy1: f32, x: f32, y: f32) {
        self.b.cubic_to(
            cx0 + self.dx,
            self.dy - cy0,
            cx1 + self.dx,
            self.dy - cy1,
            x + self.dx,
            self.dy - y,
        );
    }
    fn close(&mut self) {
        self.b.close();
    }
}

/// The coverage of glyph `g` at `size`, its origin at (`fx`, `fy`) within a pixel.
fn rasterise(face: &Face, g: GlyphId, size: f32, fx: f32, fy: f32) -> Option<Coverage> {
    let outline = face.outlines.get(g)?;
    // Drawn with the baseline origin at (fx + PAD, fy + size * 2) in a box big enough
    // for any glyph of the face (DejaVu reaches below the baseline by under 1 em and
    // above by under 2), then cropped to the ink.
    let pad = 2.0;
    let (ox, oy) = (fx + pad, fy + (size * 2.0).ceil() + pad);
    let mut pen = Pen {
        b: PathBuilder::new(),
        dx: ox,
        dy: oy,
    };
    outline
        .draw(
            DrawSettings::unhinted(Size::new(size), LocationRef::default()),
            &mut pen,
        )
        .ok()?;
    let path = pen.b.finish()?;
    let bounds = path.bounds();
    let (x0, y0) = (
        bounds.left().floor().max(0.0) as i32,
        bounds.top().floor().max(0.0) as i32,
    );
    let (x1, y1) = (
        bounds.right().ceil() as i32 + 1,
        bounds.bottom().ceil() as i32 + 1,
    );
    let mut pm = Pixmap::new((x1 - x0).max(1) as u32, (y1 - y0).max(1) as u32)?;
    let mut paint = Paint::default();
    paint.set_color_rgba8(0, 0, 0, 255);
    paint.anti_alias = true;
    pm.fill_path(
        &path,
        &paint,
        FillRule::Winding,
        Transform::from_translate(-x0 as f32, -y0 as f32),
        None,
    );
    let alpha = pm.pixels().iter().map(|p| p.alpha()).collect();
    Some(Coverage {
        left: x0 - pad as i32,
        top: y0 - oy.floor() as i32,
        w: pm.width() as usize,
        h: pm.height() as usize,
        alpha,
    })
}

/// Draws `text` with its baseline starting at (`x`, `y`) in `rgb` onto `pm` (an opaque
/// picture: colours are blended source-over with straight coverage). Returns the pen's
/// position after the text.
pub fn draw(
    pm: &mut Pixmap,
    text: &str,
    x: f32,
    y: f32,
    size: f32,
    bold: bool,
    rgb: [u8; 3],
) -> f32 {
    let face = &faces()[usize::from(bold)];
    let size_key = (size * 64.0).round() as u32;
    let (w, h) = (pm.width() as i32, pm.height() as i32);
    let stride = w as usize;
    let data = pm.pixels_mut();
    let mut cache = match cache().lock() {
        Ok(c) => c,
        // A panic while holding it left at worst a glyph missing: keep using it.
        Err(poisoned) => poisoned.into_inner(),
    };
    if cache.len() > CACHE_MAX {
        cache.clear();
    }
    let qy = ((y - y.floor()) * 4.0).round() as u8;
    let (by, qy) = if qy == 4 {
        (y.floor() as i32 + 1, 0)
    } else {
        (y.floor() as i32, qy)
    };
    let mut pen_x = x;
    for c in text.chars() {
        let g = face.glyph(c);
        let qx = ((pen_x - pen_x.floor()) * 4.0).round() as u8;
        let (bx, qx) = if qx == 4 {
            (pen_x.floor() as i32 + 1, 0)
        } else {
            (pen_x.floor() as i32, qx)
        };
        let cov = cache
            .entry((g.to_u32(), size_key, bold, qx, qy))
            .or_insert_with(|| rasterise(face, g, size, f32::from(qx) / 4.0, f32::from(qy) / 4.0));
        if let Some(cov) = cov {
            blend(data, stride, w, h, bx + cov.left, by + cov.top, cov, rgb);
        }
        pen_x += face.advance(g, size);
    }
    pen_x
}

/// Source-over of `rgb` at `cov`'s coverage, with its top-left at (`x0`, `y0`).
#[allow(clippy::too_many_arguments)]
fn blend(
    data: &mut [tiny_skia::PremultipliedColorU8],
    stride: usize,
    w: i32,
    h: i32,
    x0: i32,
    y0: i32,
    cov: &Coverage,
    rgb: [u8; 3],
) {
    for row in 0..cov.h {
        let y = y0 + row as i32;
        if y < 0 || y >= h {
            continue;
        }
        for col in 0..cov.w {
            let x = x0 + col as i32;
            if x < 0 || x >= w {
                continue;
            }
            let a = u32::from(cov.alpha[row * cov.w + col]);
            super::png::over(&mut data[y as usize * stride + x as usize], rgb, a);
        }
    }
}
