//! Table panels: one row per series of an instant vector, sorted by value.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};

use crate::app::State;

const MAX_COLUMN: u16 = 32;

pub fn render(buf: &mut Buffer, inner: Rect, state: &State, i: usize) {
    let _panel = &state.dashboard.panels[i];
    let ps = &state.panels[i];
    if inner.height == 0 || inner.width == 0 {
        return;
    }
    if ps.rows.is_empty() {
        buf.set_stringn(
            inner.x,
            inner.y,
            "no series",
            usize::from(inner.width),
            Style::new().fg(Color::DarkGray),
        );
        return;
    }
    let value_w = ps
        .rows
        .iter()
        .map(|r| r.text.chars().count() as u16)
        .max()
        .unwrap_or(0)
        .max(5);
    // Label columns as wide as their widest cell, capped; they share what the value leaves.
    let mut widths: Vec<u16> = ps
        .columns
        .iter()
        .enumerate()
        .map(|(c, name)| {
            let cells = ps
                .rows
                .iter()
                .map(|r| r.labels[c].chars().count())
                .max()
                .unwrap_or(0);
            (cells.max(name.len()) as u16).min(MAX_COLUMN)
        })
        .collect();
    let room = inner.width.saturating_sub(value_w + 1);
    while widths.iter().map(|w| w + 1).sum::<u16>() > room {
        let Some(widest) = widths.iter_mut().max() else {
            break;
        };
        if *widest <= 3 {
            break;
        }
        *widest -= 1;
    }
    let header = Style::new()
        .fg(Color::DarkGray)
        .add_modifier(Modifier::BOLD);
    let mut x = inner.x;
    for (c, name) in ps.columns.iter().enumerate() {
        if x >= inner.right() {
            break;
        }
        buf.set_stringn(
            x,
            inner.y,
            name,
            usize::from(widths[c].min(inner.right() - x)),
            header,
        );
        x += widths[c] + 1;
    }
    let vx = inner.right().saturating_sub(value_w).max(inner.x);
    buf.set_stringn(
        inner.right().saturating_sub(5).max(inner.x),
        inner.y,
        "value",
        5,
        header,
    );

    let body = inner.height - 1;
    let n = ps.rows.len();
    let shown = if n as u16 > body {
        body.saturating_sub(1)
    } else {
        body
    };
    for (r, row) in ps.rows.iter().take(usize::from(shown)).enumerate() {
        let y = inner.y + 1 + r as u16;
        let mut x = inner.x;
        for (c, cell) in row.labels.iter().enumerate() {
            if x >= vx {
                break;
            }
            buf.set_stringn(x, y, cell, usize::from(widths[c].min(vx - x)), Style::new());
            x += widths[c] + 1;
        }
        let color = row.color.map_or(Color::Reset, super::color);
        // A value wider than the panel is cut with an ellipsis, never spilled.
        let w = row.text.chars().count() as u16;
        let text = if w > inner.width {
            let keep = usize::from(inner.width.saturating_sub(1));
            format!("{}…", row.text.chars().take(keep).collect::<String>())
        } else {
            row.text.clone()
        };
        buf.set_stringn(
            inner.right().saturating_sub(w).max(inner.x),
            y,
            &text,
            usize::from(inner.width),
            Style::new().fg(color).add_modifier(Modifier::BOLD),
        );
    }
    if usize::from(shown) < n && body > 0 {
        let more = format!("… {} more", n - usize::from(shown));
        buf.set_stringn(
            inner.x,
            inner.y + 1 + shown,
            &more,
            usize::from(inner.width),
            Style::new().fg(Color::DarkGray),
        );
    }
}
