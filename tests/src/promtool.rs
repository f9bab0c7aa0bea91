//! Running Prometheus's own `promtool` (from the `prometheus` package).

use std::io::Write as _;
use std::process::{Command, Stdio};

use anyhow::{Context as _, bail};

use crate::child::find_binary;

fn promtool() -> anyhow::Result<Command> {
    Ok(Command::new(find_binary("promtool", "prometheus")?))
}

fn run(mut cmd: Command, stdin: Option<&str>) -> anyhow::Result<String> {
    let mut child = cmd
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("cannot start promtool")?;
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .context("promtool stdin")?
            .write_all(input.as_bytes())?;
    }
    let out = child.wait_with_output()?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        bail!(
            "promtool {:?} failed ({}):\n{stdout}{}",
            cmd.get_args().collect::<Vec<_>>(),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(stdout)
}

/// `promtool check metrics` with `exposition` on stdin: Ok(its output) when it passes,
/// an error with its complaints otherwise.
pub fn check_metrics(exposition: &str) -> anyhow::Result<String> {
    let mut cmd = promtool()?;
    cmd.args(["check", "metrics"]);
    run(cmd, Some(exposition))
}

/// `promtool query instant <server> <expr>`; returns stdout.
pub fn query_instant(server_url: &str, expr: &str) -> anyhow::Result<String> {
    let mut cmd = promtool()?;
    cmd.args(["query", "instant", server_url, expr]);
    run(cmd, None)
}

/// `promtool query range --start --end --step <server> <expr>`; times are RFC 3339 or
/// Unix seconds, `step` a duration like `1s`. Returns stdout.
pub fn query_range(
    server_url: &str,
    expr: &str,
    start: &str,
    end: &str,
    step: &str,
) -> anyhow::Result<String> {
    let mut cmd = promtool()?;
    cmd.args(["query", "range"])
        .arg(format!("--start={start}"))
        .arg(format!("--end={end}"))
        .arg(format!("--step={step}"))
        .args([server_url, expr]);
    run(cmd, None)
}

/// `promtool tsdb create-blocks-from openmetrics <file> <data_dir>`: backfills the
/// samples of an OpenMetrics file into TSDB blocks. Returns promtool's output.
pub fn create_blocks_from_openmetrics(
    file: &std::path::Path,
    data_dir: &std::path::Path,
) -> anyhow::Result<String> {
    let mut cmd = promtool()?;
    cmd.args(["tsdb", "create-blocks-from", "openmetrics"])
        .arg(file)
        .arg(data_dir);
    run(cmd, None)
}
