//! Issue 18, item 5: bounded requests in flight per server, and the terminal given back
//! on every way out (SIGINT, SIGQUIT) and across a suspension (SIGTSTP, then SIGCONT).

use std::time::Duration;

use promdash_queries::{ClientConfig, PromClient};
use promdash_tests::connect::promdash_binary;
use promdash_tests::hostile::{HostileServer, Response};
use promdash_tests::tmux::Tmux;

const ONE: &str = r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"1"]}]}}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_in_flight_to_one_server_are_bounded() {
    let server = HostileServer::start_slow(Duration::from_millis(200), |_| Response::json(ONE))
        .await
        .expect("start");
    let client = PromClient::new(ClientConfig {
        max_in_flight: 4,
        ..ClientConfig::new(server.url())
    })
    .expect("client");
    // 60 queries at once, as a 60-panel dashboard's refresh asks them.
    let tasks: Vec<_> = (0..60)
        .map(|i| {
            let c = client.clone();
            tokio::spawn(async move { c.query(&format!("vector({i})"), None).await })
        })
        .collect();
    for t in tasks {
        t.await.expect("task").expect("answered");
    }
    assert_eq!(server.requests().len(), 60);
    assert_eq!(
        server.max_concurrency(),
        4,
        "never more than --max-in-flight at once"
    );
}

/// The pid of the shell's child (promdash) in the tmux pane.
fn child_of(pid: u32) -> u32 {
    let children = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .expect("/proc children");
    children
        .split_whitespace()
        .next()
        .and_then(|p| p.parse().ok())
        .expect("promdash runs under the shell")
}

fn kill(signal: &str, pid: u32) {
    let ok = std::process::Command::new("kill")
        .args([&format!("-{signal}"), &pid.to_string()])
        .status()
        .expect("kill runs")
        .success();
    assert!(ok, "kill -{signal} {pid}");
}

/// Waits until `pid` is stopped (state `T` in /proc/PID/stat). promdash gives the
/// terminal back first and stops itself after: a SIGCONT sent in between would arrive
/// before the stop and leave it stopped for good, which no shell does (`fg` continues a
/// stopped job).
async fn wait_stopped(pid: u32) {
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    loop {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let state = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next());
        if state == Some("T") {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "promdash (pid {pid}) never stopped after SIGTSTP; /proc stat: {stat}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn wait_alternate(tmux: &Tmux, on: bool) {
    let want = if on { "1" } else { "0" };
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    loop {
        let now = tmux
            .tmux(&["display", "-p", "-t", "0", "#{alternate_on}"])
            .unwrap_or_default();
        if now.trim() == want {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "alternate screen never became {want}; screen:\n{}",
            tmux.screen()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signals_give_the_terminal_back() {
    let server = HostileServer::start(|_| Response::json(ONE))
        .await
        .expect("start");
    let bin = promdash_binary().expect("the promdash binary builds");
    let dir = tempfile::tempdir().expect("temp dir");
    for (name, signal) in [("sigint", "INT"), ("sigquit", "QUIT")] {
        let script = format!(
            "'{}' --url '{}' --log-file '{}'; echo EXIT=$?; sleep 60",
            bin.display(),
            server.url(),
            dir.path().join(format!("{name}.log")).display()
        );
        let tmux = Tmux::start(
            name,
            (120, 30),
            std::path::Path::new("/bin/sh"),
            &["-c".to_owned(), script],
            &[("PROMDASH_CONFIG", "/nonexistent/promdash-config.toml")],
        )
        .expect("tmux starts");
        wait_alternate(&tmux, true).await;
        let pid = child_of(tmux.pane_pid().expect("pane pid"));
        if signal == "INT" {
            // Suspended: the shell's screen is back; resumed: the dashboard again.
            kill("TSTP", pid);
            wait_alternate(&tmux, false).await;
            wait_stopped(pid).await;
            kill("CONT", pid);
            wait_alternate(&tmux, true).await;
        }
        kill(signal, pid);
        let screen = tmux
            .wait_for("the exit", Duration::from_secs(90), |s| s.contains("EXIT="))
            .await
            .expect("promdash exits");
        assert!(screen.contains("EXIT=0"), "{signal}: {screen}");
        wait_alternate(&tmux, false).await;
        let cursor = tmux
            .tmux(&["display", "-p", "-t", "0", "#{cursor_flag}"])
            .expect("tmux");
        assert_eq!(cursor.trim(), "1", "{signal}: the cursor is shown again");
    }
}
