//! `promdash test promql`: the closing line, the exit codes and `--output json`, with the
//! real binary.

use std::path::Path;
use std::process::{Command, Output};

use promdash_tests::connect::promdash_binary;

fn run(dir: &Path, args: &[&str]) -> Output {
    Command::new(promdash_binary().expect("promdash builds"))
        .current_dir(dir)
        .args(["test", "promql"])
        .args(args)
        .output()
        .expect("promdash runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// `N passed, M failed, K unsupported` from the last line, which must be exactly that.
fn totals(out: &str) -> (usize, usize, usize) {
    let last = out.lines().last().expect("some output");
    let words: Vec<&str> = last.split(' ').collect();
    assert_eq!(words.len(), 6, "closing line {last:?}");
    assert_eq!(
        (words[1], words[2], words[3], words[4], words[5]),
        ("passed,", words[2], "failed,", words[4], "unsupported"),
        "closing line {last:?}"
    );
    let n = |w: &str| w.parse::<usize>().expect("a count");
    (n(words[0]), n(words[2]), n(words[4]))
}

#[test]
fn closing_line_exit_codes_and_json() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join("ok.test"),
        "load 1m\n  m{a=\"1\"} 0+1x10\n\neval instant at 5m m\n  m{a=\"1\"} 5\n\neval instant at 0 1 + 1\n  2\n",
    )
    .expect("write");
    std::fs::write(
        dir.path().join("wrong.test"),
        "eval instant at 0 1 + 1\n  3\n\neval_fail instant at 0 2 * 2\n",
    )
    .expect("write");
    std::fs::write(
        dir.path().join("bad.test"),
        "load 1m\n  m 1\n\nbogus command\n",
    )
    .expect("write");

    // Nothing can fail in ok.test except by a wrong answer of the engine.
    let o = run(dir.path(), &["ok.test"]);
    let (passed, failed, unsupported) = totals(&stdout(&o));
    assert_eq!(passed + failed + unsupported, 2, "{}", stdout(&o));
    assert_eq!(failed, 0, "{}", stdout(&o));
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));

    // A wrong expectation: failed (with file:line and the diff) unless the engine does not
    // evaluate `1 + 1` yet.
    let o = run(dir.path(), &["wrong.test"]);
    let out = stdout(&o);
    let (passed, failed, unsupported) = totals(&out);
    assert_eq!((passed, failed + unsupported), (0, 2), "{out}");
    if failed > 0 {
        assert_eq!(o.status.code(), Some(1), "{out}");
        assert!(
            out.contains("wrong.test:1: FAILED eval instant at 0 1 + 1"),
            "{out}"
        );
        assert!(out.contains("- 3") && out.contains("+ 2"), "{out}");
    }

    // A file that does not parse fails at its line, whatever the engine can do.
    let o = run(dir.path(), &["ok.test", "bad.test"]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(
        out.contains("bad.test:4: FAILED: the test file does not parse: invalid command"),
        "{out}"
    );
    let (passed, failed, unsupported) = totals(&out);
    assert_eq!((passed + unsupported, failed), (2, 1), "{out}");

    // JSON: every case and the same totals.
    let o = run(
        dir.path(),
        &[
            "--output",
            "json",
            "--promql-compat",
            "2",
            "ok.test",
            "bad.test",
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    assert_eq!(doc["cases"].as_array().map(Vec::len), Some(3), "{doc}");
    assert_eq!(doc["failed"], 1);
    assert_eq!(doc["cases"][2]["file"], "bad.test");
    assert_eq!(doc["cases"][2]["line"], 4);
    assert_eq!(doc["cases"][2]["outcome"], "failed");

    // A file that cannot be read: exit 2 and why.
    let o = run(dir.path(), &["missing.test"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("cannot read missing.test"));
    // A bad --promql-compat is refused by the argument parser.
    let o = run(dir.path(), &["--promql-compat", "4", "ok.test"]);
    assert_eq!(o.status.code(), Some(2));
}
