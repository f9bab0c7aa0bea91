//! The panel inspector (`i`): what the focused panel asked for and what came back.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Widget};

use crate::app::{FetchKey, State};
use crate::units::short_duration;

/// The inspector's lines for panel `i`.
pub fn lines(state: &State, i: usize) -> Vec<Line<'static>> {
    let label = Style::new().fg(Color::Cyan);
    let dim = Style::new().fg(Color::DarkGray);
    let mut out: Vec<Line<'static>> = Vec::new();
    let off = state.opts.utc_offset;
    // The server, and what VictoriaMetrics answers differently from Prometheus.
    let backend = &state.explore.backend;
    if backend.is_victoria_metrics() {
        out.push(Line::from(vec![
            Span::styled("server   ", label.add_modifier(Modifier::BOLD)),
            Span::styled(backend.to_string(), Style::new().fg(Color::Yellow)),
            Span::styled(" (MetricsQL, not PromQL)", dim),
        ]));
        for d in promdash_queries::backend::VM_DIFFERENCES {
            out.push(Line::from(vec![Span::styled("  · ", dim), Span::raw(*d)]));
        }
        out.push(Line::from(vec![
            Span::styled("  · ", dim),
            Span::raw(promdash_queries::backend::hidden_note(
                backend.hidden_window(),
            )),
        ]));
        out.push(Line::default());
    } else if *backend != promdash_queries::backend::Backend::Unknown {
        out.push(Line::from(vec![
            Span::styled("server   ", label.add_modifier(Modifier::BOLD)),
            Span::raw(backend.to_string()),
        ]));
        out.push(Line::default());
    }
    for (n, (key, window)) in state.panel_requests(i).into_iter().enumerate() {
        if n > 0 {
            out.push(Line::default());
        }
        let tail = state
            .dashboard
            .panels
            .get(i)
            .is_some_and(|p| crate::app::wants_tail(p.kind));
        let kind = match &key {
            FetchKey::Range { .. } => "range query",
            // A graph's instant query draws the newest partial step.
            FetchKey::Instant { .. } if tail => "instant query (the newest point, at now)",
            FetchKey::Instant { .. } => "instant query",
        };
        out.push(Line::from(vec![Span::styled(
            format!("#{} {kind}", n + 1),
            label.add_modifier(Modifier::BOLD),
        )]));
        out.push(Line::from(vec![
            Span::styled("  expr   ", label),
            Span::raw(key.expr().to_owned()),
        ]));
        if let Some(w) = window {
            out.push(Line::from(vec![
                Span::styled("  step   ", label),
                Span::raw(humantime::format_duration(w.step).to_string()),
                Span::styled("   range ", label),
                Span::raw(format!(
                    "{} ({} → {})",
                    short_duration(w.end - w.start),
                    super::time::clock(w.start, off),
                    super::time::clock(w.end, off)
                )),
            ]));
        } else {
            let at = if state.paused {
                state
                    .end
                    .map_or("now".to_owned(), |t| super::time::clock(t, off))
            } else {
                "now".to_owned()
            };
            out.push(Line::from(vec![
                Span::styled("  time   ", label),
                Span::raw(at),
            ]));
        }
        match state.explore.queries.get(&key) {
            None => out.push(Line::from(Span::styled("  no answer yet", dim))),
            Some(info) => {
                out.push(Line::from(vec![
                    Span::styled("  answer ", label),
                    Span::raw(format!(
                        "{} series, {} in {} ms at {}",
                        info.series,
                        crate::headless::count(info.points, "point", "points"),
                        info.elapsed.as_millis(),
                        super::time::clock(info.at, off)
                    )),
                ]));
                for w in &info.notes.warnings {
                    out.push(Line::from(vec![
                        Span::styled("  warning ", Style::new().fg(Color::Yellow)),
                        Span::raw(w.clone()),
                    ]));
                }
                for w in &info.notes.infos {
                    out.push(Line::from(vec![
                        Span::styled("  info   ", label),
                        Span::raw(w.clone()),
                    ]));
                }
                if info.notes.is_partial {
                    out.push(Line::from(Span::styled(
                        "  partial answer: some storage nodes did not answer",
                        Style::new().fg(Color::Yellow),
                    )));
                }
                if let Some(e) = &info.error {
                    out.push(Line::from(vec![
                        Span::styled("  error  ", Style::new().fg(Color::Red)),
                        Span::raw(e.clone()),
                    ]));
                }
            }
        }
    }
    out
}

/// Cuts `line` into lines at most `width` cells wide, at spaces where it can; the
/// continuation lines are indented by `indent` cells (under the value, not the label).
pub fn wrap(line: &Line<'static>, width: usize, indent: usize) -> Vec<Line<'static>> {
    let cells: Vec<(char, Style)> = line
        .spans
        .iter()
        .flat_map(|s| s.content.chars().map(move |c| (c, s.style)))
        .collect();
    let width = width.max(1);
    let indent = if indent + 8 > width { 0 } else { indent };
    let mut out = Vec::new();
    let mut at = 0;
    let mut room = width;
    while at < cells.len() || out.is_empty() {
        let end = (at + room).min(cells.len());
        let cut = if end < cells.len() {
            // The last space within reach, if it leaves something on this line.
            cells[at..end]
                .iter()
                .rposition(|(c, _)| *c == ' ')
                .filter(|p| *p > 0)
                .map_or(end, |p| at + p + 1)
        } else {
            end
        };
        let mut spans: Vec<Span<'static>> = Vec::new();
        if !out.is_empty() && indent > 0 {
            spans.push(Span::raw(" ".repeat(indent)));
        }
        for (c, style) in &cells[at..cut] {
            match spans.last_mut() {
                Some(last) if last.style == *style => last.content.to_mut().push(*c),
                _ => spans.push(Span::styled(c.to_string(), *style)),
            }
        }
        out.push(Line::from(spans));
        at = cut;
        room = width - indent;
    }
    out
}

/// Where the inspector goes in `area` and its lines wrapped to its width.
fn layout(state: &State, area: Rect) -> (Rect, Vec<Line<'static>>) {
    let w = area
        .width
        .saturating_sub(4)
        .min(110)
        .max(area.width.min(20));
    let inner_w = usize::from(w.saturating_sub(2));
    let text: Vec<Line<'static>> = lines(state, state.focus)
        .iter()
        .flat_map(|l| wrap(l, inner_w, 9))
        .collect();
    let h = (text.len() as u16 + 2)
        .min(area.height)
        .max(area.height.min(5));
    let rect = Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    );
    (rect, text)
}

/// Lines visible at once, and the furthest the inspector can scroll (for `update`).
pub fn scroll_room(state: &State) -> (u16, u16) {
    let (rect, text) = layout(state, state.grid_area());
    let visible = rect.height.saturating_sub(2);
    let total = u16::try_from(text.len()).unwrap_or(u16::MAX);
    (visible, total.saturating_sub(visible))
}

pub fn render(buf: &mut Buffer, area: Rect, state: &State) {
    let Some(panel) = state.dashboard.panels.get(state.focus) else {
        return;
    };
    let (rect, text) = layout(state, area);
    let visible = rect.height.saturating_sub(2);
    let total = u16::try_from(text.len()).unwrap_or(u16::MAX);
    let max = total.saturating_sub(visible);
    let scroll = state.explore.inspector_scroll.min(max);
    let bottom = if max > 0 {
        format!(
            " {}–{} of {total} · ↑/↓ PgUp/PgDn scroll · i / Esc closes ",
            scroll + 1,
            (scroll + visible).min(total)
        )
    } else {
        " i / Esc closes ".to_owned()
    };
    Clear.render(rect, buf);
    Paragraph::new(text)
        .scroll((scroll, 0))
        .block(
            Block::bordered()
                .title(
                    Line::from(format!(" Inspect: {} ", panel.title))
                        .style(Style::new().add_modifier(Modifier::BOLD)),
                )
                .title_bottom(Line::from(bottom).style(Style::new().fg(Color::DarkGray)))
                .border_style(Style::new().fg(Color::Cyan)),
        )
        .render(rect, buf);
}
