//! Connection settings shared by the headless commands (`query`, `check`, `validate`).
//!
//! Each setting comes from the command line, else its `PROMDASH_*` environment variable,
//! else the dashboard file's `[connection]` table, else the built-in default. Secrets are
//! read from files (or from `PROMDASH_BEARER_TOKEN` / `PROMDASH_BASIC_AUTH_PASSWORD`),
//! never taken from the command line, and never printed.

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;
use promdash_queries::client::{BasicAuth, ClientConfig, Secret};
use promdash_queries::dashboard::Connection;

/// Server URL used when nothing else names one.
pub const DEFAULT_URL: &str = "http://localhost:9090";

/// Request timeout used when nothing else sets one.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Where the server is and how to talk to it. The argument ids match the top-level
/// options of the same names, so the struct can sit beside them or replace them.
#[derive(Debug, Clone, Default, Args)]
pub struct ConnectionArgs {
    /// Base URL of the Prometheus-compatible query API, with any path prefix
    /// [default: the dashboard file's connection.url, else http://localhost:9090].
    /// Credentials in the URL are used as basic auth and never shown.
    #[arg(long, env = "PROMDASH_URL", value_name = "URL")]
    pub url: Option<String>,

    /// Extra request header `Name: value` (repeatable), e.g. `X-Scope-OrgID: team-a`.
    /// Values are never printed.
    #[arg(long = "header", env = "PROMDASH_HEADER", value_name = "NAME: VALUE", value_parser = parse_header)]
    pub headers: Vec<(String, String)>,

    /// File holding a bearer token sent as `Authorization: Bearer …` (or set
    /// PROMDASH_BEARER_TOKEN).
    #[arg(long, env = "PROMDASH_BEARER_TOKEN_FILE", value_name = "FILE")]
    pub bearer_token_file: Option<PathBuf>,

    /// Basic auth user; the password comes from --basic-auth-password-file or
    /// PROMDASH_BASIC_AUTH_PASSWORD.
    #[arg(long, env = "PROMDASH_BASIC_AUTH_USER", value_name = "USER")]
    pub basic_auth_user: Option<String>,

    /// File holding the basic auth password.
    #[arg(long, env = "PROMDASH_BASIC_AUTH_PASSWORD_FILE", value_name = "FILE")]
    pub basic_auth_password_file: Option<PathBuf>,

    /// PEM file of CA certificates to trust besides the system's.
    #[arg(long, env = "PROMDASH_CA_CERT", value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,

    /// PEM client certificate for mutual TLS (with --client-key).
    #[arg(
        long,
        env = "PROMDASH_CLIENT_CERT",
        value_name = "FILE",
        requires = "client_key"
    )]
    pub client_cert: Option<PathBuf>,

    /// PEM private key of --client-cert.
    #[arg(
        long,
        env = "PROMDASH_CLIENT_KEY",
        value_name = "FILE",
        requires = "client_cert"
    )]
    pub client_key: Option<PathBuf>,

    /// Do not verify the server's TLS certificate (for tests only).
    #[arg(long, env = "PROMDASH_INSECURE_SKIP_VERIFY")]
    pub insecure_skip_verify: bool,

    /// Give up on a request after this long, e.g. 10s [default: the dashboard file's,
    /// else 10s].
    #[arg(long, env = "PROMDASH_TIMEOUT", value_name = "DURATION", value_parser = parse_duration)]
    pub timeout: Option<Duration>,
}

impl ConnectionArgs {
    /// These settings, with every one left unset here taken from `fallback` (e.g. the
    /// options given before the subcommand).
    pub fn or(&self, fallback: &ConnectionArgs) -> ConnectionArgs {
        ConnectionArgs {
            url: self.url.clone().or_else(|| fallback.url.clone()),
            headers: if self.headers.is_empty() {
                fallback.headers.clone()
            } else {
                self.headers.clone()
            },
            bearer_token_file: self
                .bearer_token_file
                .clone()
                .or_else(|| fallback.bearer_token_file.clone()),
            basic_auth_user: self
                .basic_auth_user
                .clone()
                .or_else(|| fallback.basic_auth_user.clone()),
            basic_auth_password_file: self
                .basic_auth_password_file
                .clone()
                .or_else(|| fallback.basic_auth_password_file.clone()),
            ca_cert: self.ca_cert.clone().or_else(|| fallback.ca_cert.clone()),
            client_cert: self
                .client_cert
                .clone()
                .or_else(|| fallback.client_cert.clone()),
            client_key: self
                .client_key
                .clone()
                .or_else(|| fallback.client_key.clone()),
            insecure_skip_verify: self.insecure_skip_verify || fallback.insecure_skip_verify,
            timeout: self.timeout.or(fallback.timeout),
        }
    }

    /// The client configuration: these settings over the file's `[connection]` table
    /// over the defaults. Errors (an unreadable secret file) are the user's to fix.
    pub fn client_config(&self, file: Option<&Connection>) -> Result<ClientConfig, String> {
        let empty = Connection::default();
        let file = file.unwrap_or(&empty);
        let url = self
            .url
            .clone()
            .or_else(|| file.url.clone())
            .unwrap_or_else(|| DEFAULT_URL.to_owned());
        let mut client = ClientConfig::new(url);
        client.timeout = self.timeout.or(file.timeout).unwrap_or(DEFAULT_TIMEOUT);
        client.connect_timeout = client.connect_timeout.min(client.timeout);

        let mut headers: Vec<(String, String)> = file.headers.clone().into_iter().collect();
        for (name, value) in &self.headers {
            headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
            headers.push((name.clone(), value.clone()));
        }
        client.headers = headers
            .into_iter()
            .map(|(n, v)| (n, Secret::new(v)))
            .collect();

        let token_file = self
            .bearer_token_file
            .as_ref()
            .or(file.bearer_token_file.as_ref());
        client.bearer_token = match token_file {
            Some(path) => Some(Secret::new(read_secret(path, "bearer token")?)),
            None => env_secret("PROMDASH_BEARER_TOKEN"),
        };

        if let Some(user) = self
            .basic_auth_user
            .clone()
            .or_else(|| file.basic_auth_user.clone())
        {
            let password_file = self
                .basic_auth_password_file
                .as_ref()
                .or(file.basic_auth_password_file.as_ref());
            let password = match password_file {
                Some(path) => Secret::new(read_secret(path, "basic auth password")?),
                None => {
                    env_secret("PROMDASH_BASIC_AUTH_PASSWORD").unwrap_or_else(|| Secret::new(""))
                }
            };
            client.basic_auth = Some(BasicAuth { user, password });
        }

        client.ca_cert = self.ca_cert.clone().or_else(|| file.ca_cert.clone());
        client.client_cert = self
            .client_cert
            .clone()
            .or_else(|| file.client_cert.clone());
        client.client_key = self.client_key.clone().or_else(|| file.client_key.clone());
        client.insecure_skip_verify = self.insecure_skip_verify || file.insecure_skip_verify;
        if let Some(max) = file.max_response_bytes {
            client.max_response_bytes = max;
        }
        Ok(client)
    }
}

fn env_secret(name: &str) -> Option<Secret> {
    std::env::var(name)
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .map(Secret::new)
}

fn read_secret(path: &Path, what: &str) -> Result<String, String> {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_owned())
        .map_err(|e| format!("cannot read the {what} file {}: {e}", path.display()))
}

/// A humantime duration such as `5s`, `15m`, `1h30m`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s.trim())
        .map_err(|e| format!("{e} (expected a duration such as 5s, 15m, 1h)"))
}

/// `Name: value` → (name, value).
pub fn parse_header(s: &str) -> Result<(String, String), String> {
    let (name, value) = s
        .split_once(':')
        .ok_or_else(|| "expected `Name: value` (a colon after the header name)".to_owned())?;
    let name = name.trim();
    if name.is_empty()
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_".contains(&b))
    {
        return Err(format!("`{name}` is not a valid header name"));
    }
    Ok((name.to_owned(), value.trim().to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_line_over_file_over_defaults() {
        let file = Connection {
            url: Some("http://file:9090".into()),
            headers: [("X-Scope-OrgID".to_owned(), "file".to_owned())].into(),
            timeout: Some(Duration::from_secs(3)),
            ..Connection::default()
        };
        let args = ConnectionArgs {
            headers: vec![("x-scope-orgid".into(), "cli".into())],
            ..ConnectionArgs::default()
        };
        let c = args.client_config(Some(&file)).expect("config");
        assert_eq!(c.url, "http://file:9090");
        assert_eq!(c.timeout, Duration::from_secs(3));
        assert_eq!(c.headers.len(), 1);
        assert_eq!(c.headers[0].1.expose(), "cli");

        let args = ConnectionArgs {
            url: Some("http://cli:1".into()),
            ..ConnectionArgs::default()
        };
        let c = args.client_config(None).expect("config");
        assert_eq!(
            (c.url.as_str(), c.timeout),
            ("http://cli:1", DEFAULT_TIMEOUT)
        );
        let merged = ConnectionArgs::default().or(&args);
        assert_eq!(merged.url.as_deref(), Some("http://cli:1"));
    }

    #[test]
    fn unreadable_secret_files_are_named() {
        let args = ConnectionArgs {
            bearer_token_file: Some("/nonexistent/token".into()),
            ..ConnectionArgs::default()
        };
        let e = args.client_config(None).expect_err("missing file");
        assert!(e.contains("bearer token file /nonexistent/token"), "{e}");
    }
}
