//! Stat panels: the value in large digits coloured by thresholds, a sparkline below.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};

use crate::app::State;
use crate::plot::Raster;

/// Three-row glyphs for the digits and the few signs a number has.
fn glyph(c: char) -> Option<[&'static str; 3]> {
    Some(match c {
        '0' => ["┏━┓", "┃ ┃", "┗━┛"],
        '1' => [" ┓ ", " ┃ ", " ┻ "],
        '2' => ["┏━┓", "┏━┛", "┗━━"],
        '3' => ["━━┓", " ━┫", "━━┛"],
        '4' => ["┃ ┃", "┗━┫", "  ┃"],
        '5' => ["┏━━", "┗━┓", "━━┛"],
        '6' => ["┏━━", "┣━┓", "┗━┛"],
        '7' => ["━━┓", "  ┃", "  ┃"],
        '8' => ["┏━┓", "┣━┫", "┗━┛"],
        '9' => ["┏━┓", "┗━┫", "━━┛"],
        '.' => [" ", " ", "▪"],
        '-' => ["  ", "━━", "  "],
        _ => return None,
    })
}

/// Rows used by the value: three for large digits when there is room, else one.
fn value_rows(height: u16) -> u16 {
    if height >= 5 { 3 } else { height.min(1) }
}

/// Where the sparkline goes inside a stat panel.
pub fn spark_area(inner: Rect) -> Rect {
    let v = value_rows(inner.height);
    let top = if inner.height >= 3 { v } else { inner.height };
    Rect::new(inner.x, inner.y + top, inner.width, inner.height - top)
}

pub fn render(buf: &mut Buffer, inner: Rect, state: &State, i: usize) {
    let panel = &state.dashboard.panels[i];
    let ps = &state.panels[i];
    if inner.height == 0 || inner.width == 0 {
        return;
    }
    if ps.value_series > 1 {
        render_many(buf, inner, state, i, false);
        return;
    }
    let _ = panel;
    let color = ps
        .stat_values()
        .next()
        .and_then(|v| v.color)
        .map_or(Color::Cyan, super::color);
    let style = Style::new().fg(color).add_modifier(Modifier::BOLD);
    let text = ps.value_text.as_str();

    // Sparkline first, the value over it.
    let spark = spark_area(inner);
    if spark.height > 0
        && spark.width > 0
        && let Some(s) = ps.series.first()
    {
        let mut raster = Raster::new(spark.width, spark.height);
        raster.series(&s.cols, ps.scale.lo, ps.scale.hi, 1);
        let dim = match color {
            Color::Cyan => Color::DarkGray,
            c => c,
        };
        raster.flush(buf, spark, &[Color::Reset, dim]);
    }

    let rows = value_rows(inner.height);
    // Large digits for the number, the unit beside it in plain bold.
    let split = text
        .find(|c: char| glyph(c).is_none())
        .unwrap_or(text.len());
    let (num, unit) = text.split_at(split);
    let big_w: u16 = num
        .chars()
        .map(|c| glyph(c).map_or(0, |g| g[0].chars().count() as u16 + 1))
        .sum();
    let unit_w = unit.chars().count() as u16;
    if rows == 3 && !num.is_empty() && big_w + unit_w <= inner.width {
        let x0 = inner.x + (inner.width - big_w - unit_w) / 2;
        for row in 0..3u16 {
            let mut x = x0;
            for c in num.chars() {
                if let Some(g) = glyph(c) {
                    buf.set_string(x, inner.y + row, g[usize::from(row)], style);
                    x += g[0].chars().count() as u16 + 1;
                }
            }
            if row == 2 {
                buf.set_string(x, inner.y + row, unit.trim_start(), style);
            }
        }
    } else {
        let w = text.chars().count() as u16;
        let x = inner.x + inner.width.saturating_sub(w) / 2;
        let y = inner.y + rows.saturating_sub(1) / 2;
        buf.set_stringn(x, y, text, usize::from(inner.right() - x), style);
    }
}

/// A stat or gauge on several series, as Grafana shows it: one row per series in label
/// order, its legend name on the left and its value (coloured by thresholds) on the
/// right, a bar between them for a gauge; as many as fit, then "+N more".
pub fn render_many(buf: &mut Buffer, inner: Rect, state: &State, i: usize, gauge: bool) {
    let panel = &state.dashboard.panels[i];
    let ps = &state.panels[i];
    let values: Vec<&crate::panel::StatValue> = ps.stat_values().collect();
    let rows = usize::from(inner.height);
    let shown = if values.len() > rows {
        rows.saturating_sub(1)
    } else {
        values.len()
    };
    let value_w = values
        .iter()
        .take(shown)
        .map(|v| v.text.chars().count())
        .max()
        .unwrap_or(0) as u16;
    let name_w = values
        .iter()
        .take(shown)
        .map(|v| v.name.chars().count())
        .max()
        .unwrap_or(0) as u16;
    let name_w = name_w.min(inner.width.saturating_sub(value_w + 1) / if gauge { 2 } else { 1 });
    let (min, max) = panel.gauge_bounds();
    for (k, v) in values.iter().take(shown).enumerate() {
        let y = inner.y + k as u16;
        let color = v
            .color
            .map_or(if gauge { Color::Green } else { Color::Cyan }, super::color);
        let name = promdash_queries::text::escape_control(&v.name);
        buf.set_stringn(inner.x, y, &name, usize::from(name_w), Style::new());
        let vw = (v.text.chars().count() as u16).min(inner.width);
        let vx = inner.right() - vw;
        buf.set_stringn(
            vx,
            y,
            &v.text,
            usize::from(vw),
            Style::new().fg(color).add_modifier(Modifier::BOLD),
        );
        if gauge {
            let bx = inner.x + name_w + 1;
            let bw = inner.right().saturating_sub(value_w + 1).saturating_sub(bx);
            let ratio = if v.value.is_finite() && max > min {
                ((v.value - min) / (max - min)).clamp(0.0, 1.0)
            } else {
                0.0
            };
            let filled = (ratio * f64::from(bw)).round() as u16;
            for cx in 0..bw {
                let cell = &mut buf[(bx + cx, y)];
                if cx < filled {
                    cell.set_char('█').set_fg(color);
                } else {
                    cell.set_char('░').set_fg(Color::DarkGray);
                }
            }
        }
    }
    if shown < values.len() && rows > 0 {
        let more = format!("+{} more", values.len() - shown);
        buf.set_stringn(
            inner.x,
            inner.y + shown as u16,
            &more,
            usize::from(inner.width),
            Style::new().fg(Color::DarkGray),
        );
    }
}
