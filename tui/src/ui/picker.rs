//! The variable picker (`V`): each variable with its current value, and the choices of
//! the one being edited.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::widgets::{Block, Clear, Widget};

use crate::app::State;
use crate::variables::{ALL, rows};

pub fn render(buf: &mut Buffer, area: Rect, state: &State) {
    let Some(p) = &state.vars.picker else {
        return;
    };
    let Some(v) = state.vars.vars.get(p.var) else {
        return;
    };
    let choices = rows(v);
    let n_vars = state.vars.vars.len() as u16;
    let w = 60.min(area.width);
    let h = (n_vars + choices.len() as u16 + 5).min(area.height);
    if w < 10 || h < 5 {
        return;
    }
    let rect = Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    );
    Clear.render(rect, buf);
    Block::bordered()
        .title(" Variables ")
        .title_bottom(" ↑/↓ move · Space tick · Enter apply · ←/→ variable · Esc ")
        .border_style(Style::new().fg(Color::Cyan))
        .render(rect, buf);
    let inner = super::inner(rect);
    let right = inner.right();
    let mut y = inner.y;
    for (k, var) in state.vars.vars.iter().enumerate() {
        if y >= inner.bottom() {
            return;
        }
        let current = state.vars.shown(var);
        let style = if k == p.var {
            Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD)
        } else {
            Style::new()
        };
        let marker = if k == p.var { "▶ " } else { "  " };
        let text = format!("{marker}${} = {current}", var.def.name);
        buf.set_stringn(inner.x, y, &text, usize::from(inner.width), style);
        y += 1;
    }
    y += 1;
    if let Some(e) = &v.error {
        buf.set_stringn(
            inner.x + 2,
            y,
            e,
            usize::from(inner.width - 2),
            Style::new().fg(Color::Red),
        );
        return;
    }
    if v.options.is_none() {
        buf.set_stringn(
            inner.x + 2,
            y,
            "loading…",
            usize::from(inner.width - 2),
            Style::new().fg(Color::DarkGray),
        );
        return;
    }
    let visible = usize::from(inner.bottom().saturating_sub(y)).max(1);
    let first = p.row.saturating_sub(visible - 1);
    for (k, choice) in choices.iter().enumerate().skip(first) {
        if y >= inner.bottom() {
            break;
        }
        let ticked = p.chosen.iter().any(|c| c == choice);
        let mark = match (v.def.multi && choice != ALL, ticked) {
            (true, true) => "[x] ",
            (true, false) => "[ ] ",
            (false, true) => "(•) ",
            (false, false) => "( ) ",
        };
        let style = if k == p.row {
            Style::new().fg(Color::Black).bg(Color::Cyan)
        } else {
            Style::new()
        };
        let text = format!("{mark}{choice}");
        buf.set_stringn(
            inner.x + 2,
            y,
            &text,
            usize::from(right - inner.x - 2),
            style,
        );
        y += 1;
    }
}
