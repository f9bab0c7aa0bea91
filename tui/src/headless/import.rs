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
    let ImportCommand::Grafana(args) = cmd;
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
