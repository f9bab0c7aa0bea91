//! `promdash validate FILE [--url URL]`: check a dashboard file, and optionally ask the
//! server whether it accepts every query in it.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Args;
use promdash_queries::client::PromClient;
use promdash_queries::dashboard::{Dashboard, VariableSource, parse_dashboard};

use super::conn::ConnectionArgs;
use super::time::now;
use super::{Outcome, fail};

/// `promdash validate FILE [--url URL]`
#[derive(Debug, Clone, Args)]
pub struct ValidateArgs {
    /// The dashboard file (TOML) to check.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,

    #[command(flatten)]
    pub connection: ConnectionArgs,
}

/// Reads and validates `path` (relative paths in its `[connection]` taken next to it).
/// Problems are written to `err` as `file:line:col: ...`.
pub fn check_file(path: &Path, err: &mut dyn Write) -> anyhow::Result<Option<Dashboard>> {
    let name = path.display().to_string();
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            writeln!(err, "{name}: cannot read the file: {e}")?;
            return Ok(None);
        }
    };
    match parse_dashboard(&text, &name) {
        Ok(mut d) => {
            // Relative paths in `[connection]` are next to the file, as in the dashboard.
            if let Some(c) = d.connection.as_mut() {
                let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
                c.resolve_paths(dir.unwrap_or(Path::new(".")));
            }
            Ok(Some(d))
        }
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

/// Every expression of the dashboard with where it comes from, in file order:
/// `panel "Title"` (with `query N` when the panel has several) or `alert "Name"`.
pub fn expressions(d: &Dashboard) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for p in &d.panels {
        for (i, q) in p.queries.iter().enumerate() {
            let place = if p.queries.len() > 1 {
                format!("panel {:?} query {}", p.title, i + 1)
            } else {
                format!("panel {:?}", p.title)
            };
            out.push((place, substitute(&q.expr, d)));
        }
    }
    for a in &d.alerts {
        out.push((format!("alert {:?}", a.name), substitute(&a.expr, d)));
    }
    out
}

/// Fills in what the server cannot know: Grafana's `$__rate_interval`, `$__interval`,
/// `$__range`, and dashboard variables (their first fixed value, else a placeholder).
pub fn substitute(expr: &str, d: &Dashboard) -> String {
    if !expr.contains('$') {
        return expr.to_owned();
    }
    let mut names: Vec<(String, String)> = vec![
        ("__rate_interval".into(), "1m".into()),
        ("__interval".into(), "15s".into()),
        ("__range".into(), format!("{}s", d.range.as_secs().max(1))),
    ];
    for v in &d.variables {
        let value = match &v.source {
            VariableSource::Values(values) => values.first().cloned().unwrap_or_default(),
            VariableSource::LabelValues { .. } => "promdash".to_owned(),
        };
        names.push((v.name.clone(), value));
    }
    // Longest names first, so `$__rate_interval` is not read as `$__rate` + `_interval`.
    names.sort_by_key(|(n, _)| std::cmp::Reverse(n.len()));
    let mut out = expr.to_owned();
    for (name, value) in &names {
        out = out.replace(&format!("${{{name}}}"), value);
        out = out.replace(&format!("${name}"), value);
    }
    out
}

/// Runs `validate`: the file, then (with a client) each query once as an instant query.
pub async fn run_validate(
    client: Option<&PromClient>,
    args: &ValidateArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<Outcome> {
    let name = args.file.display().to_string();
    let Some(dashboard) = check_file(&args.file, err)? else {
        return Ok(Outcome::Failed);
    };
    let summary = format!(
        "{} panels, {} alerts",
        dashboard.panels.len(),
        dashboard.alerts.len()
    );
    let Some(client) = client else {
        writeln!(out, "{name}: ok ({summary})")?;
        return Ok(Outcome::Ok);
    };
    let at = now();
    let mut rejected = 0;
    let exprs = expressions(&dashboard);
    for (place, expr) in &exprs {
        match client.query(expr, Some(at)).await {
            Ok(_) => {}
            Err(e) if e.is_unreachable() => {
                return fail(
                    err,
                    &format!("{name} is valid, but its queries could not be run: {e}"),
                );
            }
            Err(e) => {
                rejected += 1;
                writeln!(err, "{name}: {place}: {expr:?}: {e}")?;
            }
        }
    }
    if rejected > 0 {
        writeln!(
            err,
            "{name}: {rejected} of {} queries rejected by {}",
            exprs.len(),
            client.redacted_url()
        )?;
        return Ok(Outcome::Failed);
    }
    writeln!(
        out,
        "{name}: ok ({summary}; {} queries accepted by {})",
        exprs.len(),
        client.redacted_url()
    )?;
    Ok(Outcome::Ok)
}
