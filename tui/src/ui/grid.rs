//! The panel grid: borders, titles, focus and alert colours, errors; the content is drawn
//! by the module of the panel's kind.

use promdash_queries::dashboard::PanelKind;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget, Wrap};

use crate::app::State;

pub fn render(buf: &mut Buffer, area: Rect, state: &State) {
    let rects = state.panel_rects();
    let firing = state.firing_panels();
    for (i, rect) in rects.iter().enumerate() {
        let Some(rect) = rect.map(|r| r.intersection(area)) else {
            continue;
        };
        if rect.width < 2 || rect.height < 2 {
            continue;
        }
        render_panel(buf, rect, state, i, firing[i]);
    }
}

fn render_panel(buf: &mut Buffer, rect: Rect, state: &State, i: usize, firing: bool) {
    let panel = &state.dashboard.panels[i];
    let ps = &state.panels[i];
    let focused = i == state.focus;
    let border = if firing {
        Style::new().fg(Color::Red).add_modifier(Modifier::BOLD)
    } else if focused {
        Style::new().fg(Color::Cyan)
    } else {
        Style::new().fg(Color::DarkGray)
    };
    let mut title = vec![Span::styled(
        format!(" {} ", state.vars.title(&panel.title)),
        Style::new().add_modifier(Modifier::BOLD).fg(if firing {
            Color::Red
        } else {
            Color::Reset
        }),
    )];
    if state.panel_is_stale(i) {
        title.push(Span::styled("stale ", Style::new().fg(Color::Yellow)));
    }
    super::frame(buf, rect, &Line::from(title), border, focused || firing);
    let inner = super::inner(rect);
    if inner.width == 0 || inner.height == 0 {
        return;
    }
    if panel.kind == PanelKind::Text {
        let text = panel.text.as_deref().unwrap_or("");
        Paragraph::new(promdash_queries::text::escape_lines(&state.vars.title(text)).into_owned())
            .wrap(Wrap { trim: false })
            .render(inner, buf);
        return;
    }
    // A variable it uses has no values: nothing can come back, and that is why.
    if let Some(reason) = state.vars.empty_reason(i) {
        Paragraph::new(format!("no data: {reason}"))
            .style(Style::new().fg(Color::Yellow))
            .wrap(Wrap { trim: true })
            .render(inner, buf);
        return;
    }
    let error = ps.visible_error();
    if !ps.loaded {
        let (text, style) = match error {
            Some(e) => (e.to_owned(), Style::new().fg(Color::Red)),
            None => (
                "waiting for data…".to_owned(),
                Style::new().fg(Color::DarkGray),
            ),
        };
        Paragraph::new(text)
            .style(style)
            .wrap(Wrap { trim: true })
            .render(inner, buf);
        return;
    }
    // Room for the error at the bottom, the data above it.
    let (content, err_area) = match error {
        Some(_) if inner.height >= 3 => {
            let rows = if inner.height >= 8 { 2 } else { 1 };
            (
                Rect::new(inner.x, inner.y, inner.width, inner.height - rows),
                Some(Rect::new(inner.x, inner.bottom() - rows, inner.width, rows)),
            )
        }
        Some(_) => (Rect::new(inner.x, inner.y, inner.width, 0), Some(inner)),
        None => (inner, None),
    };
    render_clipped(buf, content, |scratch| match panel.kind {
        PanelKind::Graph => super::graph::render(scratch, content, state, i),
        PanelKind::Heatmap => super::heatmap::render(scratch, content, state, i),
        PanelKind::Stat => super::stat::render(scratch, content, state, i),
        PanelKind::Gauge => super::gauge::render(scratch, content, state, i),
        PanelKind::Table => super::table::render(scratch, content, state, i),
        PanelKind::Text => {}
    });
    if let (Some(e), Some(area)) = (error, err_area) {
        Paragraph::new(format!("⚠ {e}"))
            .style(Style::new().fg(Color::Red))
            .wrap(Wrap { trim: true })
            .render(area, buf);
    }
}

/// Draws a panel's content so that nothing lands outside `content`: into a scratch
/// buffer reaching from `content`'s corner to the screen's edges (so a long value never
/// writes out of bounds), then only `content`'s cells are copied back. A `1.25e300` in
/// a table cell stays in its own panel.
fn render_clipped(buf: &mut Buffer, content: Rect, draw: impl FnOnce(&mut Buffer)) {
    if content.width == 0 || content.height == 0 {
        return;
    }
    let screen = buf.area;
    let reach = Rect::new(
        content.x,
        content.y,
        screen.right().saturating_sub(content.x),
        screen.bottom().saturating_sub(content.y),
    );
    let mut scratch = Buffer::empty(reach);
    for y in content.top()..content.bottom() {
        for x in content.left()..content.right() {
            scratch[(x, y)] = buf[(x, y)].clone();
        }
    }
    draw(&mut scratch);
    for y in content.top()..content.bottom() {
        for x in content.left()..content.right() {
            buf[(x, y)] = scratch[(x, y)].clone();
        }
    }
}
