//! The dashboard on the embedded engine (`--scrape`, `demo`): the scraped targets as
//! the status bar counts them and the targets view (`t`) lists them, like Prometheus's
//! /targets page, and saving the store to a file (`w`).
//!
//! Target states arrive as [`Msg::Targets`](crate::app::Msg::Targets) from a task that
//! reads the scraper; `update` only stores them.
//!
//! Against a server, the same key opens the same view on the server's own targets
//! (`/api/v1/targets`, asked when the view opens and in every refresh round while it is
//! open): [`ServerTargets`].

use std::time::{Duration, UNIX_EPOCH};

use promdash_engine::scrape::{Health, TargetStatus};
use promdash_queries::QueryError;
use promdash_queries::client::Target;
use ratatui::crossterm::event::{KeyCode, KeyEvent};

use crate::app::{Effect, State};

/// What the dashboard knows about its own scraping.
#[derive(Debug, Clone, Default)]
pub struct Embedded {
    /// Every target, in the order of the jobs.
    pub targets: Vec<TargetStatus>,
    /// The targets view is open.
    pub view: bool,
    /// Where the last save went, or why it failed (for the status bar).
    pub saved: Option<Result<String, String>>,
    /// A save is under way.
    pub saving: bool,
}

impl Embedded {
    /// (targets up, all targets).
    pub fn up(&self) -> (usize, usize) {
        let up = self
            .targets
            .iter()
            .filter(|t| t.health == Health::Up)
            .count();
        (up, self.targets.len())
    }
}

/// A remote server's scrape targets, for the targets view (`t`) when promdash scrapes
/// nothing itself.
#[derive(Debug, Clone, Default)]
pub struct ServerTargets {
    /// The targets view is open.
    pub view: bool,
    /// The last answer: the targets, or why there are none. `None` until one came.
    pub targets: Option<Result<Vec<TargetStatus>, String>>,
}

/// A server's target as the view shows a scraped one. The API does not say how many
/// samples the last scrape had: `samples` is 0 and the view leaves it out.
pub fn from_server(t: &Target) -> TargetStatus {
    let health = match t.health.as_str() {
        "up" => Health::Up,
        "down" => Health::Down,
        _ => Health::Unknown,
    };
    // Go's zero time (`0001-01-01T00:00:00Z`) means never scraped.
    let last_scrape = crate::headless::time::parse_time(&t.last_scrape)
        .ok()
        .filter(|s| *s > 0.0)
        .map(|s| UNIX_EPOCH + Duration::from_secs_f64(s));
    let interval = humantime::parse_duration(&t.scrape_interval).unwrap_or_default();
    TargetStatus {
        job: t.scrape_pool.clone(),
        url: t.scrape_url.clone(),
        labels: t.labels.clone(),
        health,
        last_scrape,
        last_duration: (last_scrape.is_some() && t.last_scrape_duration.is_finite())
            .then(|| Duration::from_secs_f64(t.last_scrape_duration.max(0.0))),
        samples: 0,
        last_error: (!t.last_error.is_empty()).then(|| t.last_error.clone()),
        interval,
        timeout: Duration::ZERO,
    }
}

/// The server answered `/api/v1/targets`.
pub fn on_server_targets(state: &mut State, r: Result<Vec<Target>, QueryError>) {
    state.server_targets.targets = Some(
        r.map(|ts| ts.iter().map(from_server).collect())
            .map_err(|e| e.to_string()),
    );
    state.dirty = true;
}

/// `t` against a server: opens the view (asking for the targets) or closes it; Esc
/// closes it too.
fn on_server_key(state: &mut State, key: KeyEvent) -> Option<Vec<Effect>> {
    let effects = match key.code {
        KeyCode::Char('t') if state.server_targets.view => {
            state.server_targets.view = false;
            Vec::new()
        }
        KeyCode::Char('t') => {
            state.server_targets.view = true;
            vec![Effect::Explore(
                crate::explore::ExploreRequest::ServerTargets,
            )]
        }
        KeyCode::Esc if state.server_targets.view => {
            state.server_targets.view = false;
            Vec::new()
        }
        _ => return None,
    };
    state.dirty = true;
    Some(effects)
}

/// New target states.
pub fn on_targets(state: &mut State, targets: Vec<TargetStatus>) {
    if let Some(e) = state.embedded.as_mut()
        && e.targets != targets
    {
        // Every scrape changes a target's times; with the view closed only the count of
        // targets up is drawn (the status bar): no frame for the rest.
        let before = e.up();
        e.targets = targets;
        if e.view || e.up() != before {
            state.dirty = true;
        }
    }
}

/// A save finished.
pub fn on_saved(state: &mut State, result: Result<String, String>) {
    if let Some(e) = state.embedded.as_mut() {
        e.saving = false;
        e.saved = Some(result);
        state.dirty = true;
    }
}

/// The keys of the embedded engine: `t` opens and closes the targets view (Esc closes
/// it too), `w` saves the store. Against a server `t` shows the server's targets.
/// `None` when the key is not one of them.
pub fn on_key(state: &mut State, key: KeyEvent) -> Option<Vec<Effect>> {
    let Some(e) = state.embedded.as_mut() else {
        // A replay has no server to ask.
        if state.replay.is_some() {
            return None;
        }
        return on_server_key(state, key);
    };
    let effects = match key.code {
        KeyCode::Char('t') => {
            e.view = !e.view;
            Vec::new()
        }
        KeyCode::Esc if e.view => {
            e.view = false;
            Vec::new()
        }
        KeyCode::Char('w') if !e.saving => {
            e.saving = true;
            vec![Effect::SaveStore]
        }
        KeyCode::Char('w') => Vec::new(),
        _ => return None,
    };
    state.dirty = true;
    Some(effects)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use promdash_queries::dashboard::default_dashboard;
    use ratatui::crossterm::event::KeyModifiers;

    use super::*;
    use crate::app::{Msg, Options, update};

    fn state() -> State {
        let mut s = State::new(default_dashboard(), Options::for_url(""));
        s.embedded = Some(Embedded::default());
        s
    }

    fn key(c: KeyCode) -> Msg {
        Msg::Key(KeyEvent::new(c, KeyModifiers::NONE))
    }

    fn target(health: Health) -> TargetStatus {
        TargetStatus {
            job: "j".into(),
            url: "http://127.0.0.1:1/metrics".into(),
            labels: [("job", "j"), ("instance", "127.0.0.1:1")].into(),
            health,
            last_scrape: None,
            last_duration: None,
            samples: 0,
            last_error: None,
            interval: Duration::from_secs(5),
            timeout: Duration::from_secs(5),
        }
    }

    #[test]
    fn t_toggles_the_view_w_saves_once_at_a_time() {
        let mut s = state();
        update(&mut s, key(KeyCode::Char('t')));
        assert!(s.embedded.as_ref().is_some_and(|e| e.view));
        update(&mut s, key(KeyCode::Esc));
        assert!(s.embedded.as_ref().is_some_and(|e| !e.view));
        assert_eq!(update(&mut s, key(KeyCode::Char('w'))), [Effect::SaveStore]);
        assert!(
            update(&mut s, key(KeyCode::Char('w'))).is_empty(),
            "one save at a time"
        );
        update(&mut s, Msg::Saved(Ok("/tmp/x.om".into())));
        let e = s.embedded.as_ref().expect("embedded");
        assert!(!e.saving && e.saved == Some(Ok("/tmp/x.om".into())));
        assert_eq!(update(&mut s, key(KeyCode::Char('w'))), [Effect::SaveStore]);
    }

    #[test]
    fn targets_are_counted_and_only_with_the_embedded_engine() {
        let mut s = state();
        s.dirty = false;
        update(
            &mut s,
            Msg::Targets(vec![target(Health::Up), target(Health::Down)]),
        );
        assert!(s.dirty);
        assert_eq!(s.embedded.as_ref().map(Embedded::up), Some((1, 2)));
        // A new scrape of the same targets: nothing drawn changes while the view is closed.
        let mut later = target(Health::Up);
        later.samples += 1;
        s.dirty = false;
        update(
            &mut s,
            Msg::Targets(vec![later.clone(), target(Health::Down)]),
        );
        assert!(!s.dirty);
        update(&mut s, key(KeyCode::Char('t')));
        s.dirty = false;
        later.samples += 1;
        update(&mut s, Msg::Targets(vec![later, target(Health::Down)]));
        assert!(s.dirty, "the open view shows every field");
        // Against a server, `w` is not a key of the dashboard.
        let mut s = state();
        s.embedded = None;
        assert!(update(&mut s, key(KeyCode::Char('w'))).is_empty());
        assert!(s.embedded.is_none());
    }

    #[test]
    fn against_a_server_t_asks_for_its_targets_while_the_view_is_open() {
        use crate::explore::{ExploreAnswer, ExploreRequest};
        let mut s = state();
        s.embedded = None;
        let asked = |effects: &[Effect]| {
            effects
                .iter()
                .filter(|e| matches!(e, Effect::Explore(ExploreRequest::ServerTargets)))
                .count()
        };
        assert_eq!(asked(&update(&mut s, key(KeyCode::Char('t')))), 1);
        assert!(s.server_targets.view);
        // Every refresh round asks again while the view is open.
        s.next_refresh_at = 0.0;
        assert_eq!(asked(&update(&mut s, Msg::Tick(1_000.0))), 1);
        let server = |health: &str, err: &str| Target {
            labels: [("job", "svc"), ("instance", "127.0.0.1:9")].into(),
            scrape_pool: "svc".into(),
            scrape_url: "http://127.0.0.1:9/metrics".into(),
            health: health.into(),
            last_error: err.into(),
            last_scrape: "2026-12-02T07:00:01.5+01:00".into(),
            last_scrape_duration: 0.0025,
            scrape_interval: "15s".into(),
        };
        update(
            &mut s,
            Msg::Explore(Box::new(ExploreAnswer::ServerTargets(Ok(vec![
                server("up", ""),
                server("down", "connection refused"),
            ])))),
        );
        let Some(Ok(ts)) = &s.server_targets.targets else {
            panic!("{:?}", s.server_targets.targets)
        };
        assert_eq!(ts[0].health, Health::Up);
        assert_eq!(ts[1].last_error.as_deref(), Some("connection refused"));
        assert_eq!(ts[0].interval, Duration::from_secs(15));
        assert_eq!(
            ts[0].last_scrape,
            // 2026-12-02T06:00:01.5Z
            Some(UNIX_EPOCH + Duration::from_secs_f64(1_796_191_201.5))
        );
        assert_eq!(ts[0].last_duration, Some(Duration::from_micros(2500)));
        // Esc closes it, and closed it asks nothing.
        update(&mut s, key(KeyCode::Esc));
        assert!(!s.server_targets.view);
        s.next_refresh_at = 0.0;
        assert_eq!(asked(&update(&mut s, Msg::Tick(2_000.0))), 0);
    }
}
