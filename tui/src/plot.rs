//! Series downsampled to braille dot columns, and a braille raster to draw them.
//!
//! Data is reduced once when it arrives ([`downsample`]): each dot column keeps the
//! lowest, highest, first and last value of the samples that fall in it and whether it
//! continues the line from the previous sample. Drawing then costs one short vertical span
//! and at most one connecting segment per column, whatever the number of points fetched.

use promdash_queries::model::Sample;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Color;

/// One braille dot column of a series. `lo` is NaN when no sample fell in the column.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Column {
    pub lo: f32,
    pub hi: f32,
    pub first: f32,
    pub last: f32,
    /// The first sample of this column continues the line from the previous sample
    /// (no NaN and no gap longer than the step in between).
    pub join: bool,
}

impl Column {
    const EMPTY: Self = Self {
        lo: f32::NAN,
        hi: f32::NAN,
        first: f32::NAN,
        last: f32::NAN,
        join: false,
    };

    pub fn is_empty(&self) -> bool {
        self.lo.is_nan()
    }
}

/// Reduces `samples` (time-ordered) over `start..=end` to `dots` columns.
///
/// A NaN or infinite sample, or a gap longer than 1.5 × `step` seconds, breaks the line.
pub fn downsample(samples: &[Sample], start: f64, end: f64, step: f64, dots: usize) -> Vec<Column> {
    let mut cols = vec![Column::EMPTY; dots];
    if dots == 0 {
        return cols;
    }
    let span = (end - start).max(f64::EPSILON);
    let max_gap = if step > 0.0 {
        step * 1.5
    } else {
        f64::INFINITY
    };
    let mut prev_t: Option<f64> = None;
    for s in samples {
        if !s.v.is_finite() {
            prev_t = None;
            continue;
        }
        if s.t < start - step * 0.5 || s.t > end + step * 0.5 {
            continue;
        }
        let i = (((s.t - start) / span) * dots as f64)
            .floor()
            .clamp(0.0, (dots - 1) as f64) as usize;
        let v = s.v as f32;
        let joined = prev_t.is_some_and(|p| s.t - p <= max_gap);
        let c = &mut cols[i];
        if c.is_empty() {
            *c = Column {
                lo: v,
                hi: v,
                first: v,
                last: v,
                join: joined,
            };
        } else {
            c.lo = c.lo.min(v);
            c.hi = c.hi.max(v);
            c.last = v;
        }
        prev_t = Some(s.t);
    }
    cols
}

/// Lowest and highest finite value over columns (NaN, NaN when empty).
pub fn bounds(cols: &[Column]) -> (f64, f64) {
    let mut lo = f64::INFINITY;
    let mut hi = f64::NEG_INFINITY;
    for c in cols.iter().filter(|c| !c.is_empty()) {
        lo = lo.min(f64::from(c.lo));
        hi = hi.max(f64::from(c.hi));
    }
    if lo > hi {
        (f64::NAN, f64::NAN)
    } else {
        (lo, hi)
    }
}

const BRAILLE_BITS: [[u8; 4]; 2] = [[0x01, 0x02, 0x04, 0x40], [0x08, 0x10, 0x20, 0x80]];

/// `SPAN_MASK[side][from][to]`: the bits of rows `from..=to` of one side of a cell.
const SPAN_MASK: [[[u8; 4]; 4]; 2] = span_masks();

const fn span_masks() -> [[[u8; 4]; 4]; 2] {
    let mut out = [[[0u8; 4]; 4]; 2];
    let mut side = 0;
    while side < 2 {
        let mut from = 0;
        while from < 4 {
            let mut to = from;
            let mut mask = 0u8;
            while to < 4 {
                mask |= BRAILLE_BITS[side][to];
                out[side][from][to] = mask;
                to += 1;
            }
            from += 1;
        }
        side += 1;
    }
    out
}

/// A braille raster over a cell area: 2 × 4 dots per cell, one colour per cell (the last
/// series drawn into it wins, as in most terminal charts).
pub struct Raster {
    width: usize,
    height: usize,
    bits: Vec<u8>,
    color: Vec<u8>,
}

impl Raster {
    pub fn new(width: u16, height: u16) -> Self {
        let n = usize::from(width) * usize::from(height);
        Self {
            width: usize::from(width),
            height: usize::from(height),
            bits: vec![0; n],
            color: vec![0; n],
        }
    }

    /// Width in dots.
    pub fn dots_x(&self) -> usize {
        self.width * 2
    }

    /// Height in dots.
    pub fn dots_y(&self) -> usize {
        self.height * 4
    }

    pub fn is_set(&self, cell_x: usize, cell_y: usize) -> bool {
        self.bits
            .get(cell_y * self.width + cell_x)
            .is_some_and(|b| *b != 0)
    }

    #[inline]
    fn dot(&mut self, x: usize, y: usize, color: u8) {
        if x >= self.width * 2 || y >= self.height * 4 {
            return;
        }
        let i = (y / 4) * self.width + x / 2;
        self.bits[i] |= BRAILLE_BITS[x % 2][y % 4];
        self.color[i] = color;
    }

    /// Dots `y0..=y1` of dot column `x`, set a cell at a time.
    fn vspan(&mut self, x: usize, y0: usize, y1: usize, color: u8) {
        let (a, b) = if y0 <= y1 { (y0, y1) } else { (y1, y0) };
        let b = b.min(self.height * 4 - 1);
        if x >= self.width * 2 || a > b {
            return;
        }
        let (cx, side) = (x / 2, x % 2);
        let mut y = a;
        while y <= b {
            let cy = y / 4;
            let end = b.min(cy * 4 + 3);
            let i = cy * self.width + cx;
            self.bits[i] |= SPAN_MASK[side][y % 4][end % 4];
            self.color[i] = color;
            y = end + 1;
        }
    }

    fn line(&mut self, x0: usize, y0: usize, x1: usize, y1: usize, color: u8) {
        if x0 == x1 {
            self.vspan(x0, y0, y1, color);
            return;
        }
        let (x0, y0, x1, y1) = (x0 as i64, y0 as i64, x1 as i64, y1 as i64);
        let dx = (x1 - x0).abs();
        let dy = -(y1 - y0).abs();
        let sx = if x0 < x1 { 1 } else { -1 };
        let sy = if y0 < y1 { 1 } else { -1 };
        let (mut x, mut y, mut err) = (x0, y0, dx + dy);
        loop {
            self.dot(x as usize, y as usize, color);
            if x == x1 && y == y1 {
                break;
            }
            let e2 = 2 * err;
            if e2 >= dy {
                err += dy;
                x += sx;
            }
            if e2 <= dx {
                err += dx;
                y += sy;
            }
        }
    }

    /// Draws a series' columns scaled to `lo..=hi`, spreading or folding the columns
    /// over the raster's width. `color` indexes the palette given to [`Raster::flush`].
    pub fn series(&mut self, cols: &[Column], lo: f64, hi: f64, color: u8) {
        let (w, h) = (self.dots_x(), self.dots_y());
        if cols.is_empty() || w == 0 || h == 0 {
            return;
        }
        let span = (hi - lo) as f32;
        let scale = if span > 0.0 {
            (h - 1) as f32 / span
        } else {
            0.0
        };
        let top = hi as f32;
        let max = (h - 1) as f32;
        // `+ 0.5` then truncation rounds the (clamped, non-negative) value without a libm call.
        let row = |v: f32| -> usize { (((top - v) * scale).clamp(0.0, max) + 0.5) as usize };
        let n = cols.len();
        let mut prev: Option<(usize, usize)> = None;
        for (i, c) in cols.iter().enumerate() {
            if c.is_empty() {
                continue;
            }
            let x = if n == w { i } else { i * w / n };
            let first = row(c.first);
            if c.join
                && let Some((px, py)) = prev
            {
                if x == px + 1 {
                    // Neighbouring columns: half the rise in each, no Bresenham needed.
                    let mid = (py + first) / 2;
                    self.vspan(px, py, mid, color);
                    let next = if first > mid {
                        mid + 1
                    } else {
                        mid.saturating_sub(1).max(first)
                    };
                    self.vspan(x, next, first, color);
                } else {
                    self.line(px, py, x, first, color);
                }
            }
            self.vspan(x, row(c.lo), row(c.hi), color);
            prev = Some((x, row(c.last)));
        }
    }

    /// A dashed horizontal line at `value` in cells the series left empty.
    pub fn threshold_row(&self, value: f64, lo: f64, hi: f64) -> Option<usize> {
        if !(value >= lo && value <= hi) || hi <= lo || self.height == 0 {
            return None;
        }
        let h = self.dots_y();
        let dot = ((hi - value) / (hi - lo) * (h - 1) as f64).round() as usize;
        Some(dot / 4)
    }

    /// Writes the raster into `buf` at `area` (same size), colouring cells from `palette`.
    pub fn flush(&self, buf: &mut Buffer, area: Rect, palette: &[Color]) {
        for cy in 0..self.height.min(usize::from(area.height)) {
            for cx in 0..self.width.min(usize::from(area.width)) {
                let i = cy * self.width + cx;
                let bits = self.bits[i];
                if bits == 0 {
                    continue;
                }
                let ch = char::from_u32(0x2800 + u32::from(bits)).unwrap_or(' ');
                let color = palette
                    .get(usize::from(self.color[i]))
                    .copied()
                    .unwrap_or(Color::Reset);
                if let Some(cell) = buf.cell_mut((area.x + cx as u16, area.y + cy as u16)) {
                    cell.set_char(ch).set_fg(color);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(t: f64, v: f64) -> Sample {
        Sample { t, v }
    }

    #[test]
    fn nan_and_gaps_break_the_line() {
        let samples = [
            s(0.0, 1.0),
            s(10.0, 2.0),
            s(20.0, f64::NAN),
            s(30.0, 3.0),
            s(40.0, 4.0),
            s(90.0, 5.0),
        ];
        let cols = downsample(&samples, 0.0, 100.0, 10.0, 10);
        assert!(!cols[0].join, "first sample starts a line");
        assert!(cols[1].join);
        assert!(cols[2].is_empty(), "NaN leaves the column empty");
        assert!(!cols[3].join, "after NaN the line restarts");
        assert!(cols[4].join);
        assert!(!cols[9].join, "a 50s gap with a 10s step is a break");
        assert_eq!(bounds(&cols), (1.0, 5.0));
    }

    #[test]
    fn many_points_fold_into_min_max() {
        let samples: Vec<Sample> = (0..1000)
            .map(|i| s(f64::from(i), f64::from(i % 7)))
            .collect();
        let cols = downsample(&samples, 0.0, 1000.0, 1.0, 10);
        assert_eq!(cols.len(), 10);
        assert!(cols.iter().all(|c| c.lo == 0.0 && c.hi == 6.0));
        assert!(cols[1..].iter().all(|c| c.join));
    }

    #[test]
    fn raster_draws_a_rising_line() {
        let samples: Vec<Sample> = (0..=4).map(|i| s(f64::from(i), f64::from(i))).collect();
        let cols = downsample(&samples, 0.0, 4.0001, 1.0, 4);
        let mut r = Raster::new(2, 1);
        r.series(&cols, 0.0, 4.0, 1);
        assert!(r.is_set(0, 0) && r.is_set(1, 0));
        let area = Rect::new(0, 0, 2, 1);
        let mut buf = Buffer::empty(area);
        r.flush(&mut buf, area, &[Color::Reset, Color::Green]);
        assert_ne!(buf[(0, 0)].symbol(), " ");
        assert_eq!(buf[(0, 0)].fg, Color::Green);
    }
}
