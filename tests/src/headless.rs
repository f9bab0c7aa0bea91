//! promdash's headless commands (`check`, `query`, ...) run in this process, as `main`
//! runs them, with their output captured.

use promdash::headless::{CheckArgs, ConnectionArgs, HeadlessCommand, Outcome, Report, run};

/// `check` as the command line gives it with no options: set the fields a test needs with
/// `CheckArgs { dashboard: Some(file), ..check_args() }`.
pub fn check_args() -> CheckArgs {
    CheckArgs {
        dashboard: None,
        instant: false,
        refresh: None,
        output: Report::Text,
        rules: Vec::new(),
        alertmanager: Default::default(),
        external_labels: Vec::new(),
    }
}

/// Runs `cmd` against the server at `url` (`--url url`, nothing else): its outcome, then
/// what it wrote to stdout and stderr.
pub async fn run_headless(cmd: HeadlessCommand, url: &str) -> (Outcome, String, String) {
    let conn = ConnectionArgs {
        url: Some(url.to_owned()),
        ..ConnectionArgs::default()
    };
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let outcome = run(
        cmd,
        &conn,
        || unreachable!("completions are not asked for"),
        &mut out,
        &mut err,
    )
    .await
    .expect("output goes to Vecs");
    (
        outcome,
        String::from_utf8(out).expect("utf-8"),
        String::from_utf8(err).expect("utf-8"),
    )
}
