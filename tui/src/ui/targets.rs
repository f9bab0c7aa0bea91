//! The targets view (`t`, embedded engine): each scrape target as Prometheus's /targets
//! page shows it — state, endpoint, labels, last scrape, its duration, samples and the
//! last error.

use std::time::UNIX_EPOCH;

use promdash_engine::scrape::Health;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::widgets::{Block, Clear, Widget};

use crate::app::State;
use crate::units::short_duration;

/// Writes `text` from `x` up to `right`; returns the next x. Target pages' errors pass
/// here, so control characters are escaped.
fn put(buf: &mut Buffer, x: u16, y: u16, right: u16, text: &str, style: Style) -> u16 {
    if x >= right {
        return x;
    }
    let text = promdash_queries::text::escape_control(text);
    buf.set_stringn(x, y, text.as_ref(), usize::from(right - x), style)
        .0
}

pub fn render(buf: &mut Buffer, area: Rect, state: &State) {
    let Some(e) = &state.embedded else { return };
    let (up, all) = e.up();
    let title = format!(" Targets: {up}/{all} up ");
    let list = List {
        title: &title,
        bottom: " t/Esc close · w save the data ",
        targets: &e.targets,
        samples: true,
        empty: "no targets",
    };
    render_list(buf, area, state, &list);
}

/// The targets view against a server: its `/api/v1/targets`.
pub fn render_server(buf: &mut Buffer, area: Rect, state: &State) {
    let st = &state.server_targets;
    let (title, targets, empty) = match &st.targets {
        None => (" Server targets ".to_owned(), &[][..], "asking the server…"),
        Some(Err(e)) => (" Server targets ".to_owned(), &[][..], e.as_str()),
        Some(Ok(ts)) => {
            let up = ts.iter().filter(|t| t.health == Health::Up).count();
            (
                format!(" Server targets: {up}/{} up ", ts.len()),
                ts.as_slice(),
                "the server scrapes no targets",
            )
        }
    };
    let list = List {
        title: &title,
        bottom: " t/Esc close · refreshed with the dashboard ",
        targets,
        samples: false,
        empty,
    };
    render_list(buf, area, state, &list);
}

/// What a targets view shows.
struct List<'a> {
    title: &'a str,
    bottom: &'a str,
    targets: &'a [promdash_engine::scrape::TargetStatus],
    /// The source knows each scrape's sample count (a server's API does not say).
    samples: bool,
    /// Said instead of the list when it is empty.
    empty: &'a str,
}

fn render_list(buf: &mut Buffer, area: Rect, state: &State, list: &List<'_>) {
    if area.width < 20 || area.height < 4 {
        return;
    }
    Clear.render(area, buf);
    Block::bordered()
        .title(list.title)
        .title_bottom(list.bottom)
        .border_style(Style::new().fg(Color::Cyan))
        .render(area, buf);
    let inner = super::inner(area);
    let right = inner.right();
    let mut y = inner.y;
    let dim = Style::new().fg(Color::DarkGray);
    if list.targets.is_empty() {
        put(buf, inner.x, y, right, list.empty, dim);
        return;
    }
    for t in list.targets {
        if y >= inner.bottom() {
            break;
        }
        let (word, color) = match t.health {
            Health::Up => ("UP", Color::Green),
            Health::Down => ("DOWN", Color::Red),
            Health::Unknown => ("UNKNOWN", Color::Yellow),
        };
        let mut x = put(
            buf,
            inner.x,
            y,
            right,
            &format!("{word:<8}"),
            Style::new().fg(color).add_modifier(Modifier::BOLD),
        );
        x = put(buf, x, y, right, &t.url, Style::new().fg(Color::White));
        let ago = t
            .last_scrape
            .and_then(|s| s.duration_since(UNIX_EPOCH).ok())
            .map_or("never".to_owned(), |s| {
                format!(
                    "{} ago",
                    short_duration((state.now - s.as_secs_f64()).max(0.0))
                )
            });
        let took = t.last_duration.map_or("–".to_owned(), |d| {
            format!("{:.1}ms", d.as_secs_f64() * 1000.0)
        });
        let mut line = format!("  last scrape {ago} · took {took}");
        if list.samples {
            line.push_str(&format!(" · {} samples", t.samples));
        }
        if !t.interval.is_zero() {
            line.push_str(&format!(
                " · every {}",
                humantime::format_duration(t.interval)
            ));
        }
        put(buf, x, y, right, &line, Style::new());
        y += 1;
        if y < inner.bottom() {
            put(
                buf,
                inner.x + 8,
                y,
                right,
                &t.labels.to_string(),
                Style::new().fg(Color::Cyan),
            );
            y += 1;
        }
        if let Some(err) = &t.last_error
            && y < inner.bottom()
        {
            put(
                buf,
                inner.x + 8,
                y,
                right,
                &format!("error: {err}"),
                Style::new().fg(Color::LightRed),
            );
            y += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use promdash_engine::scrape::TargetStatus;
    use promdash_queries::dashboard::default_dashboard;

    use super::*;
    use crate::app::Options;
    use crate::targets::Embedded;

    #[test]
    fn a_down_target_shows_its_error_and_an_up_one_its_scrape() {
        let mut state = State::new(default_dashboard(), Options::for_url(""));
        state.now = 1_000_010.0;
        let at = UNIX_EPOCH + Duration::from_secs(1_000_008);
        let t = |url: &str, health, err: Option<&str>| TargetStatus {
            job: "svc".into(),
            url: url.into(),
            labels: [("job", "svc"), ("instance", "h:1")].into(),
            health,
            last_scrape: Some(at),
            last_duration: Some(Duration::from_micros(2500)),
            samples: 42,
            last_error: err.map(str::to_owned),
            interval: Duration::from_secs(5),
            timeout: Duration::from_secs(5),
        };
        state.embedded = Some(Embedded {
            targets: vec![
                t("http://h:1/metrics", Health::Up, None),
                t(
                    "http://h:2/metrics",
                    Health::Down,
                    Some("connection refused"),
                ),
            ],
            view: true,
            ..Embedded::default()
        });
        let area = Rect::new(0, 0, 110, 10);
        let mut buf = Buffer::empty(area);
        render(&mut buf, area, &state);
        let text: Vec<String> = (0..area.height)
            .map(|y| {
                (0..area.width)
                    .map(|x| buf[(x, y)].symbol().to_owned())
                    .collect()
            })
            .collect();
        let all = text.join("\n");
        assert!(all.contains("Targets: 1/2 up"), "{all}");
        assert!(
            all.contains(
                "UP      http://h:1/metrics  last scrape 2s ago · took 2.5ms · 42 samples · every 5s"
            ),
            "{all}"
        );
        assert!(all.contains("DOWN    http://h:2/metrics"), "{all}");
        assert!(all.contains("error: connection refused"), "{all}");
        assert!(all.contains(r#"{instance="h:1", job="svc"}"#), "{all}");

        // The same view on a server's targets: no sample counts, its error when asking
        // failed.
        state.embedded = None;
        state.server_targets = crate::targets::ServerTargets {
            view: true,
            targets: Some(Ok(vec![t(
                "http://h:3/metrics",
                Health::Down,
                Some("server returned HTTP status 500"),
            )])),
        };
        let mut buf = Buffer::empty(area);
        render_server(&mut buf, area, &state);
        let all = (0..area.height)
            .map(|y| {
                (0..area.width)
                    .map(|x| buf[(x, y)].symbol().to_owned())
                    .collect::<String>()
            })
            .collect::<Vec<_>>()
            .join("\n");
        assert!(all.contains("Server targets: 0/1 up"), "{all}");
        assert!(
            all.contains("DOWN    http://h:3/metrics  last scrape 2s ago · took 2.5ms · every 5s"),
            "{all}"
        );
        assert!(!all.contains("samples"), "{all}");
        assert!(
            all.contains("error: server returned HTTP status 500"),
            "{all}"
        );
        state.server_targets.targets = Some(Err("cannot connect to http://x".into()));
        let mut buf = Buffer::empty(area);
        render_server(&mut buf, area, &state);
        let first: String = (0..area.width)
            .map(|x| buf[(x, 1)].symbol().to_owned())
            .collect();
        assert!(first.contains("cannot connect to http://x"), "{first}");
    }
}
