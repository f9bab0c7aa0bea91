//! `promdash import grafana FILE.json [-o FILE.toml]`: a Grafana dashboard converted to a
//! promdash dashboard file, with a comment for each thing that was not carried over.

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::{Outcome, count, fail};

/// What `import` converts.
#[derive(Debug, Clone, Subcommand)]
pub enum ImportCommand {
    /// A Grafana dashboard (JSON, as exported or saved by Grafana's API) to a promdash
    /// dashboard file (TOML), on standard output or into --output.
    Grafana(GrafanaArgs),
    /// A dashboard's `[[alerts]]` tables to a Prometheus rule file (YAML), on standard
    /// output or into --output.
    Rules(RulesArgs),
}

/// `promdash import rules DASHBOARD.toml [-o FILE.yml]`
#[derive(Debug, Clone, Args)]
pub struct RulesArgs {
    /// The dashboard file (TOML) whose `[[alerts]]` tables are converted.
    #[arg(value_name = "DASHBOARD.toml")]
    pub file: PathBuf,

    /// Where to write the rule file [default: standard output].
    #[arg(long, short = 'o', value_name = "FILE.yml")]
    pub output: Option<PathBuf>,
}

/// `import rules`: the converted file must read back as a rule file; what was not carried
/// over is counted on `err` (and commented in the file).
fn run_import_rules(
    args: &RulesArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<Outcome> {
    let name = args.file.display().to_string();
    let dashboard = match promdash_queries::dashboard::load_dashboard(&args.file) {
        Ok(d) => d,
        Err(e) => return fail(err, &e.to_string()),
    };
    let c = promdash_queries::rules::convert::alerts_to_rule_file(&dashboard, &name);
    if let Err(e) = promdash_queries::rules::parse_rule_file(&c.yaml) {
        return fail(
            err,
            &format!("{name}: the converted rule file does not load: {e:?}"),
        );
    }
    match &args.output {
        Some(path) => {
            if let Err(e) = std::fs::write(path, &c.yaml) {
                return fail(err, &format!("{}: cannot write: {e}", path.display()));
            }
        }
        None => out.write_all(c.yaml.as_bytes())?,
    }
    for w in &c.warnings {
        writeln!(err, "{name}: {w}")?;
    }
    writeln!(
        err,
        "{name}: {}; {} not carried over",
        count(c.rules, "alerting rule", "alerting rules"),
        count(c.warnings.len(), "thing", "things"),
    )?;
    Ok(Outcome::Ok)
}

/// `promdash import grafana FILE.json [-o FILE.toml]`
#[derive(Debug, Clone, Args)]
pub struct GrafanaArgs {
    /// The Grafana dashboard (JSON).
    #[arg(value_name = "FILE.json")]
    pub file: PathBuf,

    /// Where to write the dashboard file [default: standard output].
    #[arg(long, short = 'o', value_name = "FILE.toml")]
    pub output: Option<PathBuf>,
}

/// Converts; the count of things not carried over goes to `err`.
pub fn run_import(
    cmd: &ImportCommand,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<Outcome> {
    let args = match cmd {
        ImportCommand::Grafana(args) => args,
        ImportCommand::Rules(args) => return run_import_rules(args, out, err),
    };
    let name = args.file.display().to_string();
    let text = match std::fs::read_to_string(&args.file) {
        Ok(t) => t,
        Err(e) => return fail(err, &format!("{name}: cannot read the file: {e}")),
    };
    let im = match promdash_queries::grafana::import(&text) {
        Ok(im) => im,
        Err(e) => return fail(err, &format!("{name}: {e}")),
    };
    let toml = promdash_queries::grafana::to_toml(&im, &name);
    // The file written must load: a failure here is a bug of the importer, said plainly.
    if let Err(e) = promdash_queries::dashboard::parse_dashboard(&toml, "<converted>") {
        return fail(
            err,
            &format!("{name}: the converted dashboard does not load: {e}"),
        );
    }
    match &args.output {
        Some(path) => {
            if let Err(e) = std::fs::write(path, &toml) {
                return fail(err, &format!("{}: cannot write: {e}", path.display()));
            }
        }
        None => out.write_all(toml.as_bytes())?,
    }
    let d = &im.dashboard;
    writeln!(
        err,
        "{name}: {}, {}; {} not carried over (comments in the file)",
        count(d.panels.len(), "panel", "panels"),
        count(d.variables.len(), "variable", "variables"),
        count(im.warnings.len(), "thing", "things"),
    )?;
    Ok(Outcome::Ok)
}
