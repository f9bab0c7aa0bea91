//! TLS set-up shared by every HTTP client of the workspace.
//!
//! reqwest is built with `rustls-no-provider`: rustls with the `ring` crypto provider,
//! which compiles in seconds where aws-lc-rs's C build took minutes. reqwest then takes the
//! process-wide default provider and panics if none is installed, so every place that
//! builds a `reqwest::Client` calls [`install_crypto_provider`] first ([`crate::PromClient`]
//! does it itself).
//!
//! With `--ca-cert` the client gets its own rustls configuration ([`client_config`]): the
//! certificates in that file are the only trust anchors (as for curl's `--cacert` and
//! Prometheus's `ca_file`), and a server that presents *exactly* one of them is accepted
//! even when it is a CA certificate. That is what `openssl req -x509 -newkey rsa:2048
//! -nodes -subj /CN=localhost -addext "subjectAltName=IP:127.0.0.1"` makes, the
//! certificate most people try first; webpki refuses it as "CA used as end entity",
//! curl, Go and promtool accept it. The host name and the handshake signature are still
//! verified; so is the validity period (webpki checks it before the CA flag).

use std::path::Path;
use std::sync::{Arc, Once};

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{AlertDescription, CertificateError, DigitallySignedStruct, RootCertStore};

use crate::error::QueryError;

/// Installs rustls's `ring` provider as the process default, once. Harmless to call again,
/// and harmless if another provider was installed first (that one is kept).
pub fn install_crypto_provider() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // Err means a provider is already installed: reqwest will use that one.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// A `reqwest::ClientBuilder` with the crypto provider installed: the way to start any
/// client outside [`crate::PromClient`].
pub fn http_client_builder() -> reqwest::ClientBuilder {
    install_crypto_provider();
    reqwest::Client::builder()
}

/// Sets up `builder`'s TLS from `--ca-cert`, `--client-cert`/`--client-key` and
/// `--insecure-skip-verify` (or the same settings of a file): with a CA file, our own
/// rustls configuration ([`client_config`]: the file's certificates are the only roots,
/// and a server presenting exactly one of them is accepted); without, the system's roots.
pub fn configure(
    mut builder: reqwest::ClientBuilder,
    ca_cert: Option<&Path>,
    client_cert: Option<&Path>,
    client_key: Option<&Path>,
    insecure_skip_verify: bool,
) -> Result<reqwest::ClientBuilder, QueryError> {
    let pair = match (client_cert, client_key) {
        (Some(cert), Some(key)) => Some((cert, key)),
        (None, None) => None,
        _ => {
            return Err(QueryError::Config(
                "--client-cert and --client-key go together".into(),
            ));
        }
    };
    if let Some(ca) = ca_cert {
        let identity = match pair {
            Some((cert, key)) => Some(read_identity(cert, key)?),
            None => None,
        };
        let roots = read_ca_file(ca)?;
        let tls = client_config(roots, identity, insecure_skip_verify)?;
        return Ok(builder.tls_backend_preconfigured(tls));
    }
    if let Some((cert, key)) = pair {
        let mut pem = std::fs::read(cert).map_err(|e| {
            QueryError::Config(format!("cannot read --client-cert {}: {e}", cert.display()))
        })?;
        pem.push(b'\n');
        pem.extend(std::fs::read(key).map_err(|e| {
            QueryError::Config(format!("cannot read --client-key {}: {e}", key.display()))
        })?);
        let id = reqwest::Identity::from_pem(&pem).map_err(|e| {
            QueryError::Config(format!(
                "--client-cert/--client-key are not a PEM certificate and key: {e}"
            ))
        })?;
        builder = builder.identity(id);
    }
    if insecure_skip_verify {
        builder = builder.tls_danger_accept_invalid_certs(true);
    }
    Ok(builder)
}

/// Reads the certificates of a `--ca-cert` PEM file.
pub fn read_ca_file(path: &Path) -> Result<Vec<CertificateDer<'static>>, QueryError> {
    let pem = std::fs::read(path).map_err(|e| {
        QueryError::Config(format!("cannot read --ca-cert {}: {e}", path.display()))
    })?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| {
            QueryError::Config(format!(
                "--ca-cert {} is not a PEM certificate: {e}",
                path.display()
            ))
        })?;
    if certs.is_empty() {
        return Err(QueryError::Config(format!(
            "--ca-cert {} holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
            path.display()
        )));
    }
    Ok(certs)
}

/// Reads a `--client-cert` / `--client-key` pair.
pub fn read_identity(
    cert: &Path,
    key: &Path,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), QueryError> {
    let read = |flag: &str, p: &Path| {
        std::fs::read(p)
            .map_err(|e| QueryError::Config(format!("cannot read {flag} {}: {e}", p.display())))
    };
    let cert_pem = read("--client-cert", cert)?;
    let key_pem = read("--client-key", key)?;
    let certs = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .ok()
        .filter(|c| !c.is_empty())
        .ok_or_else(|| {
            QueryError::Config(format!(
                "--client-cert {} holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
                cert.display()
            ))
        })?;
    let key_der = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| {
        QueryError::Config(format!(
            "--client-key {} holds no PEM private key: {e}",
            key.display()
        ))
    })?;
    Ok((certs, key_der))
}

/// The rustls configuration for a client given `--ca-cert` (the certificates in `ca`),
/// an optional client pair, and `--insecure-skip-verify` (which wins over the CA).
pub fn client_config(
    ca: Vec<CertificateDer<'static>>,
    identity: Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>,
    insecure: bool,
) -> Result<rustls::ClientConfig, QueryError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| QueryError::Config(format!("cannot set up TLS: {e}")))?;
    let verifier: Arc<dyn ServerCertVerifier> = if insecure {
        Arc::new(AnyCertificate { provider })
    } else {
        let mut roots = RootCertStore::empty();
        for (i, c) in ca.iter().enumerate() {
            roots.add(c.clone()).map_err(|e| {
                QueryError::Config(format!(
                    "certificate {} of --ca-cert cannot be used as a CA: {}",
                    i + 1,
                    describe_rustls(&e, true)
                ))
            })?;
        }
        let inner = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
            .build()
            .map_err(|e| QueryError::Config(format!("cannot use --ca-cert: {e}")))?;
        Arc::new(CaCertVerifier { inner, given: ca })
    };
    let builder = builder
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    match identity {
        Some((certs, key)) => builder.with_client_auth_cert(certs, key).map_err(|e| {
            QueryError::Config(format!(
                "--client-cert/--client-key cannot be used together: {}",
                describe_rustls(&e, true)
            ))
        }),
        None => Ok(builder.with_no_client_auth()),
    }
}

/// webpki's verifier over the `--ca-cert` roots, which also accepts a server presenting
/// exactly one of those certificates when webpki's only objection is that it is a CA.
#[derive(Debug)]
struct CaCertVerifier {
    inner: Arc<WebPkiServerVerifier>,
    given: Vec<CertificateDer<'static>>,
}

impl ServerCertVerifier for CaCertVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self.inner.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        ) {
            Err(e)
                if is_ca_used_as_end_entity(&e)
                    && self.given.iter().any(|g| g.as_ref() == end_entity.as_ref()) =>
            {
                // webpki checked the validity period before the CA flag, so the
                // certificate is current; it is a trust anchor itself, so there is no
                // chain to check. What remains is the name.
                let parsed = rustls::server::ParsedCertificate::try_from(end_entity)?;
                rustls::client::verify_server_name(&parsed, server_name)?;
                Ok(ServerCertVerified::assertion())
            }
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// `--insecure-skip-verify` with `--ca-cert`: any certificate, but the handshake
/// signature is still checked (the connection is at least with the key holder).
#[derive(Debug)]
struct AnyCertificate {
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

fn is_ca_used_as_end_entity(e: &rustls::Error) -> bool {
    match e {
        rustls::Error::InvalidCertificate(CertificateError::Other(other)) => other
            .0
            .downcast_ref::<webpki::Error>()
            .is_some_and(|w| matches!(w, webpki::Error::CaUsedAsEndEntity)),
        _ => false,
    }
}

/// The rustls error inside a request error, if any (tokio-rustls wraps it in an
/// `io::Error`, whose `source()` skips it, hence the `get_ref`).
pub fn find_rustls_error<'a>(
    e: &'a (dyn std::error::Error + 'static),
) -> Option<&'a rustls::Error> {
    let mut cur = Some(e);
    while let Some(err) = cur {
        if let Some(r) = err.downcast_ref::<rustls::Error>() {
            return Some(r);
        }
        if let Some(io) = err.downcast_ref::<std::io::Error>()
            && let Some(inner) = io.get_ref()
            && let Some(r) = find_rustls_error(inner)
        {
            return Some(r);
        }
        cur = err.source();
    }
    None
}

/// What went wrong in plain words, with what to do about it. `ca_given`: the user passed
/// `--ca-cert` (so "pass --ca-cert" is not the advice).
pub fn describe_rustls(e: &rustls::Error, ca_given: bool) -> String {
    use CertificateError as C;
    let trust = "pass the CA that signed it, or the server's own certificate, with \
                 --ca-cert (--insecure-skip-verify to test)";
    match e {
        rustls::Error::InvalidCertificate(c) => match c {
            C::UnknownIssuer => {
                if ca_given {
                    format!(
                        "the server's certificate is neither signed by a CA in --ca-cert \
                         nor one of its certificates; {trust}"
                    )
                } else {
                    format!("the server's certificate is signed by a CA not trusted here; {trust}")
                }
            }
            C::NotValidForName => "the server's certificate is not valid for the host name \
                 in --url; use a name the certificate lists (subjectAltName) or reissue it"
                .to_owned(),
            C::NotValidForNameContext {
                expected,
                presented,
            } => {
                let names = if presented.is_empty() {
                    "it lists no names in subjectAltName".to_owned()
                } else {
                    format!("it is only valid for {}", presented.join(", "))
                };
                format!(
                    "the server's certificate is not valid for {} ({names}); use one of its \
                     names in --url, or reissue the certificate with this one in subjectAltName",
                    expected.to_str()
                )
            }
            C::Expired => "the server's certificate has expired".to_owned(),
            C::ExpiredContext { not_after, .. } => format!(
                "the server's certificate expired at {}",
                rfc3339(not_after.as_secs())
            ),
            C::NotValidYet => {
                "the server's certificate is not valid yet (check both clocks)".to_owned()
            }
            C::NotValidYetContext { not_before, .. } => format!(
                "the server's certificate is only valid from {} (check both clocks)",
                rfc3339(not_before.as_secs())
            ),
            C::Revoked => "the server's certificate has been revoked".to_owned(),
            C::BadEncoding => "the server's certificate cannot be parsed".to_owned(),
            C::BadSignature => "the server's certificate has a signature that does not \
                 verify against its issuer"
                .to_owned(),
            C::InvalidPurpose | C::InvalidPurposeContext { .. } => {
                "the server's certificate is not meant for a TLS server (its extended key \
                 usage lacks serverAuth)"
                    .to_owned()
            }
            _ if is_ca_used_as_end_entity(e) => {
                if ca_given {
                    "the server presents a CA certificate as its own, and not one given with \
                     --ca-cert; pass exactly the server's certificate file with --ca-cert"
                        .to_owned()
                } else {
                    "the server presents a CA certificate as its own (a self-signed \
                     certificate); pass exactly that certificate file with --ca-cert"
                        .to_owned()
                }
            }
            other => format!("the server's certificate is refused ({other}); {trust}"),
        },
        rustls::Error::AlertReceived(alert) => match alert {
            AlertDescription::CertificateRequired
            | AlertDescription::BadCertificate
            | AlertDescription::UnknownCA
            | AlertDescription::CertificateUnknown
            | AlertDescription::UnsupportedCertificate
            | AlertDescription::CertificateExpired
            | AlertDescription::CertificateRevoked
            | AlertDescription::AccessDenied => {
                "the server refused the client certificate, or wants one: check \
                 --client-cert/--client-key"
                    .to_owned()
            }
            AlertDescription::ProtocolVersion | AlertDescription::HandshakeFailure => {
                "the server and promdash share no TLS version or cipher (TLS 1.2 or 1.3 \
                 is needed)"
                    .to_owned()
            }
            other => format!("the server ended the TLS handshake (alert {other:?})"),
        },
        rustls::Error::InvalidMessage(_) => {
            "the server did not answer in TLS (is it plain HTTP? then use http:// in --url)"
                .to_owned()
        }
        other => format!("the TLS handshake failed: {other}"),
    }
}

fn rfc3339(unix_secs: u64) -> String {
    humantime::format_rfc3339_seconds(
        std::time::UNIX_EPOCH + std::time::Duration::from_secs(unix_secs),
    )
    .to_string()
}
