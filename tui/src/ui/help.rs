//! The help overlay: every key.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Widget};

use crate::app::State;

/// Every key and what it does.
pub const KEYS: [(&str, &str); 25] = [
    ("q, Ctrl-C", "quit"),
    ("?", "show or hide this help"),
    ("r", "refresh now"),
    ("p", "pause / resume live updates"),
    ("+ / -", "zoom in / out (5m 15m 1h 6h 24h 7d)"),
    ("← / →", "pan back / forward (← pauses when live)"),
    ("Tab", "focus the next panel (or row title)"),
    ("Shift-Tab", "focus the previous panel"),
    ("Enter", "show the focused panel full screen"),
    ("z", "fold / unfold the focused row (Grafana rows)"),
    ("PgUp/PgDn", "previous / next row title"),
    ("Esc", "back to the grid / close help"),
    (": or /", "query prompt (Tab completes, ↑/↓ history)"),
    ("P", "pin the prompt's result to the dashboard"),
    ("i", "inspect the focused panel's queries"),
    ("v", "cursor in the focused graph (←/→ move)"),
    ("a", "alerts view: rule groups, alerts (↑/↓ select)"),
    ("s", "alerts view: silence the selected alert 1h"),
    ("S", "alerts view: clear silences"),
    ("V", "choose dashboard variables"),
    ("e", "export the focused panel: png, svg, csv, json"),
    ("E", "export the dashboard: png, svg, csv, json"),
    ("f", "demo: toggle the service's latency fault"),
    ("t", "scrape targets (state, last scrape, error)"),
    ("w", "embedded: save the scraped data to a .om file"),
];

/// What a key does: with `--alertmanager` the silence keys work on its silences.
fn describe(key: &str, what: &'static str, alertmanager: bool) -> &'static str {
    match (key, alertmanager) {
        ("s", true) => "alerts view: silence in Alertmanager",
        ("S", true) => "alerts view: Alertmanager silences, x expires",
        _ => what,
    }
}

pub fn render(buf: &mut Buffer, area: Rect, state: &State) {
    let keys: Vec<&(&str, &str)> = KEYS
        .iter()
        .filter(|(k, _)| *k != "f" || state.opts.demo)
        .filter(|(k, _)| !matches!(*k, "t" | "w") || state.embedded.is_some())
        .collect();
    let w = 60.min(area.width);
    let h = (keys.len() as u16 + 4).min(area.height);
    let rect = Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    );
    Clear.render(rect, buf);
    let lines: Vec<Line<'_>> = keys
        .iter()
        .map(|(k, what)| (*k, describe(k, what, state.explore.am.enabled)))
        .map(|(k, what)| {
            Line::from(vec![
                Span::styled(
                    format!("{k:>10}  "),
                    Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD),
                ),
                Span::raw(what),
            ])
        })
        .collect();
    Paragraph::new(lines)
        .block(
            Block::bordered()
                .title(Line::from(" Keys ").style(Style::new().add_modifier(Modifier::BOLD)))
                .title_bottom(
                    Line::from(" any key closes ").style(Style::new().fg(Color::DarkGray)),
                )
                .border_style(Style::new().fg(Color::Cyan)),
        )
        .render(rect, buf);
}

#[cfg(test)]
mod tests {
    use super::describe;

    #[test]
    fn silence_keys_say_what_they_do_with_an_alertmanager() {
        assert_eq!(
            describe("s", "local", false),
            "local",
            "without an Alertmanager the local text stays"
        );
        assert!(describe("s", "local", true).contains("Alertmanager"));
        assert!(describe("S", "local", true).contains("x expires"));
        assert_eq!(describe("q", "quit", true), "quit");
        for key in ["s", "S"] {
            assert!(
                describe(key, "", true).chars().count() <= 46,
                "fits the overlay"
            );
        }
    }
}
