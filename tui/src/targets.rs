//! The dashboard on the embedded engine (`--scrape`, `demo`): the scraped targets as
//! the status bar counts them and the targets view (`t`) lists them, like Prometheus's
//! /targets page, and saving the store to a file (`w`).
//!
//! Target states arrive as [`Msg::Targets`](crate::app::Msg::Targets) from a task that
//! reads the scraper; `update` only stores them.

use promdash_engine::scrape::{Health, TargetStatus};
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

/// New target states.
pub fn on_targets(state: &mut State, targets: Vec<TargetStatus>) {
    if let Some(e) = state.embedded.as_mut()
        && e.targets != targets
    {
        e.targets = targets;
        state.dirty = true;
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
/// it too), `w` saves the store. `None` when the key is not one of them.
pub fn on_key(state: &mut State, key: KeyEvent) -> Option<Vec<Effect>> {
    let e = state.embedded.as_mut()?;
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
        let mut s = State::new(
            default_dashboard(),
            Options {
                url: String::new(),
                refresh: Duration::from_secs(5),
                range: Duration::from_secs(900),
                bell: false,
                demo: false,
                utc_offset: 0,
            },
        );
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
        // Against a server, `t` and `w` are not keys of the dashboard.
        let mut s = state();
        s.embedded = None;
        assert!(update(&mut s, key(KeyCode::Char('w'))).is_empty());
        assert!(s.embedded.is_none());
    }
}
