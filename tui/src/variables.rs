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
    /// Per alert rule: its expression as written in the file.
    pub alert_templates: Vec<String>,
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
                    selected: initial_selection(v),
                    loading: false,
                    error: None,
                })
                .collect(),
            templates: dashboard
                .panels
                .iter()
                .map(|p| p.queries.iter().map(|q| q.expr.clone()).collect())
                .collect(),
            alert_templates: dashboard.alerts.iter().map(|a| a.expr.clone()).collect(),
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

    /// What `$name` stands for: the chosen values.
    pub fn binding(&self, v: &VarState) -> Binding {
        let opts = v.options.as_deref().unwrap_or(&[]);
        if v.selected.iter().any(|s| s == ALL) {
            if opts.is_empty() {
                return Binding::Any;
            }
            return Binding::Values(opts.to_vec());
        }
        if v.selected.is_empty() {
            return Binding::Values(opts.first().cloned().into_iter().collect());
        }
        Binding::Values(v.selected.clone())
    }

    /// What `$name` becomes where it stands alone or in an exact-match string: the value,
    /// or for several values an escaped regex alternation.
    pub fn value(&self, v: &VarState) -> String {
        self.binding(v).render(Context::Regex { quote: '`' })
    }

    /// The variable named `name` whose query came back empty (it has nothing to choose).
    pub fn empty(&self, name: &str) -> Option<&VarState> {
        self.vars
            .iter()
            .find(|v| v.def.name == name && v.options.as_ref().is_some_and(Vec::is_empty))
    }

    /// Why panel `panel`'s queries cannot return anything: a variable they use has no
    /// values. `None` when nothing is known to be wrong.
    pub fn empty_reason(&self, panel: usize) -> Option<String> {
        let templates = self.templates.get(panel)?;
        templates.iter().find_map(|t| {
            references(t)
                .into_iter()
                .find_map(|r| self.empty(&t[r.name.clone()]))
                .map(|v| format!("${} has no values", v.def.name))
        })
    }

    /// A panel title with `$name` / `${name}` replaced by the variables' current values
    /// (several joined by `+`, All as `All`).
    pub fn title(&self, title: &str) -> String {
        if !title.contains('$') {
            return title.to_owned();
        }
        let mut out = String::with_capacity(title.len());
        let mut last = 0;
        for r in references(title) {
            let name = &title[r.name.clone()];
            let Some(v) = self.vars.iter().find(|v| v.def.name == name) else {
                continue;
            };
            out.push_str(&title[last..r.span.start]);
            out.push_str(&self.shown(v));
            last = r.span.end;
        }
        out.push_str(&title[last..]);
        out
    }

    /// A variable's current value(s) as the variable bar shows them.
    pub fn shown(&self, v: &VarState) -> String {
        if v.selected.iter().any(|s| s == ALL) {
            return ALL.to_owned();
        }
        match self.binding(v) {
            Binding::Values(vals) if vals.is_empty() => "–".to_owned(),
            Binding::Values(vals) => vals.join("+"),
            Binding::Any | Binding::Text(_) => ALL.to_owned(),
        }
    }
}

/// The selection a variable starts with: the file's `default`, else All for a `multi`
/// or `all` variable, else (empty) the first value once known.
fn initial_selection(v: &Variable) -> Vec<String> {
    if !v.default.is_empty() {
        v.default.clone()
    } else if v.multi || v.all {
        vec![ALL.to_owned()]
    } else {
        Vec::new()
    }
}

/// What a `$name` reference is bound to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Binding {
    /// Text put in as it is (`$__interval`, `$__rate_interval`, `$__range`).
    Text(String),
    /// Label values: one, several, or none.
    Values(Vec<String>),
    /// Any value (All, before the values are known): `.*` in a regex.
    Any,
}

/// Where a `$name` reference stands in a PromQL expression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    /// Outside any string: a duration, a number, part of a name.
    Bare,
    /// Inside a string compared with `=` or `!=`, quoted with `quote` (`"`, `'` or a
    /// backtick for a raw string).
    Exact { quote: char },
    /// Inside a string matched with `=~` or `!~`, quoted with `quote`.
    Regex { quote: char },
}

impl Binding {
    /// The text that replaces the reference in `context`. In a regex each value is
    /// regex-escaped (an IP's `.` matches only a dot), several values become `(a|b)`;
    /// inside a quoted string the result is escaped again for the string, as PromQL reads
    /// `"\\."` as the two characters `\.`.
    pub fn render(&self, context: Context) -> String {
        let text = match (self, context) {
            (Self::Text(t), _) => return t.clone(),
            (Self::Any, Context::Bare) => return String::new(),
            (Self::Any, _) => ".*".to_owned(),
            (Self::Values(v), Context::Bare) => return v.join("|"),
            (Self::Values(v), Context::Exact { .. }) if v.len() <= 1 => {
                v.first().cloned().unwrap_or_default()
            }
            (Self::Values(v), _) if v.len() == 1 => regex_escape(&v[0]),
            (Self::Values(v), _) => {
                let parts: Vec<String> = v.iter().map(|s| regex_escape(s)).collect();
                format!("({})", parts.join("|"))
            }
        };
        match context {
            Context::Exact { quote } | Context::Regex { quote } if quote != '`' => {
                string_escape(&text, quote)
            }
            _ => text,
        }
    }
}

/// Escapes `\` and the quote for a PromQL string literal quoted with `quote` (PromQL,
/// like Go, knows no other escaped quote).
fn string_escape(s: &str, quote: char) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c == '\\' || c == quote {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// One `$name` or `${name}` in an expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// Byte range of the whole reference (`$` and braces included).
    pub span: std::ops::Range<usize>,
    /// Byte range of the name.
    pub name: std::ops::Range<usize>,
    pub context: Context,
}

/// Every `$name` / `${name}` reference in `expr`, with where it stands. A `$` followed by
/// neither a name nor `{name}` is no reference.
pub fn references(expr: &str) -> Vec<Reference> {
    let bytes = expr.as_bytes();
    let mut out = Vec::new();
    // The string being read: its quote and its context.
    let mut string: Option<(u8, Context)> = None;
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        match string {
            Some((q, _)) if c == b'\\' && q != b'`' => {
                i += 2;
                continue;
            }
            Some((q, _)) if c == q => {
                string = None;
                i += 1;
                continue;
            }
            None if matches!(c, b'"' | b'\'' | b'`') => {
                let before = expr[..i].trim_end();
                let regex = before.ends_with("=~") || before.ends_with("!~");
                let quote = char::from(c);
                let context = if regex {
                    Context::Regex { quote }
                } else {
                    Context::Exact { quote }
                };
                string = Some((c, context));
                i += 1;
                continue;
            }
            None if c == b'#' => {
                // A comment runs to the end of the line.
                i = expr[i..].find('\n').map_or(bytes.len(), |n| i + n);
                continue;
            }
            _ => {}
        }
        if c == b'$' {
            let context = string.map_or(Context::Bare, |(_, ctx)| ctx);
            let after = i + 1;
            let (name, end) = if bytes.get(after) == Some(&b'{') {
                match expr[after + 1..].find('}') {
                    Some(n) => (after + 1..after + 1 + n, after + 2 + n),
                    None => (after..after, after),
                }
            } else {
                let n = expr[after..]
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(expr.len() - after);
                (after..after + n, after + n)
            };
            let valid = !name.is_empty()
                && expr[name.clone()]
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
            if valid {
                out.push(Reference {
                    span: i..end,
                    name,
                    context,
                });
                i = end;
                continue;
            }
        }
        i += 1;
    }
    out
}

/// One replacement made by [`expand`]: `from` in the template became `to` in the result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    pub from: std::ops::Range<usize>,
    pub to: std::ops::Range<usize>,
}

/// Replaces each reference whose name `lookup` knows; unknown names stay as written.
/// Returns the result and the replacements made (to map positions back).
pub fn expand(template: &str, lookup: &dyn Fn(&str) -> Option<Binding>) -> (String, Vec<Edit>) {
    let mut out = String::with_capacity(template.len() + 16);
    let mut edits = Vec::new();
    let mut last = 0;
    for r in references(template) {
        let Some(binding) = lookup(&template[r.name.clone()]) else {
            continue;
        };
        out.push_str(&template[last..r.span.start]);
        let start = out.len();
        out.push_str(&binding.render(r.context));
        edits.push(Edit {
            from: r.span.clone(),
            to: start..out.len(),
        });
        last = r.span.end;
    }
    out.push_str(&template[last..]);
    (out, edits)
}

/// The position in the template of byte `at` of [`expand`]'s result.
pub fn position_in_template(edits: &[Edit], at: usize) -> usize {
    let mut shift: isize = 0;
    for e in edits {
        if at < e.to.start {
            break;
        }
        if at < e.to.end {
            return e.from.start;
        }
        shift = e.from.end as isize - e.to.end as isize;
    }
    (at as isize + shift).max(0) as usize
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

/// Replaces `$name` and `${name}` with `lookup(name)` put in as it is; unknown names
/// are left as written.
pub fn substitute(template: &str, lookup: &dyn Fn(&str) -> Option<String>) -> String {
    if !template.contains('$') {
        return template.to_owned();
    }
    expand(template, &|name| lookup(name).map(Binding::Text)).0
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
        let lookup = |name: &str| -> Option<Binding> {
            match name {
                "__interval" => Some(Binding::Text(interval.clone())),
                "__rate_interval" => Some(Binding::Text(rate.clone())),
                "__range" => Some(Binding::Text(range.clone())),
                _ => vars
                    .vars
                    .iter()
                    .find(|v| v.def.name == name)
                    .map(|v| vars.binding(v)),
            }
        };
        let exprs: Vec<String> = vars.templates[i]
            .iter()
            .map(|t| expand(t, &lookup).0)
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
    apply_alerts(state);
    changed
}

/// Rewrites the alert rules' expressions from their templates. Alerts have no plot:
/// `$__interval` is the scrape interval and `$__rate_interval` four of them.
fn apply_alerts(state: &mut State) {
    let vars = &state.vars;
    if vars.alert_templates.iter().all(|t| !t.contains('$')) {
        return;
    }
    let scrape = vars.scrape_interval;
    let range = promql_duration(Duration::from_secs(state.range.as_secs().max(1)));
    let lookup = |name: &str| -> Option<Binding> {
        match name {
            "__interval" => Some(Binding::Text(promql_duration(scrape))),
            "__rate_interval" => Some(Binding::Text(promql_duration(rate_interval(
                scrape, scrape,
            )))),
            "__range" => Some(Binding::Text(range.clone())),
            _ => vars
                .vars
                .iter()
                .find(|v| v.def.name == name)
                .map(|v| vars.binding(v)),
        }
    };
    let exprs: Vec<String> = vars
        .alert_templates
        .iter()
        .map(|t| expand(t, &lookup).0)
        .collect();
    for (rule, expr) in state.dashboard.alerts.iter_mut().zip(exprs) {
        rule.expr = expr;
    }
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
                default: Vec::new(),
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

    fn var(name: &str, values: &[&str], multi: bool, all: bool, default: &[&str]) -> Variable {
        Variable {
            name: name.into(),
            source: VariableSource::Values(values.iter().map(|v| (*v).to_owned()).collect()),
            multi,
            all,
            default: default.iter().map(|v| (*v).to_owned()).collect(),
        }
    }

    fn vars_of(defs: Vec<Variable>) -> Variables {
        let d = Dashboard {
            variables: defs,
            ..promdash_queries::parse_dashboard("", "t.toml").expect("empty dashboard")
        };
        Variables::new(&d)
    }

    fn expand_with(vars: &Variables, template: &str) -> String {
        expand(template, &|name| {
            vars.vars
                .iter()
                .find(|v| v.def.name == name)
                .map(|v| vars.binding(v))
        })
        .0
    }

    #[test]
    fn values_are_escaped_for_the_place_they_go() {
        let vars = vars_of(vec![var(
            "instance",
            &["10.0.0.1:9100", "10.0.0.2:9100"],
            true,
            true,
            &[],
        )]);
        // All values, regex-escaped, then escaped for the double-quoted string.
        assert_eq!(
            expand_with(&vars, r#"up{instance=~"$instance"}"#),
            r#"up{instance=~"(10\\.0\\.0\\.1:9100|10\\.0\\.0\\.2:9100)"}"#
        );
        // A raw string takes the regex as it is.
        assert_eq!(
            expand_with(&vars, "up{instance=~`$instance`}"),
            r"up{instance=~`(10\.0\.0\.1:9100|10\.0\.0\.2:9100)`}"
        );
        let one = vars_of(vec![var("instance", &["10.0.0.1:9100"], false, false, &[])]);
        // One value into =~ is escaped too; into = it is the value.
        assert_eq!(
            expand_with(&one, r#"up{instance=~"$instance", a="$instance"}"#),
            r#"up{instance=~"10\\.0\\.0\\.1:9100", a="10.0.0.1:9100"}"#
        );
        // A quote in a value cannot end the string.
        let quoted = vars_of(vec![var("v", &[r#"a"b\c"#], false, false, &[])]);
        assert_eq!(expand_with(&quoted, r#"x{l="$v"}"#), r#"x{l="a\"b\\c"}"#);
        assert_eq!(expand_with(&quoted, "x{l='$v'}"), r#"x{l='a"b\\c'}"#);
    }

    #[test]
    fn references_know_strings_and_comments() {
        let e = r#"sum(rate(x{a=~"$one"}[$__rate_interval])) # $not_me"#;
        let refs = references(e);
        let names: Vec<&str> = refs.iter().map(|r| &e[r.name.clone()]).collect();
        assert_eq!(names, ["one", "__rate_interval"]);
        assert_eq!(refs[0].context, Context::Regex { quote: '"' });
        assert_eq!(refs[1].context, Context::Bare);
        // `$1` in label_replace is no reference.
        assert!(references(r#"label_replace(up, "a", "$1", "b", "(.*)")"#).is_empty());
        let (out, edits) = expand("ab$xyz cd", &|_| Some(Binding::Text("Q".into())));
        assert_eq!(out, "abQ cd");
        assert_eq!(position_in_template(&edits, 2), 2);
        assert_eq!(position_in_template(&edits, 4), 7);
    }

    #[test]
    fn multi_and_all_start_at_all_unless_a_default_says_otherwise() {
        let vars = vars_of(vec![
            var("m", &["a", "b"], true, false, &[]),
            var("all", &["a", "b"], false, true, &[]),
            var("one", &["a", "b"], false, false, &[]),
            var("def", &["a", "b"], true, true, &["b"]),
        ]);
        let shown: Vec<String> = vars.vars.iter().map(|v| vars.shown(v)).collect();
        assert_eq!(shown, ["All", "All", "a", "b"]);
        assert_eq!(vars.title("Latency on $def ($one)"), "Latency on b (a)");
        assert_eq!(vars.title("$unknown stays"), "$unknown stays");
    }

    #[test]
    fn a_variable_without_values_explains_empty_panels() {
        let mut vars = vars_of(vec![Variable {
            name: "job".into(),
            source: VariableSource::LabelValues {
                label: "job".into(),
                matcher: None,
            },
            multi: false,
            all: false,
            default: Vec::new(),
        }]);
        vars.templates = vec![vec![r#"up{job="$job"}"#.into()], vec!["up".into()]];
        assert_eq!(vars.empty_reason(0), None, "not loaded yet");
        vars.vars[0].options = Some(Vec::new());
        assert_eq!(vars.empty_reason(0).as_deref(), Some("$job has no values"));
        assert_eq!(vars.empty_reason(1), None);
    }
}
