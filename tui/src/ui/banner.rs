//! The top line: dashboard title and the alert banner (FIRING, PENDING, RESOLVED).
//!
//! Alerts matter more than the title: when they do not all fit beside it, the title goes.

use promdash_queries::alert::{AlertInstance, AlertState};
use promdash_queries::dashboard::Severity;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};

use crate::app::State;
use crate::units::{Format, short_duration};

/// One alert's text and colours.
pub(crate) fn segment(state: &State, inst: &AlertInstance) -> (String, Style) {
    // The alert's own unit (or its panel's with the same expression), not the look of
    // whatever panel it marks.
    let format = state
        .dashboard
        .alerts
        .iter()
        .find(|r| r.name == inst.rule)
        .map_or(Format::Short, |r| {
            Format::from_unit(&state.dashboard.alert_unit(r))
        });
    let stale = if inst.stale { " (stale)" } else { "" };
    let value = if inst.value.is_nan() {
        "no data".to_owned()
    } else {
        format.format(inst.value, None)
    };
    match inst.state {
        AlertState::Firing => {
            let since = inst.firing_since.unwrap_or(state.now);
            // A rule file's alert over a recording fired on the recording's clock.
            let now = if state.replay.is_some() && since <= state.latest() {
                state.latest()
            } else {
                state.now
            };
            let text = format!(
                " FIRING {} {value} for {}{stale} ",
                inst.rule,
                short_duration(now - since)
            );
            let style = match inst.severity {
                Severity::Critical => Style::new().bg(Color::Red).fg(Color::White),
                Severity::Warning => Style::new().bg(Color::Yellow).fg(Color::Black),
                Severity::Info => Style::new().bg(Color::Blue).fg(Color::White),
            };
            (text, style.add_modifier(Modifier::BOLD))
        }
        AlertState::Pending => {
            let style = match inst.severity {
                Severity::Critical => Style::new().fg(Color::LightRed),
                _ => Style::new().fg(Color::Yellow),
            };
            (
                format!(" PENDING {} {value}{stale} ", inst.rule),
                style.add_modifier(Modifier::BOLD),
            )
        }
        _ => (
            format!(" RESOLVED {} ", inst.rule),
            Style::new().fg(Color::Green),
        ),
    }
}

pub fn render(buf: &mut Buffer, area: Rect, state: &State) {
    // A silenced alert (`s` in the alerts view) leaves the banner for its hour.
    let loud = |i: &&AlertInstance| !state.explore.is_silenced(&i.rule, &i.labels, state.now);
    // The dashboard's `[[alerts]]` and the rule files' alerts alike (a rule file's
    // resolved alert is kept 15 minutes; the banner shows it as long as the others).
    let keep = state.alerts.resolved_retention().as_secs_f64();
    let from_rules = state.rules.instances();
    let all: Vec<&AlertInstance> = state
        .alerts
        .instances()
        .chain(from_rules.iter().filter(|i| {
            i.state != AlertState::Resolved
                || i.resolved_at.is_some_and(|t| state.latest() - t <= keep)
        }))
        .collect();
    let firing_any = all.iter().any(|i| i.state == AlertState::Firing && loud(i));
    let base = if firing_any {
        Style::new().bg(Color::Rgb(60, 0, 0))
    } else {
        Style::new()
    };
    buf.set_style(area, base);

    // Firing first, then pending, then resolved.
    let mut segments: Vec<(String, Style)> = Vec::new();
    for wanted in [
        AlertState::Firing,
        AlertState::Pending,
        AlertState::Resolved,
    ] {
        for inst in all
            .iter()
            .copied()
            .filter(|i| i.state == wanted)
            .filter(loud)
        {
            segments.push(segment(state, inst));
        }
    }
    // Silenced firing alerts leave a trace at the right end: how many there are.
    let silenced = all
        .iter()
        .filter(|i| i.state == AlertState::Firing && !loud(i))
        .count();
    let mut right = area.right();
    if silenced > 0 {
        let text = format!(" {silenced} silenced ");
        let w = (text.chars().count() as u16).min(area.width);
        right -= w;
        buf.set_stringn(
            right,
            area.y,
            &text,
            usize::from(w),
            base.fg(Color::Gray).add_modifier(Modifier::DIM),
        );
    }
    let alerts_w: usize = segments.iter().map(|(t, _)| t.chars().count() + 1).sum();
    let title = format!(" {} ", state.vars.title(&state.dashboard.title));
    let width = right - area.x;
    let mut x = area.x;
    if segments.is_empty() || title.chars().count() + alerts_w <= usize::from(width) {
        x = buf
            .set_stringn(
                x,
                area.y,
                &title,
                usize::from(width),
                base.add_modifier(Modifier::BOLD),
            )
            .0;
    }
    let total = segments.len();
    for (k, (text, style)) in segments.iter().enumerate() {
        let w = text.chars().count() as u16;
        let rest = total - k;
        // Leave room for "+N more" unless this is the last one.
        let reserve = if rest > 1 { 9 } else { 0 };
        if x + 1 + w + reserve > right {
            let more = format!(" +{rest} more");
            buf.set_stringn(
                x,
                area.y,
                &more,
                usize::from(right.saturating_sub(x)),
                base.fg(Color::Gray),
            );
            return;
        }
        x += 1;
        x = buf
            .set_stringn(x, area.y, text, usize::from(right - x), *style)
            .0;
    }
}
