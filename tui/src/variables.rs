//! Dashboard variables (`[[variables]]`, used as `$name` / `${name}` in panel queries),
//! the picker (`V`) and the built-in `$__interval`, `$__rate_interval` and `$__range`.
//!
//! The dashboard's panel expressions are kept here as templates; before each round the
//! panels' `expr`s are rewritten from them ([`apply`]), so the rest of the dashboard only
//! ever sees plain PromQL. A changed variable re-runs exactly the panels whose expression
//! changed.

use std::time::Duration;

use std::collections::HashMap;

use promdash_queries::dashboard::{Dashboard, Panel, PanelQuery, Variable, VariableSource};
use promdash_queries::error::QueryError;
use promdash_queries::grafana::repeat::{self, Origin, Repeat, Scope};
use promdash_queries::source::RangeWindow;
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
    /// The query last asked for (with the other variables filled in): asked again when
    /// a variable it uses changes (chained variables).
    pub requested: Option<String>,
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
    /// The scrape interval `$__rate_interval` is computed with: the dashboard file's
    /// (`scrape_interval`, 15 s unless set) until the server's configuration is read.
    pub scrape_interval: Duration,
    /// [`Variables::scrape_interval`] was set by `--scrape-interval-hint` or is the
    /// embedded engine's own: the server is not asked.
    pub scrape_fixed: bool,
    pub picker: Option<Picker>,
    /// Grafana's repeated panels and rows, when the dashboard has any.
    pub repeats: Option<Box<Repeats>>,
    /// Per panel: fingerprints of what its expressions were last made from (templates,
    /// variables, steps, scrape interval, range) and of the expressions made; [`apply`]
    /// skips a panel whose both are unchanged (a large dashboard's 280 templates are not
    /// parsed again every round).
    applied: Vec<(u64, u64)>,
}

/// A dashboard with repeated panels or rows: the dashboard as imported, and where each
/// panel and row shown now comes from. The copies are made again ([`make_repeats`]) when
/// the values of a variable they repeat by change.
#[derive(Debug, Clone, PartialEq)]
pub struct Repeats {
    /// The dashboard as imported (each repeated panel once, expressions as written).
    base: Dashboard,
    repeats: Vec<Repeat>,
    /// Per repeat: the values the copies shown were made for (`None`: not made yet).
    made_for: Option<Vec<Vec<String>>>,
    /// Per panel shown (before any panel the prompt added): where it comes from.
    pub origins: Vec<Origin>,
    /// Per row shown: the row as imported and the variable its copy fixes.
    pub row_origins: Vec<(usize, Scope)>,
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
                        _ => None,
                    },
                    def: v.clone(),
                    selected: initial_selection(v),
                    loading: false,
                    error: None,
                    requested: None,
                })
                .collect(),
            templates: dashboard
                .panels
                .iter()
                .map(|p| p.queries.iter().map(|q| q.expr.clone()).collect())
                .collect(),
            alert_templates: dashboard.alerts.iter().map(|a| a.expr.clone()).collect(),
            scrape_interval: dashboard.scrape_interval,
            scrape_fixed: false,
            picker: None,
            applied: Vec::new(),
            repeats: (!dashboard.repeats.is_empty()).then(|| {
                Box::new(Repeats {
                    base: dashboard.clone(),
                    repeats: dashboard.repeats.clone(),
                    made_for: None,
                    origins: (0..dashboard.panels.len())
                        .map(|panel| Origin {
                            panel,
                            scope: Vec::new(),
                            newline: false,
                        })
                        .collect(),
                    row_origins: (0..dashboard.rows.len()).map(|r| (r, Vec::new())).collect(),
                })
            }),
        }
    }

    /// A fingerprint of every variable's definition, values and selection (what
    /// `$name` can stand for).
    fn fingerprint(&self) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        for v in &self.vars {
            (&v.def.name, &v.selected, &v.options, &v.def.all_value).hash(&mut h);
            (v.def.multi, v.def.all, v.def.grafana, v.def.auto_interval).hash(&mut h);
        }
        h.finish()
    }

    /// Panel `i` starts a new line of the layout (a repeated panel's copies).
    pub fn newline(&self, i: usize) -> bool {
        self.repeats
            .as_ref()
            .and_then(|r| r.origins.get(i))
            .is_some_and(|o| o.newline)
    }

    /// The variables fixed in panel `i` (a copy of a repeated panel or row).
    pub fn scope(&self, i: usize) -> &[(String, String)] {
        self.repeats
            .as_ref()
            .and_then(|r| r.origins.get(i))
            .map_or(&[], |o| o.scope.as_slice())
    }

    /// The values a panel repeated by `name` is copied for: the selected ones, every
    /// value for "All" (never the custom all value), the first before anything is chosen;
    /// none before the values are known.
    pub fn repeat_values(&self, name: &str) -> Vec<String> {
        let Some(v) = self.vars.iter().find(|v| v.def.name == name) else {
            return Vec::new();
        };
        let opts = v.options.as_deref().unwrap_or(&[]);
        if v.selected.iter().any(|s| s == ALL) {
            opts.to_vec()
        } else if v.selected.is_empty() {
            opts.first().cloned().into_iter().collect()
        } else {
            v.selected.clone()
        }
    }

    /// What `$name` stands for in a copy that fixes it to `value` (Grafana's scopedVars):
    /// that one value, escaped as one selected value of the variable would be.
    pub fn scoped_binding(&self, name: &str, value: &str) -> Binding {
        match self.vars.iter().find(|v| v.def.name == name) {
            Some(v) if v.def.grafana && !v.def.multi && !v.def.all => {
                Binding::Single(value.to_owned())
            }
            _ => Binding::Values(vec![value.to_owned()]),
        }
    }

    /// Computes `$__rate_interval` with `interval` from now on, whatever the server's
    /// configuration says (`--scrape-interval-hint`, the embedded engine's interval).
    pub fn fix_scrape_interval(&mut self, interval: Duration) {
        self.scrape_interval = interval;
        self.scrape_fixed = true;
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

    /// Requests for query variables not loaded yet, and for those whose query uses a
    /// variable that changed since (a chain: `label_values(up{job="$job"}, instance)`
    /// is asked again when `$job` changes). A query waits for the variables it uses.
    pub fn requests(&mut self) -> Vec<Effect> {
        let mut out = Vec::new();
        for i in 0..self.vars.len() {
            let v = &self.vars[i];
            if v.loading {
                continue;
            }
            let template = match &v.def.source {
                VariableSource::Values(_) => continue,
                VariableSource::LabelValues { matcher, .. } => matcher.clone().unwrap_or_default(),
                VariableSource::QueryResult(e) => e.clone(),
                VariableSource::Metrics(_) => String::new(),
            };
            let waits = references(&template).iter().any(|r| {
                let name = &template[r.name.clone()];
                self.vars.iter().any(|o| {
                    o.def.name == name
                        && o.def.name != v.def.name
                        && (o.options.is_none() || o.loading)
                })
            });
            if waits {
                continue;
            }
            let expanded = expand(&template, &|name| {
                if name == v.def.name {
                    return None;
                }
                self.vars
                    .iter()
                    .find(|o| o.def.name == name)
                    .map(|o| self.binding(o))
            })
            .0;
            if v.options.is_some() && v.requested.as_deref() == Some(expanded.as_str()) {
                continue;
            }
            let request = match &v.def.source {
                VariableSource::LabelValues { label, matcher } => ExploreRequest::VarValues {
                    var: i,
                    label: label.clone(),
                    matcher: matcher.as_ref().map(|_| expanded.clone()),
                },
                VariableSource::QueryResult(_) => ExploreRequest::VarQuery {
                    var: i,
                    expr: expanded.clone(),
                },
                VariableSource::Metrics(_) => ExploreRequest::VarValues {
                    var: i,
                    label: "__name__".into(),
                    matcher: None,
                },
                VariableSource::Values(_) => continue,
            };
            let v = &mut self.vars[i];
            v.loading = true;
            v.requested = Some(expanded);
            out.push(Effect::Explore(request));
        }
        out
    }

    /// What `$name` stands for: the chosen values. "All" is the variable's `all_value`
    /// when it has one (put in as written, as Grafana does), else every value. The one
    /// value of a Grafana variable that is neither multi nor all goes in unescaped.
    pub fn binding(&self, v: &VarState) -> Binding {
        let opts = v.options.as_deref().unwrap_or(&[]);
        if v.selected.iter().any(|s| s == ALL) {
            if let Some(a) = &v.def.all_value {
                return Binding::AllValue(a.clone());
            }
            if opts.is_empty() {
                return Binding::Any;
            }
            return Binding::Values(opts.to_vec());
        }
        let values = if v.selected.is_empty() {
            opts.first().cloned().into_iter().collect()
        } else {
            v.selected.clone()
        };
        if v.def.grafana && !v.def.multi && !v.def.all && values.len() == 1 {
            return Binding::Single(values.into_iter().next().unwrap_or_default());
        }
        Binding::Values(values)
    }

    /// [`Variables::binding`] for a dashboard showing `range`: an `interval` variable's
    /// `auto` is the interval Grafana would choose for that range.
    pub fn binding_at(&self, v: &VarState, range: Duration) -> Binding {
        use promdash_queries::grafana::interval::{auto_interval, grafana_text};
        if let Some((count, min)) = v.def.auto_interval {
            let chosen = v
                .selected
                .first()
                .or(v.options.as_ref().and_then(|o| o.first()));
            if chosen.is_some_and(|c| c == promdash_queries::grafana::AUTO) {
                return Binding::Text(grafana_text(auto_interval(range, count, min)));
            }
        }
        self.binding(v)
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
            Binding::Single(v) => v,
            Binding::Any | Binding::Text(_) | Binding::AllValue(_) => ALL.to_owned(),
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
    /// Text put in as it is (`$__interval`, `$__rate_interval`, `$__range`, a custom
    /// "All" value).
    Text(String),
    /// Label values: one, several, or none.
    Values(Vec<String>),
    /// The one value of a Grafana variable that is neither multi nor all: put in as it
    /// is (only escaped for the string it stands in), as Grafana does.
    Single(String),
    /// "All" of a variable with a custom all value (Grafana's `allValue`): put in as
    /// written.
    AllValue(String),
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
            (Self::Text(t) | Self::AllValue(t), _) => return t.clone(),
            (Self::Single(v), _) => v.clone(),
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

    /// The values as a list, and whether Grafana would see one string (not an array).
    fn values(&self) -> (Vec<String>, bool) {
        match self {
            Self::Text(t) | Self::AllValue(t) => (vec![t.clone()], true),
            Self::Single(v) => (vec![v.clone()], true),
            Self::Values(v) => (v.clone(), false),
            Self::Any => (Vec::new(), false),
        }
    }

    /// The text for `${name:format}` in `context`: Grafana's format applied to the
    /// values, then escaped for the string it stands in (except `raw`). A custom "All"
    /// value is put in as written except for `text` and `percentencode`, as in Grafana.
    pub fn render_format(&self, context: Context, format: &str, name: &str) -> String {
        match (self, format) {
            (Self::AllValue(_), "text") => return ALL.to_owned(),
            (Self::AllValue(_), "percentencode") => {}
            (Self::AllValue(_), _) => return self.render(context),
            _ => {}
        }
        if matches!(self, Self::Any) {
            return if format == "regex" {
                ".*".into()
            } else {
                String::new()
            };
        }
        let (values, single) = self.values();
        let text = grafana_format(&values, single, format, name);
        match context {
            Context::Exact { quote } | Context::Regex { quote }
                if quote != '`' && format != "raw" =>
            {
                string_escape(&text, quote)
            }
            _ => text,
        }
    }
}

/// Grafana's variable formats (`${name:format}`), on `values` (`single`: the variable
/// holds one string rather than a list). An unknown format is `glob`, as in Grafana.
pub fn grafana_format(values: &[String], single: bool, format: &str, name: &str) -> String {
    let join = |sep: &str| values.join(sep);
    let quote_each = |q: char, escaped: &str| {
        values
            .iter()
            .map(|v| format!("{q}{}{q}", v.replace(q, escaped)))
            .collect::<Vec<_>>()
            .join(",")
    };
    match format {
        "csv" | "raw" => join(","),
        "pipe" => join("|"),
        "text" => join(" + "),
        "regex" => {
            let esc: Vec<String> = values.iter().map(|v| js_regex_escape(v)).collect();
            if single || esc.len() == 1 {
                esc.join("")
            } else {
                format!("({})", esc.join("|"))
            }
        }
        "json" => {
            if single {
                serde_json::Value::String(join("")).to_string()
            } else {
                serde_json::Value::from(values.to_vec()).to_string()
            }
        }
        "doublequote" => quote_each('"', "\\\""),
        "singlequote" => quote_each('\'', "\\'"),
        "sqlstring" => quote_each('\'', "''"),
        "lucene" => {
            if single {
                lucene_escape(&join(""))
            } else if values.is_empty() {
                "__empty__".into()
            } else {
                let q: Vec<String> = values
                    .iter()
                    .map(|v| format!("\"{}\"", lucene_escape(v)))
                    .collect();
                format!("({})", q.join(" OR "))
            }
        }
        "percentencode" => {
            if single {
                percent_encode(&join(""), true)
            } else {
                percent_encode(&format!("{{{}}}", join(",")), true)
            }
        }
        "queryparam" => values
            .iter()
            .map(|v| {
                format!(
                    "var-{}={}",
                    percent_encode(name, false),
                    percent_encode(v, false)
                )
            })
            .collect::<Vec<_>>()
            .join("&"),
        "distributed" => values
            .iter()
            .enumerate()
            .map(|(i, v)| {
                if i == 0 {
                    v.clone()
                } else {
                    format!("{name}={v}")
                }
            })
            .collect::<Vec<_>>()
            .join(","),
        // glob, and Grafana's fallback for an unknown format.
        _ => {
            if values.len() > 1 {
                format!("{{{}}}", join(","))
            } else {
                join("")
            }
        }
    }
}

/// Grafana's `escapeRegex`: `\ ^ $ * + ? . ( ) | [ ] { } /` get a backslash.
fn js_regex_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if "\\^$*+?.()|[]{}/".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Lucene's special characters and whitespace get a backslash.
fn lucene_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if "!*+-=<>&|()[]{}^~?:\\/\"".contains(c) || c.is_whitespace() {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// `encodeURIComponent` (`strict`: also `!'()*`, as Grafana's percentencode); without
/// `strict`, as Grafana's query parameters (`@ : $ ,` kept, space as `%20`).
fn percent_encode(s: &str, strict: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        let keep = b.is_ascii_alphanumeric()
            || matches!(b, b'-' | b'_' | b'.' | b'~')
            || (!strict && matches!(b, b'@' | b':' | b'$' | b','));
        if keep {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
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
    /// Byte range of the format of `${name:format}` / `[[name:format]]`, if any.
    pub format: Option<std::ops::Range<usize>>,
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
        let context = string.map_or(Context::Bare, |(_, ctx)| ctx);
        let ident = |r: &std::ops::Range<usize>| {
            !r.is_empty()
                && expr[r.clone()]
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && expr[r.clone()]
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_')
        };
        // `${name}`, `${name:format}`, `[[name]]`, `[[name:format]]`: split at the first ':'.
        let braced = |open: usize,
                      close: &str|
         -> Option<(
            std::ops::Range<usize>,
            Option<std::ops::Range<usize>>,
            usize,
        )> {
            let n = expr[open..].find(close)?;
            let inner = open..open + n;
            let (name, format) = match expr[inner.clone()].find(':') {
                Some(k) => (open..open + k, Some(open + k + 1..open + n)),
                None => (inner, None),
            };
            ident(&name).then_some((name, format, open + n + close.len()))
        };
        if c == b'$' {
            let after = i + 1;
            let found = if bytes.get(after) == Some(&b'{') {
                braced(after + 1, "}")
            } else {
                let n = expr[after..]
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(expr.len() - after);
                let name = after..after + n;
                ident(&name).then_some((name, None, after + n))
            };
            if let Some((name, format, end)) = found {
                out.push(Reference {
                    span: i..end,
                    name,
                    format,
                    context,
                });
                i = end;
                continue;
            }
        } else if c == b'['
            && bytes.get(i + 1) == Some(&b'[')
            && let Some((name, format, end)) = braced(i + 2, "]]")
        {
            out.push(Reference {
                span: i..end,
                name,
                format,
                context,
            });
            i = end;
            continue;
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
        let name = &template[r.name.clone()];
        let Some(binding) = lookup(name) else {
            continue;
        };
        out.push_str(&template[last..r.span.start]);
        let start = out.len();
        match &r.format {
            Some(f) => out.push_str(&binding.render_format(r.context, &template[f.clone()], name)),
            None => out.push_str(&binding.render(r.context)),
        }
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

/// The built-in variables, as Grafana's Prometheus data source defines them:
/// `$__interval` (the step) and `$__interval_ms`; `$__rate_interval` =
/// max(`$__interval` plus the scrape interval, 4 × the scrape interval) and `$__rate_interval_ms`; `$__range` (the
/// window), `$__range_s` and `$__range_ms`. Durations are written as PromQL durations
/// (`1m15s` where Grafana writes `75s`: the same length).
pub fn builtin(name: &str, step: Duration, scrape: Duration, range: Duration) -> Option<Binding> {
    let range = Duration::from_secs(range.as_secs().max(1));
    let rate = rate_interval(step, scrape);
    Some(Binding::Text(match name {
        "__interval" => promql_duration(step),
        "__interval_ms" => step.as_millis().to_string(),
        "__rate_interval" => promql_duration(rate),
        "__rate_interval_ms" => rate.as_millis().to_string(),
        "__range" => promql_duration(range),
        "__range_s" => range.as_secs().to_string(),
        "__range_ms" => range.as_millis().to_string(),
        _ => return None,
    }))
}

/// The names of the built-in variables.
pub const BUILTINS: [&str; 7] = [
    "__interval",
    "__interval_ms",
    "__rate_interval",
    "__rate_interval_ms",
    "__range",
    "__range_s",
    "__range_ms",
];

/// A `query_result(expr)` answer as Grafana lists it: `name{label="value",...} value
/// timestamp_ms` per series (a scalar or string: its value).
pub fn query_result_values(data: &promdash_queries::model::QueryData) -> Vec<String> {
    use promdash_queries::model::QueryData;
    match data {
        QueryData::Vector(series) => series
            .iter()
            .map(|s| {
                let name = s.labels.get("__name__").unwrap_or_default();
                let labels: Vec<String> = s
                    .labels
                    .iter()
                    .filter(|(k, _)| *k != "__name__")
                    .map(|(k, v)| format!("{k}=\"{v}\""))
                    .collect();
                format!(
                    "{name}{{{}}} {} {}",
                    labels.join(","),
                    s.sample.v,
                    (s.sample.t * 1000.0).round() as i64
                )
            })
            .collect(),
        QueryData::Matrix(_) => Vec::new(),
        QueryData::Scalar(s) => vec![s.v.to_string()],
        QueryData::String { value, .. } => vec![value.clone()],
    }
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
    use std::hash::{Hash, Hasher};
    let mut changed = make_repeats(state);
    // The layout only when some panel has a variable (most dashboards have none).
    let mut rects = None;
    let n = state.vars.templates.len().min(state.dashboard.panels.len());
    state.vars.applied.resize(n, (0, 0));
    let exprs_print = |p: &Panel| {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        for q in &p.queries {
            q.expr.hash(&mut h);
        }
        h.finish()
    };
    let mut fingerprint = None;
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
        let end = state.window_end();
        let scrape = state.vars.scrape_interval;
        let range = state.range;
        let vars = &state.vars;
        let scope = vars.scope(i);
        // $__interval is each query's step (Grafana's, with its step options).
        let windows: Vec<RangeWindow> = (0..vars.templates[i].len())
            .map(|j| match state.dashboard.panels[i].queries.get(j) {
                Some(q) if !q.step.is_default() => query_window(state, q, cells, end),
                _ => range_step(range, cells, end),
            })
            .collect();
        let vars_print = *fingerprint.get_or_insert_with(|| vars.fingerprint());
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (vars_print, scrape, range, scope, &vars.templates[i]).hash(&mut h);
        for w in &windows {
            w.step.hash(&mut h);
        }
        let print = h.finish();
        if vars.applied[i] == (print, exprs_print(&state.dashboard.panels[i])) {
            continue;
        }
        let exprs: Vec<String> = vars.templates[i]
            .iter()
            .enumerate()
            .map(|(j, t)| {
                let window = windows[j];
                let lookup = |name: &str| -> Option<Binding> {
                    if let Some((_, value)) = scope.iter().find(|(n, _)| n == name) {
                        return Some(vars.scoped_binding(name, value));
                    }
                    match builtin(name, window.step, scrape, range) {
                        Some(b) => Some(b),
                        None => vars
                            .vars
                            .iter()
                            .find(|v| v.def.name == name)
                            .map(|v| vars.binding_at(v, range)),
                    }
                };
                expand(t, &lookup).0
            })
            .collect();
        let panel = &mut state.dashboard.panels[i];
        let mut any = false;
        for (q, e) in panel.queries.iter_mut().zip(exprs) {
            if q.expr != e {
                q.expr = e;
                any = true;
            }
        }
        state.vars.applied[i] = (print, exprs_print(panel));
        if any && !changed.contains(&i) {
            changed.push(i);
        }
    }
    apply_alerts(state);
    changed
}

/// `text` with the variables of `scope` replaced by their values (a copy's title,
/// legends and text); other references stay for [`Variables::title`].
fn scoped_text(text: &str, scope: &[(String, String)]) -> String {
    if scope.is_empty() || !text.contains(['$', '[']) {
        return text.to_owned();
    }
    expand(text, &|name| {
        scope
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| Binding::Text(v.clone()))
    })
    .0
}

/// A new copy of a panel: its title, legends and text say which value it is for.
fn scoped_panel(mut p: Panel, scope: &[(String, String)]) -> Panel {
    if scope.is_empty() {
        return p;
    }
    p.title = scoped_text(&p.title, scope);
    if let Some(t) = &p.text {
        p.text = Some(scoped_text(t, scope));
    }
    for q in &mut p.queries {
        if let Some(l) = &q.legend {
            q.legend = Some(scoped_text(l, scope));
        }
    }
    p
}

/// Makes the copies of repeated panels and rows again when the values of a variable
/// they repeat by changed (Grafana's `processRepeats`). A copy that stays (same panel,
/// same values) keeps its data; the row copies keep being folded or not; panels the
/// prompt added stay at the end. Returns the new copies (to be fetched).
pub fn make_repeats(state: &mut State) -> Vec<usize> {
    let Some(mut r) = state.vars.repeats.take() else {
        return Vec::new();
    };
    let now: Vec<Vec<String>> = r
        .repeats
        .iter()
        .map(|x| state.vars.repeat_values(&x.var))
        .collect();
    if r.made_for.as_ref() == Some(&now) {
        state.vars.repeats = Some(r);
        return Vec::new();
    }
    let exp = repeat::expand(&r.base, &r.repeats, &|name| {
        r.repeats
            .iter()
            .position(|x| x.var == name)
            .map(|k| now[k].clone())
            .unwrap_or_default()
    });
    let old_n = r.origins.len().min(state.dashboard.panels.len());
    let extra_panels = state.dashboard.panels.split_off(old_n);
    let extra_states = state.panels.split_off(old_n.min(state.panels.len()));
    let extra_templates = state
        .vars
        .templates
        .split_off(old_n.min(state.vars.templates.len()));
    let old_panels = std::mem::take(&mut state.dashboard.panels);
    let old_states = std::mem::take(&mut state.panels);
    let mut old: HashMap<(usize, Scope), (Panel, crate::panel::PanelState)> = r
        .origins
        .iter()
        .map(|o| (o.panel, o.scope.clone()))
        .zip(old_panels.into_iter().zip(old_states))
        .collect();
    let focus_key = r
        .origins
        .get(state.focus)
        .map(|o| (o.panel, o.scope.clone()));
    let old_collapsed: HashMap<(usize, Scope), bool> = r
        .row_origins
        .iter()
        .cloned()
        .zip(state.collapsed.iter().copied())
        .collect();
    let row_focus_key = state.row_focus.and_then(|f| r.row_origins.get(f).cloned());
    let mut fresh = Vec::new();
    let mut panels = Vec::with_capacity(exp.panels.len() + extra_panels.len());
    let mut states = Vec::with_capacity(panels.capacity());
    let mut templates = Vec::with_capacity(panels.capacity());
    for (k, (p, o)) in exp.panels.into_iter().zip(&exp.origins).enumerate() {
        templates.push(
            r.base.panels[o.panel]
                .queries
                .iter()
                .map(|q| q.expr.clone())
                .collect::<Vec<_>>(),
        );
        match old.remove(&(o.panel, o.scope.clone())) {
            Some((mut kept, st)) => {
                kept.width = p.width;
                panels.push(kept);
                states.push(st);
            }
            None => {
                let p = scoped_panel(p, &o.scope);
                states.push(crate::panel::PanelState::new(&p));
                panels.push(p);
                fresh.push(k);
            }
        }
    }
    let new_n = panels.len();
    state.focus = focus_key
        .and_then(|key| {
            exp.origins
                .iter()
                .position(|o| o.panel == key.0 && o.scope == key.1)
        })
        .unwrap_or(state.focus.min(new_n.saturating_sub(1)));
    if let Some(t) = state.explore.temp_panel
        && t >= old_n
    {
        state.explore.temp_panel = Some(t - old_n + new_n);
        if state.focus == t {
            state.focus = t - old_n + new_n;
        }
    }
    panels.extend(extra_panels);
    states.extend(extra_states);
    templates.extend(extra_templates);
    state.dashboard.panels = panels;
    state.panels = states;
    state.vars.templates = templates;
    state.vars.applied.clear();
    state.collapsed = exp
        .row_origins
        .iter()
        .map(|key| {
            old_collapsed
                .get(key)
                .copied()
                .unwrap_or(r.base.rows[key.0].collapsed)
        })
        .collect();
    state.row_focus = row_focus_key.and_then(|key| exp.row_origins.iter().position(|o| *o == key));
    state.dashboard.rows = exp
        .rows
        .into_iter()
        .zip(&exp.row_origins)
        .map(|(mut row, (_, scope))| {
            row.title = scoped_text(&row.title, scope);
            row
        })
        .collect();
    state.alert_panels = state
        .dashboard
        .alerts
        .iter()
        .map(|rule| state.dashboard.alert_panels(rule))
        .collect();
    state.focus = state.focus.min(state.panels.len().saturating_sub(1));
    r.origins = exp.origins;
    r.row_origins = exp.row_origins;
    r.made_for = Some(now);
    state.vars.repeats = Some(r);
    state.panels_rebuilt();
    state.dirty = true;
    fresh
}

/// The range window of a panel's query `q` drawn `cells` wide, ending at `end`, with a
/// Grafana target's step options applied as its Prometheus data source applies them
/// ([`adjusted_step`](promdash_queries::grafana::interval::adjusted_step)): the
/// automatic step is promdash's (range and width), then the panel's min interval, the
/// target's min step and `intervalFactor`; variables in the min intervals are filled in.
/// The window is aligned to the step as every range window is.
pub fn query_window(state: &State, q: &PanelQuery, cells: u16, end: f64) -> RangeWindow {
    use promdash_queries::grafana::interval::{adjusted_step, parse_min_interval};
    let auto = range_step(state.range, cells, end);
    let o = &q.step;
    if o.is_default() {
        return auto;
    }
    let vars = &state.vars;
    let resolve = |text: &Option<String>| -> Option<Duration> {
        let t = text.as_deref()?;
        if !t.contains('$') {
            return parse_min_interval(t);
        }
        let filled = expand(t, &|name| {
            vars.vars
                .iter()
                .find(|v| v.def.name == name)
                .map(|v| vars.binding_at(v, state.range))
        })
        .0;
        parse_min_interval(&filled)
    };
    let step = adjusted_step(
        auto.step,
        state.range,
        resolve(&o.panel_min),
        resolve(&o.min),
        o.factor,
    );
    if step == auto.step {
        return auto;
    }
    let step_s = step.as_secs_f64();
    let end_aligned = (end / step_s).floor() * step_s;
    let intervals = (state.range.as_secs_f64().max(1.0) / step_s).ceil();
    RangeWindow {
        start: end_aligned - intervals * step_s,
        end: end_aligned,
        step,
    }
}

/// Rewrites the alert rules' expressions from their templates. Alerts have no plot:
/// `$__interval` is the scrape interval and `$__rate_interval` four of them.
fn apply_alerts(state: &mut State) {
    let vars = &state.vars;
    if vars.alert_templates.iter().all(|t| !t.contains('$')) {
        return;
    }
    let scrape = vars.scrape_interval;
    let range = state.range;
    let lookup = |name: &str| -> Option<Binding> {
        match builtin(name, scrape, scrape, range) {
            Some(b) => Some(b),
            None => vars
                .vars
                .iter()
                .find(|v| v.def.name == name)
                .map(|v| vars.binding_at(v, range)),
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
    // Variables whose query uses the one that changed are asked again.
    let mut effects = state.vars.requests();
    effects.extend(state.fetch_panels(&panels));
    effects
}

/// The server's scrape interval arrived: `$__rate_interval` is computed with it and the
/// panels whose expressions change are asked again. `None` (its configuration cannot be
/// read, as behind Thanos Query) keeps the dashboard's `scrape_interval` (15 s unless
/// the file sets it); a fixed interval stays.
pub fn on_scrape_interval(state: &mut State, interval: Option<Duration>) -> Vec<Effect> {
    let Some(interval) = interval.filter(|_| !state.vars.scrape_fixed) else {
        return Vec::new();
    };
    tracing::info!(?interval, "scrape interval for $__rate_interval");
    if interval == state.vars.scrape_interval {
        return Vec::new();
    }
    state.vars.scrape_interval = interval;
    changed(state)
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
            if let VariableSource::Metrics(filter) = &v.def.source {
                match regex::Regex::new(filter) {
                    Ok(re) => values.retain(|m| re.is_match(m)),
                    Err(e) => {
                        v.error = Some(format!("metrics({filter}): {e}"));
                        return Vec::new();
                    }
                }
            }
            if v.def.regex.is_none() && v.def.sort == 0 {
                values.sort();
                values.dedup();
            }
            let values =
                match promdash_queries::grafana::refine(values, v.def.regex.as_deref(), v.def.sort)
                {
                    Ok(vals) => vals,
                    Err(e) => {
                        v.error = Some(format!("regex: {e}"));
                        return Vec::new();
                    }
                };
            // A choice the new values no longer have falls back to the first (a chained
            // variable after its parent changed), as in Grafana.
            let keep = v.selected.iter().all(|s| s == ALL || values.contains(s));
            if !keep {
                v.selected = if v.def.multi || v.def.all {
                    v.selected
                        .iter()
                        .filter(|s| values.contains(s))
                        .cloned()
                        .collect()
                } else {
                    Vec::new()
                };
            }
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
                all_value: None,
                regex: None,
                sort: 0,
                grafana: false,
                auto_interval: None,
            },
            options: Some(vec!["/a".into(), "/b.c".into()]),
            selected: vec!["/a".into(), "/b.c".into()],
            loading: false,
            error: None,
            requested: None,
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
            all_value: None,
            regex: None,
            sort: 0,
            grafana: false,
            auto_interval: None,
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
            all_value: None,
            regex: None,
            sort: 0,
            grafana: false,
            auto_interval: None,
        }]);
        vars.templates = vec![vec![r#"up{job="$job"}"#.into()], vec!["up".into()]];
        assert_eq!(vars.empty_reason(0), None, "not loaded yet");
        vars.vars[0].options = Some(Vec::new());
        assert_eq!(vars.empty_reason(0).as_deref(), Some("$job has no values"));
        assert_eq!(vars.empty_reason(1), None);
    }

    /// Grafana's documented results for `servers = ['test1', 'test2']` (and one value),
    /// every format, in a bare context and inside a double-quoted string.
    #[test]
    fn grafana_format_table() {
        let two = Binding::Values(vec!["test1".into(), "test2".into()]);
        let one = Binding::Single("test.1".into());
        let bare = Context::Bare;
        let table: [(&str, &str, &str); 15] = [
            ("csv", "test1,test2", "test.1"),
            ("distributed", "test1,servers=test2", "test.1"),
            ("doublequote", r#""test1","test2""#, r#""test.1""#),
            ("glob", "{test1,test2}", "test.1"),
            ("json", r#"["test1","test2"]"#, r#""test.1""#),
            ("lucene", r#"("test1" OR "test2")"#, "test.1"),
            ("percentencode", "%7Btest1%2Ctest2%7D", "test.1"),
            ("pipe", "test1|test2", "test.1"),
            ("raw", "test1,test2", "test.1"),
            ("regex", "(test1|test2)", r"test\.1"),
            ("singlequote", "'test1','test2'", "'test.1'"),
            ("sqlstring", "'test1','test2'", "'test.1'"),
            ("text", "test1 + test2", "test.1"),
            (
                "queryparam",
                "var-servers=test1&var-servers=test2",
                "var-servers=test.1",
            ),
            ("nonsense", "{test1,test2}", "test.1"),
        ];
        for (format, want_two, want_one) in table {
            assert_eq!(
                two.render_format(bare, format, "servers"),
                want_two,
                "{format}"
            );
            assert_eq!(
                one.render_format(bare, format, "servers"),
                want_one,
                "{format}"
            );
        }
        // Escaping of the values themselves.
        let odd = Binding::Values(vec![r#"a"b"#.into(), "c d".into()]);
        assert_eq!(
            odd.render_format(bare, "doublequote", "v"),
            r#""a\"b","c d""#
        );
        assert_eq!(
            odd.render_format(bare, "lucene", "v"),
            r#"("a\"b" OR "c\ d")"#
        );
        assert_eq!(odd.render_format(bare, "sqlstring", "v"), r#"'a"b','c d'"#);
        // Inside a PromQL string the result is escaped for the string (raw is not).
        let re = Binding::Values(vec!["a.b".into(), "c".into()]);
        assert_eq!(
            re.render_format(Context::Regex { quote: '"' }, "regex", "v"),
            r"(a\\.b|c)"
        );
        assert_eq!(
            re.render_format(Context::Regex { quote: '"' }, "raw", "v"),
            "a.b,c"
        );
    }

    fn grafana_var(name: &str, values: &[&str], multi: bool, all: bool) -> Variable {
        Variable {
            grafana: true,
            auto_interval: None,
            ..var(name, values, multi, all, &[])
        }
    }

    #[test]
    fn grafana_substitution_syntaxes_and_escaping() {
        let mut vars = vars_of(vec![
            grafana_var("node", &["10.0.0.1:9100", "10.0.0.2:9100"], true, true),
            grafana_var("nodename", &["web-1"], false, false),
            grafana_var("job", &["node.x"], false, false),
            Variable {
                all_value: Some(".+".into()),
                ..grafana_var("env", &["prod", "dev"], true, true)
            },
        ]);
        // All selected: every value, regex-escaped, as (a|b) inside =~.
        assert_eq!(
            expand_with(&vars, r#"up{instance=~"$node"}"#),
            r#"up{instance=~"(10\\.0\\.0\\.1:9100|10\\.0\\.0\\.2:9100)"}"#
        );
        // Token boundaries: $node never inside $nodename; [[x]] and ${x} alike.
        assert_eq!(
            expand_with(
                &vars,
                r#"a{n="$nodename",m="${nodename}",o="[[nodename]]"}"#
            ),
            r#"a{n="web-1",m="web-1",o="web-1"}"#
        );
        // One value of a variable that is neither multi nor all: as it is, even in =~.
        assert_eq!(
            expand_with(&vars, r#"up{job=~"$job"}"#),
            r#"up{job=~"node.x"}"#
        );
        // A custom All value goes in as written.
        assert_eq!(expand_with(&vars, r#"up{env=~"$env"}"#), r#"up{env=~".+"}"#);
        assert_eq!(
            expand_with(&vars, r#"up{env=~"${env:csv}"}"#),
            r#"up{env=~".+"}"#
        );
        assert_eq!(expand_with(&vars, "${env:text}"), "All");
        // Formats by either syntax.
        vars.vars[0].selected = vec!["10.0.0.1:9100".into()];
        assert_eq!(
            expand_with(&vars, "${node:json} [[node:pipe]]"),
            r#"["10.0.0.1:9100"] 10.0.0.1:9100"#
        );
        // Not references: $1, a POSIX class, an unknown name.
        let e = r#"label_replace(x{a=~"[[:alpha:]]+"}, "b", "$1", "c", "(.*)") $nodenames"#;
        assert_eq!(expand_with(&vars, e), e);
    }

    #[test]
    fn grafana_builtins() {
        let s = Duration::from_secs;
        let b = |name| match builtin(name, s(30), s(15), s(3600)) {
            Some(Binding::Text(t)) => t,
            other => panic!("{name}: {other:?}"),
        };
        assert_eq!(b("__interval"), "30s");
        assert_eq!(b("__interval_ms"), "30000");
        // max(30s + 15s, 4 × 15s) = 60s
        assert_eq!(b("__rate_interval"), "1m");
        assert_eq!(b("__rate_interval_ms"), "60000");
        assert_eq!(b("__range"), "1h");
        assert_eq!(b("__range_s"), "3600");
        assert_eq!(b("__range_ms"), "3600000");
        assert_eq!(
            builtin("__rate_interval", s(120), s(15), s(60)),
            Some(Binding::Text("2m15s".into()))
        );
        assert_eq!(builtin("__nope", s(1), s(1), s(1)), None);
    }
}
