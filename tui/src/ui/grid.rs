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
    render_rows(buf, area, state);
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
    render_scroll_hints(buf, area, state);
}

/// A dashboard with rows taller than the screen: `▲ more` / `▼ more` at the right end of
/// the first and last lines when something is scrolled away above or below.
fn render_scroll_hints(buf: &mut Buffer, area: Rect, state: &State) {
    let layout = state.row_layout();
    let style = Style::new().fg(Color::DarkGray);
    let hint = |buf: &mut Buffer, y: u16, text: &str| {
        let w = text.chars().count() as u16;
        if area.width > w + 2 {
            buf.set_string(area.x + area.width - w - 2, y, text, style);
        }
    };
    if layout.above && area.height > 0 {
        hint(buf, area.y, " ▲ more ");
    }
    if layout.below && area.height > 1 {
        hint(buf, area.y + area.height - 1, " ▼ more ");
    }
}

/// The title bars of a dashboard with rows: `▾ Title` open, `▸ Title (n panels)` folded.
fn render_rows(buf: &mut Buffer, area: Rect, state: &State) {
    let layout = state.row_layout();
    for (r, rect) in layout.headers.iter().enumerate() {
        let (Some(rect), Some(row)) = (
            rect.map(|r| r.intersection(area)),
            state.dashboard.rows.get(r),
        ) else {
            continue;
        };
        if rect.width == 0 {
            continue;
        }
        let collapsed = state.collapsed.get(r).copied().unwrap_or(false);
        let n = row.panels.len();
        let title =
            promdash_queries::text::escape_control(&state.vars.title(&row.title)).into_owned();
        let text = if collapsed {
            format!("▸ {title} ({n} panel{})", if n == 1 { "" } else { "s" })
        } else {
            format!("▾ {title}")
        };
        let focused = state.row_focus == Some(r);
        let style = if focused {
            Style::new()
                .fg(Color::Cyan)
                .add_modifier(Modifier::BOLD | Modifier::REVERSED)
        } else {
            Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD)
        };
        buf.set_stringn(rect.x, rect.y, &text, usize::from(rect.width), style);
    }
}

fn render_panel(buf: &mut Buffer, rect: Rect, state: &State, i: usize, firing: bool) {
    let panel = &state.dashboard.panels[i];
    let ps = &state.panels[i];
    let focused = i == state.focus && state.row_focus.is_none();
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
    // Room for the error at the bottom (as many rows as its words need, up to half the
    // panel), the data above it.
    let error_lines = error.map(|e| {
        super::inspector::wrap(&Line::from(format!("⚠ {e}")), usize::from(inner.width), 2)
    });
    let (content, err_area) = match error {
        Some(_) if inner.height >= 3 => {
            let need = error_lines.as_ref().map_or(1, Vec::len) as u16;
            let rows = need.clamp(1, (inner.height / 2).max(1));
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
    if let (Some(lines), Some(area)) = (error_lines, err_area) {
        Paragraph::new(lines)
            .style(Style::new().fg(Color::Red))
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
