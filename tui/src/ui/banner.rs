//! The top line: dashboard title and the alert banner (FIRING, PENDING, RESOLVED).

use promdash_queries::alert::AlertState;
use promdash_queries::dashboard::Severity;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};

use crate::app::State;
use crate::units::{Format, short_duration};

pub fn render(buf: &mut Buffer, area: Rect, state: &State) {
    let firing_any = state.alerts.firing().next().is_some();
    let base = if firing_any {
        Style::new().bg(Color::Rgb(60, 0, 0))
    } else {
        Style::new()
    };
    buf.set_style(area, base);
    let right = area.right();
    let (mut x, _) = buf.set_stringn(
        area.x,
        area.y,
        format!(" {} ", state.dashboard.title),
        usize::from(area.width),
        base.add_modifier(Modifier::BOLD),
    );

    // Firing first, then pending, then resolved.
    let order = [
        AlertState::Firing,
        AlertState::Pending,
        AlertState::Resolved,
    ];
    let total = state
        .alerts
        .instances()
        .filter(|i| i.state != AlertState::Inactive)
        .count();
    let mut shown = 0;
    for wanted in order {
        for inst in state.alerts.instances().filter(|i| i.state == wanted) {
            let rule = state
                .dashboard
                .alerts
                .iter()
                .position(|r| r.name == inst.rule);
            let format = rule
                .and_then(|k| state.alert_panels[k].first())
                .map_or(Format::Short, |&p| state.panels[p].format.clone());
            let stale = if inst.stale { " (stale)" } else { "" };
            let (text, style) = match inst.state {
                AlertState::Firing => {
                    let since = inst.firing_since.unwrap_or(state.now);
                    let text = format!(
                        " FIRING {} {} for {}{stale} ",
                        inst.rule,
                        value_text(&format, inst.value).replace("NaN", "no data"),
                        short_duration(state.now - since)
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
                        format!(" PENDING {}{stale} ", inst.rule),
                        style.add_modifier(Modifier::BOLD),
                    )
                }
                _ => (
                    format!(" RESOLVED {} ", inst.rule),
                    Style::new().fg(Color::Green),
                ),
            };
            let w = text.chars().count() as u16;
            let rest = total - shown;
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
            let (nx, _) = buf.set_stringn(x, area.y, &text, usize::from(right - x), style);
            x = nx;
            shown += 1;
        }
    }
}

/// Value formatting for alerts without decimals fixed: the panel's format, rounded sanely.
fn value_text(format: &Format, v: f64) -> String {
    format.format(v, None)
}
