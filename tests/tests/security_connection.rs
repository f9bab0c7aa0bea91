//! Issue 18, items 2, 3 and 9: a shared dashboard cannot borrow the user's credentials or
//! files, headers do not follow redirects to another server, and the smaller holes
//! (`check --dashboard` relative paths, wrongly shaped answers, `--timeout 0s`, gzip).
//!
//! Each test runs the real `promdash` binary against small hostile servers of its own on
//! loopback that record every header they receive (`tests/src/hostile.rs`), and against
//! a real Prometheus 2.42 over TLS where TLS is the point.

use std::path::Path;
use std::process::{Command, Output};

use promdash_tests::connect::{Pki, TlsPrometheus, TlsSettings, promdash_binary};
use promdash_tests::hostile::{HostileServer, Request, Response};

/// An instant vector of one series, value 1.
const ONE: &str = r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"1"]}]}}"#;

/// Runs `promdash` with only the `PROMDASH_*` variables given.
fn promdash(args: &[&str], env: &[(&str, &str)]) -> Output {
    let bin = promdash_binary().expect("the promdash binary builds");
    let mut cmd = Command::new(bin);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("PROMDASH_") {
            cmd.env_remove(key);
        }
    }
    cmd.env("PROMDASH_CONFIG", "/nonexistent/promdash-config.toml")
        .envs(env.iter().copied())
        .args(args)
        .output()
        .expect("promdash runs")
}

fn text(o: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn write(path: &Path, text: &str) -> String {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).expect("mkdir");
    }
    std::fs::write(path, text).expect("write");
    path.display().to_string()
}

/// A dashboard with one always-true alert, so `check` sends one query.
fn dashboard(connection: &str) -> String {
    format!(
        "title = \"shared\"\n\n[connection]\n{connection}\n\n[[panels]]\ntitle = \"p\"\nquery = \"up\"\n\n\
         [[alerts]]\nname = \"A\"\nexpr = \"up\"\n"
    )
}

/// The credentials a request carried.
fn credentials(r: &Request) -> Vec<String> {
    ["authorization", "x-scope-orgid", "x-api-key"]
        .iter()
        .filter_map(|h| r.header(h).map(|v| format!("{h}: {v}")))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dashboard_on_another_server_gets_none_of_the_users_credentials() {
    let mine = HostileServer::start(|_| Response::json(ONE))
        .await
        .expect("start");
    let evil = HostileServer::start(|_| Response::json(ONE))
        .await
        .expect("start");
    let dir = tempfile::tempdir().expect("temp dir");
    let token = write(&dir.path().join("me/token"), "user-secret-token");
    let config = write(
        &dir.path().join("me/config.toml"),
        &format!(
            "[connection]\nurl = \"{}\"\nbearer_token_file = \"{token}\"\n\
             headers = {{ \"X-Scope-OrgID\" = \"my-tenant\" }}\n",
            mine.url()
        ),
    );
    let shared = write(
        &dir.path().join("shared/d.toml"),
        &dashboard(&format!("url = \"{}\"", evil.url())),
    );
    let env = [
        ("PROMDASH_CONFIG", config.as_str()),
        ("PROMDASH_BASIC_AUTH_PASSWORD", "env-password"),
        ("PROMDASH_HEADER", "X-Api-Key: env-key"),
    ];
    let out = promdash(&["check", "--instant", "-d", &shared], &env);
    assert_eq!(out.status.code(), Some(1), "the rule fires: {}", text(&out));
    let got = evil.requests();
    assert!(!got.is_empty(), "the dashboard's server was asked");
    for r in &got {
        assert_eq!(credentials(r), Vec::<String>::new(), "{r:?}");
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("not your server {}", mine.url())),
        "the change is shown before the first request: {stderr}"
    );

    // The same dashboard without a url: the user's own server, with the user's settings.
    let own = write(&dir.path().join("shared/own.toml"), &dashboard(""));
    let out = promdash(&["check", "--instant", "-d", &own], &env);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let r = mine.requests().pop().expect("my server was asked");
    assert_eq!(r.header("authorization"), Some("Bearer user-secret-token"));
    assert_eq!(r.header("x-scope-orgid"), Some("my-tenant"));

    // Passed on the command line, a credential goes where the user points it.
    let out = promdash(
        &[
            "check",
            "--instant",
            "-d",
            &shared,
            "--header",
            "X-Api-Key: cli-key",
        ],
        &env,
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let r = evil.requests().pop().expect("asked");
    assert_eq!(credentials(&r), ["x-api-key: cli-key"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_secret_files_are_refused_unless_allowed_and_taken_next_to_the_file() {
    let evil = HostileServer::start(|_| Response::json(ONE))
        .await
        .expect("start");
    let dir = tempfile::tempdir().expect("temp dir");
    write(&dir.path().join("victim/id_ed25519"), "PRIVATE KEY");
    let shared = write(
        &dir.path().join("shared/sub/d.toml"),
        &dashboard(&format!(
            "url = \"{}\"\nbasic_auth_user = \"x\"\nbasic_auth_password_file = \"../../victim/id_ed25519\"",
            evil.url()
        )),
    );
    for args in [
        vec!["check", "--instant", "-d", shared.as_str()],
        vec!["validate", shared.as_str()],
    ] {
        let out = promdash(&args, &[]);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("connection.basic_auth_password_file")
                && stderr.contains("--allow-dashboard-secrets"),
            "{stderr}"
        );
    }
    assert!(
        evil.requests().is_empty(),
        "nothing was sent: {:?}",
        evil.requests()
    );

    // Opted in: the file is read, relative to the dashboard (not the working directory).
    let out = promdash(
        &[
            "check",
            "--instant",
            "--allow-dashboard-secrets",
            "-d",
            &shared,
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let r = evil.requests().pop().expect("asked");
    // base64("x:PRIVATE KEY")
    assert_eq!(
        r.header("authorization"),
        Some("Basic eDpQUklWQVRFIEtFWQ==")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dashboard_cannot_turn_off_tls_verification() {
    let pki = Pki::generate().expect("pki");
    let prom = TlsPrometheus::start(TlsSettings {
        pki: &pki,
        require_client_cert: false,
        basic_auth: None,
    })
    .await
    .expect("Prometheus over TLS starts");
    let dir = tempfile::tempdir().expect("temp dir");
    let d = write(
        &dir.path().join("d.toml"),
        &dashboard(&format!(
            "url = \"{}\"\ninsecure_skip_verify = true",
            prom.url()
        )),
    );
    let out = promdash(&["check", "--instant", "-d", &d], &[]);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(2), "{all}");
    assert!(all.contains("TLS"), "the certificate was checked: {all}");
    assert!(all.contains("cannot lower TLS verification"), "{all}");
    let out = promdash(&["validate", &d], &[]);
    assert!(
        text(&out).contains("cannot lower TLS verification"),
        "{}",
        text(&out)
    );
    // The user's own flag still works.
    let out = promdash(
        &["check", "--instant", "--insecure-skip-verify", "-d", &d],
        &[],
    );
    assert_ne!(out.status.code(), Some(2), "{}", text(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custom_headers_do_not_follow_a_redirect_to_another_server() {
    let other = HostileServer::start(|_| Response::json(ONE))
        .await
        .expect("start");
    let to = other.url();
    let first = HostileServer::start(move |r| {
        if r.path().starts_with("/moved/") {
            Response::json(ONE)
        } else if r.target.contains("same") {
            // Same server, another path: the headers belong here.
            Response::redirect(307, &format!("/moved{}", r.target))
        } else {
            Response::redirect(307, &format!("{to}{}", r.target))
        }
    })
    .await
    .expect("start");
    let dir = tempfile::tempdir().expect("temp dir");
    let token = write(&dir.path().join("token"), "bearer-secret");
    let args = |expr: &'static str| {
        vec![
            "--url".to_owned(),
            first.url(),
            "--header".to_owned(),
            "X-Api-Key: key-secret".to_owned(),
            "--header".to_owned(),
            "X-Scope-OrgID: tenant".to_owned(),
            "--bearer-token-file".to_owned(),
            token.clone(),
            "query".to_owned(),
            expr.to_owned(),
        ]
    };
    let run = |a: Vec<String>| {
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        promdash(&a, &[])
    };
    let out = run(args("away"));
    assert!(out.status.success(), "{}", text(&out));
    let r = other.requests().pop().expect("the redirect was followed");
    assert_eq!(credentials(&r), Vec::<String>::new(), "{r:?}");

    let out = run(args("same"));
    assert!(out.status.success(), "{}", text(&out));
    let r = first
        .requests()
        .into_iter()
        .find(|r| r.path().starts_with("/moved/"))
        .expect("followed on the same server");
    assert_eq!(
        credentials(&r),
        [
            "authorization: Bearer bearer-secret",
            "x-scope-orgid: tenant",
            "x-api-key: key-secret"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrongly_shaped_answers_gzip_and_zero_timeouts_are_errors() {
    let server = HostileServer::start(|r| {
        if r.target.contains("gzip") {
            // A gzip member header and junk: what a misconfigured proxy sends.
            Response {
                status: 200,
                headers: vec![
                    ("Content-Type".into(), "application/json".into()),
                    ("Content-Encoding".into(), "gzip".into()),
                ],
                body: vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3],
            }
        } else {
            // Series without their sample: not "no series".
            Response::json(
                r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"a":"b"}}]}}"#,
            )
        }
    })
    .await
    .expect("start");
    let url = server.url();

    let out = promdash(&["--url", &url, "query", "shape"], &[]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("has no `value`"), "{}", text(&out));

    let dir = tempfile::tempdir().expect("temp dir");
    let d = write(&dir.path().join("d.toml"), &dashboard(""));
    let out = promdash(&["--url", &url, "check", "--instant", "-d", &d], &[]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "never a confident OK: {}",
        text(&out)
    );

    let out = promdash(&["--url", &url, "query", "gzip"], &[]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("gzip"), "named as gzip: {}", text(&out));

    let before = server.requests().len();
    let out = promdash(&["--url", &url, "--timeout", "0s", "query", "up"], &[]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("timeout is 0s"), "{}", text(&out));
    assert_eq!(
        server.requests().len(),
        before,
        "refused before any request"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_log_never_follows_a_symlink_and_open_secret_files_are_warned_about() {
    let dir = tempfile::tempdir().expect("temp dir");
    let victim = write(&dir.path().join("victim.txt"), "precious\n");
    let link = dir.path().join("promdash.log");
    std::os::unix::fs::symlink(&victim, &link).expect("symlink");
    let server = HostileServer::start(|_| Response::json(ONE))
        .await
        .expect("start");
    // The dashboard, in a terminal (tmux), refuses before it takes the terminal over.
    let bin = promdash_binary().expect("the promdash binary builds");
    let script = format!(
        "'{}' --url '{}' --log-file '{}'; echo EXIT=$?; sleep 60",
        bin.display(),
        server.url(),
        link.display()
    );
    let tmux = promdash_tests::tmux::Tmux::start(
        "logsymlink",
        (120, 20),
        Path::new("/bin/sh"),
        &["-c".to_owned(), script],
        &[("PROMDASH_CONFIG", "/nonexistent/promdash-config.toml")],
    )
    .expect("tmux starts");
    let screen = tmux
        .wait_for("the exit", std::time::Duration::from_secs(60), |s| {
            s.contains("EXIT=")
        })
        .await
        .expect("promdash exits");
    assert!(screen.contains("EXIT=2"), "{screen}");
    assert!(screen.contains("symbolic link"), "{screen}");
    assert_eq!(
        std::fs::read_to_string(&victim).expect("read"),
        "precious\n"
    );

    let token = write(&dir.path().join("token"), "t0ken-value");
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    }
    let out = promdash(
        &[
            "--url",
            &server.url(),
            "--bearer-token-file",
            &token,
            "query",
            "up",
        ],
        &[],
    );
    assert!(out.status.success(), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stderr.matches("readable by other users").count(),
        1,
        "warned once: {stderr}"
    );
}
