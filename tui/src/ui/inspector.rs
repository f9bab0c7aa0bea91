//! The panel inspector (`i`): what the focused panel asked for and what came back.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Widget, Wrap};

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
        let kind = match &key {
            FetchKey::Range { .. } => "range query",
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

pub fn render(buf: &mut Buffer, area: Rect, state: &State) {
    let i = state.focus;
    let Some(panel) = state.dashboard.panels.get(i) else {
        return;
    };
    let text = lines(state, i);
    let w = area
        .width
        .saturating_sub(4)
        .min(110)
        .max(area.width.min(20));
    let h = (text.len() as u16 + 2)
        .min(area.height)
        .max(area.height.min(5));
    let rect = Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    );
    Clear.render(rect, buf);
    Paragraph::new(text)
        .wrap(Wrap { trim: false })
        .block(
            Block::bordered()
                .title(
                    Line::from(format!(" Inspect: {} ", panel.title))
                        .style(Style::new().add_modifier(Modifier::BOLD)),
                )
                .title_bottom(
                    Line::from(" i / Esc closes ").style(Style::new().fg(Color::DarkGray)),
                )
                .border_style(Style::new().fg(Color::Cyan)),
        )
        .render(rect, buf);
}
