//! Issue 6: the client against Prometheus 2.42 served over TLS with a test CA (made with
//! rcgen), basic auth (bcrypt-hashed in the web config) and mutual TLS.

use std::path::PathBuf;
use std::time::Duration;

use promdash_queries::client::BasicAuth;
use promdash_queries::{ClientConfig, PromClient, QueryError};
use promdash_tests::connect::{Pki, TlsPrometheus, TlsSettings};

const USER: &str = "alice";
const PASSWORD: &str = "correct-horse-battery-42";

fn config(url: &str, ca: Option<PathBuf>) -> ClientConfig {
    ClientConfig {
        ca_cert: ca,
        timeout: Duration::from_secs(10),
        ..ClientConfig::new(url)
    }
}

fn with_password(mut c: ClientConfig, password: &str) -> ClientConfig {
    c.basic_auth = Some(BasicAuth {
        user: USER.into(),
        password: password.into(),
    });
    c
}

async fn one(client: &PromClient) -> Result<f64, QueryError> {
    let r = client.query("vector(1) * 7", None).await?;
    Ok(r.as_scalar().map_or(f64::NAN, |s| s.v))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_with_basic_auth() -> anyhow::Result<()> {
    let pki = Pki::generate()?;
    let prom = TlsPrometheus::start(TlsSettings {
        pki: &pki,
        require_client_cert: false,
        basic_auth: Some((USER, PASSWORD)),
    })
    .await?;
    let url = prom.url();
    let ca = Some(pki.path("ca.pem"));

    // The CA and the right password: queries, the status API and /-/ready all work.
    let client = PromClient::new(with_password(config(&url, ca.clone()), PASSWORD))?;
    assert_eq!(one(&client).await?, 7.0, "log:\n{}", prom.log());
    assert!(client.ready().await?);
    assert!(client.buildinfo().await?.version.starts_with("2."));

    // Credentials in the URL work the same and are not shown.
    let in_url = format!("https://{USER}:{PASSWORD}@127.0.0.1:{}", prom.port());
    let client = PromClient::new(config(&in_url, ca.clone()))?;
    assert_eq!(client.redacted_url(), url);
    assert_eq!(one(&client).await?, 7.0);

    // The wrong password: a 401 that says what to check.
    let client = PromClient::new(with_password(config(&url, ca.clone()), "wrong-password"))?;
    let err = one(&client).await.expect_err("wrong password must fail");
    let msg = err.to_string();
    assert_eq!(err.http_status(), Some(401), "{err:?}");
    assert!(
        msg.contains("401 unauthorized — check the basic auth credentials"),
        "{msg}"
    );
    assert!(!msg.contains("wrong-password"), "{msg}");

    // No credentials at all: the message says the server wants some.
    let client = PromClient::new(config(&url, ca.clone()))?;
    let err = one(&client).await.expect_err("no credentials must fail");
    assert_eq!(err.http_status(), Some(401), "{err:?}");
    assert!(err.to_string().contains("basic auth"), "{err}");

    // A CA the client does not know: a certificate error naming the fix.
    for unknown in [None, Some(pki.path("other-ca.pem"))] {
        let client = PromClient::new(with_password(config(&url, unknown.clone()), PASSWORD))?;
        let err = one(&client)
            .await
            .expect_err("an unknown CA must be refused");
        let msg = err.to_string();
        assert!(
            matches!(err, QueryError::Tls { .. }),
            "{unknown:?}: {err:?}"
        );
        assert!(msg.contains("--ca-cert"), "{msg}");
        assert!(msg.to_lowercase().contains("certificate"), "{msg}");
        assert!(err.is_unreachable());
    }

    // --insecure-skip-verify connects without the CA.
    let mut insecure = with_password(config(&url, None), PASSWORD);
    insecure.insecure_skip_verify = true;
    assert_eq!(one(&PromClient::new(insecure)?).await?, 7.0);

    // Plain HTTP to a TLS port is not a mystery either.
    let plain = url.replacen("https://", "http://", 1);
    let client = PromClient::new(with_password(config(&plain, None), PASSWORD))?;
    let err = one(&client).await.expect_err("http to an https port fails");
    assert!(!err.to_string().contains(PASSWORD), "{err}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutual_tls() -> anyhow::Result<()> {
    let pki = Pki::generate()?;
    let prom = TlsPrometheus::start(TlsSettings {
        pki: &pki,
        require_client_cert: true,
        basic_auth: None,
    })
    .await?;
    let url = prom.url();
    let ca = Some(pki.path("ca.pem"));

    // With the client pair: works.
    let mut good = config(&url, ca.clone());
    good.client_cert = Some(pki.path("client.pem"));
    good.client_key = Some(pki.path("client-key.pem"));
    let client = PromClient::new(good.clone())?;
    assert_eq!(one(&client).await?, 7.0, "log:\n{}", prom.log());
    assert!(client.ready().await?);

    // Without it: a TLS error that points at --client-cert/--client-key.
    let client = PromClient::new(config(&url, ca.clone()))?;
    let err = one(&client)
        .await
        .expect_err("no client certificate must fail");
    let msg = err.to_string();
    assert!(matches!(err, QueryError::Tls { .. }), "{err:?}");
    assert!(msg.contains("--client-cert"), "{msg}");

    // A client certificate from a CA the server does not trust (the server's own pair,
    // signed by the server CA and meant for server auth) is refused the same way.
    let mut wrong = config(&url, ca.clone());
    wrong.client_cert = Some(pki.path("server.pem"));
    wrong.client_key = Some(pki.path("server-key.pem"));
    let err = one(&PromClient::new(wrong)?)
        .await
        .expect_err("an untrusted client certificate must fail");
    assert!(matches!(err, QueryError::Tls { .. }), "{err:?}");

    // Half a pair, or a missing file, is a setting error naming the flag.
    let mut half = config(&url, ca.clone());
    half.client_cert = Some(pki.path("client.pem"));
    let err = PromClient::new(half).expect_err("cert without key");
    assert!(err.to_string().contains("--client-key"), "{err}");
    let mut missing = good;
    missing.client_key = Some(pki.path("no-such-key.pem"));
    let err = PromClient::new(missing).expect_err("missing key file");
    assert!(
        matches!(err, QueryError::Config(_)) && err.to_string().contains("no-such-key.pem"),
        "{err}"
    );
    let mut bad_ca = config(&url, Some(pki.path("client-key.pem")));
    bad_ca.timeout = Duration::from_secs(5);
    let err = PromClient::new(bad_ca).expect_err("a key is not a CA certificate");
    assert!(err.to_string().contains("--ca-cert"), "{err}");
    Ok(())
}

/// Issue 16 item 13: the self-signed certificate `openssl req -x509` makes (a CA
/// certificate used as the server's own) works when given with --ca-cert, as it does for
/// curl and promtool; the host name is still checked; and every refusal is in plain words.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openssl_self_signed_certificate_given_as_ca() -> anyhow::Result<()> {
    let pki = Pki::openssl_self_signed()?;
    let prom = TlsPrometheus::start(TlsSettings {
        pki: &pki,
        require_client_cert: false,
        basic_auth: None,
    })
    .await?;
    let url = prom.url();
    let cert = Some(pki.path("server.pem"));
    let no_debug_output = |msg: &str| {
        for debug in [
            "Other(",
            "OtherError",
            "CaUsedAsEndEntity",
            "InvalidCertificate",
        ] {
            assert!(!msg.contains(debug), "debug output in {msg:?}");
        }
    };

    // Exactly that certificate as --ca-cert: queries and the status API work.
    let client = PromClient::new(config(&url, cert.clone()))?;
    assert_eq!(one(&client).await?, 7.0, "log:\n{}", prom.log());
    assert!(client.ready().await?);
    assert!(client.buildinfo().await?.version.starts_with("2."));

    // The name is still verified: the certificate names IP 127.0.0.1 only (its CN
    // `localhost` does not count), so https://localhost is refused, saying why.
    let by_name = format!("https://localhost:{}", prom.port());
    let err = one(&PromClient::new(config(&by_name, cert.clone()))?)
        .await
        .expect_err("localhost is not in the certificate's subjectAltName");
    let msg = err.to_string();
    assert!(matches!(err, QueryError::Tls { .. }), "{err:?}");
    assert!(
        msg.contains("not valid for localhost") && msg.contains("127.0.0.1"),
        "{msg}"
    );
    no_debug_output(&msg);

    // Without --ca-cert: refused, in words that say what the certificate is and what to do.
    let err = one(&PromClient::new(config(&url, None))?)
        .await
        .expect_err("a self-signed certificate is not trusted by default");
    let msg = err.to_string();
    assert!(matches!(err, QueryError::Tls { .. }), "{err:?}");
    assert!(msg.contains("--ca-cert"), "{msg}");
    no_debug_output(&msg);

    // Another self-signed certificate with the same names as --ca-cert: refused (the
    // server's certificate must be exactly the one given), again in plain words.
    let other = Pki::openssl_self_signed()?;
    let err = one(&PromClient::new(config(
        &url,
        Some(other.path("server.pem")),
    ))?)
    .await
    .expect_err("a different self-signed certificate must be refused");
    let msg = err.to_string();
    assert!(matches!(err, QueryError::Tls { .. }), "{err:?}");
    assert!(msg.contains("not one given with --ca-cert"), "{msg}");
    no_debug_output(&msg);

    // --insecure-skip-verify with --ca-cert skips the check (names included).
    let mut insecure = config(&by_name, Some(other.path("server.pem")));
    insecure.insecure_skip_verify = true;
    assert_eq!(one(&PromClient::new(insecure)?).await?, 7.0);
    Ok(())
}
