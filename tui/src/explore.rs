//! Exploring and operating: the query prompt, the panel inspector, the graph cursor and
//! the alerts view. Their state lives in [`Explore`] (one field of
//! [`crate::app::State`]); their keys are handled by [`on_key`] before the dashboard's.
//!
//! Like `update`, nothing here does I/O: completion data and the server's alerts are
//! asked for with [`Effect::Explore`] and arrive as [`crate::app::Msg::Explore`].

use std::collections::HashMap;
use std::time::Duration;

use promdash_queries::alert::{ServerAlert, Transition};
use promdash_queries::dashboard::{Panel, PanelKind, PanelQuery, Unit};
use promdash_queries::error::QueryError;
use promdash_queries::model::{Labels, Notes};
use promdash_queries::source::RangeWindow;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::app::{Effect, FetchKey, Fetched, State};
use crate::complete::{self, Catalog, Completion, Need};
use crate::panel::PanelState;

/// How long `s` silences an alert.
pub const SILENCE_FOR: Duration = Duration::from_secs(3600);

/// Transitions kept for the alerts view's history.
pub const MAX_TRANSITIONS: usize = 500;

/// Requests only the explore features make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExploreRequest {
    /// `/api/v1/alerts`.
    ServerAlerts,
    /// `/api/v1/targets`, for the targets view of a remote server.
    ServerTargets,
    /// Which server answers (`/api/v1/status/buildinfo`), asked once.
    Backend,
    /// The server's scrape interval (`/api/v1/status/config`) for `$__rate_interval`,
    /// asked once.
    ScrapeInterval,
    /// Completion data.
    Catalog(Need),
    /// The values of a dashboard variable (`label_values(...)`).
    VarValues {
        var: usize,
        label: String,
        matcher: Option<String>,
    },
    /// The series of an instant query, as a variable's values (`query_result(expr)`).
    VarQuery { var: usize, expr: String },
}

/// Their answers.
#[derive(Debug, Clone)]
pub enum ExploreAnswer {
    ServerAlerts(Result<Vec<ServerAlert>, QueryError>),
    ServerTargets(Result<Vec<promdash_queries::client::Target>, QueryError>),
    Backend(promdash_queries::backend::Backend),
    ScrapeInterval(Option<std::time::Duration>),
    Catalog(Need, Result<Vec<String>, QueryError>),
    VarValues(usize, Result<Vec<String>, QueryError>),
}

/// A query error in the prompt, with the column Prometheus points at (0-based, chars).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromptError {
    pub message: String,
    pub column: Option<usize>,
}

/// The `:` prompt.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Prompt {
    pub text: String,
    /// Byte offset of the cursor in `text`.
    pub cursor: usize,
    pub error: Option<PromptError>,
    /// Candidates shown under the prompt, and which one Tab put in (when cycling).
    pub completion: Option<(Completion, Option<usize>)>,
    /// Position in the history while browsing with ↑/↓ (None: editing a new line).
    pub history_pos: Option<usize>,
    /// The line being typed before browsing the history.
    pub draft: String,
    /// Enter was pressed: waiting for the first answer.
    pub running: bool,
    /// Tab was pressed for data still loading.
    pub waiting: Option<Need>,
}

/// One request's last outcome, for the inspector.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryInfo {
    pub at: f64,
    pub elapsed: Duration,
    pub window: Option<RangeWindow>,
    pub series: usize,
    pub points: usize,
    pub notes: Notes,
    pub error: Option<String>,
}

/// A silenced alert instance.
#[derive(Debug, Clone, PartialEq)]
pub struct Silence {
    pub rule: String,
    pub labels: Labels,
    pub until: f64,
}

/// One selectable row of the alerts view.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertRow {
    pub rule: String,
    pub labels: Labels,
    /// FIRING, PENDING, RESOLVED, inactive (or the server's word).
    pub state: String,
    pub value: f64,
    pub since: Option<f64>,
    pub summary: String,
    pub server: bool,
    pub stale: bool,
    /// The rule's condition on the value as written, e.g. `> 0.05` (`None`: any sample,
    /// or a server alert).
    pub threshold: Option<String>,
}

/// State of the explore features.
#[derive(Debug, Clone, Default)]
pub struct Explore {
    /// The server behind the URL: shown in the status bar and the inspector, with what
    /// VictoriaMetrics does differently.
    pub backend: promdash_queries::backend::Backend,
    /// The backend was asked for (once per run).
    pub backend_asked: bool,
    pub prompt: Option<Prompt>,
    pub history: Vec<String>,
    pub catalog: Catalog,
    /// Completion data asked for and not yet answered.
    pub loading: Vec<Need>,
    /// The prompt's result panel (the last panel), until it is closed or pinned.
    pub temp_panel: Option<usize>,
    /// Focus and full screen before the result was shown.
    pub before_temp: Option<(usize, bool)>,
    pub inspector: bool,
    /// First line of the inspector shown (↑/↓, PgUp/PgDn, Home/End scroll it).
    pub inspector_scroll: u16,
    /// Cursor column in the focused graph's plot (cells from the left).
    pub cursor: Option<u16>,
    /// The last arrow that moved the cursor, when, and how many presses in a row.
    pub cursor_held: Option<(KeyCode, f64, u32)>,
    pub alerts_view: bool,
    pub alert_selected: usize,
    pub server_alerts: Option<Result<Vec<ServerAlert>, String>>,
    pub transitions: Vec<Transition>,
    pub silences: Vec<Silence>,
    /// `--alertmanager`: its alerts and silences, the silence dialog.
    pub am: crate::alertmanager::AmState,
    /// Per request: the last answer, for the inspector.
    pub queries: HashMap<FetchKey, QueryInfo>,
}

impl Explore {
    /// Whether the alert instance `(rule, labels)` is silenced at `now`: here, or by an
    /// active silence in Alertmanager (`--alertmanager`).
    pub fn is_silenced(&self, rule: &str, labels: &Labels, now: f64) -> bool {
        self.silences
            .iter()
            .any(|s| s.until > now && s.rule == rule && &s.labels == labels)
            || self.am.silenced(rule, labels)
    }

    /// The silence on `(rule, labels)`, if any, at `now`.
    pub fn silence(&self, rule: &str, labels: &Labels, now: f64) -> Option<&Silence> {
        self.silences
            .iter()
            .find(|s| s.until > now && s.rule == rule && &s.labels == labels)
    }

    /// Records an answer for the inspector.
    pub fn record(&mut self, f: &Fetched, now: f64) {
        let info = match &f.result {
            Ok(r) => QueryInfo {
                at: now,
                elapsed: f.elapsed,
                window: f.window,
                series: r.series_count(),
                points: r.point_count(),
                notes: r.notes.clone(),
                error: None,
            },
            Err(e) => {
                // Keep the last good counts; say what went wrong.
                let mut info = self.queries.get(&f.key).cloned().unwrap_or(QueryInfo {
                    at: now,
                    elapsed: f.elapsed,
                    window: f.window,
                    series: 0,
                    points: 0,
                    notes: Notes::default(),
                    error: None,
                });
                info.at = now;
                info.elapsed = f.elapsed;
                info.error = Some(e.to_string());
                info
            }
        };
        self.queries.insert(f.key.clone(), info);
    }

    /// Keeps `transitions` for the history (oldest dropped past [`MAX_TRANSITIONS`]).
    pub fn push_transitions(&mut self, transitions: &[Transition]) {
        self.transitions.extend_from_slice(transitions);
        let extra = self.transitions.len().saturating_sub(MAX_TRANSITIONS);
        self.transitions.drain(..extra);
    }
}

/// Every alert row of the alerts view: the dashboard's instances (rules that have none are
/// listed as inactive), then the server's own alerts.
pub fn alert_rows(state: &State) -> Vec<AlertRow> {
    let mut rows: Vec<AlertRow> = Vec::new();
    for rule in state.alerts.rules() {
        let mut any = false;
        let threshold = rule.threshold.map(|t| {
            let op = rule.op.map_or(">", |op| op.as_str());
            format!("{op} {}", promdash_queries::alert::format_value(t))
        });
        // The last evaluation could not decide (error or partial answer): say why.
        let unknown = state.alerts.unknown_reason(&rule.name);
        let why = |summary: &str| match unknown {
            Some(reason) if summary.is_empty() => format!("unknown: {reason}"),
            Some(reason) => format!("unknown: {reason} · {summary}"),
            None => summary.to_owned(),
        };
        for inst in state.alerts.instances().filter(|i| i.rule == rule.name) {
            any = true;
            let since = match inst.state {
                promdash_queries::alert::AlertState::Firing => inst.firing_since,
                promdash_queries::alert::AlertState::Resolved => inst.resolved_at,
                _ => inst.active_since,
            };
            let word = match inst.state {
                promdash_queries::alert::AlertState::Inactive => "inactive".to_owned(),
                s => s.as_str().to_ascii_uppercase(),
            };
            rows.push(AlertRow {
                rule: inst.rule.clone(),
                labels: inst.labels.clone(),
                state: word,
                value: inst.value,
                since,
                summary: why(&inst.summary),
                server: false,
                stale: inst.stale,
                threshold: threshold.clone(),
            });
        }
        if !any {
            rows.push(AlertRow {
                rule: rule.name.clone(),
                labels: Labels::new(),
                state: if unknown.is_some() {
                    "unknown"
                } else {
                    "inactive"
                }
                .to_owned(),
                // How far from firing: the last value of the expression.
                value: state.alerts.last_value(&rule.name).unwrap_or(f64::NAN),
                since: None,
                summary: why(""),
                server: false,
                stale: false,
                threshold,
            });
        }
    }
    rows.extend(crate::rules::alert_rows(state));
    if let Some(Ok(server)) = &state.explore.server_alerts {
        for a in server {
            let mut labels = a.labels.clone();
            let name = labels.remove("alertname").unwrap_or_default();
            rows.push(AlertRow {
                rule: name,
                labels,
                state: a.state.to_ascii_uppercase(),
                value: a.value.unwrap_or(f64::NAN),
                since: a.active_at.as_deref().and_then(parse_rfc3339),
                summary: a
                    .annotations
                    .get("summary")
                    .or_else(|| a.annotations.get("description"))
                    .unwrap_or_default()
                    .to_owned(),
                server: true,
                stale: false,
                threshold: None,
            });
        }
    }
    rows
}

/// Unix seconds of an RFC 3339 time as Prometheus writes it.
fn parse_rfc3339(s: &str) -> Option<f64> {
    if s.eq_ignore_ascii_case("now") {
        return None;
    }
    crate::headless::time::parse_time(s).ok()
}

/// The column (0-based) and message of a Prometheus parse error such as
/// `… 1:14: parse error: unexpected …` (2.x) in an error's text.
pub fn parse_error(message: &str) -> PromptError {
    let Some(at) = message.find("parse error") else {
        return PromptError {
            message: message.to_owned(),
            column: None,
        };
    };
    let head = message[..at].trim_end().trim_end_matches(':');
    let pos = head.rsplit([' ', '(']).next().unwrap_or("");
    let mut parts = pos.split(':');
    let col = match (parts.next(), parts.next(), parts.next()) {
        (Some(l), Some(c), None) if l.parse::<usize>().is_ok() => c.parse::<usize>().ok(),
        _ => None,
    };
    let start = if col.is_some() {
        head.len() - pos.len()
    } else {
        at
    };
    // Drop the advice the client appends after "; ".
    let tail = &message[start..];
    let text = tail.split("; ").next().unwrap_or(tail);
    PromptError {
        message: text.to_owned(),
        column: col.map(|c| c.saturating_sub(1)),
    }
}

/// Whether `expr` is a range vector (`x[5m]`, a subquery): shown as a table of an instant
/// query. Anything else is graphed with a range query.
pub fn is_range_vector(expr: &str) -> bool {
    expr.trim_end().ends_with(']')
}

/// Presses of the same arrow closer together than this are a held key.
pub const HELD_SECS: f64 = 0.2;

/// Columns the cursor moves for this press of `code`: 1, and while the key is held
/// (presses less than [`HELD_SECS`] apart, as the terminal repeats it) 2, 4, then 8
/// after every four presses.
fn cursor_step(state: &mut State, code: KeyCode) -> u16 {
    let now = state.now;
    let count = match state.explore.cursor_held {
        Some((c, at, n)) if c == code && (0.0..HELD_SECS).contains(&(now - at)) => n + 1,
        _ => 1,
    };
    state.explore.cursor_held = Some((code, now, count));
    1 << (count.saturating_sub(1) / 4).min(3)
}

/// Keys of the explore features. `None`: not ours, the dashboard handles it.
pub fn on_key(state: &mut State, key: KeyEvent) -> Option<Vec<Effect>> {
    if state.explore.prompt.is_some() {
        return Some(prompt_key(state, key));
    }
    if state.help {
        return None;
    }
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    if ctrl {
        return None;
    }
    if state.vars.picker.is_some() {
        return Some(crate::variables::picker_key(state, key));
    }
    if state.explore.alerts_view {
        if let Some(effects) = crate::alertmanager::on_key(state, key) {
            return Some(effects);
        }
        let n = alert_rows(state).len();
        match key.code {
            KeyCode::Esc | KeyCode::Char('a') => {
                state.explore.alerts_view = false;
                return Some(Vec::new());
            }
            KeyCode::Up | KeyCode::Char('k') => {
                state.explore.alert_selected = state.explore.alert_selected.saturating_sub(1);
                return Some(Vec::new());
            }
            KeyCode::Down | KeyCode::Char('j') => {
                state.explore.alert_selected =
                    (state.explore.alert_selected + 1).min(n.saturating_sub(1));
                return Some(Vec::new());
            }
            KeyCode::Char('s') => {
                let rows = alert_rows(state);
                if let Some(row) = rows.get(state.explore.alert_selected) {
                    let now = state.now;
                    state.explore.silences.retain(|s| {
                        s.until > now && !(s.rule == row.rule && s.labels == row.labels)
                    });
                    state.explore.silences.push(Silence {
                        rule: row.rule.clone(),
                        labels: row.labels.clone(),
                        until: now + SILENCE_FOR.as_secs_f64(),
                    });
                }
                return Some(Vec::new());
            }
            KeyCode::Char('S') => {
                state.explore.silences.clear();
                return Some(Vec::new());
            }
            _ => return None,
        }
    }
    if state.explore.inspector {
        return match key.code {
            KeyCode::Esc | KeyCode::Char('i') => {
                state.explore.inspector = false;
                Some(Vec::new())
            }
            KeyCode::Up
            | KeyCode::Down
            | KeyCode::Char('k' | 'j')
            | KeyCode::PageUp
            | KeyCode::PageDown
            | KeyCode::Home
            | KeyCode::End => {
                let (page, max) = crate::ui::inspector::scroll_room(state);
                let at = state.explore.inspector_scroll.min(max);
                state.explore.inspector_scroll = match key.code {
                    KeyCode::Up | KeyCode::Char('k') => at.saturating_sub(1),
                    KeyCode::Down | KeyCode::Char('j') => at.saturating_add(1).min(max),
                    KeyCode::PageUp => at.saturating_sub(page.max(1)),
                    KeyCode::PageDown => at.saturating_add(page.max(1)).min(max),
                    KeyCode::Home => 0,
                    _ => max,
                };
                Some(Vec::new())
            }
            _ => None,
        };
    }
    if let Some(col) = state.explore.cursor {
        match key.code {
            KeyCode::Left | KeyCode::Right => {
                let step = cursor_step(state, key.code);
                state.explore.cursor = Some(if key.code == KeyCode::Left {
                    col.saturating_sub(step)
                } else {
                    let max = cursor_width(state).saturating_sub(1);
                    col.saturating_add(step).min(max)
                });
                return Some(Vec::new());
            }
            KeyCode::Esc | KeyCode::Char('v') => {
                state.explore.cursor = None;
                return Some(Vec::new());
            }
            // Moving the focus or changing the layout drops the cursor.
            KeyCode::Tab | KeyCode::BackTab | KeyCode::Enter => state.explore.cursor = None,
            _ => {}
        }
    }
    match key.code {
        KeyCode::Char(':') | KeyCode::Char('/') => {
            state.explore.prompt = Some(Prompt::default());
            Some(Vec::new())
        }
        KeyCode::Char('V') => {
            crate::variables::open(state);
            Some(Vec::new())
        }
        KeyCode::Char('a') => {
            state.explore.alerts_view = true;
            state.explore.alert_selected = 0;
            Some(vec![Effect::Explore(ExploreRequest::ServerAlerts)])
        }
        KeyCode::Char('i') if !state.panels.is_empty() => {
            state.explore.inspector = true;
            state.explore.inspector_scroll = 0;
            Some(Vec::new())
        }
        KeyCode::Char('v') => {
            let is_graph = state
                .dashboard
                .panels
                .get(state.focus)
                .is_some_and(|p| p.kind == PanelKind::Graph);
            let w = cursor_width(state);
            if is_graph && w > 0 {
                state.explore.cursor = Some(w - 1);
            }
            Some(Vec::new())
        }
        KeyCode::Char('P') => {
            if let Some(i) = state.explore.temp_panel.take() {
                state.dashboard.panels[i].title =
                    format!("pinned: {}", state.dashboard.panels[i].queries[0].expr);
                state.explore.before_temp = None;
            }
            Some(Vec::new())
        }
        KeyCode::Esc if state.explore.temp_panel.is_some() => Some(close_temp(state)),
        _ => None,
    }
}

/// Width in cells of the focused graph's plot (0 when it is not on screen).
pub fn cursor_width(state: &State) -> u16 {
    let rects = state.panel_rects();
    let Some(Some(rect)) = rects.get(state.focus) else {
        return 0;
    };
    crate::ui::cursor::plot_rect(state, state.focus, *rect).map_or(0, |r| r.width)
}

fn close_temp(state: &mut State) -> Vec<Effect> {
    let Some(i) = state.explore.temp_panel.take() else {
        return Vec::new();
    };
    if i + 1 == state.dashboard.panels.len() {
        state.dashboard.panels.pop();
        state.panels.pop();
        state.vars.templates.truncate(state.dashboard.panels.len());
    }
    let (focus, fullscreen) = state.explore.before_temp.take().unwrap_or((0, false));
    state.focus = focus.min(state.panels.len().saturating_sub(1));
    state.fullscreen = fullscreen && !state.panels.is_empty();
    state.explore.cursor = None;
    state.explore.inspector = false;
    state.relayout();
    state.refetch()
}

fn prompt_key(state: &mut State, key: KeyEvent) -> Vec<Effect> {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    let Some(p) = state.explore.prompt.as_mut() else {
        return Vec::new();
    };
    if key.code != KeyCode::Tab {
        p.completion = None;
        p.waiting = None;
    }
    match key.code {
        KeyCode::Esc => {
            state.explore.prompt = None;
            if state.explore.temp_panel.is_some() {
                return close_temp(state);
            }
        }
        KeyCode::Char('c') if ctrl => {
            state.explore.prompt = None;
            if state.explore.temp_panel.is_some() {
                return close_temp(state);
            }
        }
        KeyCode::Char('u') if ctrl => {
            p.text.clear();
            p.cursor = 0;
            p.error = None;
        }
        KeyCode::Char('a') if ctrl => p.cursor = 0,
        KeyCode::Char('e') if ctrl => p.cursor = p.text.len(),
        KeyCode::Char(c) if !ctrl => {
            p.text.insert(p.cursor, c);
            p.cursor += c.len_utf8();
            p.error = None;
            p.history_pos = None;
        }
        KeyCode::Backspace => {
            if let Some((i, _)) = p.text[..p.cursor].char_indices().next_back() {
                p.text.remove(i);
                p.cursor = i;
                p.error = None;
            }
        }
        KeyCode::Delete if p.cursor < p.text.len() => {
            p.text.remove(p.cursor);
            p.error = None;
        }
        KeyCode::Left => {
            if let Some((i, _)) = p.text[..p.cursor].char_indices().next_back() {
                p.cursor = i;
            }
        }
        KeyCode::Right => {
            if let Some(c) = p.text[p.cursor..].chars().next() {
                p.cursor += c.len_utf8();
            }
        }
        KeyCode::Home => p.cursor = 0,
        KeyCode::End => p.cursor = p.text.len(),
        KeyCode::Up => {
            let h = &state.explore.history;
            if !h.is_empty() {
                let pos = match p.history_pos {
                    None => {
                        p.draft = p.text.clone();
                        h.len() - 1
                    }
                    Some(i) => i.saturating_sub(1),
                };
                p.history_pos = Some(pos);
                p.text = h[pos].clone();
                p.cursor = p.text.len();
            }
        }
        KeyCode::Down => {
            if let Some(i) = p.history_pos {
                if i + 1 < state.explore.history.len() {
                    p.history_pos = Some(i + 1);
                    p.text = state.explore.history[i + 1].clone();
                } else {
                    p.history_pos = None;
                    p.text = std::mem::take(&mut p.draft);
                }
                p.cursor = p.text.len();
            }
        }
        KeyCode::Tab => return tab(state),
        KeyCode::Enter => return run(state),
        _ => {}
    }
    Vec::new()
}

/// Tab: complete from the catalog, or ask for what it lacks (Tab is replayed on arrival).
fn tab(state: &mut State) -> Vec<Effect> {
    let ex = &mut state.explore;
    let Some(p) = ex.prompt.as_mut() else {
        return Vec::new();
    };
    // Cycling through a list already shown.
    if let Some((c, sel)) = p.completion.as_mut()
        && c.items.len() > 1
    {
        let next = sel.map_or(0, |s| (s + 1) % c.items.len());
        let old_end = match sel {
            Some(s) => c.start + c.items[*s].len(),
            None => p.cursor,
        };
        p.text.replace_range(c.start..old_end, &c.items[next]);
        p.cursor = c.start + c.items[next].len();
        *sel = Some(next);
        return Vec::new();
    }
    let ctx = complete::context(&p.text, p.cursor);
    if let Some(need) = ex.catalog.missing(&ctx) {
        p.waiting = Some(need.clone());
        if ex.loading.contains(&need) {
            return Vec::new();
        }
        ex.loading.push(need.clone());
        return vec![Effect::Explore(ExploreRequest::Catalog(need))];
    }
    p.waiting = None;
    let c = complete::complete(&p.text, p.cursor, &ex.catalog);
    apply_completion(p, c);
    Vec::new()
}

fn apply_completion(p: &mut Prompt, c: Completion) {
    match c.items.len() {
        0 => p.completion = None,
        1 => {
            p.text.replace_range(c.start..p.cursor, &c.items[0]);
            p.cursor = c.start + c.items[0].len();
            p.completion = None;
        }
        _ => {
            let lcp = c.common_prefix().to_owned();
            if lcp.len() > p.cursor - c.start {
                p.text.replace_range(c.start..p.cursor, &lcp);
                p.cursor = c.start + lcp.len();
            }
            p.completion = Some((c, None));
        }
    }
}

/// Enter: run the prompt's expression as a temporary full-screen panel.
fn run(state: &mut State) -> Vec<Effect> {
    let Some(p) = state.explore.prompt.as_mut() else {
        return Vec::new();
    };
    let expr = p.text.trim().to_owned();
    if expr.is_empty() {
        return Vec::new();
    }
    p.running = true;
    p.error = None;
    p.history_pos = None;
    let mut effects = Vec::new();
    if state.explore.history.last() != Some(&expr) {
        state.explore.history.push(expr.clone());
        let extra = state
            .explore
            .history
            .len()
            .saturating_sub(crate::history::MAX_HISTORY);
        state.explore.history.drain(..extra);
        effects.push(Effect::SaveHistory(expr.clone()));
    }
    let kind = if is_range_vector(&expr) {
        PanelKind::Table
    } else {
        PanelKind::Graph
    };
    let typed = expr.clone();
    let panel = Panel {
        title: format!("query: {expr}"),
        kind,
        queries: vec![PanelQuery {
            expr,
            legend: None,
            step: Default::default(),
        }],
        unit: Unit::Short,
        width: 12,
        height: None,
        thresholds: Vec::new(),
        min: None,
        max: None,
        decimals: None,
        text: None,
        legend_calcs: Vec::new(),
        field: Default::default(),
    };
    // A previous result is replaced.
    if let Some(i) = state.explore.temp_panel
        && i + 1 == state.dashboard.panels.len()
    {
        state.dashboard.panels.pop();
        state.panels.pop();
        state.vars.templates.truncate(state.dashboard.panels.len());
    } else {
        state.explore.before_temp = Some((state.focus, state.fullscreen));
    }
    state.panels.push(PanelState::new(&panel));
    state.dashboard.panels.push(panel);
    let i = state.dashboard.panels.len() - 1;
    // Dashboard variables and $__interval & co. work at the prompt too.
    if state.vars.templates.len() == i {
        state.vars.templates.push(vec![typed]);
    }
    state.explore.temp_panel = Some(i);
    state.explore.cursor = None;
    state.explore.inspector = false;
    state.focus = i;
    state.fullscreen = true;
    state.relayout();
    effects.extend(state.refetch());
    effects
}

/// After an answer: a running prompt closes on data, or shows the server's error.
pub fn after_fetched(state: &mut State) {
    let Some(i) = state.explore.temp_panel else {
        return;
    };
    let running = state.explore.prompt.as_ref().is_some_and(|p| p.running);
    if !running {
        return;
    }
    let Some(ps) = state.panels.get(i) else {
        return;
    };
    if let Some(e) = ps.visible_error() {
        let err = parse_error(e);
        if let Some(p) = state.explore.prompt.as_mut() {
            p.running = false;
            p.error = Some(err);
        }
        // Back to what was there; the prompt stays open to fix the expression.
        let (focus, fullscreen) = state.explore.before_temp.take().unwrap_or((0, false));
        state.explore.temp_panel = None;
        if i + 1 == state.dashboard.panels.len() {
            state.dashboard.panels.pop();
            state.panels.pop();
            state.vars.templates.truncate(state.dashboard.panels.len());
        }
        state.focus = focus.min(state.panels.len().saturating_sub(1));
        state.fullscreen = fullscreen;
        state.relayout();
        state.dirty = true;
    } else if ps.loaded {
        state.explore.prompt = None;
        state.dirty = true;
    }
}

/// An answer to an [`ExploreRequest`].
pub fn on_answer(state: &mut State, answer: ExploreAnswer) -> Vec<Effect> {
    state.dirty = true;
    match answer {
        ExploreAnswer::VarValues(var, r) => crate::variables::on_values(state, var, r),
        ExploreAnswer::ServerAlerts(r) => {
            state.explore.server_alerts = Some(r.map_err(|e| e.to_string()));
            Vec::new()
        }
        ExploreAnswer::ServerTargets(r) => {
            crate::targets::on_server_targets(state, r);
            Vec::new()
        }
        ExploreAnswer::Backend(b) => {
            state.explore.backend = b;
            Vec::new()
        }
        ExploreAnswer::ScrapeInterval(d) => crate::variables::on_scrape_interval(state, d),
        ExploreAnswer::Catalog(need, r) => {
            state.explore.loading.retain(|n| n != &need);
            let values = match r {
                Ok(v) => v,
                Err(e) => {
                    if let Some(p) = state.explore.prompt.as_mut() {
                        p.error = Some(PromptError {
                            message: format!("completion: {e}"),
                            column: None,
                        });
                        p.waiting = None;
                    }
                    return Vec::new();
                }
            };
            state.explore.catalog.insert(need.clone(), values);
            // Replay the Tab that asked for it, if the prompt still wants it.
            let replay = state
                .explore
                .prompt
                .as_ref()
                .is_some_and(|p| p.waiting.as_ref() == Some(&need));
            if replay { tab(state) } else { Vec::new() }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prometheus_parse_errors() {
        let e = parse_error(
            "the server rejected the query (bad_data, HTTP 400): 1:14: parse error: unexpected right parenthesis ')'; check the PromQL",
        );
        assert_eq!(e.column, Some(13));
        assert_eq!(
            e.message,
            "1:14: parse error: unexpected right parenthesis ')'"
        );
        let e = parse_error("invalid parameter \"query\": parse error at char 5: x");
        assert_eq!(e.column, None);
        assert!(e.message.starts_with("parse error"));
        let e = parse_error("timeout");
        assert_eq!(e.message, "timeout");
    }

    #[test]
    fn range_vectors() {
        assert!(is_range_vector("up[5m]"));
        assert!(is_range_vector("rate(x[1m])[10m:1m] "));
        assert!(!is_range_vector("rate(x[1m])"));
    }

    #[test]
    fn rfc3339() {
        assert_eq!(parse_rfc3339("2026-11-25T15:02:15Z"), Some(1_795_618_935.0));
        assert_eq!(parse_rfc3339("junk"), None);
    }
}
