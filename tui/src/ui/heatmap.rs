//! Heatmap panels: bucket rows over time shaded by count, p50/p95/p99 drawn over them.
//! Everything comes precomputed in [`crate::heatmap::HeatmapView`].

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style};

use crate::app::State;
use crate::heatmap::QUANTILES;

/// Shades from least to most.
const SHADES: [(char, Color); 4] = [
    ('░', Color::Blue),
    ('▒', Color::Cyan),
    ('▓', Color::Yellow),
    ('█', Color::Red),
];

/// Glyph and colour of the p50, p95 and p99 lines.
/// Below this many plot rows only the p50 line is drawn over the shading.
pub const SMALL_ROWS: usize = 10;

pub const QUANTILE_MARKS: [(char, Color); 3] = [
    ('─', Color::White),
    ('═', Color::LightMagenta),
    ('≡', Color::LightRed),
];

/// Width of the y labels (as `plot_estimate` assumes).
const YLW: u16 = 7;

pub fn render(buf: &mut Buffer, inner: Rect, state: &State, i: usize) {
    let ps = &state.panels[i];
    let Some(view) = &ps.heatmap else {
        return;
    };
    if inner.width == 0 || inner.height == 0 {
        return;
    }
    let legend = super::graph::legend_rows(inner.height);
    let plot = super::graph::plot_area(inner, YLW, legend);
    if plot.width == 0 || plot.height == 0 {
        return;
    }
    if view.buckets == 0 {
        buf.set_stringn(
            plot.x,
            plot.y,
            "no `le` buckets: use sum by (le) (rate(x_bucket[$__rate_interval]))",
            usize::from(plot.width),
            Style::new().fg(Color::DarkGray),
        );
        return;
    }
    let cols = view.cols.min(usize::from(plot.width));
    let rows = view.rows.min(usize::from(plot.height));
    let max = view.max.max(f32::MIN_POSITIVE);
    for r in 0..rows {
        let y = plot.y + r as u16;
        let line = &view.cells[r * view.cols..r * view.cols + cols];
        for (c, &v) in line.iter().enumerate() {
            if v <= 0.0 {
                continue;
            }
            let level = ((v / max) * SHADES.len() as f32).ceil() as usize;
            let (ch, color) = SHADES[level.clamp(1, SHADES.len()) - 1];
            buf[(plot.x + c as u16, y)]
                .set_char(ch)
                .set_style(Style::new().fg(color));
        }
    }
    // Quantile lines, p50 last so it stays on top. In a small panel three lines would
    // cover most of the shading: only p50 is drawn (the legend still has all three).
    let lines = if rows < SMALL_ROWS {
        1
    } else {
        QUANTILES.len()
    };
    for k in (0..lines).rev() {
        let (ch, color) = QUANTILE_MARKS[k];
        for (c, row) in view.quantile_rows[k].iter().enumerate().take(cols) {
            if let Some(r) = row
                && usize::from(*r) < rows
            {
                buf[(plot.x + c as u16, plot.y + r)]
                    .set_char(ch)
                    .set_style(Style::new().fg(color).bg(Color::Black));
            }
        }
    }
    // Y labels: a bucket's upper bound on its top row, leaving a row free between labels.
    let label_style = Style::new().fg(Color::DarkGray);
    if plot.x > inner.x {
        let mut label = String::with_capacity(8);
        let mut last: Option<usize> = None;
        for r in 0..rows {
            let b = view.row_bounds[r];
            let new_bucket = r == 0 || view.row_bounds[r - 1].to_bits() != b.to_bits();
            if b.is_nan() || !new_bucket || last.is_some_and(|l| r < l + 2) {
                continue;
            }
            last = Some(r);
            label.clear();
            if b.is_infinite() {
                label.push_str("+Inf");
            } else {
                ps.format.write(&mut label, b, None);
            }
            let w = label.chars().count() as u16;
            let x = plot.x.saturating_sub(w + 1).max(inner.x);
            buf.set_stringn(
                x,
                plot.y + r as u16,
                &label,
                usize::from(plot.x - x),
                label_style,
            );
        }
    }
    // X axis: the window's start and end.
    let axis_y = plot.bottom();
    if inner.height >= 4
        && axis_y < inner.bottom()
        && let Some(w) = ps.window
    {
        let off = state.opts.utc_offset;
        let start = super::time::clock(w.start, off);
        let end = super::time::clock(w.end, off);
        buf.set_stringn(plot.x, axis_y, &start, usize::from(plot.width), label_style);
        let ew = end.len() as u16;
        if plot.width > ew + start.len() as u16 + 1 {
            buf.set_string(plot.right() - ew, axis_y, &end, label_style);
        }
    }
    // Legend: the quantiles' last values.
    if legend > 0 {
        let y = inner.bottom() - legend;
        let mut x = inner.x;
        for (k, q) in QUANTILES.iter().enumerate() {
            let (ch, color) = QUANTILE_MARKS[k];
            let value =
                view.last_quantiles[k].map_or("–".to_owned(), |v| ps.format.format(v, None));
            let text = format!("{ch} p{} {value}  ", (q * 100.0).round());
            if x >= inner.right() {
                break;
            }
            x = buf
                .set_stringn(
                    x,
                    y,
                    &text,
                    usize::from(inner.right() - x),
                    Style::new().fg(color),
                )
                .0;
        }
        if x < inner.right() {
            let max = crate::units::Format::Short.format(f64::from(view.max), None);
            let text = format!("░▒▓█ requests/s per bucket, max {max}");
            buf.set_stringn(x, y, &text, usize::from(inner.right() - x), label_style);
        }
    }
}
