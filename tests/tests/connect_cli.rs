//! Issue 6 through the real `promdash` binary's headless `query` command: connection
//! flags and environment variables reach the client (TLS with `--ca-cert`, basic auth
//! from a password file, mutual TLS, a bearer token file and a tenant header behind the
//! nginx gateway), failures exit 2 with the client's advice, and no output — stdout,
//! stderr, `--help` — ever holds the token or the password.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Output;

use promdash_tests::Prometheus;
use promdash_tests::connect::{
    FaultMode, FaultProxy, Gateway, Pki, TlsPrometheus, TlsSettings, promdash_binary,
};

const USER: &str = "alice";
const PASSWORD: &str = "pwCLIsecret-5e8d21";
const TOKEN: &str = "tokCLIsecret-0b7f93aa";

/// Every secret, as the environment can hold it.
const SECRET_ENV: [(&str, &str); 4] = [
    ("PROMDASH_BEARER_TOKEN", TOKEN),
    ("PROMDASH_BASIC_AUTH_PASSWORD", PASSWORD),
    ("PROMDASH_HEADER", "X-Api-Key: tokCLIsecret-0b7f93aa"),
    (
        "PROMDASH_URL",
        "http://alice:pwCLIsecret-5e8d21@127.0.0.1:9",
    ),
];

/// Runs `promdash args...` with only the given `PROMDASH_*` variables; checks that
/// none of the secret values (all contain `CLIsecret`) appears in what it printed.
async fn promdash(args: &[&str], env: &[(&str, &str)]) -> anyhow::Result<Output> {
    let mut cmd = tokio::process::Command::new(promdash_binary()?);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("PROMDASH_") {
            cmd.env_remove(key);
        }
    }
    cmd.args(args).envs(env.iter().copied()).kill_on_drop(true);
    let out = tokio::time::timeout(std::time::Duration::from_secs(60), cmd.output()).await??;
    for stream in [&out.stdout, &out.stderr] {
        let text = String::from_utf8_lossy(stream);
        for secret in [PASSWORD, TOKEN, "CLIsecret"] {
            assert!(
                !text.contains(secret),
                "promdash {args:?} printed {secret:?}:\n{text}"
            );
        }
    }
    Ok(out)
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn path(p: &Path) -> String {
    p.display().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_basic_auth_and_mutual_tls_flags() -> anyhow::Result<()> {
    let pki = Pki::generate()?;
    let files = tempfile::tempdir()?;
    let good = files.path().join("password");
    let bad = files.path().join("wrong-password");
    std::fs::write(&good, format!("{PASSWORD}\n"))?;
    std::fs::write(&bad, "not-the-password\n")?;
    let ca = path(&pki.path("ca.pem"));

    let prom = TlsPrometheus::start(TlsSettings {
        pki: &pki,
        require_client_cert: false,
        basic_auth: Some((USER, PASSWORD)),
    })
    .await?;
    let url = prom.url();
    let base = [
        "query",
        "vector(1) * 7",
        "--output",
        "csv",
        "--url",
        &url,
        "--basic-auth-user",
        USER,
    ];

    // --ca-cert and the password file: the answer.
    let pw = path(&good);
    let mut args = base.to_vec();
    args.extend(["--ca-cert", &ca, "--basic-auth-password-file", &pw]);
    let out = promdash(&args, &[]).await?;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains('7'), "{}", stdout(&out));

    // The password from the environment instead of a file.
    let mut args = base.to_vec();
    args.extend(["--ca-cert", &ca]);
    let out = promdash(&args, &[("PROMDASH_BASIC_AUTH_PASSWORD", PASSWORD)]).await?;
    assert!(out.status.success(), "{}", stderr(&out));

    // The wrong password: exit 2 and the advice.
    let wrong = path(&bad);
    let mut args = base.to_vec();
    args.extend(["--ca-cert", &ca, "--basic-auth-password-file", &wrong]);
    let out = promdash(&args, &[]).await?;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("401 unauthorized — check the basic auth credentials"),
        "{}",
        stderr(&out)
    );

    // No --ca-cert: a certificate error naming it.
    let mut args = base.to_vec();
    args.extend(["--basic-auth-password-file", &pw]);
    let out = promdash(&args, &[]).await?;
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--ca-cert"), "{}", stderr(&out));

    // Mutual TLS: the client pair works, its absence names --client-cert.
    let mtls = TlsPrometheus::start(TlsSettings {
        pki: &pki,
        require_client_cert: true,
        basic_auth: None,
    })
    .await?;
    let murl = mtls.url();
    let (cert, key) = (
        path(&pki.path("client.pem")),
        path(&pki.path("client-key.pem")),
    );
    let q = ["query", "vector(1) * 7", "--url", &murl, "--ca-cert", &ca];
    let mut args = q.to_vec();
    args.extend(["--client-cert", &cert, "--client-key", &key]);
    let out = promdash(&args, &[]).await?;
    assert!(out.status.success(), "{}", stderr(&out));
    let out = promdash(&q, &[]).await?;
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--client-cert"), "{}", stderr(&out));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gateway_flags_and_secrets_in_every_output() -> anyhow::Result<()> {
    let prom = Prometheus::start::<String>(&[]).await?;
    let gateway = Gateway::start(&format!("127.0.0.1:{}", prom.port()), TOKEN).await?;
    let url = gateway.url();
    let files = tempfile::tempdir()?;
    let token_file = files.path().join("token");
    std::fs::write(&token_file, format!("{TOKEN}\n"))?;
    let tf = path(&token_file);

    // Token file and tenant header: the answer.
    let q = ["query", "vector(1) + 41", "--url", &url];
    let mut args = q.to_vec();
    args.extend([
        "--bearer-token-file",
        &tf,
        "--header",
        "X-Scope-OrgID: team-a",
    ]);
    let out = promdash(&args, &[]).await?;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("42"), "{}", stdout(&out));

    // The token from the environment, the header from the environment.
    let out = promdash(
        &q,
        &[
            ("PROMDASH_BEARER_TOKEN", TOKEN),
            ("PROMDASH_HEADER", "X-Scope-OrgID: team-a"),
        ],
    )
    .await?;
    assert!(out.status.success(), "{}", stderr(&out));

    // Either missing: exit 2 with the hint.
    let mut args = q.to_vec();
    args.extend(["--bearer-token-file", &tf]);
    let out = promdash(&args, &[]).await?;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("missing tenant header?"),
        "{}",
        stderr(&out)
    );
    let mut args = q.to_vec();
    args.extend(["--header", "X-Scope-OrgID: team-a"]);
    let out = promdash(&args, &[]).await?;
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("bearer token"), "{}", stderr(&out));

    // A server quoting the request back (token and all): the error does not repeat it.
    let upstream: SocketAddr = format!("127.0.0.1:{}", prom.port()).parse()?;
    let proxy = FaultProxy::start(upstream).await?;
    let purl = proxy.url();
    for mode in [
        FaultMode::EchoRequest { json: false },
        FaultMode::EchoRequest { json: true },
        FaultMode::Html502,
    ] {
        proxy.set_mode(mode);
        let out = promdash(
            &["query", "up", "--url", &purl, "--bearer-token-file", &tf],
            &[("PROMDASH_BASIC_AUTH_PASSWORD", PASSWORD)],
        )
        .await?;
        assert_eq!(out.status.code(), Some(2), "{mode:?}: {}", stderr(&out));
    }

    // A query failing with every secret in the environment says nothing of them.
    let out = promdash(&["query", "up", "--timeout", "2s"], &SECRET_ENV).await?;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn help_hides_secrets_in_the_environment() -> anyhow::Result<()> {
    for help in [
        vec!["--help"],
        vec!["query", "--help"],
        vec!["check", "--help"],
        vec!["validate", "--help"],
    ] {
        let out = promdash(&help, &SECRET_ENV).await?;
        assert!(out.status.success(), "{help:?}: {}", stderr(&out));
    }
    Ok(())
}
