//! `promdash validate FILE... [--url URL] [-o json]`: check dashboard files.
//!
//! Offline, every file is read and checked as the dashboard reads it, then beyond: each
//! PromQL expression is parsed (`promql-parser`, as the embedded engine parses), units
//! are looked up, `$name` references must name a variable, alert summaries must be
//! templates the alert engine can fill. Every problem is reported at the file's
//! line:col. With `--url` each query is also run once against the server; a rejected one
//! is named by its line:col too. Without it one line says the queries were not run.

use std::io::Write;
use std::ops::Range;
use std::path::{Path, PathBuf};

use clap::Args;
use promdash_queries::client::PromClient;
use promdash_queries::dashboard::{
    Dashboard, Problem, Site, SiteKind, Unit, VariableSource, line_col, load_dashboard,
    offset_in_value, sites,
};
use promdash_queries::text::escape_control;
use serde::Serialize;

use super::time::now;
use super::{Outcome, Report, count};
use crate::units::Format;
use crate::variables::{Binding, expand, position_in_template, references};

/// `promdash validate FILE... [--url URL]`
#[derive(Debug, Clone, Args)]
pub struct ValidateArgs {
    /// The dashboard files to check: promdash TOML, or Grafana JSON (every field that is
    /// not carried over is listed by its JSON path).
    #[arg(value_name = "FILE", required_unless_present = "rules")]
    pub files: Vec<PathBuf>,

    /// Prometheus rule files (YAML) to check as strictly as `promtool check rules`
    /// (repeatable; each value may be a glob).
    #[arg(long = "rules", value_name = "FILE")]
    pub rules: Vec<String>,

    /// `text` for people (problems on stderr as file:line:col), `json` for programs
    /// (one document on stdout).
    #[arg(long, short = 'o', value_enum, default_value_t = Report::Text)]
    pub output: Report,
}

/// Reads and validates `path` (relative paths of its `[connection]` taken next to it).
/// Problems are written to `err` as `file:line:col: ...`.
pub fn check_file(path: &Path, err: &mut dyn Write) -> anyhow::Result<Option<Dashboard>> {
    match load_dashboard(path) {
        Ok(d) => Ok(Some(d)),
        Err(e) => {
            // The message quotes the file, which may come from anyone.
            writeln!(
                err,
                "{}",
                promdash_queries::text::escape_lines(&e.to_string())
            )?;
            Ok(None)
        }
    }
}

/// The built-in `$__…` variables.
use crate::variables::BUILTINS;

/// One problem found in a file, at a 1-based line and column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// For a Grafana dashboard (JSON): where, as a JSON path (`panels[3].targets[0].expr`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    pub line: usize,
    pub col: usize,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<String>,
}

impl From<Problem> for Finding {
    fn from(p: Problem) -> Self {
        Self {
            path: None,
            line: p.line,
            col: p.col,
            message: p.message,
            expected: p.expected,
        }
    }
}

/// What the queries of a file came to on the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServerCheck {
    pub server: String,
    pub accepted: usize,
    pub rejected: usize,
    /// The server could not be reached: nothing was decided.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unreachable: Option<String>,
}

/// Everything `validate` found in one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileReport {
    pub file: String,
    pub valid: bool,
    pub panels: usize,
    pub alerts: usize,
    pub variables: usize,
    pub queries: usize,
    pub problems: Vec<Finding>,
    /// `None`: the queries were not run (no `--url`, or the file is not valid).
    pub server: Option<ServerCheck>,
}

/// One expression of a dashboard and where it is written.
pub struct Expression {
    /// `panel "Title"` (with `query N` when the panel has several) or `alert "Name"`.
    pub place: String,
    /// As written in the file.
    pub template: String,
    /// Byte range of its string in the file.
    pub span: Range<usize>,
}

/// Every expression of the dashboard (panels, then alerts) with where it is written.
pub fn expressions(d: &Dashboard, text: &str) -> Vec<Expression> {
    sites(text)
        .into_iter()
        .filter_map(|s| {
            let place = match s.kind {
                SiteKind::PanelQuery { panel, query } => {
                    let p = d.panels.get(panel)?;
                    if p.queries.len() > 1 {
                        format!("panel {:?} query {}", p.title, query + 1)
                    } else {
                        format!("panel {:?}", p.title)
                    }
                }
                SiteKind::AlertExpr { alert } => format!("alert {:?}", d.alerts.get(alert)?.name),
                _ => return None,
            };
            Some(Expression {
                place,
                template: s.value,
                span: s.span,
            })
        })
        .collect()
}

/// What `$name` stands for when a query is checked or run without the dashboard: the
/// built-in intervals, a variable's default or first fixed value, else a placeholder.
fn offline_binding(d: &Dashboard, name: &str) -> Binding {
    let step = std::time::Duration::from_secs(15);
    if let Some(b) = crate::variables::builtin(name, step, step, d.range) {
        return b;
    }
    {
        match d.variables.iter().find(|v| v.name == name) {
            Some(v) if v.default == [crate::variables::ALL] && v.all_value.is_some() => {
                Binding::Text(v.all_value.clone().unwrap_or_default())
            }
            Some(v) if !v.default.is_empty() && v.default != [crate::variables::ALL] => {
                Binding::Values(v.default.clone())
            }
            Some(v) => match &v.source {
                VariableSource::Values(vals) if v.multi || v.all => Binding::Values(vals.clone()),
                VariableSource::Values(vals) => {
                    Binding::Values(vals.first().cloned().into_iter().collect())
                }
                VariableSource::LabelValues { .. }
                | VariableSource::QueryResult(_)
                | VariableSource::Metrics(_) => Binding::Any,
            },
            None => Binding::Values(vec!["x".into()]),
        }
    }
}

/// `template` with every variable filled in as [`offline_binding`] says, and the edits
/// made (to map positions back).
pub fn substitute(template: &str, d: &Dashboard) -> (String, Vec<crate::variables::Edit>) {
    expand(template, &|name| Some(offline_binding(d, name)))
}

/// Where in `expr` a parse error lies, and a better message when one can be told.
fn locate_syntax_error(expr: &str, message: &str) -> (usize, String) {
    // Lexer errors: the shortest prefix that fails the same way ends at the culprit.
    if promql_parser::parser::lexer(expr).is_err() {
        let mut ends: Vec<usize> = expr.char_indices().map(|(i, c)| i + c.len_utf8()).collect();
        ends.dedup();
        for end in ends {
            if let Err(e) = promql_parser::parser::lexer(&expr[..end])
                && e == message
            {
                let start = expr[..end].char_indices().last().map_or(0, |(i, _)| i);
                return (start, message.to_owned());
            }
        }
        return (0, message.to_owned());
    }
    // Brackets that do not pair up.
    let mut stack: Vec<(usize, char)> = Vec::new();
    let mut quote: Option<char> = None;
    let mut chars = expr.char_indices();
    while let Some((i, c)) = chars.next() {
        match quote {
            Some(q) if c == '\\' && q != '`' => {
                chars.next();
            }
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None => match c {
                '"' | '\'' | '`' => quote = Some(c),
                '(' | '[' | '{' => stack.push((i, c)),
                ')' | ']' | '}' => {
                    let open = match c {
                        ')' => '(',
                        ']' => '[',
                        _ => '{',
                    };
                    match stack.pop() {
                        Some((_, o)) if o == open => {}
                        _ => return (i, format!("unexpected {c:?}: nothing to close")),
                    }
                }
                _ => {}
            },
        }
    }
    if let Some((i, c)) = stack.pop() {
        return (i, format!("unclosed {c:?}"));
    }
    // A token whose removal makes the rest parse is the one in the way.
    for token in tokens(expr) {
        let without = format!("{}{}", &expr[..token.start], &expr[token.end..]);
        if promql_parser::parser::parse(&without).is_ok() {
            return (
                token.start,
                format!("unexpected {:?} ({message})", &expr[token])
                    .replace("(invalid promql query)", "(a syntax error)"),
            );
        }
    }
    (0, message.to_owned())
}

/// Rough PromQL tokens: names and numbers, strings, and single punctuation characters.
fn tokens(expr: &str) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut it = expr.char_indices().peekable();
    while let Some((i, c)) = it.next() {
        if c.is_whitespace() {
            continue;
        }
        let word = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | ':' | '.');
        let mut end = i + c.len_utf8();
        if word(c) {
            while let Some(&(j, d)) = it.peek() {
                if !word(d) {
                    break;
                }
                end = j + d.len_utf8();
                it.next();
            }
        } else if matches!(c, '"' | '\'' | '`') {
            let mut escaped = false;
            for (j, d) in it.by_ref() {
                end = j + d.len_utf8();
                if escaped {
                    escaped = false;
                } else if d == '\\' && c != '`' {
                    escaped = true;
                } else if d == c {
                    break;
                }
            }
        }
        out.push(i..end);
    }
    out
}

/// Every problem the offline checks find in a dashboard that [`parse_dashboard`]
/// accepted from `text`.
///
/// [`parse_dashboard`]: promdash_queries::dashboard::parse_dashboard
pub fn lint(d: &Dashboard, text: &str) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut at = |offset: usize, message: String, expected: Option<String>| {
        let (line, col) = line_col(text, offset);
        out.push(Finding {
            path: None,
            line,
            col,
            message,
            expected,
        });
    };
    let known_vars = || {
        let mut names: Vec<String> = d.variables.iter().map(|v| format!("${}", v.name)).collect();
        names.extend(BUILTINS.iter().map(|b| format!("${b}")));
        names.join(", ")
    };
    for Site { kind, value, span } in sites(text) {
        match kind {
            SiteKind::PanelQuery { .. }
            | SiteKind::AlertExpr { .. }
            | SiteKind::PanelTitle { .. } => {
                for r in references(&value) {
                    let name = &value[r.name.clone()];
                    if !BUILTINS.contains(&name) && !d.variables.iter().any(|v| v.name == name) {
                        at(
                            offset_in_value(text, &span, r.span.start),
                            format!("undefined variable ${name}"),
                            Some(format!("one of {}", known_vars())),
                        );
                    }
                }
                if matches!(kind, SiteKind::PanelTitle { .. }) {
                    continue;
                }
                let (expr, edits) = substitute(&value, d);
                if let Err(message) = promql_parser::parser::parse(&expr) {
                    let (pos, message) = locate_syntax_error(&expr, &message);
                    let pos = position_in_template(&edits, pos);
                    at(
                        offset_in_value(text, &span, pos),
                        format!("PromQL: {message}"),
                        None,
                    );
                }
            }
            SiteKind::PanelUnit { .. } | SiteKind::AlertUnit { .. } => {
                if matches!(Format::from_name(&value), Format::Suffix(_))
                    && !value.starts_with("suffix:")
                {
                    at(
                        span.start,
                        format!("unknown unit {value:?}"),
                        Some(format!(
                            "one of {}, or suffix:<text> for a unit of your own",
                            crate::units::UNIT_NAMES.join(", ")
                        )),
                    );
                }
            }
            SiteKind::AlertSummary { .. } => {
                if let Some((pos, message)) = summary_problem(&value) {
                    at(
                        offset_in_value(text, &span, pos),
                        message,
                        Some("{{ $value }} or {{ $labels.name }}".into()),
                    );
                }
            }
            SiteKind::VariableQuery { .. } => {}
        }
    }
    out.sort_by_key(|f| (f.line, f.col));
    out
}

/// The first part of an alert summary the alert engine cannot fill: an unclosed `{{`, or
/// something between the braces other than `$value` and `$labels.name`.
pub fn summary_problem(template: &str) -> Option<(usize, String)> {
    let mut from = 0;
    while let Some(open) = template[from..].find("{{").map(|i| i + from) {
        let Some(close) = template[open + 2..].find("}}").map(|i| i + open + 2) else {
            return Some((open, "`{{` without `}}` in the summary".to_owned()));
        };
        let inner = template[open + 2..close].trim();
        let ok = inner == "$value"
            || inner.strip_prefix("$labels.").is_some_and(|l| {
                !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            });
        if !ok {
            return Some((open, format!("the summary cannot fill {{{{ {inner} }}}}")));
        }
        from = close + 2;
    }
    None
}

/// Checks one file: read, validate, lint, and with a client run each query once.
pub async fn validate_file(client: Option<&PromClient>, path: &Path) -> FileReport {
    let name = path.display().to_string();
    let mut report = FileReport {
        file: name.clone(),
        valid: false,
        panels: 0,
        alerts: 0,
        variables: 0,
        queries: 0,
        problems: Vec::new(),
        server: None,
    };
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            report.problems.push(Finding {
                path: None,
                line: 1,
                col: 1,
                message: format!("cannot read the file: {e}"),
                expected: Some("a readable TOML dashboard file".into()),
            });
            return report;
        }
    };
    if promdash_queries::grafana::is_json(&text) {
        return validate_grafana(client, &text, report).await;
    }
    let dashboard = match promdash_queries::dashboard::parse_dashboard(&text, &name) {
        Ok(d) => d,
        Err(e) => {
            report.problems = e.problems.into_iter().map(Finding::from).collect();
            return report;
        }
    };
    report.panels = dashboard.panels.len();
    report.alerts = dashboard.alerts.len();
    report.variables = dashboard.variables.len();
    let exprs = expressions(&dashboard, &text);
    report.queries = exprs.len();
    report.problems = lint(&dashboard, &text);
    if !report.problems.is_empty() {
        return report;
    }
    report.valid = true;
    let Some(client) = client else {
        return report;
    };
    let mut check = ServerCheck {
        server: client.redacted_url().to_owned(),
        accepted: 0,
        rejected: 0,
        unreachable: None,
    };
    let t = now();
    for e in &exprs {
        let (expr, _) = substitute(&e.template, &dashboard);
        match client.query(&expr, Some(t)).await {
            Ok(_) => check.accepted += 1,
            Err(err) if err.is_unreachable() => {
                check.unreachable = Some(err.to_string());
                break;
            }
            Err(err) => {
                check.rejected += 1;
                let (line, col) = line_col(&text, offset_in_value(&text, &e.span, 0));
                report.problems.push(Finding {
                    path: None,
                    line,
                    col,
                    message: format!("{}: the server rejected {expr:?}: {err}", e.place),
                    expected: None,
                });
            }
        }
    }
    report.valid = check.rejected == 0 && check.unreachable.is_none();
    report.server = Some(check);
    report
}

/// A finding at a JSON path.
fn at_path(path: &str, message: String, expected: Option<String>) -> Finding {
    Finding {
        path: Some(path.to_owned()),
        line: 0,
        col: 0,
        message,
        expected,
    }
}

/// `validate` of a Grafana dashboard: every field not carried over by its JSON path, then
/// the expressions (parsed offline with the variables filled in, and run once with a
/// client), each named by the path of its `expr`.
async fn validate_grafana(
    client: Option<&PromClient>,
    text: &str,
    mut report: FileReport,
) -> FileReport {
    let im = match promdash_queries::grafana::import(text) {
        Ok(im) => im,
        Err(e) => {
            let (line, col) = match &e {
                promdash_queries::grafana::ImportError::Json { line, col, .. } => (*line, *col),
                promdash_queries::grafana::ImportError::NotADashboard(_) => (1, 1),
            };
            report.problems.push(Finding {
                path: None,
                line,
                col,
                message: e.to_string(),
                expected: Some("a Grafana dashboard (JSON)".into()),
            });
            return report;
        }
    };
    let d = &im.dashboard;
    report.panels = d.panels.len();
    report.alerts = d.alerts.len();
    report.variables = d.variables.len();
    for w in &im.warnings {
        report.problems.push(at_path(
            &w.path,
            format!("{} (not carried over)", w.message),
            None,
        ));
    }
    let mut exprs: Vec<(String, String)> = Vec::new();
    for (i, p) in d.panels.iter().enumerate() {
        if let Unit::Other(u) = &p.unit
            && matches!(Format::from_name(u), Format::Suffix(_))
        {
            let path = im.panel_paths.get(i).map_or("panels", String::as_str);
            report.problems.push(at_path(
                path,
                format!("unknown unit {u:?}: values are shown raw"),
                Some(format!("one of {}", crate::units::UNIT_NAMES.join(", "))),
            ));
        }
        for (j, q) in p.queries.iter().enumerate() {
            let path = im
                .query_paths
                .get(i)
                .and_then(|qs| qs.get(j))
                .cloned()
                .unwrap_or_default();
            for r in references(&q.expr) {
                let name = &q.expr[r.name.clone()];
                if !BUILTINS.contains(&name) && !d.variables.iter().any(|v| v.name == name) {
                    report.problems.push(at_path(
                        &path,
                        format!("undefined variable ${name}"),
                        None,
                    ));
                }
            }
            let (expr, _) = substitute(&q.expr, d);
            if let Err(message) = promql_parser::parser::parse(&expr) {
                let (_, message) = locate_syntax_error(&expr, &message);
                report.problems.push(at_path(
                    &path,
                    format!("PromQL: {message} in {expr:?}"),
                    None,
                ));
            }
            exprs.push((path, q.expr.clone()));
        }
    }
    report.queries = exprs.len();
    report.valid = report.problems.is_empty();
    // The queries run even when things were not carried over: whether the server takes
    // what was imported is worth knowing either way.
    let Some(client) = client else {
        return report;
    };
    let mut check = ServerCheck {
        server: client.redacted_url().to_owned(),
        accepted: 0,
        rejected: 0,
        unreachable: None,
    };
    let t = now();
    for (path, template) in &exprs {
        let (expr, _) = substitute(template, d);
        match client.query(&expr, Some(t)).await {
            Ok(_) => check.accepted += 1,
            Err(err) if err.is_unreachable() => {
                check.unreachable = Some(err.to_string());
                break;
            }
            Err(err) => {
                check.rejected += 1;
                report.problems.push(at_path(
                    path,
                    format!("the server rejected {expr:?}: {err}"),
                    None,
                ));
            }
        }
    }
    report.valid &= check.rejected == 0 && check.unreachable.is_none();
    report.server = Some(check);
    report
}

/// The JSON document `validate -o json` prints.
#[derive(Debug, Serialize)]
struct JsonReport<'a> {
    valid: bool,
    queries_run: bool,
    files: &'a [FileReport],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    rule_files: &'a [RuleFileReport],
}

/// What `validate --rules` found in one rule file.
#[derive(Debug, Serialize)]
pub struct RuleFileReport {
    pub file: String,
    pub valid: bool,
    pub groups: usize,
    pub rules: usize,
    pub problems: Vec<Finding>,
    /// Rules recording or alerting the same name with the same labels (accepted, as
    /// promtool accepts them, with a warning).
    pub duplicates: Vec<String>,
}

/// Reads and validates one rule file.
pub fn validate_rule_file(path: &Path) -> RuleFileReport {
    let file = path.display().to_string();
    match promdash_queries::rules::load_rule_file(path) {
        Ok(f) => RuleFileReport {
            file,
            valid: true,
            groups: f.groups.len(),
            rules: f.groups.iter().map(|g| g.rules.len()).sum(),
            problems: Vec::new(),
            duplicates: promdash_queries::rules::file::duplicate_rules(&f)
                .into_iter()
                .map(|(name, labels)| {
                    let labels: Vec<String> =
                        labels.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
                    format!("{name}{{{}}}", labels.join(", "))
                })
                .collect(),
        },
        Err(e) => RuleFileReport {
            file,
            valid: false,
            groups: 0,
            rules: 0,
            problems: e
                .problems
                .into_iter()
                .map(|p| Finding {
                    path: None,
                    line: p.line,
                    col: p.col,
                    message: p.message,
                    expected: None,
                })
                .collect(),
            duplicates: Vec::new(),
        },
    }
}

/// The files `--rules` names: each value a path or a glob (a glob matching nothing is an
/// error, so a typo is not a silent pass).
pub fn expand_rule_paths(patterns: &[String]) -> Result<Vec<PathBuf>, String> {
    let mut out = Vec::new();
    for p in patterns {
        if !p.contains(['*', '?', '[']) {
            out.push(PathBuf::from(p));
            continue;
        }
        let found = promdash_queries::rules::glob::glob(p);
        if found.is_empty() {
            return Err(format!("{p}: no file matches"));
        }
        out.extend(found);
    }
    Ok(out)
}

/// Runs `validate` on every file; problems go to `err` as `file:line:col: ...` (text) or
/// everything to `out` as one JSON document.
pub async fn run_validate(
    client: Option<&PromClient>,
    args: &ValidateArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<Outcome> {
    let mut reports = Vec::new();
    for path in &args.files {
        reports.push(validate_file(client, path).await);
    }
    let rule_paths = match expand_rule_paths(&args.rules) {
        Ok(p) => p,
        Err(e) => return super::fail(err, &e),
    };
    let rule_reports: Vec<RuleFileReport> =
        rule_paths.iter().map(|p| validate_rule_file(p)).collect();
    let valid = reports.iter().all(|r| r.valid) && rule_reports.iter().all(|r| r.valid);
    if args.output == Report::Json {
        serde_json::to_writer_pretty(
            &mut *out,
            &JsonReport {
                valid,
                queries_run: client.is_some(),
                files: &reports,
                rule_files: &rule_reports,
            },
        )?;
        writeln!(out)?;
        out.flush()?;
        return Ok(if valid { Outcome::Ok } else { Outcome::Failed });
    }
    for r in &reports {
        for p in &r.problems {
            // Messages quote the file and the server, which may come from anyone.
            let message = escape_control(&p.message);
            match &p.path {
                Some(path) => write!(err, "{}: {}: {message}", r.file, escape_control(path))?,
                None => write!(err, "{}:{}:{}: {message}", r.file, p.line, p.col)?,
            }
            if let Some(e) = &p.expected {
                write!(err, "; expected {}", escape_control(e))?;
            }
            writeln!(err)?;
        }
        let summary = format!(
            "{}, {}, {}",
            count(r.panels, "panel", "panels"),
            count(r.alerts, "alert", "alerts"),
            count(r.variables, "variable", "variables")
        );
        match &r.server {
            Some(ServerCheck {
                unreachable: Some(e),
                ..
            }) => writeln!(
                err,
                "promdash: {}: the queries could not be run: {}",
                r.file,
                escape_control(e)
            )?,
            Some(s) if s.rejected > 0 => writeln!(
                err,
                "{}: {} of {} rejected by {}",
                r.file,
                s.rejected,
                count(r.queries, "query", "queries"),
                s.server
            )?,
            Some(s) => writeln!(
                out,
                "{}: ok ({summary}; {} accepted by {})",
                r.file,
                count(s.accepted, "query", "queries"),
                s.server
            )?,
            None if r.valid => writeln!(out, "{}: ok ({summary})", r.file)?,
            None => writeln!(
                err,
                "{}: {}",
                r.file,
                count(r.problems.len(), "problem", "problems")
            )?,
        }
    }
    for r in &rule_reports {
        for p in &r.problems {
            let message = escape_control(&p.message);
            writeln!(err, "{}:{}:{}: {message}", r.file, p.line, p.col)?;
        }
        for d in &r.duplicates {
            writeln!(
                err,
                "{}: warning: duplicate rule {} (may cause inconsistent recordings)",
                r.file,
                escape_control(d)
            )?;
        }
        if r.valid {
            writeln!(
                out,
                "{}: ok ({}, {})",
                r.file,
                count(r.groups, "group", "groups"),
                count(r.rules, "rule", "rules")
            )?;
        } else {
            writeln!(
                err,
                "{}: {}",
                r.file,
                count(r.problems.len(), "problem", "problems")
            )?;
        }
    }
    if client.is_none() && !args.files.is_empty() {
        writeln!(
            out,
            "The queries were not run against a server (give --url to run each once)."
        )?;
    }
    out.flush()?;
    Ok(if valid { Outcome::Ok } else { Outcome::Failed })
}
