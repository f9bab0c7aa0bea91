//! `promdash validate --rules` against `promtool check rules` (Prometheus 2.42) on the same
//! files: every broken fixture is rejected by both, naming file:line:col in promdash's
//! answer; every valid one is accepted by both.

use std::path::{Path, PathBuf};
use std::process::Command;

use promdash_tests::connect::promdash_binary;
use promdash_tests::find_binary;

fn fixtures(kind: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/rules")
        .join(kind);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("fixture dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml"))
        .collect();
    files.sort();
    files
}

struct Verdicts {
    promtool_ok: bool,
    promtool_out: String,
    promdash_code: Option<i32>,
    promdash_out: String,
}

fn both(file: &Path) -> Verdicts {
    let promtool = find_binary("promtool", "prometheus").expect("promtool installed");
    let p = Command::new(promtool)
        .args(["check", "rules"])
        .arg(file)
        .output()
        .expect("promtool runs");
    let d = Command::new(promdash_binary().expect("promdash builds"))
        .args(["validate", "--rules"])
        .arg(file)
        .output()
        .expect("promdash runs");
    Verdicts {
        promtool_ok: p.status.success(),
        promtool_out: format!(
            "{}{}",
            String::from_utf8_lossy(&p.stdout),
            String::from_utf8_lossy(&p.stderr)
        ),
        promdash_code: d.status.code(),
        promdash_out: format!(
            "{}{}",
            String::from_utf8_lossy(&d.stdout),
            String::from_utf8_lossy(&d.stderr)
        ),
    }
}

#[test]
fn broken_rule_files_are_rejected_by_both_with_positions() {
    let files = fixtures("broken");
    assert!(files.len() >= 30, "only {} broken fixtures", files.len());
    let mut disagreements = Vec::new();
    for f in &files {
        let v = both(f);
        let name = f.display().to_string();
        // Every problem line names file:line:col with a real position.
        let positioned = v.promdash_out.lines().any(|l| {
            l.strip_prefix(&format!("{name}:"))
                .and_then(|rest| {
                    let mut parts = rest.splitn(3, ':');
                    let line: usize = parts.next()?.parse().ok()?;
                    let col: usize = parts.next()?.parse().ok()?;
                    Some(line > 0 && col > 0)
                })
                .unwrap_or(false)
        });
        if v.promtool_ok || v.promdash_code != Some(2) || !positioned {
            disagreements.push(format!(
                "{name}:\n  promtool ({}):\n{}\n  promdash (exit {:?}):\n{}",
                if v.promtool_ok {
                    "accepted"
                } else {
                    "rejected"
                },
                v.promtool_out,
                v.promdash_code,
                v.promdash_out
            ));
        }
    }
    assert!(disagreements.is_empty(), "{}", disagreements.join("\n"));
}

#[test]
fn valid_rule_files_are_accepted_by_both() {
    let files = fixtures("valid");
    assert!(files.len() >= 10, "only {} valid fixtures", files.len());
    let mut disagreements = Vec::new();
    for f in &files {
        let v = both(f);
        if !v.promtool_ok || v.promdash_code != Some(0) {
            disagreements.push(format!(
                "{}:\n  promtool:\n{}\n  promdash (exit {:?}):\n{}",
                f.display(),
                v.promtool_out,
                v.promdash_code,
                v.promdash_out
            ));
        }
    }
    assert!(disagreements.is_empty(), "{}", disagreements.join("\n"));
}

#[test]
fn several_files_and_globs_in_one_run() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/rules");
    let bin = promdash_binary().expect("promdash builds");
    let ok = Command::new(&bin)
        .args(["validate", "--rules"])
        .arg(dir.join("valid/*.yml"))
        .arg("--rules")
        .arg(dir.join("valid/service.yml"))
        .output()
        .expect("runs");
    let out = String::from_utf8_lossy(&ok.stdout);
    assert_eq!(ok.status.code(), Some(0), "{out}");
    assert!(out.contains("service.yml: ok (2 groups, 4 rules)"), "{out}");
    let none = Command::new(&bin)
        .args(["validate", "--rules"])
        .arg(dir.join("valid/*.nothing"))
        .output()
        .expect("runs");
    assert_eq!(none.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&none.stderr).contains("no file matches"));
}
