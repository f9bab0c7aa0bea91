//! The query prompt (`:` or `/`): the line being typed, the server's error under it with
//! the column marked, and completion candidates.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::widgets::{Block, Clear, Widget};

use crate::app::State;

/// Completion candidates listed at most.
pub const MAX_SHOWN: usize = 8;

pub fn render(buf: &mut Buffer, area: Rect, state: &State) {
    let Some(p) = &state.explore.prompt else {
        return;
    };
    if area.width < 8 || area.height < 3 {
        return;
    }
    let n_err = if p.error.is_some() { 2 } else { 0 };
    // Candidates in as many columns as the width holds, MAX_SHOWN rows at most, filled
    // column by column (the inside starts 2 cells in: border and "› ").
    let avail = area.width.saturating_sub(4);
    let grid = p
        .completion
        .as_ref()
        .map(|(c, _)| completion_grid(&c.items, avail));
    let n_comp = match (&p.completion, grid) {
        (Some((c, _)), Some(g)) => g.rows as u16 + u16::from(c.items.len() > g.shown),
        _ => 0,
    };
    let h = (3 + n_err + n_comp).min(area.height);
    let rect = Rect::new(area.x, area.bottom() - h, area.width, h);
    Clear.render(rect, buf);
    let title = if p.running {
        " Query (running…) "
    } else {
        " Query "
    };
    Block::bordered()
        .title(title)
        .title_bottom(" Enter run · Tab complete · ↑/↓ history · Esc close ")
        .border_style(Style::new().fg(Color::Cyan))
        .render(rect, buf);
    let inner = super::inner(rect);
    if inner.height == 0 {
        return;
    }
    let right = inner.right();
    // The line, scrolled so the cursor stays visible.
    let room = usize::from(inner.width.saturating_sub(3));
    let cursor_chars = p.text[..p.cursor].chars().count();
    let skip = cursor_chars.saturating_sub(room);
    buf.set_string(inner.x, inner.y, "› ", Style::new().fg(Color::Cyan));
    let x0 = inner.x + 2;
    let mut x = x0;
    for (k, c) in p.text.chars().enumerate().skip(skip) {
        if x >= right {
            break;
        }
        let mut style = Style::new();
        if k == cursor_chars {
            style = style.add_modifier(Modifier::REVERSED);
        }
        buf[(x, inner.y)].set_char(c).set_style(style);
        x += 1;
    }
    if cursor_chars >= skip && x < right && cursor_chars == p.text.chars().count() {
        buf[(x, inner.y)]
            .set_char(' ')
            .set_style(Style::new().add_modifier(Modifier::REVERSED));
    }
    let mut y = inner.y + 1;
    if let Some(e) = &p.error {
        if let Some(col) = e.column
            && col >= skip
        {
            let cx = x0 + (col - skip) as u16;
            if cx < right && y < inner.bottom() {
                buf.set_string(
                    cx,
                    y,
                    "^",
                    Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
                );
                // The character the server points at.
                if let Some(cell) = buf.cell_mut((cx, inner.y)) {
                    cell.set_fg(Color::Red)
                        .set_style(Style::new().add_modifier(Modifier::UNDERLINED));
                }
            }
        }
        y += 1;
        if y < inner.bottom() {
            buf.set_stringn(
                inner.x,
                y,
                &e.message,
                usize::from(inner.width),
                Style::new().fg(Color::Red),
            );
        }
        y += 1;
    }
    if let (Some((c, sel)), Some(g)) = (&p.completion, grid) {
        for (k, item) in c.items.iter().take(g.shown).enumerate() {
            let row = (k % g.rows) as u16;
            let x = x0 + (k / g.rows) as u16 * g.col_w;
            if y + row >= inner.bottom() || x >= right {
                continue;
            }
            let style = if Some(k) == *sel {
                Style::new().fg(Color::Black).bg(Color::Cyan)
            } else {
                Style::new().fg(Color::Gray)
            };
            let room = usize::from((right - x).min(g.col_w.saturating_sub(1).max(1)));
            buf.set_stringn(x, y + row, item, room, style);
        }
        y += g.rows as u16;
        if c.items.len() > g.shown && y < inner.bottom() {
            buf.set_stringn(
                x0,
                y,
                format!("… {} more", c.items.len() - g.shown),
                usize::from(right - x0),
                Style::new().fg(Color::DarkGray),
            );
        }
    }
}

/// How completion candidates are laid out: `rows` rows of columns `col_w` wide, the
/// first `shown` candidates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grid {
    pub rows: usize,
    pub col_w: u16,
    pub shown: usize,
}

/// Candidates one per row up to [`MAX_SHOWN`] rows; more go in further columns as wide
/// as the longest candidate plus 2, as many as fit in `width`, filled column by column.
pub fn completion_grid(items: &[String], width: u16) -> Grid {
    let longest = items.iter().map(|i| i.chars().count()).max().unwrap_or(0);
    let col_w = u16::try_from(longest + 2)
        .unwrap_or(u16::MAX)
        .clamp(1, width.max(1));
    let cols = usize::from((width / col_w).max(1));
    let rows = items.len().min(MAX_SHOWN);
    Grid {
        rows,
        col_w,
        shown: items.len().min(rows * cols),
    }
}
