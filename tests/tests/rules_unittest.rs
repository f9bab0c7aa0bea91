//! `promdash test rules` against `promtool test rules` (Prometheus 2.42) on the same
//! unit-test files: the same exit code, and the same report byte for byte (verdicts,
//! failing alerts with their labels and rendered annotations, failing samples, evaluation
//! errors), except for files whose failure is a malformed input, where the wording of the
//! YAML or PromQL parser differs and only the verdict is compared.
//!
//! The fixtures are named for what promtool says about them: `pass_*` pass, `fail_*` and
//! `mixed_*` fail; that is checked too, so a fixture cannot silently stop testing anything.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use promdash_tests::connect::promdash_binary;
use promdash_tests::find_binary;

/// Files whose failure text comes from a parser (promtool quotes Go's YAML and PromQL
/// parsers; promdash names file:line:col): verdict only.
const VERDICT_ONLY: [&str; 2] = ["fail_unknown_field.yml", "fail_broken_rule_file.yml"];

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/rules/unittest")
}

fn test_files() -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(dir())
        .expect("fixture dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| {
            n.ends_with(".yml")
                && (n.starts_with("pass_") || n.starts_with("fail_") || n.starts_with("mixed_"))
        })
        .collect();
    files.sort();
    files
}

fn run(program: &Path, args: &[&str], file: &str) -> Output {
    Command::new(program)
        .current_dir(dir())
        .args(args)
        .arg(file)
        .output()
        .expect("runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn unit_tests_give_promtools_verdicts_and_reports() {
    let promtool = find_binary("promtool", "prometheus").expect("promtool installed");
    let promdash = promdash_binary().expect("promdash builds");
    let files = test_files();
    assert!(files.len() >= 20, "only {} unit-test fixtures", files.len());
    let (mut passing, mut failing) = (0, 0);
    let mut problems = Vec::new();
    for f in &files {
        let p = run(&promtool, &["test", "rules"], f);
        let d = run(&promdash, &["test", "rules"], f);
        let should_pass = f.starts_with("pass_");
        if p.status.success() != should_pass {
            problems.push(format!(
                "{f}: promtool exit {:?}, the name says {}:\n{}",
                p.status.code(),
                if should_pass { "pass" } else { "fail" },
                text(&p.stderr)
            ));
            continue;
        }
        if should_pass {
            passing += 1;
        } else {
            failing += 1;
        }
        let same_code = p.status.code() == d.status.code();
        let same_text =
            VERDICT_ONLY.contains(&f.as_str()) || (p.stdout == d.stdout && p.stderr == d.stderr);
        if !same_code || !same_text {
            problems.push(format!(
                "{f}:\n--- promtool (exit {:?}) stdout:\n{}--- stderr:\n{}\n+++ promdash (exit {:?}) stdout:\n{}+++ stderr:\n{}",
                p.status.code(),
                text(&p.stdout),
                text(&p.stderr),
                d.status.code(),
                text(&d.stdout),
                text(&d.stderr)
            ));
        }
    }
    assert!(
        passing >= 5 && failing >= 5,
        "{passing} passing, {failing} failing"
    );
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

#[test]
fn several_files_in_one_run_exit_one_when_any_fails() {
    let promdash = promdash_binary().expect("promdash builds");
    let ok = Command::new(&promdash)
        .current_dir(dir())
        .args(["test", "rules", "pass_basic.yml", "pass_keep_firing.yml"])
        .output()
        .expect("runs");
    assert_eq!(ok.status.code(), Some(0), "{}", text(&ok.stderr));
    assert_eq!(text(&ok.stdout).matches("  SUCCESS").count(), 2);
    let bad = Command::new(&promdash)
        .current_dir(dir())
        .args(["test", "rules", "pass_basic.yml", "fail_limit.yml"])
        .output()
        .expect("runs");
    assert_eq!(bad.status.code(), Some(1));
    assert!(text(&bad.stderr).contains("exceeded limit of 1 with 2 alerts"));
}
