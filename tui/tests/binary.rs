//! The promdash binary's failures before the dashboard starts: they are reported on
//! stderr and the terminal is never touched (no escape sequences on stdout).

use std::process::Command;

fn promdash() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_promdash"));
    for (k, _) in std::env::vars() {
        if k.starts_with("PROMDASH_") {
            cmd.env_remove(k);
        }
    }
    cmd
}

#[test]
fn broken_dashboard_exits_2_with_line_and_column() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("broken.toml");
    std::fs::write(
        &file,
        "title = \"x\"\n\n[[panels]]\ntitle = \"p\"\nkind = \"pie\"\nquery = \"up\"\n",
    )
    .expect("write");
    let out = promdash()
        .arg("--dashboard")
        .arg(&file)
        .arg("--log-file")
        .arg(dir.path().join("log"))
        .output()
        .expect("run promdash");
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let want = format!("{}:5:", file.display());
    assert!(stderr.contains(&want), "file:line:col in {stderr:?}");
    assert!(stderr.contains("pie"), "{stderr:?}");
    assert!(
        out.stdout.is_empty(),
        "nothing drawn: {:?}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn unreadable_token_file_exits_2() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = promdash()
        .arg("--bearer-token-file")
        .arg(dir.path().join("missing-token"))
        .arg("--log-file")
        .arg(dir.path().join("log"))
        .output()
        .expect("run promdash");
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("bearer token file"), "{stderr:?}");
    assert!(out.stdout.is_empty());
}

#[test]
fn demo_with_prometheus_but_none_installed_says_how_to_install_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = promdash()
        .arg("demo")
        .arg("--prometheus")
        .arg("--log-file")
        .arg(dir.path().join("log"))
        .env("PATH", dir.path())
        .output()
        .expect("run promdash");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("apt-get install prometheus"), "{stderr:?}");
    assert!(stderr.contains("brew install prometheus"), "{stderr:?}");
    assert!(out.stdout.is_empty(), "terminal untouched");
}

#[test]
fn without_a_terminal_the_dashboard_says_what_to_use_instead() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = promdash()
        .arg("--log-file")
        .arg(dir.path().join("log"))
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run promdash");
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stderr.trim(),
        "promdash needs a terminal; use `promdash query` or `check` in scripts"
    );
    assert!(out.stdout.is_empty(), "terminal untouched");
}

#[test]
fn a_bad_dashboard_option_in_the_environment_only_concerns_the_dashboard() {
    let out = promdash()
        .args(["completions", "bash"])
        .env("PROMDASH_RANGE", "soon")
        .env("PROMDASH_REFRESH", "often")
        .output()
        .expect("run promdash");
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("promdash"));
    // The dashboard itself names it.
    let dir = tempfile::tempdir().expect("temp dir");
    let out = promdash()
        .arg("--log-file")
        .arg(dir.path().join("log"))
        .env("PROMDASH_RANGE", "soon")
        .output()
        .expect("run promdash");
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("PROMDASH_RANGE") && stderr.contains("\"soon\""),
        "{stderr:?}"
    );
    // Written on the command line before a headless subcommand: refused, by name.
    let out = promdash()
        .args(["--range", "5m", "completions", "bash"])
        .output()
        .expect("run promdash");
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--range") && stderr.contains("completions"),
        "{stderr:?}"
    );
}

#[test]
fn completions_into_a_closed_pipe_end_quietly() {
    // `promdash completions bash | head -c 0`: the reader is gone before the first write
    // (the parent holds the only read end and closes it at once).
    let mut child = promdash()
        .args(["completions", "bash"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run promdash");
    drop(child.stdout.take().expect("stdout"));
    let out = child.wait_with_output().expect("waits");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(out.status.success(), "{out:?} {stderr}");
}

/// What `demo` starts Prometheus through: the program dies with promdash even when
/// promdash is SIGKILLed (no destructor runs then). Here `sh` stands in for promdash.
#[cfg(target_os = "linux")]
#[test]
fn an_exec_child_dies_with_its_parent_even_on_sigkill() {
    use std::io::BufRead as _;
    use std::time::{Duration, Instant};
    let bin = env!("CARGO_BIN_EXE_promdash");
    let mut sh = Command::new("sh")
        .arg("-c")
        .arg(format!("'{bin}' __exec-child $$ sleep 600 & echo $!; wait"))
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("run sh");
    let mut line = String::new();
    std::io::BufReader::new(sh.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("the child's pid");
    let pid: u32 = line.trim().parse().expect("a pid");
    let alive = |pid: u32| {
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|s| s.rsplit(')').next().map(|r| r.trim_start().to_owned()))
            .is_some_and(|rest| !rest.starts_with('Z') && !rest.starts_with('X'))
    };
    let comm = |pid: u32| std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
    // Wait until it has become `sleep` (the exec happened, the death signal is set).
    let deadline = Instant::now() + Duration::from_secs(10);
    while comm(pid).trim() != "sleep" {
        assert!(
            Instant::now() < deadline,
            "never became sleep: {:?}",
            comm(pid)
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    sh.kill().expect("SIGKILL sh");
    sh.wait().expect("reap sh");
    let deadline = Instant::now() + Duration::from_secs(10);
    while alive(pid) {
        assert!(Instant::now() < deadline, "sleep {pid} outlived its parent");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn exec_child_is_not_in_the_help() {
    let out = promdash().arg("--help").output().expect("run promdash");
    assert!(!String::from_utf8_lossy(&out.stdout).contains("exec-child"));
}
