//! A test PKI made with `rcgen` and Prometheus served over TLS (optionally with client
//! certificates and basic auth) through `--web.config.file`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use tempfile::TempDir;

use crate::child::{ChildProcess, find_binary, free_port};

/// PEM files of a throw-away PKI in a temp dir:
///
/// - `ca.pem`: the CA that signed the server certificate (what `--ca-cert` gets);
/// - `server.pem` / `server-key.pem`: for `127.0.0.1` and `localhost`;
/// - `client-ca.pem`: a second CA, which signed the client certificate;
/// - `client.pem` / `client-key.pem`: the client pair for mutual TLS;
/// - `other-ca.pem`: a CA that signed nothing here (an "unknown CA" for the client).
pub struct Pki {
    dir: TempDir,
}

fn ca(name: &str) -> anyhow::Result<(CertificateParams, KeyPair, String)> {
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params.distinguished_name.push(DnType::CommonName, name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let key = KeyPair::generate()?;
    let pem = params.self_signed(&key)?.pem();
    Ok((params, key, pem))
}

fn leaf(
    names: &[&str],
    common_name: &str,
    usage: ExtendedKeyUsagePurpose,
    issuer: &Issuer<'_, KeyPair>,
) -> anyhow::Result<(String, String)> {
    let names: Vec<String> = names.iter().map(|s| (*s).to_owned()).collect();
    let mut params = CertificateParams::new(names)?;
    params
        .distinguished_name
        .push(DnType::CommonName, common_name);
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![usage];
    let key = KeyPair::generate()?;
    let cert = params.signed_by(&key, issuer)?;
    Ok((cert.pem(), key.serialize_pem()))
}

impl Pki {
    /// Generates the whole PKI (ECDSA P-256 keys) into a fresh temp dir.
    pub fn generate() -> anyhow::Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix("promdash-pki-")
            .tempdir()
            .context("cannot create a temp dir")?;
        let (ca_params, ca_key, ca_pem) = ca("promdash test CA")?;
        let server_issuer = Issuer::new(ca_params, ca_key);
        let (server_pem, server_key) = leaf(
            &["127.0.0.1", "localhost"],
            "promdash test server",
            ExtendedKeyUsagePurpose::ServerAuth,
            &server_issuer,
        )?;
        let (client_ca_params, client_ca_key, client_ca_pem) = ca("promdash test client CA")?;
        let client_issuer = Issuer::new(client_ca_params, client_ca_key);
        let (client_pem, client_key) = leaf(
            &["promdash-client"],
            "promdash-client",
            ExtendedKeyUsagePurpose::ClientAuth,
            &client_issuer,
        )?;
        let (_, _, other_pem) = ca("promdash unrelated CA")?;
        for (file, text) in [
            ("ca.pem", &ca_pem),
            ("server.pem", &server_pem),
            ("server-key.pem", &server_key),
            ("client-ca.pem", &client_ca_pem),
            ("client.pem", &client_pem),
            ("client-key.pem", &client_key),
            ("other-ca.pem", &other_pem),
        ] {
            std::fs::write(dir.path().join(file), text)
                .with_context(|| format!("cannot write {file}"))?;
        }
        Ok(Self { dir })
    }

    /// The certificate most people make first, made exactly so by `openssl`:
    /// `openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=localhost -addext
    /// "subjectAltName=IP:127.0.0.1"` — a self-signed CA certificate (basicConstraints
    /// CA:TRUE) used as the server certificate. `server.pem` and `ca.pem` both hold it,
    /// `server-key.pem` its key; there are no client files.
    pub fn openssl_self_signed() -> anyhow::Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix("promdash-openssl-")
            .tempdir()
            .context("cannot create a temp dir")?;
        let openssl = find_binary("openssl", "openssl")?;
        let out = std::process::Command::new(openssl)
            .current_dir(dir.path())
            .args([
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-subj",
                "/CN=localhost",
                "-addext",
                "subjectAltName=IP:127.0.0.1",
                "-keyout",
                "server-key.pem",
                "-out",
                "server.pem",
            ])
            .output()
            .context("cannot run openssl")?;
        if !out.status.success() {
            bail!(
                "openssl req failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::fs::copy(dir.path().join("server.pem"), dir.path().join("ca.pem"))?;
        Ok(Self { dir })
    }

    /// The directory holding the PEM files.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Path of one of the files listed on [`Pki`].
    pub fn path(&self, file: &str) -> PathBuf {
        self.dir.path().join(file)
    }
}

/// A bcrypt hash of `password` (cost 4, the minimum: these are throw-away test
/// passwords and Prometheus checks the hash on requests).
pub fn bcrypt_hash(password: &str) -> anyhow::Result<String> {
    Ok(bcrypt::hash(password, 4)?)
}

/// Prometheus 2.x over HTTPS with a `--web.config.file`, on a free 127.0.0.1 port, with
/// no scrape targets (queries such as `vector(1)` and the status API still answer).
/// Killed when dropped.
pub struct TlsPrometheus {
    dir: TempDir,
    port: u16,
    _child: ChildProcess,
}

/// What [`TlsPrometheus::start`] serves.
pub struct TlsSettings<'a> {
    pub pki: &'a Pki,
    /// Demand a client certificate signed by `client-ca.pem`.
    pub require_client_cert: bool,
    /// Basic auth user and plain password (hashed with bcrypt into the web config).
    pub basic_auth: Option<(&'a str, &'a str)>,
}

impl TlsPrometheus {
    /// Starts Prometheus and waits (up to a minute) until `/-/ready` answers over HTTPS
    /// with the test CA, the client pair and the password.
    pub async fn start(settings: TlsSettings<'_>) -> anyhow::Result<Self> {
        let binary = find_binary("prometheus", "prometheus")?;
        let dir = tempfile::Builder::new()
            .prefix("promdash-prometheus-tls-")
            .tempdir()
            .context("cannot create a temp dir")?;
        let pki = settings.pki;
        let mut web = format!(
            "tls_server_config:\n  cert_file: {}\n  key_file: {}\n",
            pki.path("server.pem").display(),
            pki.path("server-key.pem").display()
        );
        if settings.require_client_cert {
            web.push_str(&format!(
                "  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: {}\n",
                pki.path("client-ca.pem").display()
            ));
        }
        if let Some((user, password)) = settings.basic_auth {
            web.push_str(&format!(
                "basic_auth_users:\n  {user}: '{}'\n",
                bcrypt_hash(password)?
            ));
        }
        std::fs::write(dir.path().join("web.yml"), web)?;
        std::fs::write(
            dir.path().join("prometheus.yml"),
            "global:\n  scrape_interval: 1s\nscrape_configs: []\n",
        )?;
        std::fs::create_dir_all(dir.path().join("data"))?;
        // The free port may be taken by someone else before Prometheus binds it: retry
        // on a new one, as the harness does.
        let mut attempt = 0;
        let (port, child) = loop {
            attempt += 1;
            let port = free_port()?;
            match launch(&binary, dir.path(), port, &settings).await {
                Ok(child) => break (port, child),
                Err(e)
                    if attempt < 3
                        && e.to_string()
                            .to_lowercase()
                            .contains("address already in use") => {}
                Err(e) => return Err(e),
            }
        };
        Ok(Self {
            dir,
            port,
            _child: child,
        })
    }

    /// `https://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("https://127.0.0.1:{}", self.port)
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The end of its log, for assertion messages.
    pub fn log(&self) -> String {
        crate::child::log_tail(&self.dir.path().join("server.log"))
    }
}

/// Starts Prometheus on `port` with the files in `dir` and waits for `/-/ready`.
async fn launch(
    binary: &Path,
    dir: &Path,
    port: u16,
    settings: &TlsSettings<'_>,
) -> anyhow::Result<ChildProcess> {
    let args = vec![
        format!("--config.file={}", dir.join("prometheus.yml").display()),
        format!("--storage.tsdb.path={}", dir.join("data").display()),
        format!("--web.listen-address=127.0.0.1:{port}"),
        format!("--web.config.file={}", dir.join("web.yml").display()),
        "--log.level=info".into(),
    ];
    let mut child = ChildProcess::spawn(binary, &args, &dir.join("server.log"))?;

    // The harness waits over plain HTTP; here readiness needs the CA, the client
    // pair and the password.
    // The same TLS set-up as promdash's client with --ca-cert (so a self-signed server
    // certificate given as the CA is accepted too).
    let pki = settings.pki;
    let identity = if settings.require_client_cert {
        Some(promdash_queries::tls::read_identity(
            &pki.path("client.pem"),
            &pki.path("client-key.pem"),
        )?)
    } else {
        None
    };
    let tls = promdash_queries::tls::client_config(
        promdash_queries::tls::read_ca_file(&pki.path("ca.pem"))?,
        identity,
        false,
    )?;
    let client = promdash_queries::tls::http_client_builder()
        .timeout(Duration::from_secs(2))
        .tls_backend_preconfigured(tls)
        .build()?;
    let url = format!("https://127.0.0.1:{port}/-/ready");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        child.check_alive()?;
        let mut req = client.get(&url);
        if let Some((user, password)) = settings.basic_auth {
            req = req.basic_auth(user, Some(password));
        }
        let last = req.send().await;
        if let Ok(resp) = &last
            && resp.status().is_success()
        {
            break;
        }
        if Instant::now() > deadline {
            bail!(
                "prometheus not ready at {url} within 60 s (last answer {last:?}); end of its log:\n{}",
                child.log_tail()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(child)
}
