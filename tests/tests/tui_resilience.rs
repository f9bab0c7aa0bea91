//! The dashboard when things go wrong, through the real `promdash` binary in tmux:
//!
//! - every query hangs behind the fault proxy: keys are still answered (the help overlay
//!   opens within 500 ms), and data comes back once the proxy turns healthy, without a
//!   restart;
//! - the terminal goes away (`tmux kill-session`), or SIGHUP or SIGTERM arrives: promdash
//!   ends within 2 s, does not spin meanwhile, and exits 129 (hangup) or 0 (SIGTERM);
//! - a known bearer token and basic-auth password (from files, then from the
//!   environment), echoed back by a careless proxy: neither shows on the screen, in the
//!   log file (at debug level) or in any headless command's output.
//!
//! Needs `tmux` and `prometheus` (Debian: apt-get install tmux prometheus); a missing one
//! fails the test with that message.

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use promdash_tests::connect::{FaultMode, FaultProxy, promdash_binary};
use promdash_tests::tmux::{Tmux, alive, cpu_time, shell_quote};
use promdash_tests::{Prometheus, ServiceConfig, start_service};

const SIZE: (u16, u16) = (120, 40);
const HELP_MARKER: &str = "show or hide this help";

const USER: &str = "carol";
const PASSWORD: &str = "pwTUIsecret-77c1e0";
const TOKEN: &str = "tokTUIsecret-3a9f52d4";

fn s(v: &str) -> String {
    v.to_owned()
}

fn path(p: &Path) -> String {
    p.display().to_string()
}

/// A dashboard drawn: the status bar's help hint is on screen.
fn drawn(screen: &str) -> bool {
    screen.contains("? help")
}

/// A proxy whose upstream is never reached (for modes that do not forward).
async fn proxy_to_nowhere(mode: FaultMode) -> anyhow::Result<FaultProxy> {
    let nowhere: SocketAddr = "127.0.0.1:9".parse()?;
    let proxy = FaultProxy::start(nowhere).await?;
    proxy.set_mode(mode);
    Ok(proxy)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_answered_while_queries_hang_and_data_returns_when_healthy() -> anyhow::Result<()> {
    let service = start_service(ServiceConfig::ephemeral()).await?;
    let prom = Prometheus::start(&[service.addr()]).await?;
    let upstream: SocketAddr = format!("127.0.0.1:{}", prom.port()).parse()?;
    let proxy = FaultProxy::start(upstream).await?;
    proxy.set_mode(FaultMode::Hang);
    let dir = tempfile::tempdir()?;
    let args = vec![
        s("--url"),
        proxy.url(),
        s("--refresh"),
        s("1s"),
        s("--timeout"),
        s("20s"),
        s("--range"),
        s("1m"),
        s("--log-file"),
        path(&dir.path().join("promdash.log")),
    ];
    let tmux = Tmux::start("hang", SIZE, &promdash_binary()?, &args, &[])?;
    tmux.wait_for("the first frame", Duration::from_secs(20), drawn)
        .await?;
    // Let the first round go out and hang.
    let deadline = Instant::now() + Duration::from_secs(10);
    while proxy.requests() == 0 {
        if Instant::now() > deadline {
            bail!(
                "promdash sent no query to the proxy; screen:\n{}",
                tmux.screen()
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Every query now hangs until the 20 s timeout. The help overlay opening and closing
    // three times while none of them has timed out yet (no "no answer within" on screen)
    // shows that keys never wait for the network.
    for round in 0..3 {
        tmux.keys(&["?"])?;
        let screen = tmux
            .wait_for("the help overlay", Duration::from_secs(10), |s| {
                s.contains(HELP_MARKER)
            })
            .await?;
        assert!(
            !screen.contains("no answer within"),
            "round {round}: the queries timed out before the overlay was answered, so this \
             proves nothing; screen:\n{screen}"
        );
        tmux.keys(&["Escape"])?;
        tmux.wait_for("the help overlay to close", Duration::from_secs(10), |s| {
            !s.contains(HELP_MARKER)
        })
        .await?;
    }
    assert!(
        !tmux.screen().contains("no answer within"),
        "the hanging queries timed out during the test; screen:\n{}",
        tmux.screen()
    );

    // The proxy turns healthy: the dashboard recovers by itself.
    proxy.set_mode(FaultMode::Healthy);
    let screen = tmux
        .wait_for(
            "data back after the proxy healed",
            Duration::from_secs(60),
            |s| s.contains(" UP ") && s.contains("refreshed "),
        )
        .await?;
    assert!(!screen.contains("no answer within"), "{screen}");
    Ok(())
}

/// How a test ends the dashboard.
#[derive(Debug, Clone, Copy)]
enum End {
    /// `tmux kill-session`: the terminal goes away.
    KillSession,
    /// `kill -s <SIG> <pid>`.
    Signal(&'static str),
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closing_the_tmux_session_ends_promdash_quickly_and_quietly() -> anyhow::Result<()> {
    ends_within_2s("hangup", End::KillSession, "129").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_and_sigterm_end_promdash() -> anyhow::Result<()> {
    ends_within_2s("sighup", End::Signal("HUP"), "129").await?;
    ends_within_2s("sigterm", End::Signal("TERM"), "0").await
}

/// Starts the dashboard (every query hanging), ends it as `end` says, and checks it is
/// gone within 2 s, used little CPU meanwhile, did not panic and exited with `status`.
async fn ends_within_2s(name: &str, end: End, status: &str) -> anyhow::Result<()> {
    let proxy = proxy_to_nowhere(FaultMode::Hang).await?;
    let dir = tempfile::tempdir()?;
    let log = dir.path().join("promdash.log");
    let args = vec![
        s("--url"),
        proxy.url(),
        s("--refresh"),
        s("1s"),
        s("--log-file"),
        path(&log),
    ];
    // A shell that ignores SIGHUP records promdash's exit status (promdash installs its
    // own SIGHUP handler, so the ignore does not reach it).
    let status_file = dir.path().join("status");
    let mut line = shell_quote(&path(&promdash_binary()?));
    for a in &args {
        line.push(' ');
        line.push_str(&shell_quote(a));
    }
    let script = format!(
        "trap '' HUP; {line}; echo $? > {}",
        shell_quote(&path(&status_file))
    );
    let tmux = Tmux::start(name, SIZE, Path::new("sh"), &[s("-c"), script], &[])?;
    tmux.wait_for("the first frame", Duration::from_secs(20), drawn)
        .await?;
    let shell = tmux.pane_pid()?;
    let children = std::fs::read_to_string(format!("/proc/{shell}/task/{shell}/children"))?;
    let pid: u32 = children
        .split_whitespace()
        .next()
        .context("the shell has no child")?
        .parse()?;
    let before = cpu_time(pid).context("promdash is not running")?;
    match end {
        End::KillSession => tmux.kill_session()?,
        End::Signal(sig) => {
            let ok = std::process::Command::new("kill")
                .args(["-s", sig, &pid.to_string()])
                .status()?
                .success();
            assert!(ok, "kill -s {sig} {pid} failed");
        }
    }
    let killed = Instant::now();
    let mut last = before;
    while alive(pid) {
        if let Some(t) = cpu_time(pid) {
            last = t;
        }
        if killed.elapsed() > Duration::from_secs(2) {
            bail!(
                "promdash (pid {pid}) still runs 2 s after {end:?}; CPU used since: {:?}",
                last.saturating_sub(before)
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let used = last.saturating_sub(before);
    assert!(
        used <= Duration::from_millis(300),
        "promdash used {used:?} of CPU between {end:?} and its exit"
    );
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(!text.contains("panic"), "promdash panicked:\n{text}");
    // The shell writes the status right after promdash ends.
    let deadline = Instant::now() + Duration::from_secs(5);
    let got = loop {
        match std::fs::read_to_string(&status_file) {
            Ok(s) if s.ends_with('\n') => break s,
            _ if Instant::now() > deadline => bail!("no exit status recorded; log:\n{text}"),
            _ => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    };
    assert_eq!(
        got.trim(),
        status,
        "{end:?}: the exit status (129 = 128 + SIGHUP, quietly; 134 is an abort); log:\n{text}"
    );
    Ok(())
}

/// One way of passing a secret: extra arguments, environment, and whether the URL
/// carries the basic-auth credentials.
struct Way {
    args: Vec<String>,
    env: Vec<(&'static str, &'static str)>,
    in_url: bool,
}

/// The token and the password, each from a file, from the environment, and (the
/// password) in the URL. Only one `Authorization` header goes out, so each run carries
/// one of them.
fn secret_ways(dir: &Path) -> anyhow::Result<Vec<Way>> {
    let token = dir.join("token");
    let password = dir.join("password");
    std::fs::write(&token, format!("{TOKEN}\n"))?;
    std::fs::write(&password, format!("{PASSWORD}\n"))?;
    Ok(vec![
        Way {
            args: vec![s("--bearer-token-file"), path(&token)],
            env: vec![],
            in_url: false,
        },
        Way {
            args: vec![
                s("--basic-auth-user"),
                s(USER),
                s("--basic-auth-password-file"),
                path(&password),
            ],
            env: vec![],
            in_url: false,
        },
        Way {
            args: vec![],
            env: vec![("PROMDASH_BEARER_TOKEN", TOKEN)],
            in_url: false,
        },
        Way {
            args: vec![],
            env: vec![
                ("PROMDASH_BASIC_AUTH_USER", USER),
                ("PROMDASH_BASIC_AUTH_PASSWORD", PASSWORD),
            ],
            in_url: false,
        },
        // With the status bar's INSECURE mark as well.
        Way {
            args: vec![s("--insecure-skip-verify")],
            env: vec![],
            in_url: true,
        },
    ])
}

/// Base64 (standard alphabet, padded) of `bytes`, to look for an echoed basic-auth header.
fn base64(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ABC[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn assert_clean(what: &str, text: &str) {
    let basic = base64(format!("{USER}:{PASSWORD}").as_bytes());
    for secret in [TOKEN, PASSWORD, basic.as_str(), "secret"] {
        assert!(!text.contains(secret), "{what} holds {secret:?}:\n{text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_never_shown_logged_or_printed() -> anyhow::Result<()> {
    // Careless proxies quote the request, Authorization header and all, in their errors.
    let proxy = proxy_to_nowhere(FaultMode::EchoRequest { json: true }).await?;
    let dir = tempfile::tempdir()?;
    let binary = promdash_binary()?;
    let dashboard = dir.path().join("dash.toml");
    std::fs::write(
        &dashboard,
        "title = \"secrets\"\n[[panels]]\ntitle = \"Up\"\nkind = \"stat\"\nquery = \"up\"\n\
         [[alerts]]\nname = \"Down\"\nexpr = \"up == 0\"\n",
    )?;
    for (i, way) in secret_ways(dir.path())?.into_iter().enumerate() {
        let log = dir.path().join(format!("promdash-{i}.log"));
        let secret_args = way.args.clone();
        let mut env = way.env.clone();
        let url = if way.in_url {
            proxy
                .url()
                .replace("http://", &format!("http://{USER}:{PASSWORD}@"))
        } else {
            proxy.url()
        };
        env.push(("RUST_LOG", "debug"));
        env.push(("PROMDASH_HEADER", "X-Scope-OrgID: tenant-1"));
        // The dashboard, until the echoed error is on screen.
        let mut args = vec![
            s("--url"),
            url.clone(),
            s("--refresh"),
            s("1s"),
            s("--log-file"),
            path(&log),
        ];
        args.extend(secret_args.iter().cloned());
        let tmux = Tmux::start(&format!("secrets{i}"), SIZE, &binary, &args, &env)?;
        let screen = tmux
            .wait_for("the echoed error", Duration::from_secs(20), |s| {
                s.contains("HTTP 400") && s.contains("authorization: ")
            })
            .await?;
        assert_clean("the screen", &screen);
        if way.in_url {
            let status = screen.lines().last().unwrap_or_default();
            assert!(
                status.contains(&format!(" INSECURE  {}", proxy.url())),
                "the status bar should say INSECURE before the bare URL: {status}"
            );
        }
        // Full screen (only the focused panel's heavy border left), the inspector, the
        // help overlay.
        let full_screen = |s: &str| s.contains('┏') && !s.contains('┌');
        let inspector = |s: &str| s.contains(" Inspect: ");
        let help = |s: &str| s.contains(HELP_MARKER);
        type Shown<'a> = &'a dyn Fn(&str) -> bool;
        let views: [(&str, Shown<'_>); 3] =
            [("Enter", &full_screen), ("i", &inspector), ("?", &help)];
        for (key, shown) in views {
            tmux.keys(&[key])?;
            let screen = tmux
                .wait_for(
                    &format!("the view opened by {key}"),
                    Duration::from_secs(10),
                    shown,
                )
                .await?;
            assert_clean("the screen", &screen);
            tmux.keys(&["Escape"])?;
            tmux.wait_for(
                &format!("the view of {key} to close"),
                Duration::from_secs(10),
                |s| !shown(s),
            )
            .await?;
        }
        tmux.keys(&["q"])?;
        let deadline = Instant::now() + Duration::from_secs(5);
        while !tmux.screen().is_empty() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        drop(tmux);
        let text = std::fs::read_to_string(&log).context("promdash wrote no log file")?;
        assert!(
            text.contains("DEBUG"),
            "the log is not at debug level:\n{text}"
        );
        assert_clean("the log file", &text);

        // Every headless command, with the same secrets the same way.
        let dash = path(&dashboard);
        for cmd in [
            vec!["query", "up", "--url", &url],
            vec!["query", "up", "--range", "5m", "--url", &url, "-o", "json"],
            vec!["check", "--dashboard", &dash, "--url", &url],
            vec!["validate", &dash, "--url", &url],
            vec!["--url", &url, "query", "sum(up)", "-o", "csv"],
        ] {
            let out = std::process::Command::new(&binary)
                .args(&cmd)
                .args(&secret_args)
                .env("RUST_LOG", "debug")
                .envs(env.iter().copied())
                .output()?;
            let what = format!("promdash {cmd:?}");
            assert_eq!(
                out.status.code(),
                Some(2),
                "{what}: the forced error exits 2"
            );
            assert_clean(&what, &String::from_utf8_lossy(&out.stdout));
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(stderr.contains("400"), "{what}: {stderr}");
            assert_clean(&what, &stderr);
        }
    }
    assert!(proxy.requests() > 0);
    Ok(())
}
