//! The bottom line: server, health, INSECURE when TLS is not verified, the URL (always
//! without credentials), what the dashboard file changes about the connection, last
//! refresh, refresh interval, range, paused; for a while after an export, the files it
//! wrote (first after the URL: the paths are what the user is looking for then).

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};

use super::time::{clock, month_day};
use crate::app::{Server, State};
use crate::units::{range_label, short_duration};

pub fn render(buf: &mut Buffer, area: Rect, state: &State) {
    let bar = Style::new().bg(Color::Rgb(30, 30, 30)).fg(Color::Gray);
    buf.set_style(area, bar);
    let right = area.right();
    let mut x = area.x;
    let sep = " │ ";
    // Up to the first separator (server, URL) text is cut when it must be; after it the
    // bar drops whole items that do not fit, never half a word, and a separator is drawn
    // only before an item that is.
    let mut listing = false;
    let mut pending_sep = false;
    let mut put = |text: &str, style: Style| {
        if text == sep {
            listing = true;
            pending_sep = true;
            return;
        }
        let w = text.chars().count() as u16;
        let sep_w = if pending_sep {
            sep.chars().count() as u16
        } else {
            0
        };
        if listing && x.saturating_add(sep_w).saturating_add(w) > right {
            return;
        }
        if pending_sep {
            x = buf
                .set_stringn(x, area.y, sep, usize::from(right - x), bar)
                .0;
            pending_sep = false;
        }
        if x < right {
            let (nx, _) = buf.set_stringn(x, area.y, text, usize::from(right - x), style);
            x = nx;
        }
    };
    put(" ", bar);
    if let Some((start, end)) = state.replay {
        // A recording: where it is from and how long it is, instead of a server.
        put(
            " REPLAY ",
            Style::new()
                .bg(Color::Blue)
                .fg(Color::White)
                .add_modifier(Modifier::BOLD),
        );
        let (mo, d) = month_day(start, state.opts.utc_offset);
        put(
            &format!(
                " {mo:02}-{d:02} {}–{} ({}) ",
                clock(start, state.opts.utc_offset),
                clock(end, state.opts.utc_offset),
                short_duration(end - start)
            ),
            bar.fg(Color::White),
        );
        put(&state.opts.url, bar.fg(Color::White));
        put(sep, bar);
        let at = state.end.unwrap_or(end);
        put(&format!("at {}", clock(at, state.opts.utc_offset)), bar);
        put(sep, bar);
        put(
            &format!("range {}", range_label(state.range.as_secs())),
            bar,
        );
        put(sep, bar);
        put("←/→ pan  +/- zoom", bar);
        put(sep, bar);
        put("? help", bar.fg(Color::DarkGray));
        return;
    }
    if let Some(e) = &state.embedded {
        // The embedded engine: no server to be up or down, targets instead.
        put(
            " EMBEDDED ",
            Style::new()
                .bg(Color::Blue)
                .fg(Color::White)
                .add_modifier(Modifier::BOLD),
        );
        let (up, all) = e.up();
        let color = if all == 0 || up < all {
            Color::LightRed
        } else {
            Color::LightGreen
        };
        // The targets' URLs are in the targets view: the line is short of room.
        put(&format!(" {up}/{all} targets up (t)"), bar.fg(color));
        match &e.saved {
            _ if e.saving => {
                put(sep, bar);
                put("saving…", bar.fg(Color::Yellow));
            }
            Some(Ok(path)) => {
                put(sep, bar);
                put(&format!("saved {path}"), bar.fg(Color::LightGreen));
            }
            Some(Err(why)) => {
                put(sep, bar);
                put(&format!("save failed: {why}"), bar.fg(Color::LightRed));
            }
            None => {}
        }
    }
    match &state.server {
        _ if state.embedded.is_some() => {}
        Server::Up => put(
            " UP ",
            Style::new()
                .bg(Color::Green)
                .fg(Color::Black)
                .add_modifier(Modifier::BOLD),
        ),
        Server::Connecting => put(" connecting… ", bar.fg(Color::Yellow)),
        Server::Down { reason, .. } => {
            let retry = (state.next_refresh_at - state.now).max(0.0);
            let text = if state.paused {
                format!(" DOWN {reason} ")
            } else {
                format!(
                    " DOWN {reason} · retry in {} ",
                    short_duration(retry.ceil())
                )
            };
            put(
                &text,
                Style::new()
                    .bg(Color::Red)
                    .fg(Color::White)
                    .add_modifier(Modifier::BOLD),
            );
        }
    }
    if state.embedded.is_none() {
        put(" ", bar);
    }
    if state.insecure {
        put(
            " INSECURE ",
            Style::new()
                .bg(Color::Yellow)
                .fg(Color::Black)
                .add_modifier(Modifier::BOLD),
        );
        put(" ", bar);
    }
    if state.embedded.is_none() {
        put(&state.opts.url, bar.fg(Color::White));
    }
    if state.explore.backend.is_victoria_metrics() {
        // Its answers differ (MetricsQL) and, unless it runs with
        // -search.latencyOffset=0s, the newest data is missing from graphs.
        let hidden = state.explore.backend.hidden_window();
        let text = if hidden.is_zero() {
            " VictoriaMetrics ".to_owned()
        } else {
            format!(
                " VictoriaMetrics · newest {} hidden ",
                humantime::format_duration(hidden)
            )
        };
        put(" ", bar);
        put(
            &text,
            Style::new()
                .bg(Color::Yellow)
                .fg(Color::Black)
                .add_modifier(Modifier::BOLD),
        );
    }
    if !state.connection_notes.is_empty() {
        put(" ", bar);
        put(
            " CONNECTION ",
            Style::new()
                .bg(Color::Yellow)
                .fg(Color::Black)
                .add_modifier(Modifier::BOLD),
        );
        put(
            &format!(" {}", state.connection_notes.join("; ")),
            bar.fg(Color::Yellow),
        );
    }
    if let Some(text) = state.explore.am.status_text() {
        put(sep, bar);
        put(&text, bar.fg(Color::LightRed));
    }
    if let Some(note) = &state.export_note
        && state.now - note.at < crate::app::EXPORT_NOTE_SECS
    {
        put(sep, bar);
        let color = if note.failed {
            Color::LightRed
        } else {
            Color::LightGreen
        };
        put(&note.text, bar.fg(color));
    }
    put(sep, bar);
    match state.refreshed {
        Some(r) => put(
            &format!(
                "refreshed {} in {}ms",
                clock(r.at, state.opts.utc_offset),
                r.took.as_millis()
            ),
            bar,
        ),
        None => put("not refreshed yet", bar),
    }
    put(sep, bar);
    put(
        &format!("every {}", humantime::format_duration(state.opts.refresh)),
        bar,
    );
    put(sep, bar);
    put(
        &format!("range {}", range_label(state.range.as_secs())),
        bar,
    );
    if state.paused {
        put(sep, bar);
        let end = state.end.unwrap_or(state.now);
        put(
            &format!(" PAUSED at {} ", clock(end, state.opts.utc_offset)),
            Style::new()
                .bg(Color::Yellow)
                .fg(Color::Black)
                .add_modifier(Modifier::BOLD),
        );
    }
    if state.opts.demo {
        put(sep, bar);
        if state.fault {
            put(
                " FAULT ON (f) ",
                Style::new()
                    .bg(Color::Magenta)
                    .fg(Color::White)
                    .add_modifier(Modifier::BOLD),
            );
        } else {
            put("f: latency fault", bar);
        }
    }
    put(sep, bar);
    put("? help", bar.fg(Color::DarkGray));
}

#[cfg(test)]
mod tests {

    use promdash_queries::dashboard::default_dashboard;

    use super::*;
    use crate::app::Options;

    fn status_line(insecure: bool) -> String {
        let opts = Options::for_url("https://prom.example:9090/prometheus");
        let mut state = State::new(default_dashboard(), opts);
        state.insecure = insecure;
        let area = Rect::new(0, 0, 120, 1);
        let mut buf = Buffer::empty(area);
        render(&mut buf, area, &state);
        (0..area.width)
            .map(|x| buf[(x, 0)].symbol().to_owned())
            .collect()
    }

    #[test]
    fn a_replay_says_so_with_its_span() {
        let opts = Options::for_url("rec.om");
        let mut state = State::new(default_dashboard(), opts);
        // 2026-11-25 10:00:00 to 10:10:00 UTC.
        state.start_replay(1_795_600_800.0, 1_795_601_400.0);
        let area = Rect::new(0, 0, 120, 1);
        let mut buf = Buffer::empty(area);
        render(&mut buf, area, &state);
        let line: String = (0..area.width)
            .map(|x| buf[(x, 0)].symbol().to_owned())
            .collect();
        assert!(
            line.contains(" REPLAY  11-25 10:00:00–10:10:00 (10m00s) rec.om │ at 10:10:00"),
            "{line}"
        );
    }

    #[test]
    fn insecure_is_marked_before_the_url() {
        let line = status_line(true);
        assert!(
            line.contains(" INSECURE  https://prom.example:9090/prometheus"),
            "{line}"
        );
        assert!(!status_line(false).contains("INSECURE"));
    }
}
