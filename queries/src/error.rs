//! One error type for everything that can go wrong while asking a server for data.
//!
//! Every message says what happened and what the user can do about it. No message ever
//! contains a secret: URLs are shown redacted, header values and credentials never.

use std::fmt;
use std::time::Duration;

/// Prometheus' `errorType`: an open set. Known values get their own variant; anything
/// else (VictoriaMetrics puts the HTTP status there, Mimir says `server_error`) is kept
/// verbatim in [`ErrorType::Other`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ErrorType {
    BadData,
    Execution,
    Timeout,
    Canceled,
    Internal,
    Unavailable,
    NotFound,
    NotAcceptable,
    Other(String),
}

impl ErrorType {
    /// Maps the wire string to a variant; unknown strings become [`ErrorType::Other`].
    pub fn parse(s: &str) -> Self {
        match s {
            "bad_data" => Self::BadData,
            "execution" => Self::Execution,
            "timeout" => Self::Timeout,
            "canceled" => Self::Canceled,
            "internal" => Self::Internal,
            "unavailable" => Self::Unavailable,
            "not_found" => Self::NotFound,
            "not_acceptable" => Self::NotAcceptable,
            other => Self::Other(other.to_owned()),
        }
    }

    /// The wire string.
    pub fn as_str(&self) -> &str {
        match self {
            Self::BadData => "bad_data",
            Self::Execution => "execution",
            Self::Timeout => "timeout",
            Self::Canceled => "canceled",
            Self::Internal => "internal",
            Self::Unavailable => "unavailable",
            Self::NotFound => "not_found",
            Self::NotAcceptable => "not_acceptable",
            Self::Other(s) => s,
        }
    }

    /// A short hint on what to do about this kind of error.
    fn advice(&self) -> &'static str {
        match self {
            Self::BadData => "fix the expression or the request parameters",
            Self::Execution => {
                "the expression is valid but could not be evaluated; check label matching (on/ignoring, group_left) and types"
            }
            Self::Timeout => {
                "the server gave up on the query; narrow it (fewer series, shorter range, larger step) or raise the server's query timeout"
            }
            Self::Canceled => "the query was canceled; try again",
            Self::Internal | Self::Unavailable => {
                "the server is having trouble; try again later or check its logs"
            }
            Self::NotFound | Self::NotAcceptable => {
                "check that --url points at a Prometheus-compatible query API"
            }
            Self::Other(_) => "see the server's message",
        }
    }
}

impl fmt::Display for ErrorType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Everything that can go wrong asking a server for data.
///
/// `url` fields are always redacted (no credentials); see
/// [`crate::client::PromClient::redacted_url`].
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum QueryError {
    /// Nothing listens on the address (TCP connection refused / reset at connect).
    #[error(
        "cannot connect to {url}: connection refused; is the server running and listening there? check --url"
    )]
    ConnectionRefused { url: String },

    /// The host name does not resolve.
    #[error("cannot resolve the host of {url} ({detail}); check the host name in --url")]
    Dns { url: String, detail: String },

    /// TLS handshake or certificate problem.
    /// `detail` says what went wrong in plain words and what to do about it.
    #[error("TLS with {url} failed: {detail}")]
    Tls { url: String, detail: String },

    /// No (complete) answer within the client timeout.
    #[error(
        "no answer from {url} within {}; the server may be down, overloaded or the query too heavy: raise --timeout or narrow the query",
        humantime::format_duration(*after)
    )]
    Timeout { url: String, after: Duration },

    /// Any other network failure (connection reset, body cut short, ...).
    #[error("request to {url} failed: {detail}; check --url and the network, then retry")]
    Transport { url: String, detail: String },

    /// The server answered with a body that is not a Prometheus JSON envelope
    /// (a proxy's HTML page, `404 page not found`, `Service Unavailable` while starting).
    #[error("HTTP {status} from {url}: {hint}; the server said: {body:?}")]
    Http {
        url: String,
        status: u16,
        /// The first 200 bytes of the body (lossy UTF-8, trimmed).
        body: String,
        /// What to do, chosen from the status.
        hint: String,
    },

    /// The server understood the request and rejected it (`"status": "error"`).
    #[error("the server rejected the query ({error_type}, HTTP {status}): {message}; {}", error_type.advice())]
    Api {
        status: u16,
        error_type: ErrorType,
        message: String,
    },

    /// The answer is JSON but not of the expected shape.
    #[error(
        "cannot read the answer from {url}: {detail}; check that --url points at a Prometheus-compatible API (not a proxy's or another service's page)"
    )]
    Decode {
        url: String,
        /// What was expected and where (line/column of the body).
        detail: String,
    },

    /// The answer is larger than the configured limit.
    #[error(
        "the answer from {url} is larger than the limit of {limit} bytes; narrow the query (fewer series, shorter range, larger step) or raise the response size limit"
    )]
    TooLarge { url: String, limit: u64 },

    /// A client setting cannot be used (bad URL, bad header, unreadable certificate).
    #[error("invalid connection setting: {0}")]
    Config(String),

    /// The embedded engine (promdash-engine) did not evaluate the query: it does not parse
    /// (`BadData`), Prometheus would fail it too (`Execution`), or the engine does not
    /// support it (`Other("unsupported")`, the message names the construct).
    #[error("{message}")]
    Embedded {
        error_type: ErrorType,
        message: String,
    },
}

impl QueryError {
    /// True when the server could not be reached at all (down, wrong address, network or
    /// TLS trouble, a gateway answering 502/503/504 with a non-JSON page, or no answer
    /// before the client timeout), as opposed to a server that answered and rejected or
    /// failed one query. The dashboard shows UP/DOWN from this.
    pub fn is_unreachable(&self) -> bool {
        match self {
            Self::ConnectionRefused { .. }
            | Self::Dns { .. }
            | Self::Tls { .. }
            | Self::Timeout { .. }
            | Self::Transport { .. } => true,
            Self::Http { status, .. } => matches!(status, 502..=504),
            Self::Api { .. }
            | Self::Decode { .. }
            | Self::TooLarge { .. }
            | Self::Config(_)
            | Self::Embedded { .. } => false,
        }
    }

    /// The API `errorType` when the server answered with a Prometheus error envelope (or
    /// the embedded engine failed the query).
    pub fn error_type(&self) -> Option<&ErrorType> {
        match self {
            Self::Api { error_type, .. } | Self::Embedded { error_type, .. } => Some(error_type),
            _ => None,
        }
    }

    /// The HTTP status, when the server answered at all.
    pub fn http_status(&self) -> Option<u16> {
        match self {
            Self::Http { status, .. } | Self::Api { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// The hint shown for a non-JSON answer with this status.
pub(crate) fn http_hint(status: u16) -> String {
    match status {
        401 => "401 unauthorized — check the basic auth credentials or the bearer token (missing tenant header?)".to_owned(),
        403 => "403 forbidden — the credentials are not allowed to query; check the bearer token, basic auth user or tenant header (X-Scope-OrgID)".to_owned(),
        404 => "404 not found — check the path prefix in --url (e.g. /prometheus or /select/0/prometheus)".to_owned(),
        405 => "405 method not allowed — the server does not accept this request; check --url".to_owned(),
        413 | 414 => "the request is too large for the server or a proxy in front of it; shorten the expression".to_owned(),
        429 => "rate limited — lower the refresh rate".to_owned(),
        502..=504 => "a gateway or the server is unavailable — retrying; check that the server behind --url is running".to_owned(),
        s if (200..300).contains(&s) => "the answer is not Prometheus JSON — check that --url points at the Prometheus API base".to_owned(),
        s if s >= 500 => "the server failed — check its logs and retry".to_owned(),
        _ => "unexpected answer — check --url".to_owned(),
    }
}

/// The first `max` bytes of a body as readable text. An HTML page (a proxy's error
/// page) is shown as its text, tags dropped and whitespace folded.
pub(crate) fn body_start(body: &[u8], max: usize) -> String {
    let looks_html = body
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|&b| b == b'<');
    if looks_html {
        let window = String::from_utf8_lossy(&body[..body.len().min(max.saturating_mul(8))]);
        let mut text = String::with_capacity(window.len());
        let mut in_tag = false;
        for c in window.chars() {
            match c {
                '<' => {
                    in_tag = true;
                    text.push(' ');
                }
                '>' => in_tag = false,
                c if !in_tag => text.push(c),
                _ => {}
            }
        }
        let mut folded = text.split_whitespace().collect::<Vec<_>>().join(" ");
        if !folded.is_empty() {
            let mut end = folded.len().min(max);
            while !folded.is_char_boundary(end) {
                end -= 1;
            }
            folded.truncate(end);
            return folded;
        }
    }
    let cut = &body[..body.len().min(max)];
    String::from_utf8_lossy(cut).trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all() -> Vec<QueryError> {
        let url = "http://prom:9090".to_owned();
        vec![
            QueryError::ConnectionRefused { url: url.clone() },
            QueryError::Dns {
                url: url.clone(),
                detail: "no such host".into(),
            },
            QueryError::Tls {
                url: url.clone(),
                detail: crate::tls::describe_rustls(
                    &rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer),
                    false,
                ),
            },
            QueryError::Timeout {
                url: url.clone(),
                after: Duration::from_secs(10),
            },
            QueryError::Transport {
                url: url.clone(),
                detail: "connection reset".into(),
            },
            QueryError::Http {
                url: url.clone(),
                status: 502,
                body: body_start(b"<html><h1>Bad Gateway</h1></html>", 200),
                hint: http_hint(502),
            },
            QueryError::Api {
                status: 422,
                error_type: ErrorType::Execution,
                message: "many-to-one".into(),
            },
            QueryError::Decode {
                url: url.clone(),
                detail: "expected `data`".into(),
            },
            QueryError::TooLarge { url, limit: 1024 },
            QueryError::Config(
                "--url \"x\" is not a URL (relative URL without a base); expected e.g. http://localhost:9090".into(),
            ),
        ]
    }

    #[test]
    fn every_message_says_what_to_do() {
        let advice = [
            "check",
            "raise",
            "narrow",
            "retry",
            "--ca-cert",
            "--timeout",
            "fix",
            "expected",
        ];
        for e in all() {
            let s = e.to_string();
            assert!(advice.iter().any(|a| s.contains(a)), "no advice in {s:?}");
        }
    }

    #[test]
    fn specific_messages() {
        let s: Vec<String> = all().iter().map(ToString::to_string).collect();
        assert!(s[0].contains("connection refused") && s[0].contains("--url"));
        assert!(s[2].contains("--ca-cert") && s[2].contains("signed by a CA not trusted here"));
        assert!(s[3].contains("within 10s") && s[3].contains("--timeout"));
        assert!(s[5].contains("HTTP 502") && s[5].contains("Bad Gateway"));
        assert!(
            s[6].contains("execution") && s[6].contains("HTTP 422") && s[6].contains("group_left")
        );
        assert!(s[8].contains("1024 bytes"));
    }

    #[test]
    fn unreachable_is_about_the_server_not_the_query() {
        let got: Vec<bool> = all().iter().map(QueryError::is_unreachable).collect();
        assert_eq!(
            got,
            [
                true, true, true, true, true, true, false, false, false, false
            ]
        );
        let not_found = QueryError::Http {
            url: "u".into(),
            status: 404,
            body: String::new(),
            hint: http_hint(404),
        };
        assert!(!not_found.is_unreachable());
    }

    #[test]
    fn error_types_round_trip() {
        for s in [
            "bad_data",
            "execution",
            "timeout",
            "canceled",
            "internal",
            "unavailable",
            "not_found",
            "not_acceptable",
            "server_error",
            "422",
        ] {
            assert_eq!(ErrorType::parse(s).as_str(), s);
        }
        assert_eq!(ErrorType::parse("422"), ErrorType::Other("422".into()));
    }
}
