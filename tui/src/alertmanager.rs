//! `--alertmanager URL` (repeatable) and its connection options: where promdash sends the
//! alerts of rule files (see [`promdash_queries::alertmanager`]) and makes silences.
//!
//! Each Alertmanager gets its own credentials and TLS files (`--alertmanager-*`), never
//! those of `--url`: a token for Prometheus is not sent to another server unasked.
//! Credentials written in the URL (`https://user:pass@host`) are used as basic auth.
//! Every alert carries [`DEFAULT_SOURCE_LABEL`]`="<hostname>"` unless
//! `--alertmanager-label` names another label or `--no-alertmanager-label` turns it off:
//! Alertmanager merges alerts with equal labels, so without it the same alert from
//! promdash and from the server's own rule manager would be one alert whose `endsAt`
//! each sender moves.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use promdash_queries::alertmanager::notifier::{DEFAULT_SOURCE_LABEL, hostname};
use promdash_queries::alertmanager::{AlertmanagerClient, Notifier, NotifierConfig};
use promdash_queries::client::{BasicAuth, ClientConfig, Secret};

use crate::connection::{parse_duration, parse_header, read_secret};

/// Alertmanager requests give up after this long (Prometheus's default `timeout`).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Where alerts go and how to reach it.
#[derive(Debug, Clone, Default, Args)]
pub struct AlertmanagerArgs {
    /// Send the alerts of rule files to this Alertmanager (repeatable; API v2), e.g.
    /// http://localhost:9093. Credentials in the URL are used as basic auth.
    #[arg(
        long = "alertmanager",
        env = "PROMDASH_ALERTMANAGER",
        hide_env_values = true,
        value_delimiter = ',',
        value_name = "URL"
    )]
    pub urls: Vec<String>,

    /// File holding a bearer token for the Alertmanagers.
    #[arg(
        long,
        env = "PROMDASH_ALERTMANAGER_BEARER_TOKEN_FILE",
        value_name = "FILE"
    )]
    pub alertmanager_bearer_token_file: Option<PathBuf>,

    /// Basic auth user for the Alertmanagers (password from
    /// --alertmanager-basic-auth-password-file).
    #[arg(
        long,
        env = "PROMDASH_ALERTMANAGER_BASIC_AUTH_USER",
        value_name = "USER"
    )]
    pub alertmanager_basic_auth_user: Option<String>,

    /// File holding the Alertmanagers' basic auth password.
    #[arg(
        long,
        env = "PROMDASH_ALERTMANAGER_BASIC_AUTH_PASSWORD_FILE",
        value_name = "FILE"
    )]
    pub alertmanager_basic_auth_password_file: Option<PathBuf>,

    /// Extra header `Name: value` sent to the Alertmanagers (repeatable).
    #[arg(
        long,
        value_name = "NAME: VALUE",
        value_parser = parse_header
    )]
    pub alertmanager_header: Vec<(String, String)>,

    /// PEM file of CA certificates to trust for the Alertmanagers.
    #[arg(long, env = "PROMDASH_ALERTMANAGER_CA_CERT", value_name = "FILE")]
    pub alertmanager_ca_cert: Option<PathBuf>,

    /// PEM client certificate for the Alertmanagers (with --alertmanager-client-key).
    #[arg(
        long,
        env = "PROMDASH_ALERTMANAGER_CLIENT_CERT",
        value_name = "FILE",
        requires = "alertmanager_client_key"
    )]
    pub alertmanager_client_cert: Option<PathBuf>,

    /// PEM private key of --alertmanager-client-cert.
    #[arg(
        long,
        env = "PROMDASH_ALERTMANAGER_CLIENT_KEY",
        value_name = "FILE",
        requires = "alertmanager_client_cert"
    )]
    pub alertmanager_client_key: Option<PathBuf>,

    /// Do not verify the Alertmanagers' TLS certificates (for tests only).
    #[arg(long, env = "PROMDASH_ALERTMANAGER_INSECURE_SKIP_VERIFY")]
    pub alertmanager_insecure_skip_verify: bool,

    /// Give up on a request to an Alertmanager after this long [default: 10s].
    #[arg(long, env = "PROMDASH_ALERTMANAGER_TIMEOUT", value_name = "DURATION", value_parser = parse_duration)]
    pub alertmanager_timeout: Option<Duration>,

    /// Send firing alerts again this often [default: 1m, as Prometheus's
    /// --rules.alert.resend-delay].
    #[arg(long, env = "PROMDASH_ALERTMANAGER_RESEND_DELAY", value_name = "DURATION", value_parser = parse_duration)]
    pub alertmanager_resend_delay: Option<Duration>,

    /// The label added to every alert sent, so that promdash's alerts never merge with
    /// the server's identical ones [default: promdash=<this host's name>].
    #[arg(
        long,
        env = "PROMDASH_ALERTMANAGER_LABEL",
        value_name = "NAME=VALUE",
        value_parser = parse_label,
        conflicts_with = "no_alertmanager_label"
    )]
    pub alertmanager_label: Option<(String, String)>,

    /// Send the alerts' labels as they are, without the promdash label (they then merge
    /// with the server's identical alerts).
    #[arg(long, env = "PROMDASH_NO_ALERTMANAGER_LABEL")]
    pub no_alertmanager_label: bool,
}

/// `name=value` with a label name as Prometheus allows one.
pub fn parse_label(s: &str) -> Result<(String, String), String> {
    let (name, value) = s
        .split_once('=')
        .ok_or_else(|| format!("`{s}`: expected NAME=VALUE"))?;
    let name = name.trim();
    let ok = name
        .chars()
        .enumerate()
        .all(|(i, c)| c.is_ascii_alphabetic() || c == '_' || (i > 0 && c.is_ascii_digit()));
    if name.is_empty() || !ok || name.starts_with("__") {
        return Err(format!(
            "`{name}` is not a label name (letters, digits and _, not starting with a digit \
             or __)"
        ));
    }
    if value.is_empty() {
        return Err(format!("`{s}`: the label needs a value"));
    }
    Ok((name.to_owned(), value.to_owned()))
}

impl AlertmanagerArgs {
    /// True when at least one Alertmanager is configured.
    pub fn enabled(&self) -> bool {
        self.urls.iter().any(|u| !u.trim().is_empty())
    }

    /// The client configuration for `url`.
    pub fn client_config(&self, url: &str) -> Result<ClientConfig, String> {
        let mut c = ClientConfig::new(url.trim());
        c.timeout = self.alertmanager_timeout.unwrap_or(DEFAULT_TIMEOUT);
        c.connect_timeout = c.connect_timeout.min(c.timeout);
        c.headers = self
            .alertmanager_header
            .iter()
            .map(|(n, v)| (n.clone(), Secret::new(v.clone())))
            .collect();
        if let Some(p) = &self.alertmanager_bearer_token_file {
            c.bearer_token = Some(Secret::new(read_secret(p, "Alertmanager bearer token")?));
        }
        if let Some(user) = &self.alertmanager_basic_auth_user {
            let password = match &self.alertmanager_basic_auth_password_file {
                Some(p) => read_secret(p, "Alertmanager basic auth password")?,
                None => String::new(),
            };
            c.basic_auth = Some(BasicAuth {
                user: user.clone(),
                password: Secret::new(password),
            });
        }
        c.ca_cert = self.alertmanager_ca_cert.clone();
        c.client_cert = self.alertmanager_client_cert.clone();
        c.client_key = self.alertmanager_client_key.clone();
        c.insecure_skip_verify = self.alertmanager_insecure_skip_verify;
        c.latency_offset_zero = false;
        Ok(c)
    }

    /// One client per `--alertmanager`; an error names the one that is wrong.
    pub fn clients(&self) -> Result<Vec<AlertmanagerClient>, String> {
        self.urls
            .iter()
            .filter(|u| !u.trim().is_empty())
            .map(|u| {
                let config = self.client_config(u)?;
                AlertmanagerClient::new(config).map_err(|e| format!("--alertmanager: {e}"))
            })
            .collect()
    }

    /// The label added to every alert, if any.
    pub fn source_label(&self) -> Option<(String, String)> {
        if self.no_alertmanager_label {
            return None;
        }
        Some(
            self.alertmanager_label
                .clone()
                .unwrap_or_else(|| (DEFAULT_SOURCE_LABEL.to_owned(), hostname())),
        )
    }

    /// The notifier for these Alertmanagers; `generator_base` is the server's URL for
    /// `generatorURL` (`None` on the embedded engine). `Ok(None)` without any.
    pub fn notifier(
        &self,
        generator_base: Option<String>,
        external_labels: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Option<Notifier>, String> {
        if !self.enabled() {
            return Ok(None);
        }
        let config = NotifierConfig {
            resend_delay: self
                .alertmanager_resend_delay
                .unwrap_or(promdash_queries::alertmanager::notifier::DEFAULT_RESEND_DELAY),
            external_labels: external_labels.into_iter().collect(),
            source_label: self.source_label(),
            generator_base,
            ..NotifierConfig::default()
        };
        if config.resend_delay.is_zero() {
            return Err("--alertmanager-resend-delay must be longer than 0s".into());
        }
        Ok(Some(Notifier::new(config, self.clients()?)))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn labels_and_source_label() {
        assert_eq!(
            parse_label("promdash=laptop").unwrap(),
            ("promdash".into(), "laptop".into())
        );
        assert!(parse_label("1a=b").is_err());
        assert!(parse_label("__x=b").is_err());
        assert!(parse_label("a").is_err());
        assert!(parse_label("a=").is_err());
        let mut a = AlertmanagerArgs::default();
        assert_eq!(a.source_label().unwrap().0, "promdash");
        a.alertmanager_label = Some(("sender".into(), "me".into()));
        assert_eq!(a.source_label().unwrap(), ("sender".into(), "me".into()));
        a.no_alertmanager_label = true;
        assert_eq!(a.source_label(), None);
    }

    #[test]
    fn no_alertmanager_no_notifier_and_bad_urls_are_named() {
        let mut a = AlertmanagerArgs::default();
        assert!(a.notifier(None, []).unwrap().is_none());
        a.urls = vec!["ftp://x".into()];
        let e = a.notifier(None, []).unwrap_err();
        assert!(e.contains("--alertmanager"), "{e}");
        a.urls = vec!["http://127.0.0.1:9093".into()];
        a.alertmanager_resend_delay = Some(Duration::ZERO);
        assert!(a.notifier(None, []).is_err());
    }
}
