//! Our promqltest files (`tests/promql/*.test`) through the promqltest runner on the
//! engine, with conformance kept as data: `tests/promql/PASSING.txt` lists the cases known
//! to pass (`file: eval line`), one a line, and may only grow.
//!
//! The test fails when a file does not parse, when a listed case does not pass (a
//! regression) or is no longer in the files. Cases that fail or are unsupported and are
//! not listed are printed on every run, as are passing cases not listed yet;
//! `PROMDASH_UPDATE_PASSING=1 cargo test -p promdash-engine --test promqltest` adds those.

use std::collections::BTreeSet;
use std::path::Path;

use promdash_engine::promqltest::{self, Outcome, RunOptions, Totals};

#[test]
fn promql_test_files() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/promql");
    let listed_path = dir.join("PASSING.txt");
    let listed_text = std::fs::read_to_string(&listed_path).unwrap_or_default();
    let listed: BTreeSet<String> = listed_text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
        .collect();

    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/promql exists")
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "test"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no .test files in {}", dir.display());

    let mut totals = Totals::default();
    let mut problems = Vec::new();
    let mut report = Vec::new();
    let mut passing = BTreeSet::new();
    let mut seen = BTreeSet::new();
    for path in &files {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .expect("a file name");
        let text = std::fs::read_to_string(path).expect("readable");
        for case in promqltest::run(&text, &RunOptions::default()) {
            totals.add(&case.outcome);
            if case.command.is_empty() {
                problems.push(format!("{name}:{}: {:?}", case.line, case.outcome));
                continue;
            }
            let key = format!("{name}: {}", case.command);
            seen.insert(key.clone());
            match &case.outcome {
                Outcome::Passed => {
                    passing.insert(key.clone());
                    if !listed.contains(&key) {
                        report.push(format!("newly passing (not in PASSING.txt): {key}"));
                    }
                }
                Outcome::Failed {
                    message,
                    expected,
                    got,
                } => {
                    let line = format!(
                        "{name}:{}: FAILED {}\n    {message}\n{}",
                        case.line,
                        case.command,
                        match (expected, got) {
                            (Some(e), Some(g)) => promqltest::diff(e, g)
                                .lines()
                                .map(|l| format!("    {l}\n"))
                                .collect::<String>(),
                            _ => String::new(),
                        }
                    );
                    if listed.contains(&key) {
                        problems.push(format!("regression: {line}"));
                    } else {
                        report.push(line);
                    }
                }
                Outcome::Unsupported(why) => {
                    let line =
                        format!("{name}:{}: unsupported: {}: {why}", case.line, case.command);
                    if listed.contains(&key) {
                        problems.push(format!("regression: {line}"));
                    } else {
                        report.push(line);
                    }
                }
            }
        }
    }
    for key in listed.difference(&seen) {
        problems.push(format!(
            "{key} is in PASSING.txt but no longer in the files: a case may only be removed from the list with its test"
        ));
    }
    for line in &report {
        println!("{line}");
    }
    println!("{totals}");

    if std::env::var_os("PROMDASH_UPDATE_PASSING").is_some() {
        let all: BTreeSet<&String> = listed.iter().chain(passing.iter()).collect();
        let mut out = String::from(
            "# Cases of tests/promql/*.test known to pass on the engine (`file: eval line`).\n\
             # This list may only grow: a listed case that stops passing fails the test.\n",
        );
        for key in all {
            out.push_str(key);
            out.push('\n');
        }
        std::fs::write(&listed_path, out).expect("PASSING.txt is writable");
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
