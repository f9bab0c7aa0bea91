//! The alerts view (`a`): every alert instance, the server's own alerts, silences and the
//! history of transitions since start.

use promdash_queries::alert::format_value;
use promdash_queries::model::Labels;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::widgets::{Block, Clear, Widget};

use crate::app::State;
use crate::explore::alert_rows;
use crate::units::short_duration;

fn labels_text(labels: &Labels) -> String {
    let parts: Vec<String> = labels
        .iter()
        .filter(|(k, _)| *k != "__name__")
        .map(|(k, v)| format!("{k}=\"{v}\""))
        .collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!("{{{}}}", parts.join(", "))
    }
}

fn state_style(word: &str) -> Style {
    match word {
        "FIRING" => Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
        "PENDING" => Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD),
        "RESOLVED" => Style::new().fg(Color::Green),
        _ => Style::new().fg(Color::DarkGray),
    }
}

/// Writes `text` from column `x` of row `y`, at most up to `right`; returns the next x.
/// Writes `text` from `x` up to `right`; the server's rule names, labels and summaries
/// pass here, so control characters are escaped.
fn put(buf: &mut Buffer, x: u16, y: u16, right: u16, text: &str, style: Style) -> u16 {
    if x >= right {
        return x;
    }
    let text = promdash_queries::text::escape_control(text);
    buf.set_stringn(x, y, text.as_ref(), usize::from(right - x), style)
        .0
}

/// The rule files' groups: one line each (name, health, last evaluation, its duration,
/// interval, file), then each failing rule's error, recording rules' last output and the
/// warnings about recorded series the server lacks. Returns the rows used.
fn rule_groups(buf: &mut Buffer, inner: Rect, state: &State) -> u16 {
    use promdash_queries::rules::RuleKind;
    use promdash_queries::rules::eval::Health;
    if state.rules.groups.is_empty() {
        return 0;
    }
    let max = (inner.height / 3).max(3).min(inner.height);
    let bottom = inner.y + max;
    let right = inner.right();
    let head = Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD);
    let mut lines: Vec<(String, Style)> = Vec::new();
    for (i, g) in state.rules.groups.iter().enumerate() {
        let health = g.health();
        let style = match health {
            Health::Good => Style::new().fg(Color::Green),
            Health::Bad => Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
            Health::Unknown => Style::new().fg(Color::DarkGray),
        };
        let last = g.last_eval.map_or("never".to_owned(), |t| {
            let t = t as f64 / 1000.0;
            format!(
                "{} ({} ago)",
                super::time::clock(t, state.opts.utc_offset),
                // Over a recording, before the replay's time (its end), not the wall clock.
                short_duration((state.latest() - t).max(0.0))
            )
        });
        lines.push((
            format!(
                "{:<4} {} · evaluated {last} · took {:.1} ms · every {} · {}",
                health.as_str(),
                g.name,
                g.last_duration.as_secs_f64() * 1000.0,
                humantime::format_duration(g.interval),
                g.file
            ),
            style,
        ));
        for r in &g.rules {
            if let Some(e) = &r.last_error {
                lines.push((
                    format!("       {}: {e}", r.rule.name()),
                    Style::new().fg(Color::Red),
                ));
            }
            if let RuleKind::Record(name) = &r.rule.kind
                && r.last_error.is_none()
                && state.rules.remote
            {
                let first = r.last_output.first().map_or("no series".to_owned(), |s| {
                    let l: Labels = s.labels.iter().filter(|(k, _)| *k != "__name__").collect();
                    format!("{} {}", labels_text(&l), format_value(s.value))
                });
                let more = r.last_output.len().saturating_sub(1);
                let more = if more > 0 {
                    format!(" (+{more} more)")
                } else {
                    String::new()
                };
                lines.push((
                    format!("       record {name} = {first}{more}"),
                    Style::new().fg(Color::Gray),
                ));
            }
        }
        for w in state.rules.warnings.get(i).into_iter().flatten() {
            lines.push((
                format!("       warning: {w}"),
                Style::new().fg(Color::Yellow),
            ));
        }
    }
    put(buf, inner.x, inner.y, right, "RULE GROUPS", head);
    let mut y = inner.y + 1;
    for (text, style) in lines {
        if y >= bottom {
            break;
        }
        put(buf, inner.x + 2, y, right, &text, style);
        y += 1;
    }
    (y - inner.y + 1).min(inner.height)
}

pub fn render(buf: &mut Buffer, area: Rect, state: &State) {
    if area.width < 10 || area.height < 4 {
        return;
    }
    Clear.render(area, buf);
    Block::bordered()
        .title(" Alerts ")
        .title_bottom(if state.explore.am.enabled {
            " ↑/↓ select · s silence in Alertmanager · S its silences · a/Esc close "
        } else {
            " ↑/↓ select · s silence 1h · S clear silences · a/Esc close "
        })
        .border_style(Style::new().fg(Color::Cyan))
        .render(area, buf);
    let inner = super::inner(area);
    // The rule files' groups on top (at most a third of the view).
    let used = rule_groups(buf, inner, state);
    let inner = Rect {
        y: inner.y + used,
        height: inner.height - used,
        ..inner
    };
    let right = inner.right();
    let now = state.now;
    let rows = alert_rows(state);
    let head = Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD);
    // One line per row: the state column as narrow as its words, value, threshold and
    // age as wide as theirs, and names and summaries get the rest of the width.
    struct Cells {
        word: String,
        name: String,
        value: String,
        when: String,
        since: String,
        rest: String,
    }
    let cells: Vec<Cells> = rows
        .iter()
        .map(|row| {
            let mut word = row.state.clone();
            if row.stale {
                word.push_str(" (stale)");
            }
            // A firing instance may hold NaN (a rule without threshold, or `!=`): say so.
            let no_value = row.server || matches!(row.state.as_str(), "inactive" | "unknown");
            let value = if row.value.is_nan() && no_value {
                "–".to_owned()
            } else {
                format_value(row.value)
            };
            let mut rest: Vec<String> = Vec::new();
            if let Some(s) = state.explore.silence(&row.rule, &row.labels, now) {
                rest.push(format!("silenced {}", short_duration(s.until - now)));
            } else if !row.server && state.explore.am.silenced(&row.rule, &row.labels) {
                rest.push("silenced in Alertmanager".to_owned());
            }
            let labels = labels_text(&row.labels);
            if !labels.is_empty() {
                rest.push(labels);
            }
            if !row.summary.is_empty() {
                rest.push(row.summary.clone());
            }
            Cells {
                word,
                name: if row.server {
                    format!("[server] {}", row.rule)
                } else {
                    row.rule.clone()
                },
                value,
                when: row.threshold.clone().unwrap_or_default(),
                since: row
                    .since
                    .map_or("–".to_owned(), |t| short_duration(now - t)),
                rest: rest.join(" · "),
            }
        })
        .collect();
    let width = |f: fn(&Cells) -> &str, head: &str| {
        cells
            .iter()
            .map(|c| f(c).chars().count())
            .chain([head.chars().count()])
            .max()
            .unwrap_or(0) as u16
    };
    let state_w = width(|c| &c.word, "STATE");
    let mut name_w = width(|c| &c.name, "ALERT");
    let value_w = width(|c| &c.value, "VALUE");
    let when_w = width(|c| &c.when, "WHEN");
    let since_w = width(|c| &c.since, "SINCE");
    // Names give way to the summary only below a third of the width for it.
    let fixed = 2 + state_w + 1 + value_w + 1 + when_w + 1 + since_w + 1;
    let want_rest = inner.width / 3;
    if fixed + name_w + 1 + want_rest > inner.width {
        name_w = inner
            .width
            .saturating_sub(fixed + 1 + want_rest)
            .max(12)
            .min(name_w);
    }
    let x_state = inner.x + 2;
    let x_name = x_state + state_w + 1;
    let x_value = x_name + name_w + 1;
    let x_when = x_value + value_w + 1;
    let x_since = x_when + when_w + 1;
    let x_rest = x_since + since_w + 1;
    // Labels and summaries too long for what is left of the line go on a line of their
    // own under the row, from the name's column (at 80 columns, most do).
    let rest_room = usize::from(right.saturating_sub(x_rest));
    let two_lines = cells.iter().any(|c| c.rest.chars().count() > rest_room);
    let (x_summary, row_h) = if two_lines { (x_name, 2) } else { (x_rest, 1) };
    let mut y = inner.y;
    for (x, name) in [
        (x_state, "STATE"),
        (x_name, "ALERT"),
        (x_value, "VALUE"),
        (x_when, "WHEN"),
        (x_since, "SINCE"),
    ] {
        put(buf, x, y, right, name, head);
    }
    if !two_lines {
        put(buf, x_rest, y, right, "LABELS · SUMMARY", head);
    }
    y += 1;
    // Room for the list; the history gets what is left (at least a third).
    let hist_rows = (inner.height / 3).max(3);
    let list_bottom = inner.bottom().saturating_sub(hist_rows + 1);
    let sel = state
        .explore
        .alert_selected
        .min(rows.len().saturating_sub(1));
    let visible = usize::from(list_bottom.saturating_sub(y) / row_h).max(1);
    let first = sel.saturating_sub(visible - 1);
    for (k, (row, c)) in rows.iter().zip(&cells).enumerate().skip(first) {
        if y + row_h > list_bottom {
            break;
        }
        let selected = k == sel;
        if selected {
            buf.set_style(
                Rect::new(inner.x, y, inner.width, row_h),
                Style::new().bg(Color::Rgb(40, 40, 60)),
            );
        }
        let marker = if selected { "▶ " } else { "  " };
        put(buf, inner.x, y, right, marker, Style::new().fg(Color::Cyan));
        put(
            buf,
            x_state,
            y,
            x_name - 1,
            &c.word,
            state_style(&row.state),
        );
        put(
            buf,
            x_name,
            y,
            x_value - 1,
            &c.name,
            Style::new().add_modifier(Modifier::BOLD),
        );
        put(buf, x_value, y, x_when - 1, &c.value, Style::new());
        put(
            buf,
            x_when,
            y,
            x_since - 1,
            &c.when,
            Style::new().fg(Color::Gray),
        );
        put(buf, x_since, y, x_rest - 1, &c.since, Style::new());
        put(
            buf,
            x_summary,
            y + row_h - 1,
            right,
            &c.rest,
            Style::new().fg(Color::Gray),
        );
        y += row_h;
    }
    match &state.explore.server_alerts {
        Some(Err(e)) if y < list_bottom => {
            put(
                buf,
                inner.x + 2,
                y,
                right,
                &format!("server alerts: {e}"),
                Style::new().fg(Color::Red),
            );
        }
        Some(Ok(server)) if server.is_empty() && y < list_bottom => {
            put(
                buf,
                inner.x + 2,
                y,
                right,
                "server alerts: none",
                Style::new().fg(Color::DarkGray),
            );
        }
        None if y < list_bottom => {
            put(
                buf,
                inner.x + 2,
                y,
                right,
                "server alerts: loading…",
                Style::new().fg(Color::DarkGray),
            );
        }
        _ => {}
    }

    // History, newest first.
    let mut y = list_bottom;
    put(buf, inner.x, y, right, "HISTORY", head);
    y += 1;
    if state.explore.transitions.is_empty() && y < inner.bottom() {
        put(
            buf,
            inner.x + 2,
            y,
            right,
            "no transitions since start",
            Style::new().fg(Color::DarkGray),
        );
    }
    for t in state.explore.transitions.iter().rev() {
        if y >= inner.bottom() {
            break;
        }
        let x = put(
            buf,
            inner.x + 2,
            y,
            right,
            &super::time::clock(t.at, state.opts.utc_offset),
            Style::new().fg(Color::DarkGray),
        );
        let x = put(
            buf,
            x + 1,
            y,
            right,
            &t.rule,
            Style::new().add_modifier(Modifier::BOLD),
        );
        let l = labels_text(&t.labels);
        let x = if l.is_empty() {
            x
        } else {
            put(buf, x + 1, y, right, &l, Style::new().fg(Color::Gray))
        };
        let x = put(
            buf,
            x + 1,
            y,
            right,
            t.from.as_str(),
            state_style(&t.from.as_str().to_ascii_uppercase()),
        );
        let x = put(buf, x, y, right, " → ", Style::new());
        let x = put(
            buf,
            x,
            y,
            right,
            t.to.as_str(),
            state_style(&t.to.as_str().to_ascii_uppercase()),
        );
        if !t.value.is_nan() {
            put(buf, x + 1, y, right, &format_value(t.value), Style::new());
        }
        y += 1;
    }
}
