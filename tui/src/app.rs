//! The dashboard's state and the only function that changes it.
//!
//! `update(&mut State, Msg) -> Vec<Effect>` does no I/O and reads no clock: time arrives
//! in [`Msg::Tick`], data in [`Msg::Fetched`], keys in [`Msg::Key`]. What should happen in
//! the outside world comes back as [`Effect`]s for the runtime to carry out.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use promdash_queries::alert::{AlertEngine, AlertState};
use promdash_queries::dashboard::{Dashboard, PanelKind};
use promdash_queries::error::QueryError;
use promdash_queries::model::QueryResult;
use promdash_queries::source::RangeWindow;
use promdash_queries::step::range_step;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use ratatui::layout::Rect;

use crate::layout::{self, Slot};
use crate::panel::{PanelError, PanelState};

/// Zoom levels for `+`/`-`, in seconds: 5m, 15m, 1h, 6h, 24h, 7d.
pub const ZOOMS: [u64; 6] = [300, 900, 3600, 6 * 3600, 86400, 7 * 86400];

/// One request the dashboard needs. Panels and alerts asking for the same thing share it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FetchKey {
    Instant { expr: String },
    Range { expr: String, step_ms: u64 },
}

impl FetchKey {
    pub fn expr(&self) -> &str {
        match self {
            Self::Instant { expr } | Self::Range { expr, .. } => expr,
        }
    }
}

/// A request for the fetcher to send.
#[derive(Debug, Clone, PartialEq)]
pub struct FetchRequest {
    pub key: FetchKey,
    pub seq: u64,
    /// Set for range queries.
    pub window: Option<RangeWindow>,
    /// Evaluation time of an instant query; `None` is the server's "now".
    pub time: Option<f64>,
}

/// A request's outcome, reported by the fetcher.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub key: FetchKey,
    pub seq: u64,
    pub window: Option<RangeWindow>,
    pub result: Result<QueryResult, QueryError>,
    pub elapsed: Duration,
}

/// Everything that can happen to the dashboard.
#[derive(Debug, Clone)]
pub enum Msg {
    Key(KeyEvent),
    /// New terminal size (columns, rows).
    Resize(u16, u16),
    /// The wall clock, Unix seconds. Sent before other messages and at deadlines.
    Tick(f64),
    Fetched(Box<Fetched>),
    /// An answer to an [`Effect::Explore`].
    Explore(Box<crate::explore::ExploreAnswer>),
    /// An [`Effect::Export`] is done: the files written, or why not.
    Exported(Result<Vec<std::path::PathBuf>, String>),
    /// The embedded engine's scrape targets, as they are now.
    Targets(Vec<promdash_engine::scrape::TargetStatus>),
    /// An [`Effect::SaveStore`] finished: the file written, or why not.
    Saved(Result<String, String>),
    /// A rule group of the rule files was evaluated (see [`crate::rules`]).
    Rules(Box<crate::rules::GroupEvaluation>),
    /// Alertmanager's alerts and silences, or the outcome of an [`Effect::Alertmanager`].
    Alertmanager(Box<crate::alertmanager::AmAnswer>),
}

/// What `update` asks the outside world to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    Fetch(FetchRequest),
    /// Ring the terminal bell (an alert started firing).
    Bell,
    /// `promdash demo`: switch the service's latency fault on or off.
    SetFault(bool),
    /// A request of the explore features (completion data, the server's alerts).
    Explore(crate::explore::ExploreRequest),
    /// Append an expression to the prompt's history file.
    SaveHistory(String),
    /// Write the focused panel or the whole dashboard as files into
    /// [`State::export_dir`] (`e` / `E`); the runtime answers with [`Msg::Exported`].
    Export(crate::export::Target),
    /// Write the embedded engine's store to a file (answered with [`Msg::Saved`]).
    SaveStore,
    /// Create or expire a silence, or read Alertmanager again (answered with
    /// [`Msg::Alertmanager`]).
    Alertmanager(crate::alertmanager::AmRequest),
    Quit,
}

/// The outcome of the last export, shown in the status bar for [`EXPORT_NOTE_SECS`].
#[derive(Debug, Clone, PartialEq)]
pub struct ExportNote {
    pub text: String,
    pub failed: bool,
    pub at: f64,
}

/// How long the status bar shows what an export wrote.
pub const EXPORT_NOTE_SECS: f64 = 30.0;

/// The status bar's words for exported `paths`: `saved DIR/NAME.{png,svg,csv,json}` when
/// they share a name, else the first and how many more.
pub fn export_text(paths: &[std::path::PathBuf]) -> String {
    let Some(first) = paths.first() else {
        return "nothing exported".to_owned();
    };
    let stem_of = |p: &std::path::PathBuf| p.with_extension("");
    let stem = stem_of(first);
    if paths.iter().all(|p| stem_of(p) == stem) {
        let exts: Vec<String> = paths
            .iter()
            .filter_map(|p| p.extension().map(|e| e.to_string_lossy().into_owned()))
            .collect();
        return format!("saved {}.{{{}}}", stem.display(), exts.join(","));
    }
    format!(
        "saved {} and {} more files",
        first.display(),
        paths.len() - 1
    )
}

/// The default of `--memory-budget`: what all panels together may hold in answers.
pub const DEFAULT_MEMORY_BUDGET: u64 = 256 * 1024 * 1024;

/// A panel keeps an answer about three times over: the answer as sent (for exports and
/// the inspector), what it draws from it, and the next answer while it is applied.
const HELD_COPIES: u64 = 3;

/// Admits an answer costing `cost` bytes for (panel, query, range) into the budget, or
/// says why not. The panel's previous answer for the same query is replaced, so its cost
/// is freed first.
fn admit(
    held: &mut HashMap<(usize, usize, bool), u64>,
    budget: u64,
    slot: (usize, usize, bool),
    cost: u64,
) -> Result<(), String> {
    let others: u64 = held
        .iter()
        .filter(|(k, _)| **k != slot)
        .map(|(_, v)| *v)
        .sum();
    if others.saturating_add(cost) > budget {
        return Err(format!(
            "memory budget: not shown, this answer (about {} in memory) would take what \
             the panels hold past {}; narrow the query (fewer series) or raise \
             --memory-budget",
            crate::units::Format::Bytes.format(cost as f64, None),
            crate::units::Format::Bytes.format(budget as f64, None),
        ));
    }
    held.insert(slot, cost);
    Ok(())
}

/// Settings that do not come from the dashboard file.
#[derive(Debug, Clone)]
pub struct Options {
    /// The server URL with credentials removed, for the status bar.
    pub url: String,
    pub refresh: Duration,
    pub range: Duration,
    pub bell: bool,
    /// `promdash demo`: the `f` key toggles a latency fault.
    pub demo: bool,
    /// Offset of local time from UTC, for axis labels.
    pub utc_offset: i32,
}

impl Options {
    /// Options for the server at `url`: refresh every 5 s, the last 15 min, no bell, not
    /// the demo, times in UTC (what tests and benchmarks start from).
    pub fn for_url(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            refresh: Duration::from_secs(5),
            range: Duration::from_secs(900),
            bell: false,
            demo: false,
            utc_offset: 0,
        }
    }
}

/// Whether the server answers.
#[derive(Debug, Clone, PartialEq)]
pub enum Server {
    /// No answer yet.
    Connecting,
    Up,
    Down {
        reason: String,
        since: f64,
    },
}

/// The last completed refresh round.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Refreshed {
    pub at: f64,
    pub took: Duration,
}

#[derive(Debug, Clone, Default)]
struct SlotState {
    in_flight: Option<u64>,
    applied: u64,
    last_elapsed: Duration,
    /// When the request in flight was sent, and its window.
    issued_at: f64,
    issued_window: Option<RangeWindow>,
    /// The evaluation time sent with an instant query (`None`: the server's now).
    issued_time: Option<f64>,
    /// A range window answered successfully, and when that request was sent.
    done: Option<(RangeWindow, f64)>,
}

/// After this many seconds past a range window's end, its answer no longer changes
/// (late samples have been ingested): asking again for the same window is wasted work.
pub const SETTLE_SECS: f64 = 2.0;

#[derive(Debug, Clone)]
struct Round {
    started: f64,
    outstanding: HashSet<FetchKey>,
    failed: bool,
    /// Only the alert rules (paused): not shown as a dashboard refresh.
    alerts_only: bool,
}

/// The whole dashboard.
#[derive(Debug, Clone)]
pub struct State {
    pub dashboard: Dashboard,
    pub opts: Options,
    pub now: f64,
    pub size: (u16, u16),
    pub range: Duration,
    pub paused: bool,
    /// End of the window while paused (panning moves it).
    pub end: Option<f64>,
    pub focus: usize,
    pub fullscreen: bool,
    pub help: bool,
    pub panels: Vec<PanelState>,
    pub server: Server,
    pub refreshed: Option<Refreshed>,
    pub next_refresh_at: f64,
    pub alerts: AlertEngine,
    /// For each alert rule, the panels whose border turns red when it fires.
    pub alert_panels: Vec<Vec<usize>>,
    pub fault: bool,
    /// TLS certificates are not verified (`--insecure-skip-verify`): the status bar says so.
    pub insecure: bool,
    /// What the dashboard file's `[connection]` changes about the connection (another
    /// server, its headers, its secret files): shown in the status bar from the first
    /// frame, before any answer.
    pub connection_notes: Vec<String>,
    pub quit: bool,
    /// Something visible changed since the last draw.
    pub dirty: bool,
    /// The query prompt, inspector, cursor and alerts view.
    pub explore: crate::explore::Explore,
    /// `--data`: the recording's first and last sample (Unix seconds). The dashboard
    /// stays paused inside it; see [`State::start_replay`].
    pub replay: Option<(f64, f64)>,
    /// `--scrape`, `demo`: the embedded engine's targets and the targets view.
    pub embedded: Option<crate::targets::Embedded>,
    /// Against a server: its scrape targets and the targets view (`t`).
    pub server_targets: crate::targets::ServerTargets,
    /// Dashboard variables and the panels' expression templates.
    pub vars: crate::variables::Variables,
    /// Where `e` and `E` write their files (`--export-dir`, default the current directory).
    pub export_dir: std::path::PathBuf,
    /// What the last export wrote (or why it failed), for the status bar.
    pub export_note: Option<ExportNote>,
    /// The most the panels may hold in answers, in bytes (estimated, see
    /// [`QueryResult::approx_bytes`]): `--memory-budget`, [`DEFAULT_MEMORY_BUDGET`].
    pub memory_budget: u64,
    /// What each panel's query holds now, by (panel, query, range), in estimated bytes.
    held: HashMap<(usize, usize, bool), u64>,
    slots: HashMap<FetchKey, SlotState>,
    round: Option<Round>,
    failures: u32,
    /// Random state for retry jitter; `None` (the default) retries without jitter.
    jitter: Option<u64>,
    seq: u64,
    /// The last layout computed and what it was computed for: the grid is asked for on
    /// every answer and every frame, and changes only with size, focus or full screen.
    layout_memo: std::cell::RefCell<Option<(LayoutKey, Vec<Option<Rect>>)>>,
    /// Per row of the dashboard (Grafana imports): collapsed, its panels hidden and not
    /// queried. Starts as the file says.
    pub collapsed: Vec<bool>,
    /// A row's title bar has the focus (Tab reaches title bars; Enter folds the row).
    pub row_focus: Option<usize>,
    /// Rule files (`--rules`, `rule_files`): their groups as last evaluated.
    pub rules: crate::rules::RulesState,
}

/// Everything a layout depends on.
#[derive(Debug, Clone, PartialEq)]
struct LayoutKey {
    area: Rect,
    fullscreen: bool,
    focus: usize,
    slots: Vec<Slot>,
    collapsed: Vec<bool>,
    row_focus: Option<usize>,
}

impl State {
    pub fn new(dashboard: Dashboard, opts: Options) -> Self {
        let panels = dashboard.panels.iter().map(PanelState::new).collect();
        let dashboard_rows_collapsed: Vec<bool> =
            dashboard.rows.iter().map(|r| r.collapsed).collect();
        let alert_panels = dashboard
            .alerts
            .iter()
            .map(|rule| dashboard.alert_panels(rule))
            .collect();
        let alerts = AlertEngine::new(dashboard.alerts.clone());
        let vars = crate::variables::Variables::new(&dashboard);
        let range = opts.range;
        Self {
            dashboard,
            opts,
            now: 0.0,
            size: (80, 24),
            range,
            paused: false,
            end: None,
            focus: 0,
            fullscreen: false,
            help: false,
            panels,
            server: Server::Connecting,
            refreshed: None,
            next_refresh_at: 0.0,
            alerts,
            alert_panels,
            fault: false,
            insecure: false,
            connection_notes: Vec::new(),
            quit: false,
            dirty: true,
            explore: crate::explore::Explore::default(),
            replay: None,
            embedded: None,
            server_targets: crate::targets::ServerTargets::default(),
            vars,
            export_dir: std::path::PathBuf::from("."),
            export_note: None,
            rules: crate::rules::RulesState::default(),
            memory_budget: DEFAULT_MEMORY_BUDGET,
            held: HashMap::new(),
            slots: HashMap::new(),
            round: None,
            failures: 0,
            jitter: None,
            seq: 0,
            layout_memo: std::cell::RefCell::new(None),
            collapsed: dashboard_rows_collapsed,
            row_focus: None,
        }
    }

    /// Shows a recording spanning `start`..`end` (Unix seconds): time stands at its end,
    /// panning and zooming move the window over it, `p` does not resume.
    pub fn start_replay(&mut self, start: f64, end: f64) {
        self.replay = Some((start, end));
        self.paused = true;
        self.end = Some(end);
    }

    /// The latest time the window may end at: the recording's end, or now.
    pub fn latest(&self) -> f64 {
        self.replay.map_or(self.now, |(_, end)| end)
    }

    /// The area panels are laid out in: everything but the banner, the variable bar and
    /// the status bar.
    pub fn grid_area(&self) -> Rect {
        let (w, h) = self.size;
        // The variable bar takes the row under the banner when there are variables.
        let top = self.top_rows();
        Rect::new(0, top, w, h.saturating_sub(top + 1))
    }

    /// Rows above the grid: the banner, and the variable bar when there are variables.
    pub fn top_rows(&self) -> u16 {
        if self.vars.vars.is_empty() { 1 } else { 2 }
    }

    /// Each panel's rectangle on screen (`None` when scrolled away or hidden by full screen).
    pub fn panel_rects(&self) -> Vec<Option<Rect>> {
        let slots = self.slots();
        let key = LayoutKey {
            area: self.grid_area(),
            fullscreen: self.fullscreen,
            focus: self.focus,
            slots,
            collapsed: self.collapsed.clone(),
            row_focus: self.row_focus,
        };
        if let Some((k, rects)) = self.layout_memo.borrow().as_ref()
            && *k == key
        {
            return rects.clone();
        }
        let rects = if key.fullscreen {
            let mut v = vec![None; key.slots.len()];
            if let Some(slot) = v.get_mut(key.focus) {
                *slot = Some(key.area);
            }
            v
        } else if !self.dashboard.rows.is_empty() {
            self.rows_layout(&key.slots).panels
        } else {
            layout::grid(key.area, &key.slots, key.focus)
        };
        *self.layout_memo.borrow_mut() = Some((key, rects.clone()));
        rects
    }

    /// The lines of a dashboard with rows, in order: panels before the first row, then
    /// each row's title bar and, unless it is collapsed, its panels.
    pub fn items(&self, slots: &[Slot]) -> Vec<layout::Item> {
        let rows = &self.dashboard.rows;
        let n = slots.len().min(self.dashboard.panels.len());
        let mut items = Vec::with_capacity(n + rows.len());
        let first = rows.first().map_or(n, |r| r.panels.start.min(n));
        items.extend((0..first).map(|i| layout::Item::Panel(i, slots[i])));
        for (r, row) in rows.iter().enumerate() {
            items.push(layout::Item::Header(r));
            if !self.collapsed.get(r).copied().unwrap_or(false) {
                let end = row.panels.end.min(n);
                items.extend(
                    (row.panels.start.min(end)..end).map(|i| layout::Item::Panel(i, slots[i])),
                );
            }
        }
        items
    }

    /// The focused line: a row's title bar or the focused panel.
    fn focus_item(&self, items: &[layout::Item]) -> usize {
        items
            .iter()
            .position(|it| match (it, self.row_focus) {
                (layout::Item::Header(r), Some(f)) => *r == f,
                (layout::Item::Panel(i, _), None) => *i == self.focus,
                _ => false,
            })
            .unwrap_or(0)
    }

    fn rows_layout(&self, slots: &[Slot]) -> layout::RowsLayout {
        let items = self.items(slots);
        let focus = self.focus_item(&items);
        layout::rows_grid(
            self.grid_area(),
            &items,
            self.dashboard.panels.len(),
            self.dashboard.rows.len(),
            focus,
        )
    }

    fn slots(&self) -> Vec<Slot> {
        self.dashboard
            .panels
            .iter()
            .enumerate()
            .map(|(i, p)| Slot {
                width: p.width,
                tall: matches!(
                    p.kind,
                    PanelKind::Graph | PanelKind::Table | PanelKind::Heatmap
                ),
                height: p.height,
                newline: self.vars.newline(i),
            })
            .collect()
    }

    /// The panels were made again (a repeat's values changed): what was kept per panel
    /// index no longer applies.
    pub(crate) fn panels_rebuilt(&mut self) {
        self.held.clear();
        *self.layout_memo.borrow_mut() = None;
    }

    /// Where the rows' title bars are (`None`: scrolled away, or no rows, or full screen).
    pub fn row_layout(&self) -> layout::RowsLayout {
        if self.dashboard.rows.is_empty() || self.fullscreen {
            return layout::RowsLayout::default();
        }
        self.rows_layout(&self.slots())
    }

    /// Tab through a dashboard with rows: title bars and the panels of open rows.
    fn move_focus_rows(&mut self, back: bool) {
        let slots = self.slots();
        let items = self.items(&slots);
        if items.is_empty() {
            return;
        }
        let at = self.focus_item(&items);
        let next = if back {
            (at + items.len() - 1) % items.len()
        } else {
            (at + 1) % items.len()
        };
        self.set_focus_item(items[next]);
    }

    fn set_focus_item(&mut self, item: layout::Item) {
        match item {
            layout::Item::Header(r) => self.row_focus = Some(r),
            layout::Item::Panel(i, _) => {
                self.row_focus = None;
                self.focus = i;
            }
        }
    }

    /// Folds or unfolds row `r`; the focus goes to its title bar.
    pub fn toggle_row(&mut self, r: usize) -> Vec<Effect> {
        if let Some(c) = self.collapsed.get_mut(r) {
            *c = !*c;
            self.row_focus = Some(r);
        }
        self.after_scroll()
    }

    /// After the view moved (focus, fold): redraw at once from what is known, and fetch
    /// only the panels that came into view and were never fetched.
    fn after_scroll(&mut self) -> Vec<Effect> {
        self.relayout();
        let rects = self.panel_rects();
        let fresh: Vec<usize> = (0..self.panels.len())
            .filter(|&i| rects.get(i).copied().flatten().is_some() && !self.panels[i].loaded)
            .collect();
        // fetch_panels leaves requests already in flight alone.
        self.fetch_panels(&fresh)
    }

    /// The plot size (braille columns, cell rows) a panel's range query is fetched for.
    /// Panels scrolled out of view use the width they would have at full grid width.
    pub fn plot_size(&self, panel: usize, rect: Option<Rect>) -> (usize, u16) {
        let rect = rect.unwrap_or_else(|| {
            let a = self.grid_area();
            let w = u16::from(self.dashboard.panels[panel].width.clamp(1, 12));
            Rect::new(0, 0, a.width * w / 12, 8)
        });
        let (w, h) = crate::ui::plot_estimate(&self.dashboard.panels[panel], rect);
        (usize::from(w) * 2, h)
    }

    /// The window end: the pinned end while paused, else now.
    pub fn window_end(&self) -> f64 {
        self.end.unwrap_or(self.now)
    }

    /// The range request for `expr` drawn `dots` wide. Live, the window ends at the last
    /// step boundary that has settled ([`SETTLE_SECS`] ago), so each window is asked
    /// once, with its final answer: a newest point computed before its samples were all
    /// ingested would dip and be drawn again a moment later. The instant queries of the
    /// stats, gauges, tables and alert rules stay at "now".
    pub fn range_key(&self, expr: &str, dots: usize) -> (FetchKey, RangeWindow) {
        let q = promdash_queries::dashboard::PanelQuery {
            expr: expr.to_owned(),
            legend: None,
            step: Default::default(),
        };
        self.query_range_key(&q, dots)
    }

    /// [`State::range_key`] for a panel's query: its step options (a Grafana target's
    /// min step and `intervalFactor`) applied.
    pub fn query_range_key(
        &self,
        q: &promdash_queries::dashboard::PanelQuery,
        dots: usize,
    ) -> (FetchKey, RangeWindow) {
        let expr = q.expr.as_str();
        let cells = u16::try_from((dots / 2).max(1)).unwrap_or(u16::MAX);
        let end = self.end.unwrap_or(self.now - SETTLE_SECS);
        let window = if q.step.is_default() {
            range_step(self.range, cells, end)
        } else {
            crate::variables::query_window(self, q, cells, end)
        };
        let key = FetchKey::Range {
            expr: expr.to_owned(),
            step_ms: u64::try_from(window.step.as_millis()).unwrap_or(u64::MAX),
        };
        (key, window)
    }

    /// For each expression drawn over time, the widest plot showing it (braille dots).
    /// One range request per expression serves every panel that shows it, each panel
    /// downsampling the answer to its own width, so panels of different widths sharing
    /// an expression still cost one request.
    fn range_dots(&self, rects: &[Option<Rect>]) -> HashMap<&str, usize> {
        let mut out: HashMap<&str, usize> = HashMap::new();
        for (i, p) in self.dashboard.panels.iter().enumerate() {
            if !panel_wants_range(p) {
                continue;
            }
            let (dots, _) = self.plot_size(i, rects.get(i).copied().flatten());
            for q in &p.queries {
                let d = out.entry(q.expr.as_str()).or_default();
                *d = (*d).max(dots);
            }
        }
        out
    }

    /// [`State::range_dots`] of one expression (what an answer for it is checked
    /// against): no map of every expression built for each answer.
    fn range_dots_of(&self, expr: &str, rects: &[Option<Rect>]) -> Option<usize> {
        let mut out = None;
        for (i, p) in self.dashboard.panels.iter().enumerate() {
            if !wants_range(p.kind) || !p.queries.iter().any(|q| q.expr == expr) {
                continue;
            }
            let (dots, _) = self.plot_size(i, rects.get(i).copied().flatten());
            out = Some(out.map_or(dots, |d: usize| d.max(dots)));
        }
        out
    }

    /// The requests panel `i` is drawn from, as the next round sends them (for the
    /// inspector).
    pub fn panel_requests(&self, i: usize) -> Vec<(FetchKey, Option<RangeWindow>)> {
        let Some(p) = self.dashboard.panels.get(i) else {
            return Vec::new();
        };
        let rects = self.panel_rects();
        let widest = self.range_dots(&rects);
        let mut out = Vec::new();
        for q in &p.queries {
            if panel_wants_range(p) {
                let dots = widest.get(q.expr.as_str()).copied().unwrap_or(1);
                let (k, w) = self.query_range_key(q, dots);
                out.push((k, Some(w)));
            }
            if wants_instant(p.kind) || wants_tail(p.kind) {
                out.push((
                    FetchKey::Instant {
                        expr: q.expr.clone(),
                    },
                    None,
                ));
            }
        }
        out
    }

    /// Every request a round needs, with its window, in a stable order.
    fn needed(&self, alerts_only: bool) -> Vec<(FetchKey, Option<RangeWindow>)> {
        let mut out: Vec<(FetchKey, Option<RangeWindow>)> = Vec::new();
        let mut seen: HashSet<FetchKey> = HashSet::new();
        let mut push = |key: FetchKey, window: Option<RangeWindow>| {
            if seen.insert(key.clone()) {
                out.push((key, window));
            }
        };
        if !alerts_only {
            let rects = self.panel_rects();
            let widest = self.range_dots(&rects);
            // A dashboard with rows queries only what is on screen (collapsed rows and
            // panels scrolled away cost nothing).
            let only_visible = !self.dashboard.rows.is_empty();
            for (i, p) in self.dashboard.panels.iter().enumerate() {
                if only_visible && rects.get(i).copied().flatten().is_none() {
                    continue;
                }
                for q in &p.queries {
                    if panel_wants_range(p) {
                        let dots = widest.get(q.expr.as_str()).copied().unwrap_or(1);
                        let (k, w) = self.query_range_key(q, dots);
                        push(k, Some(w));
                    }
                    if wants_instant(p.kind) || wants_tail(p.kind) {
                        push(
                            FetchKey::Instant {
                                expr: q.expr.clone(),
                            },
                            None,
                        );
                    }
                }
            }
        }
        for rule in &self.dashboard.alerts {
            push(
                FetchKey::Instant {
                    expr: rule.expr.clone(),
                },
                None,
            );
        }
        out
    }

    /// Starts a refresh round: one request per distinct query not already in flight.
    fn start_round(&mut self, alerts_only: bool) -> Vec<Effect> {
        let time = if self.paused { self.end } else { None };
        // Variables and $__interval & co. follow the current range and size.
        crate::variables::apply(self);
        let needed = self.needed(alerts_only);
        let mut effects = Vec::new();
        let mut outstanding: HashSet<FetchKey> = HashSet::new();
        for (key, window) in needed {
            let slot = self.slots.entry(key.clone()).or_default();
            if slot.in_flight.is_some() {
                outstanding.insert(key);
                continue;
            }
            // The same aligned window was answered already. After it settled the answer
            // would be identical (a graph whose step is longer than the refresh interval
            // only needs a new request when its window moves on by a step); before, it is
            // asked once more when it has settled, not in every round until then.
            if let (Some(w), Some((done, at))) = (window, slot.done)
                && done == w
                && (at >= w.end + SETTLE_SECS || self.now < w.end + SETTLE_SECS)
            {
                continue;
            }
            self.seq += 1;
            slot.in_flight = Some(self.seq);
            slot.issued_at = self.now;
            slot.issued_window = window;
            outstanding.insert(key.clone());
            // An instant query for a paused dashboard is evaluated at the pinned end;
            // alert rules always look at "now".
            let t = if matches!(key, FetchKey::Instant { .. }) && !alerts_only {
                time
            } else {
                None
            };
            slot.issued_time = t;
            effects.push(Effect::Fetch(FetchRequest {
                key,
                seq: self.seq,
                window,
                time: t,
            }));
        }
        self.round = Some(Round {
            started: self.now,
            outstanding,
            failed: false,
            alerts_only,
        });
        self.next_refresh_at = self.now + self.opts.refresh.as_secs_f64();
        if self.explore.alerts_view {
            effects.push(Effect::Explore(
                crate::explore::ExploreRequest::ServerAlerts,
            ));
        }
        if self.server_targets.view {
            effects.push(Effect::Explore(
                crate::explore::ExploreRequest::ServerTargets,
            ));
        }
        if !self.explore.backend_asked {
            self.explore.backend_asked = true;
            effects.push(Effect::Explore(crate::explore::ExploreRequest::Backend));
            if !self.vars.scrape_fixed {
                effects.push(Effect::Explore(
                    crate::explore::ExploreRequest::ScrapeInterval,
                ));
            }
        }
        effects.extend(self.vars.requests());
        effects
    }

    /// Fetches now the requests of `panels` only, outside any round (after a variable
    /// they use changed). Requests already in flight are not sent twice.
    pub(crate) fn fetch_panels(&mut self, panels: &[usize]) -> Vec<Effect> {
        let exprs: HashSet<String> = panels
            .iter()
            .filter_map(|&i| self.dashboard.panels.get(i))
            .flat_map(|p| p.queries.iter().map(|q| q.expr.clone()))
            .collect();
        if exprs.is_empty() {
            return Vec::new();
        }
        let time = if self.paused { self.end } else { None };
        let mut effects = Vec::new();
        for (key, window) in self.needed(false) {
            if !exprs.contains(key.expr()) {
                continue;
            }
            let slot = self.slots.entry(key.clone()).or_default();
            if slot.in_flight.is_some() {
                continue;
            }
            self.seq += 1;
            slot.in_flight = Some(self.seq);
            slot.issued_at = self.now;
            slot.issued_window = window;
            let t = if matches!(key, FetchKey::Instant { .. }) {
                time
            } else {
                None
            };
            effects.push(Effect::Fetch(FetchRequest {
                key,
                seq: self.seq,
                window,
                time: t,
            }));
        }
        effects
    }

    /// When the runtime should wake up with a [`Msg::Tick`] even if nothing happens.
    pub fn next_deadline(&self) -> Option<f64> {
        let mut deadline = Some(self.next_refresh_at);
        // Durations on screen ("for 1m05s", "retry in 3s") tick every second.
        let clocked = matches!(self.server, Server::Down { .. })
            || self
                .alerts
                .instances()
                .any(|i| i.state != AlertState::Inactive);
        if clocked {
            let next_second = self.now.floor() + 1.0;
            deadline = Some(deadline.map_or(next_second, |d: f64| d.min(next_second)));
        }
        deadline
    }

    /// Panel `i` shows data that could not be refreshed: its last refresh failed, or the
    /// server is down (a graph whose window has not moved on is not even asked in a round,
    /// but cannot be refreshed either).
    pub fn panel_is_stale(&self, i: usize) -> bool {
        let Some(ps) = self.panels.get(i) else {
            return false;
        };
        ps.is_stale() || (ps.loaded && matches!(self.server, Server::Down { .. }))
    }

    /// Panels whose alert is firing (red border).
    pub fn firing_panels(&self) -> Vec<bool> {
        let mut out = vec![false; self.panels.len()];
        for inst in self.alerts.firing() {
            if let Some(k) = self
                .dashboard
                .alerts
                .iter()
                .position(|r| r.name == inst.rule)
            {
                for &p in &self.alert_panels[k] {
                    out[p] = true;
                }
            }
        }
        out
    }

    /// How the last requests went: query → time taken (for the inspector, later).
    pub fn query_elapsed(&self, key: &FetchKey) -> Option<Duration> {
        self.slots.get(key).map(|s| s.last_elapsed)
    }

    /// A refresh round has requests still out.
    pub fn round_in_progress(&self) -> bool {
        self.round
            .as_ref()
            .is_some_and(|r| !r.outstanding.is_empty())
    }

    /// Number of requests in flight.
    pub fn in_flight(&self) -> usize {
        self.slots
            .values()
            .filter(|s| s.in_flight.is_some())
            .count()
    }

    /// Turns on retry jitter: from now on each retry delay is scaled by a factor in
    /// [0.8, 1.2) drawn from `seed`'s sequence, so dashboards that lost the same server
    /// do not all come back at the same instant. `update` stays deterministic: the
    /// runtime passes the seed in, tests pass their own or none.
    pub fn seed_jitter(&mut self, seed: u64) {
        // xorshift needs a non-zero state.
        self.jitter = Some(seed | 1);
    }

    /// Backoff: 1s, 2s, 4s, … capped at the refresh interval, jittered when seeded.
    fn retry_delay(&mut self) -> f64 {
        let cap = self.opts.refresh.as_secs_f64().max(1.0);
        let exp = self.failures.saturating_sub(1).min(16);
        let base = (f64::from(1u32 << exp)).min(cap);
        match self.jitter.as_mut() {
            None => base,
            Some(x) => {
                // xorshift64: cheap, and plenty for spreading retries.
                *x ^= *x << 13;
                *x ^= *x >> 7;
                *x ^= *x << 17;
                let unit = (*x >> 11) as f64 / (1u64 << 53) as f64;
                base * (0.8 + 0.4 * unit)
            }
        }
    }

    /// Recomputes every panel's drawn series for the current layout (after a resize).
    pub(crate) fn relayout(&mut self) {
        let rects = self.panel_rects();
        for (i, rect) in rects.into_iter().enumerate() {
            if panel_wants_range(&self.dashboard.panels[i]) {
                let (dots, rows) = self.plot_size(i, rect);
                let panel = &self.dashboard.panels[i];
                self.panels[i].rebuild(panel, dots, rows);
            }
        }
    }

    /// After a change of range, pan, size or full screen: fetch what is now needed.
    pub(crate) fn refetch(&mut self) -> Vec<Effect> {
        self.start_round(false)
    }
}

pub fn wants_range(kind: PanelKind) -> bool {
    matches!(
        kind,
        PanelKind::Graph | PanelKind::Heatmap | PanelKind::Stat
    )
}

/// Whether panel `p` runs range queries: by its kind, or a gauge whose reducer needs the
/// range (a mean, a max, ...).
pub fn panel_wants_range(p: &promdash_queries::dashboard::Panel) -> bool {
    wants_range(p.kind) || (p.kind == PanelKind::Gauge && p.field.reduces_range())
}

pub fn wants_instant(kind: PanelKind) -> bool {
    matches!(kind, PanelKind::Stat | PanelKind::Gauge | PanelKind::Table)
}

/// Graphs also ask the instant value at the window's end, drawn after the aligned range
/// answer's last point (see [`crate::panel::PanelState::tail`]).
pub fn wants_tail(kind: PanelKind) -> bool {
    kind == PanelKind::Graph
}

/// The next zoom level in or out from `range`.
pub fn zoom(range: Duration, zoom_in: bool) -> Duration {
    let r = range.as_secs();
    let next = if zoom_in {
        ZOOMS.iter().rev().find(|z| **z < r).copied()
    } else {
        ZOOMS.iter().find(|z| **z > r).copied()
    };
    // Past either end of the list the range stays as it is.
    next.map_or(range, Duration::from_secs)
}

/// A short reason for the status bar.
pub fn down_reason(e: &QueryError) -> String {
    match e {
        QueryError::ConnectionRefused { .. } => "connection refused".to_owned(),
        QueryError::Dns { .. } => "cannot resolve host".to_owned(),
        QueryError::Tls { detail, .. } => format!("TLS: {detail}"),
        QueryError::Timeout { after, .. } => {
            format!("no answer within {}", humantime::format_duration(*after))
        }
        QueryError::Transport { detail, .. } => detail.clone(),
        QueryError::Http { status, .. } => format!("HTTP {status}"),
        other => other.to_string(),
    }
}

/// Applies `msg` to `state`; returns what the runtime should do.
pub fn update(state: &mut State, msg: Msg) -> Vec<Effect> {
    match msg {
        Msg::Tick(now) => tick(state, now),
        Msg::Resize(w, h) => {
            if state.size != (w, h) {
                state.size = (w, h);
                state.relayout();
                state.dirty = true;
                // Before the first tick there is no clock yet: the first round follows it.
                if state.now > 0.0 {
                    return state.refetch();
                }
            }
            Vec::new()
        }
        Msg::Key(key) => on_key(state, key),
        Msg::Fetched(f) => on_fetched(state, *f),
        Msg::Explore(a) => crate::explore::on_answer(state, *a),
        Msg::Rules(ev) => crate::rules::on_evaluation(state, *ev),
        Msg::Alertmanager(a) => {
            crate::alertmanager::on_answer(state, *a);
            Vec::new()
        }
        Msg::Targets(t) => {
            crate::targets::on_targets(state, t);
            Vec::new()
        }
        Msg::Saved(r) => {
            crate::targets::on_saved(state, r);
            Vec::new()
        }
        Msg::Exported(result) => {
            state.export_note = Some(match result {
                Ok(paths) => ExportNote {
                    text: export_text(&paths),
                    failed: false,
                    at: state.now,
                },
                Err(e) => ExportNote {
                    text: format!("export failed: {e}"),
                    failed: true,
                    at: state.now,
                },
            });
            state.dirty = true;
            Vec::new()
        }
    }
}

fn tick(state: &mut State, now: f64) -> Vec<Effect> {
    let second_changed = now.floor() != state.now.floor();
    state.now = now;
    if second_changed
        && state.next_deadline().is_some_and(|_| {
            matches!(state.server, Server::Down { .. }) || state.alerts.instances().next().is_some()
        })
    {
        state.dirty = true;
    }
    let before = state.alerts.instances().count();
    state.alerts.prune(now);
    if state.alerts.instances().count() != before {
        state.dirty = true;
    }
    if now >= state.next_refresh_at {
        // A replay's panels are fetched in full until a round has succeeded once (it
        // starts paused); after that only panning and zooming change them.
        let first_replay_round = state.replay.is_some() && state.refreshed.is_none();
        return state.start_round(state.paused && !first_replay_round);
    }
    Vec::new()
}

fn on_key(state: &mut State, key: KeyEvent) -> Vec<Effect> {
    if key.kind == KeyEventKind::Release {
        return Vec::new();
    }
    // The prompt, inspector, cursor and alerts view take their keys first.
    if let Some(effects) = crate::explore::on_key(state, key) {
        state.dirty = true;
        return effects;
    }
    if !state.help
        && let Some(effects) = crate::targets::on_key(state, key)
    {
        return effects;
    }
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    state.dirty = true;
    match key.code {
        KeyCode::Char('c') if ctrl => quit(state),
        KeyCode::Char('q') => quit(state),
        KeyCode::Char('?') => {
            state.help = !state.help;
            Vec::new()
        }
        KeyCode::Esc => {
            if state.help {
                state.help = false;
                Vec::new()
            } else if state.fullscreen {
                state.fullscreen = false;
                state.relayout();
                state.refetch()
            } else {
                state.dirty = false;
                Vec::new()
            }
        }
        _ if state.help => {
            // The overlay is modal: any other key closes it.
            state.help = false;
            Vec::new()
        }
        KeyCode::Char('r') => state.refetch(),
        KeyCode::Char('p') if state.replay.is_some() => {
            // A recording has no live end to resume to.
            state.dirty = false;
            Vec::new()
        }
        KeyCode::Char('p') => {
            state.paused = !state.paused;
            if state.paused {
                state.end = Some(state.now);
                Vec::new()
            } else {
                state.end = None;
                state.refetch()
            }
        }
        KeyCode::Char('+') | KeyCode::Char('=') => {
            state.range = zoom(state.range, true);
            state.refetch()
        }
        KeyCode::Char('-') | KeyCode::Char('_') => {
            state.range = zoom(state.range, false);
            state.refetch()
        }
        // Live, ← pauses at now and pans back (the status bar says PAUSED); → has nothing
        // newer to go to.
        KeyCode::Left if !state.paused => {
            state.paused = true;
            let half = state.range.as_secs_f64() / 2.0;
            state.end = Some(state.now - half);
            state.refetch()
        }
        KeyCode::Left | KeyCode::Right if state.paused => {
            let half = state.range.as_secs_f64() / 2.0;
            let end = state.end.unwrap_or(state.now);
            let moved = if key.code == KeyCode::Left {
                (end - half).max(state.replay.map_or(f64::MIN, |(start, _)| start))
            } else {
                (end + half).min(state.latest())
            };
            state.end = Some(moved);
            state.refetch()
        }
        KeyCode::Tab | KeyCode::BackTab
            if !state.dashboard.rows.is_empty() && !state.fullscreen =>
        {
            let back = key.code == KeyCode::BackTab || key.modifiers.contains(KeyModifiers::SHIFT);
            state.move_focus_rows(back);
            state.after_scroll()
        }
        KeyCode::PageDown | KeyCode::PageUp
            if !state.dashboard.rows.is_empty() && !state.fullscreen =>
        {
            // To the next (previous) row's title bar.
            let rows = state.dashboard.rows.len();
            let current = state.row_focus.or_else(|| {
                state
                    .dashboard
                    .rows
                    .iter()
                    .position(|r| r.panels.contains(&state.focus))
            });
            let next = match (current, key.code == KeyCode::PageDown) {
                (None, true) => 0,
                (None, false) => rows - 1,
                (Some(r), true) => (r + 1).min(rows - 1),
                (Some(r), false) => r.saturating_sub(1),
            };
            state.row_focus = Some(next);
            state.after_scroll()
        }
        KeyCode::Enter if state.row_focus.is_some() && !state.fullscreen => {
            let r = state.row_focus.unwrap_or_default();
            state.toggle_row(r)
        }
        KeyCode::Char('z') if !state.dashboard.rows.is_empty() && !state.fullscreen => {
            // Fold the row the focus is in (or unfold the focused title bar's).
            let r = state.row_focus.or_else(|| {
                state
                    .dashboard
                    .rows
                    .iter()
                    .position(|r| r.panels.contains(&state.focus))
            });
            match r {
                Some(r) => state.toggle_row(r),
                None => Vec::new(),
            }
        }
        KeyCode::Tab | KeyCode::BackTab => {
            let n = state.panels.len();
            if n > 0 {
                let back =
                    key.code == KeyCode::BackTab || key.modifiers.contains(KeyModifiers::SHIFT);
                state.focus = if back {
                    (state.focus + n - 1) % n
                } else {
                    (state.focus + 1) % n
                };
                if state.fullscreen {
                    state.relayout();
                    return state.refetch();
                }
            }
            Vec::new()
        }
        KeyCode::Enter if !state.panels.is_empty() => {
            if state.fullscreen {
                return Vec::new();
            }
            state.fullscreen = true;
            state.relayout();
            state.refetch()
        }
        KeyCode::Char('e') if !state.panels.is_empty() => {
            vec![Effect::Export(crate::export::Target::Panel(state.focus))]
        }
        KeyCode::Char('E') => vec![Effect::Export(crate::export::Target::Dashboard)],
        KeyCode::Char('f') if state.opts.demo => {
            state.fault = !state.fault;
            vec![Effect::SetFault(state.fault)]
        }
        _ => {
            state.dirty = false;
            Vec::new()
        }
    }
}

fn quit(state: &mut State) -> Vec<Effect> {
    state.quit = true;
    vec![Effect::Quit]
}

fn on_fetched(state: &mut State, f: Fetched) -> Vec<Effect> {
    let Some(slot) = state.slots.get_mut(&f.key) else {
        return Vec::new();
    };
    if slot.in_flight == Some(f.seq) {
        slot.in_flight = None;
    }
    if f.seq <= slot.applied {
        // An older answer arriving after a newer one: drop it.
        return Vec::new();
    }
    slot.applied = f.seq;
    slot.last_elapsed = f.elapsed;
    state.explore.record(&f, state.now);
    let Some(slot) = state.slots.get_mut(&f.key) else {
        return Vec::new();
    };
    slot.done = match (&f.result, f.window) {
        (Ok(_), Some(w)) if slot.issued_window == Some(w) => Some((w, slot.issued_at)),
        (Ok(_), _) => slot.done,
        (Err(_), _) => None,
    };
    // An instant query shared by a panel and an alert rule: while paused, the panel shows
    // the pinned end and the rule looks at now, so each takes only the answer for its time.
    let live = slot.issued_time.is_none();
    let for_panels = slot.issued_time == if state.paused { state.end } else { None };
    // Redraw only if something on screen changes (a paused dashboard evaluating its
    // alert rules should cost next to nothing).
    let before = visible_summary(state);
    let mut panels_changed = false;

    // Round bookkeeping.
    let unreachable = f
        .result
        .as_ref()
        .err()
        .is_some_and(QueryError::is_unreachable);
    let mut first_failure_in_round = false;
    if let Some(round) = state.round.as_mut() {
        round.outstanding.remove(&f.key);
        if unreachable && !round.failed {
            round.failed = true;
            first_failure_in_round = true;
        }
        if round.outstanding.is_empty() {
            let took = Duration::from_secs_f64((state.now - round.started).max(0.0));
            if !round.failed && !round.alerts_only {
                state.refreshed = Some(Refreshed {
                    at: state.now,
                    took,
                });
            }
            state.round = None;
        }
    }

    // Server status and retry.
    match &f.result {
        Err(e) if unreachable => {
            if !matches!(state.server, Server::Down { .. }) {
                state.server = Server::Down {
                    reason: down_reason(e),
                    since: state.now,
                };
                state.failures = 0;
            }
            if let Server::Down { reason, .. } = &mut state.server {
                *reason = down_reason(e);
            }
            // One backoff step per failed round: retry after 1s, 2s, 4s, … capped at the
            // refresh interval, ±20% when jittered.
            if first_failure_in_round {
                state.failures = state.failures.saturating_add(1);
                state.next_refresh_at = state.now + state.retry_delay();
            }
        }
        _ => {
            // Any answer, even a rejected query, means the server is there.
            let recovered = matches!(state.server, Server::Down { .. });
            state.server = Server::Up;
            state.failures = 0;
            if recovered {
                // Come back with fresh data for everything.
                state.next_refresh_at = state.now;
            }
        }
    }

    // Panels.
    let rects = state.panel_rects();
    let widest = state.range_dots_of(f.key.expr(), &rects);
    for (i, rect) in rects.into_iter().enumerate() {
        let kind = state.dashboard.panels[i].kind;
        let n = state.dashboard.panels[i].queries.len();
        for qi in 0..n {
            let expr = state.dashboard.panels[i].queries[qi].expr.as_str();
            if f.key.expr() != expr {
                continue;
            }
            match &f.key {
                FetchKey::Instant { .. } if wants_instant(kind) && for_panels => {
                    panels_changed = true;
                    let panel = &state.dashboard.panels[i];
                    match &f.result {
                        Ok(r) => match admit(
                            &mut state.held,
                            state.memory_budget,
                            (i, qi, false),
                            r.approx_bytes() as u64 * HELD_COPIES,
                        ) {
                            Ok(()) => state.panels[i].apply_instant(panel, qi, r),
                            Err(message) => state.panels[i].set_error(
                                qi,
                                false,
                                PanelError {
                                    message,
                                    unreachable: false,
                                },
                            ),
                        },
                        Err(e) => state.panels[i].set_error(
                            qi,
                            false,
                            PanelError {
                                message: e.to_string(),
                                unreachable: e.is_unreachable(),
                            },
                        ),
                    }
                }
                // A graph's newest partial step; its errors are the range query's to show.
                FetchKey::Instant { .. } if wants_tail(kind) && for_panels => {
                    if let Ok(r) = &f.result {
                        panels_changed = true;
                        let (dots, rows) = state.plot_size(i, rect);
                        let panel = &state.dashboard.panels[i];
                        state.panels[i].apply_tail(panel, qi, r, dots, rows);
                    }
                }
                FetchKey::Range { .. } if panel_wants_range(&state.dashboard.panels[i]) => {
                    let (dots, rows) = state.plot_size(i, rect);
                    let q = &state.dashboard.panels[i].queries[qi];
                    let (needed, _) = state.query_range_key(q, widest.unwrap_or(dots));
                    if needed != f.key {
                        continue;
                    }
                    panels_changed = true;
                    let panel = &state.dashboard.panels[i];
                    match (&f.result, f.window) {
                        (Ok(r), Some(window)) => match admit(
                            &mut state.held,
                            state.memory_budget,
                            (i, qi, true),
                            r.approx_bytes() as u64 * HELD_COPIES,
                        ) {
                            Ok(()) => state.panels[i].apply_range(
                                panel,
                                qi,
                                window,
                                r.clone(),
                                dots,
                                rows,
                            ),
                            Err(message) => state.panels[i].set_error(
                                qi,
                                true,
                                PanelError {
                                    message,
                                    unreachable: false,
                                },
                            ),
                        },
                        (Ok(_), None) => {}
                        (Err(e), _) => state.panels[i].set_error(
                            qi,
                            true,
                            PanelError {
                                message: e.to_string(),
                                unreachable: e.is_unreachable(),
                            },
                        ),
                    }
                }
                _ => {}
            }
        }
    }

    // A query typed at the prompt: close it on data, or show its error.
    crate::explore::after_fetched(state);

    // Alerts.
    let mut effects = Vec::new();
    if matches!(f.key, FetchKey::Instant { .. }) && live {
        let rules: Vec<String> = state
            .dashboard
            .alerts
            .iter()
            .filter(|r| r.expr == f.key.expr())
            .map(|r| r.name.clone())
            .collect();
        for rule in rules {
            let transitions = state.alerts.evaluate(&rule, f.result.as_ref(), state.now);
            state.explore.push_transitions(&transitions);
            let loud = transitions.iter().any(|t| {
                t.to == AlertState::Firing
                    && !state.explore.is_silenced(&t.rule, &t.labels, state.now)
            });
            if loud && state.opts.bell {
                effects.push(Effect::Bell);
            }
        }
    }
    effects.dedup();
    if panels_changed || visible_summary(state) != before {
        state.dirty = true;
    }
    effects
}

/// What `on_fetched` can change on screen outside the panels: server status, last
/// refresh, and the alert instances shown in the banner.
fn visible_summary(state: &State) -> (Server, Option<Refreshed>, Vec<(AlertState, u64, bool)>) {
    let alerts = state
        .alerts
        .instances()
        .map(|i| (i.state, i.value.to_bits(), i.stale))
        .collect();
    (state.server.clone(), state.refreshed, alerts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zoom_steps_and_bounds() {
        let m = |s| Duration::from_secs(s);
        assert_eq!(zoom(m(900), true), m(300));
        assert_eq!(zoom(m(300), true), m(300));
        assert_eq!(zoom(m(900), false), m(3600));
        assert_eq!(zoom(m(7 * 86400), false), m(7 * 86400));
        assert_eq!(
            zoom(m(600), true),
            m(300),
            "an off-list range snaps to the next level"
        );
        assert_eq!(zoom(m(600), false), m(900));
        assert_eq!(
            zoom(m(60), true),
            m(60),
            "below the list: zoom in keeps the range"
        );
        assert_eq!(zoom(m(60), false), m(300));
    }

    #[test]
    fn retries_back_off_with_jitter_once_seeded() {
        let opts = Options::for_url("");
        let mut state = State::new(promdash_queries::dashboard::default_dashboard(), opts);
        let delays = |state: &mut State| -> Vec<f64> {
            (1..=6)
                .map(|n| {
                    state.failures = n;
                    state.retry_delay()
                })
                .collect()
        };
        assert_eq!(
            delays(&mut state),
            [1.0, 2.0, 4.0, 5.0, 5.0, 5.0],
            "exact unseeded"
        );
        let mut seen = Vec::new();
        for seed in [1, 2, 0xdead_beef] {
            let mut a = state.clone();
            a.seed_jitter(seed);
            let mut b = state.clone();
            b.seed_jitter(seed);
            let got = delays(&mut a);
            assert_eq!(got, delays(&mut b), "the same seed, the same delays");
            for (d, base) in got.iter().zip([1.0, 2.0, 4.0, 5.0, 5.0, 5.0]) {
                assert!(*d >= 0.8 * base && *d < 1.2 * base, "{d} for {base}");
            }
            seen.push(got);
        }
        assert!(seen[0] != seen[1] && seen[1] != seen[2], "{seen:?}");
    }
}
