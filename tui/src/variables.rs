//! Dashboard variables (`[[variables]]`, used as `$name` / `${name}` in panel queries),
//! the picker (`V`) and the built-in `$__interval`, `$__rate_interval` and `$__range`.
//!
//! The dashboard's panel expressions are kept here as templates; before each round the
//! panels' `expr`s are rewritten from them ([`apply`]), so the rest of the dashboard only
//! ever sees plain PromQL. A changed variable re-runs exactly the panels whose expression
//! changed.

use std::time::Duration;

use promdash_queries::dashboard::{Dashboard, Variable, VariableSource};
use promdash_queries::error::QueryError;
use promdash_queries::step::range_step;
use ratatui::crossterm::event::{KeyCode, KeyEvent};

use crate::app::{Effect, State};
use crate::explore::ExploreRequest;

/// The value of the "All" entry in the picker.
pub const ALL: &str = "All";

/// One variable's choices and current selection.
#[derive(Debug, Clone, PartialEq)]
pub struct VarState {
    pub def: Variable,
    /// None until loaded (label values) or from the file (fixed values).
    pub options: Option<Vec<String>>,
    /// Chosen values; `["All"]` for all. Empty: the first option once known.
    pub selected: Vec<String>,
    pub loading: bool,
    pub error: Option<String>,
}

/// The open picker.
#[derive(Debug, Clone, PartialEq)]
pub struct Picker {
    /// Which variable.
    pub var: usize,
    /// Highlighted row among the variable's rows ("All" first when offered).
    pub row: usize,
    /// Values ticked so far (multi) or chosen.
    pub chosen: Vec<String>,
}

/// The dashboard's variables and the panels' expression templates.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Variables {
    pub vars: Vec<VarState>,
    /// Per dashboard panel, per query: the expression as written in the file.
    pub templates: Vec<Vec<String>>,
    pub scrape_interval: Duration,
    pub picker: Option<Picker>,
}

impl Variables {
    pub fn new(dashboard: &Dashboard) -> Self {
        Self {
            vars: dashboard
                .variables
                .iter()
                .map(|v| VarState {
                    options: match &v.source {
                        VariableSource::Values(vals) => Some(vals.clone()),
                        VariableSource::LabelValues { .. } => None,
                    },
                    def: v.clone(),
                    selected: Vec::new(),
                    loading: false,
                    error: None,
                })
                .collect(),
            templates: dashboard
                .panels
                .iter()
                .map(|p| p.queries.iter().map(|q| q.expr.clone()).collect())
                .collect(),
            scrape_interval: dashboard.scrape_interval,
            picker: None,
        }
    }

    /// Presets from `--var name=value` (a comma list for several values of a multi
    /// variable). An unknown name is an error.
    pub fn preset(&mut self, pairs: &[(String, String)]) -> Result<(), String> {
        for (name, value) in pairs {
            let Some(v) = self.vars.iter_mut().find(|v| &v.def.name == name) else {
                let known: Vec<&str> = self.vars.iter().map(|v| v.def.name.as_str()).collect();
                return Err(format!(
                    "--var {name}: the dashboard has no variable {name:?} (it has: {})",
                    if known.is_empty() {
                        "none".to_owned()
                    } else {
                        known.join(", ")
                    }
                ));
            };
            v.selected = if v.def.multi {
                value.split(',').map(str::to_owned).collect()
            } else {
                vec![value.clone()]
            };
        }
        Ok(())
    }

    /// Requests for label-value variables not loaded yet.
    pub fn requests(&mut self) -> Vec<Effect> {
        let mut out = Vec::new();
        for (i, v) in self.vars.iter_mut().enumerate() {
            if v.options.is_none()
                && !v.loading
                && let VariableSource::LabelValues { label, matcher } = &v.def.source
            {
                v.loading = true;
                out.push(Effect::Explore(ExploreRequest::VarValues {
                    var: i,
                    label: label.clone(),
                    matcher: matcher.clone(),
                }));
            }
        }
        out
    }

    /// What `$name` becomes.
    pub fn value(&self, v: &VarState) -> String {
        let opts = v.options.as_deref().unwrap_or(&[]);
        let chosen: Vec<&str> = if v.selected.iter().any(|s| s == ALL) {
            if opts.is_empty() {
                return ".*".to_owned();
            }
            opts.iter().map(String::as_str).collect()
        } else if v.selected.is_empty() {
            match opts.first() {
                Some(first) => vec![first.as_str()],
                None => return String::new(),
            }
        } else {
            v.selected.iter().map(String::as_str).collect()
        };
        if chosen.len() == 1 {
            return chosen[0].to_owned();
        }
        // Several values: a regex alternation, each value escaped (as Grafana does).
        let parts: Vec<String> = chosen.iter().map(|s| regex_escape(s)).collect();
        format!("({})", parts.join("|"))
    }
}

/// Escapes regex metacharacters in a label value.
pub fn regex_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A duration the way PromQL writes it: `15s`, `1m`, `1m30s`, `250ms`.
pub fn promql_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms == 0 {
        return "0s".to_owned();
    }
    if !ms.is_multiple_of(1000) {
        return format!("{ms}ms");
    }
    let mut s = (ms / 1000) as u64;
    let mut out = String::new();
    for (unit, len) in [("d", 86_400), ("h", 3600), ("m", 60), ("s", 1)] {
        if s >= len {
            out.push_str(&format!("{}{unit}", s / len));
            s %= len;
        }
    }
    out
}

/// `$__rate_interval` as Grafana computes it: max($__interval + scrape, 4 × scrape).
pub fn rate_interval(interval: Duration, scrape: Duration) -> Duration {
    (interval + scrape).max(scrape * 4)
}

/// Replaces `$name` and `${name}` with `lookup(name)`; unknown names are left as written.
pub fn substitute(template: &str, lookup: &dyn Fn(&str) -> Option<String>) -> String {
    if !template.contains('$') {
        return template.to_owned();
    }
    let mut out = String::with_capacity(template.len() + 16);
    let mut rest = template;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let (name, len) = if let Some(inner) = after.strip_prefix('{') {
            match inner.find('}') {
                Some(end) => (&inner[..end], end + 2),
                None => ("", 0),
            }
        } else {
            let end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            (&after[..end], end)
        };
        match (!name.is_empty()).then(|| lookup(name)).flatten() {
            Some(v) => {
                out.push_str(&v);
                rest = &after[len..];
            }
            None => {
                out.push('$');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Rewrites every dashboard panel's expressions from their templates with the current
/// variables and intervals. Returns the panels whose expressions changed.
pub fn apply(state: &mut State) -> Vec<usize> {
    let mut changed = Vec::new();
    // The layout only when some panel has a variable (most dashboards have none).
    let mut rects = None;
    let n = state.vars.templates.len().min(state.dashboard.panels.len());
    for i in 0..n {
        if state.vars.templates[i].iter().all(|t| !t.contains('$')) {
            continue;
        }
        let rect = rects
            .get_or_insert_with(|| state.panel_rects())
            .get(i)
            .copied()
            .flatten();
        let (dots, _) = state.plot_size(i, rect);
        let cells = u16::try_from((dots / 2).max(1)).unwrap_or(u16::MAX);
        let window = range_step(state.range, cells, state.window_end());
        let interval = promql_duration(window.step);
        let rate = promql_duration(rate_interval(window.step, state.vars.scrape_interval));
        let range = promql_duration(Duration::from_secs(state.range.as_secs().max(1)));
        let vars = &state.vars;
        let lookup = |name: &str| -> Option<String> {
            match name {
                "__interval" => Some(interval.clone()),
                "__rate_interval" => Some(rate.clone()),
                "__range" => Some(range.clone()),
                _ => vars
                    .vars
                    .iter()
                    .find(|v| v.def.name == name)
                    .map(|v| vars.value(v)),
            }
        };
        let exprs: Vec<String> = vars.templates[i]
            .iter()
            .map(|t| substitute(t, &lookup))
            .collect();
        let panel = &mut state.dashboard.panels[i];
        let mut any = false;
        for (q, e) in panel.queries.iter_mut().zip(exprs) {
            if q.expr != e {
                q.expr = e;
                any = true;
            }
        }
        if any {
            changed.push(i);
        }
    }
    changed
}

/// After a variable changed: rewrite the expressions and fetch exactly the panels whose
/// expressions changed.
pub fn changed(state: &mut State) -> Vec<Effect> {
    let panels = apply(state);
    for &i in &panels {
        // Their old data answered another question.
        state.panels[i] = crate::panel::PanelState::new(&state.dashboard.panels[i]);
    }
    state.fetch_panels(&panels)
}

/// Label values for variable `var` arrived.
pub fn on_values(
    state: &mut State,
    var: usize,
    result: Result<Vec<String>, QueryError>,
) -> Vec<Effect> {
    let Some(v) = state.vars.vars.get_mut(var) else {
        return Vec::new();
    };
    v.loading = false;
    match result {
        Ok(mut values) => {
            values.sort();
            values.dedup();
            v.options = Some(values);
            v.error = None;
            changed(state)
        }
        Err(e) => {
            v.error = Some(e.to_string());
            Vec::new()
        }
    }
}

/// The rows the picker lists for variable `v`: "All" first when offered.
pub fn rows(v: &VarState) -> Vec<String> {
    let mut out = Vec::new();
    if v.def.all {
        out.push(ALL.to_owned());
    }
    out.extend(v.options.iter().flatten().cloned());
    out
}

/// Opens the picker on the first variable.
pub fn open(state: &mut State) {
    if state.vars.vars.is_empty() {
        return;
    }
    state.vars.picker = Some(picker_for(state, 0));
}

fn picker_for(state: &State, var: usize) -> Picker {
    let v = &state.vars.vars[var];
    let chosen = if v.selected.is_empty() {
        v.options
            .as_ref()
            .and_then(|o| o.first().cloned())
            .into_iter()
            .collect()
    } else {
        v.selected.clone()
    };
    Picker {
        var,
        row: 0,
        chosen,
    }
}

/// Keys while the picker is open: ↑/↓ move, Space ticks (multi) or picks, Enter applies,
/// ←/→/Tab switch variable, Esc closes without change.
pub fn picker_key(state: &mut State, key: KeyEvent) -> Vec<Effect> {
    let Some(p) = state.vars.picker.clone() else {
        return Vec::new();
    };
    let v = &state.vars.vars[p.var];
    let rows = rows(v);
    let multi = v.def.multi;
    let mut p = p;
    match key.code {
        KeyCode::Esc | KeyCode::Char('V') => {
            state.vars.picker = None;
            return Vec::new();
        }
        KeyCode::Up | KeyCode::Char('k') => p.row = p.row.saturating_sub(1),
        KeyCode::Down | KeyCode::Char('j') => p.row = (p.row + 1).min(rows.len().saturating_sub(1)),
        KeyCode::Left | KeyCode::Right | KeyCode::Tab | KeyCode::BackTab => {
            let n = state.vars.vars.len();
            let next = if matches!(key.code, KeyCode::Left | KeyCode::BackTab) {
                (p.var + n - 1) % n
            } else {
                (p.var + 1) % n
            };
            state.vars.picker = Some(picker_for(state, next));
            return Vec::new();
        }
        KeyCode::Char(' ') => {
            if let Some(value) = rows.get(p.row) {
                toggle(&mut p.chosen, value, multi);
            }
        }
        KeyCode::Enter => {
            // Enter on a row of a single-value variable picks it.
            if !multi && let Some(value) = rows.get(p.row) {
                p.chosen = vec![value.clone()];
            }
            if p.chosen.is_empty() {
                state.vars.picker = Some(p);
                return Vec::new();
            }
            let var = p.var;
            state.vars.picker = None;
            if state.vars.vars[var].selected == p.chosen {
                return Vec::new();
            }
            state.vars.vars[var].selected = p.chosen;
            return changed(state);
        }
        _ => {}
    }
    state.vars.picker = Some(p);
    Vec::new()
}

fn toggle(chosen: &mut Vec<String>, value: &str, multi: bool) {
    if !multi || value == ALL {
        *chosen = vec![value.to_owned()];
        return;
    }
    chosen.retain(|c| c != ALL);
    if let Some(i) = chosen.iter().position(|c| c == value) {
        chosen.remove(i);
    } else {
        chosen.push(value.to_owned());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn substitution() {
        let lookup = |n: &str| match n {
            "route" => Some("/process".to_owned()),
            "__rate_interval" => Some("1m".to_owned()),
            _ => None,
        };
        assert_eq!(
            substitute(r#"x{route="$route"}[$__rate_interval]"#, &lookup),
            r#"x{route="/process"}[1m]"#
        );
        assert_eq!(
            substitute("${route}_y $routes $", &lookup),
            "/process_y $routes $"
        );
        assert_eq!(substitute("no vars", &lookup), "no vars");
    }

    #[test]
    fn durations_and_rate_interval() {
        assert_eq!(promql_duration(Duration::from_secs(15)), "15s");
        assert_eq!(promql_duration(Duration::from_secs(90)), "1m30s");
        assert_eq!(promql_duration(Duration::from_secs(3600)), "1h");
        assert_eq!(promql_duration(Duration::from_millis(250)), "250ms");
        let s = |n| Duration::from_secs(n);
        // Short steps: 4 scrapes; long steps: the step plus one scrape.
        assert_eq!(rate_interval(s(5), s(15)), s(60));
        assert_eq!(rate_interval(s(60), s(15)), s(75));
    }

    #[test]
    fn multi_values_are_an_escaped_alternation() {
        let v = VarState {
            def: Variable {
                name: "route".into(),
                source: VariableSource::Values(vec!["/a".into(), "/b.c".into()]),
                multi: true,
                all: true,
            },
            options: Some(vec!["/a".into(), "/b.c".into()]),
            selected: vec!["/a".into(), "/b.c".into()],
            loading: false,
            error: None,
        };
        let vars = Variables::default();
        assert_eq!(vars.value(&v), r"(/a|/b\.c)");
        let all = VarState {
            selected: vec![ALL.into()],
            ..v.clone()
        };
        assert_eq!(vars.value(&all), r"(/a|/b\.c)");
        let first = VarState {
            selected: Vec::new(),
            ..v
        };
        assert_eq!(vars.value(&first), "/a");
    }
}
