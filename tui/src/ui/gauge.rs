//! Gauge panels: a bar between the panel's min and max, coloured by thresholds.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};

use crate::app::State;

pub fn render(buf: &mut Buffer, inner: Rect, state: &State, i: usize) {
    let panel = &state.dashboard.panels[i];
    let ps = &state.panels[i];
    if inner.height == 0 || inner.width == 0 {
        return;
    }
    if ps.value_series > 1 {
        super::stat::render_many(buf, inner, state, i, true);
        return;
    }
    let value = ps.value.unwrap_or(f64::NAN);
    let color = ps
        .stat_values()
        .next()
        .and_then(|v| v.color)
        .map_or(Color::Green, super::color);
    let (min, max) = panel.gauge_bounds();
    let ratio = if value.is_finite() && max > min {
        ((value - min) / (max - min)).clamp(0.0, 1.0)
    } else {
        0.0
    };

    let text = ps.value_text.as_str();
    let bold = Style::new().fg(color).add_modifier(Modifier::BOLD);
    let w = text.chars().count() as u16;
    let x = inner.x + inner.width.saturating_sub(w) / 2;
    buf.set_stringn(x, inner.y, text, usize::from(inner.right() - x), bold);
    if inner.height < 2 {
        return;
    }
    // The bar takes the rows between the value and the min/max labels.
    let labels = u16::from(inner.height >= 3);
    let bar_rows = (inner.height - 1 - labels).clamp(1, 2);
    let y0 = inner.y + 1;
    let filled = (ratio * f64::from(inner.width)).round() as u16;
    for row in 0..bar_rows {
        for cx in 0..inner.width {
            let cell = &mut buf[(inner.x + cx, y0 + row)];
            if cx < filled {
                cell.set_char('█').set_fg(color);
            } else {
                cell.set_char('░').set_fg(Color::DarkGray);
            }
        }
    }
    if labels == 1 {
        let y = y0 + bar_rows;
        let lo = ps.format.format(min, panel.decimals);
        let hi = ps.format.format(max, panel.decimals);
        let dim = Style::new().fg(Color::DarkGray);
        buf.set_stringn(inner.x, y, &lo, usize::from(inner.width), dim);
        let hw = hi.chars().count() as u16;
        if hw + (lo.chars().count() as u16) < inner.width {
            buf.set_string(inner.right() - hw, y, &hi, dim);
        }
    }
}
