//! Issue 6: secrets never leak. With a known bearer token and password in every place a
//! secret can be configured (bearer token, basic auth, a secret header, credentials in
//! the URL), neither shows up in any error message or in the `Debug` output of the
//! configuration, the client or the errors, against real servers failing in every way
//! they can.

use std::net::SocketAddr;
use std::time::Duration;

use promdash_queries::client::BasicAuth;
use promdash_queries::{ClientConfig, PromClient, QueryError, Secret};
use promdash_tests::connect::{FaultMode, FaultProxy, Gateway, Pki, TlsPrometheus, TlsSettings};
use promdash_tests::{Prometheus, free_port};

const TOKEN: &str = "tokSECRET7d1e9b44c0a2";
const PASSWORD: &str = "pwSECRET-h4x0r-6b2f";
/// The password as it appears inside a URL (`@` and `/` percent-encoded).
const PASSWORD_IN_URL: &str = "pwSECRET%40x%2Fy";
const PASSWORD_DECODED: &str = "pwSECRET@x/y";
const USER: &str = "bob";

/// Every form a secret takes here; none may appear in any output.
const FORBIDDEN: &[&str] = &[
    TOKEN,
    PASSWORD,
    PASSWORD_IN_URL,
    PASSWORD_DECODED,
    // Base64 of `bob:<password>` as sent in the Authorization header.
    "Ym9iOnB3U0VDUkVU",
    "SECRET",
];

fn assert_clean(what: &str, text: &str) {
    for secret in FORBIDDEN {
        assert!(!text.contains(secret), "{what} leaks {secret:?}:\n{text}");
    }
}

fn check_error(what: &str, err: &QueryError) {
    assert_clean(what, &err.to_string());
    assert_clean(what, &format!("{err:?}"));
    assert_clean(what, &format!("{err:#?}"));
}

/// A configuration carrying every secret: the token as bearer and in a header, basic
/// auth with the password.
fn loaded(url: &str) -> ClientConfig {
    ClientConfig {
        timeout: Duration::from_secs(2),
        bearer_token: Some(Secret::from(TOKEN)),
        basic_auth: Some(BasicAuth {
            user: USER.into(),
            password: PASSWORD.into(),
        }),
        headers: vec![
            ("X-Scope-OrgID".into(), "tenant-1".into()),
            ("X-Api-Key".into(), Secret::from(TOKEN)),
        ],
        ..ClientConfig::new(url)
    }
}

/// Basic auth only (a bearer token would take precedence), the password in the URL.
fn basic_in_url(scheme_host: &str) -> ClientConfig {
    let (scheme, host) = scheme_host
        .split_once("://")
        .unwrap_or(("http", scheme_host));
    ClientConfig {
        timeout: Duration::from_secs(2),
        headers: vec![("X-Api-Key".into(), Secret::from(TOKEN))],
        ..ClientConfig::new(format!("{scheme}://{USER}:{PASSWORD_IN_URL}@{host}"))
    }
}

fn check_config_and_client(what: &str, config: &ClientConfig) -> Option<PromClient> {
    assert_clean(
        &format!("{what}: Debug of ClientConfig"),
        &format!("{config:?}"),
    );
    assert_clean(
        &format!("{what}: Debug of ClientConfig"),
        &format!("{config:#?}"),
    );
    match PromClient::new(config.clone()) {
        Ok(client) => {
            assert_clean(
                &format!("{what}: Debug of PromClient"),
                &format!("{client:?}"),
            );
            assert_clean(&format!("{what}: redacted_url"), client.redacted_url());
            Some(client)
        }
        Err(e) => {
            check_error(&format!("{what}: PromClient::new"), &e);
            None
        }
    }
}

async fn every_call(what: &str, client: &PromClient) -> usize {
    let mut errors = 0;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    // All at once: a hanging server costs one timeout, not five.
    let (a, b, c, d, e) = tokio::join!(
        client.query("up", None),
        client.query_range("up", now - 60.0, now, Duration::from_secs(15)),
        client.label_names(&[]),
        client.buildinfo(),
        client.ready(),
    );
    let results = [a.err(), b.err(), c.err(), d.err(), e.err()];
    for err in results.into_iter().flatten() {
        check_error(what, &err);
        errors += 1;
    }
    errors
}

#[test]
fn debug_output_and_setting_errors_hide_secrets() {
    for url in [
        "http://127.0.0.1:9090".to_owned(),
        format!("http://{USER}:{PASSWORD_IN_URL}@127.0.0.1:9090/prometheus"),
        format!("https://{USER}:{PASSWORD}@localhost:9090"),
    ] {
        let c = check_config_and_client("loaded", &loaded(&url)).expect("valid settings");
        assert!(!c.redacted_url().contains('@'), "{}", c.redacted_url());
    }

    // URL credentials are redacted in redacted_url().
    let c =
        PromClient::new(basic_in_url("https://127.0.0.1:9443/select/0/prometheus")).expect("valid");
    assert_eq!(
        c.redacted_url(),
        "https://127.0.0.1:9443/select/0/prometheus"
    );

    // Settings that cannot be used: the errors name the setting, never the secret.
    let bad: Vec<(&str, ClientConfig)> = vec![
        (
            "unparseable URL with credentials",
            ClientConfig::new(format!("http://{USER}:{PASSWORD}@host name:9090")),
        ),
        (
            "wrong scheme with credentials",
            ClientConfig::new(format!("ftp://{USER}:{PASSWORD}@host:9090")),
        ),
        (
            "token with a newline",
            ClientConfig {
                bearer_token: Some(Secret::new(format!("{TOKEN}\n{TOKEN}"))),
                ..ClientConfig::default()
            },
        ),
        (
            "secret header with a newline",
            ClientConfig {
                headers: vec![("X-Api-Key".into(), Secret::new(format!("{TOKEN}\r\nX: y")))],
                ..ClientConfig::default()
            },
        ),
        (
            "password with a newline",
            ClientConfig {
                basic_auth: Some(BasicAuth {
                    user: USER.into(),
                    password: Secret::new(format!("{PASSWORD}\n")),
                }),
                ..ClientConfig::default()
            },
        ),
        (
            "missing CA file",
            ClientConfig {
                ca_cert: Some("/nonexistent/ca.pem".into()),
                ..loaded("http://127.0.0.1:9090")
            },
        ),
    ];
    for (what, config) in bad {
        check_config_and_client(what, &config);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_from_real_servers_hide_secrets() -> anyhow::Result<()> {
    let mut failures = 0;

    // Nothing listening.
    let closed = format!("127.0.0.1:{}", free_port()?);
    for config in [
        loaded(&format!("http://{closed}")),
        basic_in_url(&format!("http://{closed}")),
    ] {
        let client = check_config_and_client("refused", &config).expect("valid");
        failures += every_call("connection refused", &client).await;
    }

    // Prometheus over TLS with basic auth: the wrong password (the test's secrets are
    // not this server's), and an unknown CA.
    let pki = Pki::generate()?;
    let tls = TlsPrometheus::start(TlsSettings {
        pki: &pki,
        require_client_cert: false,
        basic_auth: Some(("carol", "carols-own-password")),
    })
    .await?;
    for mut config in [loaded(&tls.url()), basic_in_url(&tls.url())] {
        config.ca_cert = Some(pki.path("ca.pem"));
        let client = check_config_and_client("tls 401", &config).expect("valid");
        failures += every_call("TLS, 401", &client).await;
        config.ca_cert = None;
        let client = check_config_and_client("tls unknown CA", &config).expect("valid");
        failures += every_call("TLS, unknown CA", &client).await;
    }

    // The nginx gateway with another token; and a plain Prometheus behind a fault proxy.
    let prom = Prometheus::start::<String>(&[]).await?;
    let gateway = Gateway::start(&format!("127.0.0.1:{}", prom.port()), "other-token").await?;
    for config in [loaded(&gateway.url()), basic_in_url(&gateway.url())] {
        let client = check_config_and_client("gateway", &config).expect("valid");
        failures += every_call("gateway 401", &client).await;
    }
    let upstream: SocketAddr = format!("127.0.0.1:{}", prom.port()).parse()?;
    let proxy = FaultProxy::start(upstream).await?;
    for mode in [
        FaultMode::Hang,
        FaultMode::Reset,
        FaultMode::Truncate,
        FaultMode::Html502,
        FaultMode::Huge {
            content_length: true,
        },
        FaultMode::EchoRequest { json: false },
        FaultMode::EchoRequest { json: true },
    ] {
        proxy.set_mode(mode);
        for config in [loaded(&proxy.url()), basic_in_url(&proxy.url())] {
            let client = check_config_and_client("proxy", &config).expect("valid");
            failures += every_call(&format!("{mode:?}"), &client).await;
        }
    }

    // Server-side errors: a bad expression through the healthy proxy.
    proxy.set_mode(FaultMode::Healthy);
    let client = PromClient::new(basic_in_url(&proxy.url()))?;
    let err = client
        .query("sum(", None)
        .await
        .expect_err("a bad expression is rejected");
    check_error("bad_data", &err);
    failures += 1;

    // The checks above ran on real errors, not on a quiet success.
    assert!(failures >= 80, "only {failures} errors were checked");
    Ok(())
}
