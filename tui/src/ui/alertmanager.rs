//! Alertmanager in the alerts view (`--alertmanager`): its alerts with their silenced and
//! inhibited state and what promdash failed to send (a panel under the alerts view), the
//! active silences (`S`) and the silence dialog (`s`).

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::widgets::{Block, Clear, Widget};

use crate::alertmanager::{AmState, FIELDS};
use crate::app::State;
use crate::units::short_duration;

/// How long the outcome of a create or expire stays in the panel's title.
const NOTE_SECS: f64 = 30.0;

fn put(buf: &mut Buffer, x: u16, y: u16, right: u16, text: &str, style: Style) -> u16 {
    if x >= right {
        return x;
    }
    let text = promdash_queries::text::escape_control(text);
    buf.set_stringn(x, y, text.as_ref(), usize::from(right - x), style)
        .0
}

fn labels_text(labels: &std::collections::BTreeMap<String, String>) -> String {
    let parts: Vec<String> = labels
        .iter()
        .filter(|(k, _)| k.as_str() != "alertname")
        .map(|(k, v)| format!("{k}=\"{v}\""))
        .collect();
    format!("{{{}}}", parts.join(", "))
}

/// Seconds from now until the RFC 3339 time `t` (negative when past).
fn secs_until(t: &str, now: f64) -> Option<f64> {
    promdash_queries::alertmanager::time::parse_ms(t).map(|ms| ms as f64 / 1000.0 - now)
}

/// The part of the alerts view's area the Alertmanager panel takes (the lower third),
/// and what is left for the alerts view; the whole area when no Alertmanager is set.
pub fn split(area: Rect, state: &State) -> (Rect, Option<Rect>) {
    if !state.explore.am.enabled || area.height < 16 {
        return (area, None);
    }
    let h = (area.height / 3).max(6);
    let top = Rect::new(area.x, area.y, area.width, area.height - h);
    let bottom = Rect::new(area.x, area.y + area.height - h, area.width, h);
    (top, Some(bottom))
}

/// The panel: Alertmanager's alerts (state, silenced/inhibited), send failures.
pub fn render_panel(buf: &mut Buffer, area: Rect, state: &State) {
    let am = &state.explore.am;
    let now = state.now;
    Clear.render(area, buf);
    let mut title = format!(" Alertmanager {} ", am.url);
    if let Some((text, _, at)) = &am.note
        && now - at < NOTE_SECS
    {
        title = format!("{title}· {text} ");
    }
    let note_failed = am
        .note
        .as_ref()
        .is_some_and(|(_, f, at)| *f && now - at < NOTE_SECS);
    Block::bordered()
        .title(title)
        .title_bottom(" s silence selected alert · S silences ")
        .border_style(Style::new().fg(if note_failed {
            Color::LightRed
        } else {
            Color::Cyan
        }))
        .render(area, buf);
    let inner = super::inner(area);
    let right = inner.right();
    let mut y = inner.y;
    if y >= inner.bottom() {
        return;
    }
    let sent: u64 = am.stats.alertmanagers.iter().map(|a| a.sent).sum();
    match am.failure_text() {
        Some(text) => put(
            buf,
            inner.x,
            y,
            right,
            &text,
            Style::new().fg(Color::LightRed),
        ),
        None => put(
            buf,
            inner.x,
            y,
            right,
            &format!("sent {sent} alerts, no errors"),
            Style::new().fg(Color::DarkGray),
        ),
    };
    y += 1;
    // With several Alertmanagers: the ones that did not answer, the rest shown below.
    for u in &am.unreachable {
        if y >= inner.bottom() {
            return;
        }
        put(
            buf,
            inner.x,
            y,
            right,
            &format!("unreachable: {u}"),
            Style::new().fg(Color::LightRed),
        );
        y += 1;
    }
    if y >= inner.bottom() {
        return;
    }
    let alerts = match &am.alerts {
        None => {
            put(
                buf,
                inner.x,
                y,
                right,
                "reading…",
                Style::new().fg(Color::DarkGray),
            );
            return;
        }
        Some(Err(e)) => {
            put(buf, inner.x, y, right, e, Style::new().fg(Color::LightRed));
            return;
        }
        Some(Ok(a)) => a,
    };
    if alerts.is_empty() {
        put(
            buf,
            inner.x,
            y,
            right,
            "no alerts",
            Style::new().fg(Color::DarkGray),
        );
    }
    for a in alerts {
        if y >= inner.bottom() {
            break;
        }
        let (word, style) = if a.is_silenced() {
            (
                "SILENCED",
                Style::new().fg(Color::Blue).add_modifier(Modifier::BOLD),
            )
        } else if a.is_inhibited() {
            (
                "INHIBITED",
                Style::new().fg(Color::Magenta).add_modifier(Modifier::BOLD),
            )
        } else if a.status.state == "active" {
            (
                "ACTIVE",
                Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
            )
        } else {
            (a.status.state.as_str(), Style::new().fg(Color::DarkGray))
        };
        let x = put(buf, inner.x, y, right, &format!("{word:<10}"), style);
        let name = a.labels.get("alertname").map_or("", String::as_str);
        let x = put(
            buf,
            x,
            y,
            right,
            name,
            Style::new().add_modifier(Modifier::BOLD),
        );
        let mut rest = format!(" {}", labels_text(&a.labels));
        if let Some(age) = secs_until(&a.starts_at, now) {
            rest.push_str(&format!(" · since {}", short_duration(-age)));
        }
        put(buf, x, y, right, &rest, Style::new());
        y += 1;
    }
}

/// A box of `w` × `h` in the middle of `area`.
fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

/// The active silences (`S`): ↑/↓ select, x expires.
pub fn render_silences(buf: &mut Buffer, area: Rect, am: &AmState, now: f64) {
    let list = am.active_silences();
    let h = (list.len() as u16 * 2 + 3).clamp(5, area.height);
    let rect = centered(area, area.width.saturating_sub(4).min(110), h);
    Clear.render(rect, buf);
    Block::bordered()
        .title(format!(" Active silences in {} ", am.url))
        .title_bottom(" ↑/↓ select · x expire · r reload · S/Esc close ")
        .border_style(Style::new().fg(Color::Cyan))
        .render(rect, buf);
    let inner = super::inner(rect);
    let right = inner.right();
    let mut y = inner.y;
    if let Some(Err(e)) = &am.silences {
        put(buf, inner.x, y, right, e, Style::new().fg(Color::LightRed));
        return;
    }
    if list.is_empty() {
        put(
            buf,
            inner.x,
            y,
            right,
            "no active silences",
            Style::new().fg(Color::DarkGray),
        );
        return;
    }
    for (k, s) in list.iter().enumerate() {
        if y + 1 >= inner.bottom() {
            break;
        }
        let selected = k == am.selected;
        if selected {
            buf.set_style(
                Rect::new(inner.x, y, inner.width, 2),
                Style::new().bg(Color::Rgb(40, 40, 60)),
            );
        }
        let marker = if selected { "▶ " } else { "  " };
        let x = put(buf, inner.x, y, right, marker, Style::new().fg(Color::Cyan));
        let ends = secs_until(&s.ends_at, now).map_or("?".into(), short_duration);
        let x = put(
            buf,
            x,
            y,
            right,
            &format!("ends in {ends:<6} "),
            Style::new().fg(Color::Yellow),
        );
        put(
            buf,
            x,
            y,
            right,
            &promdash_queries::alertmanager::format_matchers(&s.matchers),
            Style::new().add_modifier(Modifier::BOLD),
        );
        put(
            buf,
            inner.x + 2,
            y + 1,
            right,
            &format!("{} · {} · {}", s.created_by, s.comment, s.id),
            Style::new().fg(Color::DarkGray),
        );
        y += 2;
    }
}

/// The silence dialog (`s`): matchers, duration, comment; Tab moves, Enter creates.
pub fn render_dialog(buf: &mut Buffer, area: Rect, am: &AmState) {
    let Some(d) = &am.dialog else {
        return;
    };
    let rect = centered(area, area.width.saturating_sub(4).min(100), 9);
    Clear.render(rect, buf);
    Block::bordered()
        .title(format!(" New silence in {} (by {}) ", am.url, d.created_by))
        .title_bottom(" Tab next field · Enter create · Esc cancel ")
        .border_style(Style::new().fg(Color::Cyan))
        .render(rect, buf);
    let inner = super::inner(rect);
    let right = inner.right();
    for (i, name) in FIELDS.iter().enumerate() {
        let y = inner.y + i as u16 * 2;
        if y >= inner.bottom() {
            break;
        }
        let focused = i == d.focus;
        let label_style = if focused {
            Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD)
        } else {
            Style::new().fg(Color::Gray)
        };
        let x = put(buf, inner.x, y, right, &format!("{name:>9}: "), label_style);
        let text = &d.fields[i];
        // The end of a long field stays in view while typing.
        let room = usize::from(right.saturating_sub(x + 1));
        let n = text.chars().count();
        let shown: String = text.chars().skip(n.saturating_sub(room)).collect();
        let x = put(buf, x, y, right, &shown, Style::new());
        if focused {
            put(buf, x, y, right, "█", Style::new().fg(Color::Cyan));
        }
    }
    if let Some(e) = &d.error {
        put(
            buf,
            inner.x,
            inner.y + 6,
            right,
            e,
            Style::new().fg(Color::LightRed),
        );
    } else if d.fields[2].trim().is_empty() {
        put(
            buf,
            inner.x,
            inner.y + 6,
            right,
            "a comment is required",
            Style::new().fg(Color::DarkGray),
        );
    }
}
