//! Connection settings, one definition for every command that talks to a server: the
//! dashboard (`promdash`) and the headless `query`, `check` and `validate`.
//!
//! Each setting comes from the command line, else its `PROMDASH_*` environment variable,
//! else the dashboard file's `[connection]` table, else the user's settings file
//! (`config.toml`, see [`user_config_path`]), else the built-in default. Secrets are read
//! from files (or from `PROMDASH_BEARER_TOKEN` / `PROMDASH_BASIC_AUTH_PASSWORD`), never
//! taken from the command line, and never printed: `--help` hides the values of the
//! environment variables that may hold them.

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;
use promdash_queries::client::{BasicAuth, ClientConfig, Secret};
use promdash_queries::dashboard::{Connection, ScrapeAuth, load_config};

/// Server URL used when nothing else names one.
pub const DEFAULT_URL: &str = "http://localhost:9090";

/// Request timeout used when nothing else sets one.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Where the server is and how to talk to it. Flattened into the top-level command line
/// with every option global: written before or after a subcommand it is one option, so
/// the command line always wins over the environment.
#[derive(Debug, Clone, Default, Args)]
pub struct ConnectionArgs {
    /// Base URL of the Prometheus-compatible query API, with any path prefix
    /// [default: the dashboard file's connection.url, else http://localhost:9090].
    /// Credentials in the URL are used as basic auth and never shown.
    #[arg(
        long,
        env = "PROMDASH_URL",
        hide_env_values = true,
        value_name = "URL",
        global = true
    )]
    pub url: Option<String>,

    /// Extra request header `Name: value` (repeatable), e.g. `X-Scope-OrgID: team-a`.
    /// Values are never printed.
    #[arg(
        long = "header",
        env = "PROMDASH_HEADER",
        hide_env_values = true,
        value_name = "NAME: VALUE",
        value_parser = parse_header,
        global = true
    )]
    pub headers: Vec<(String, String)>,

    /// File holding a bearer token sent as `Authorization: Bearer …` (or set
    /// PROMDASH_BEARER_TOKEN).
    #[arg(
        long,
        env = "PROMDASH_BEARER_TOKEN_FILE",
        hide_env_values = true,
        value_name = "FILE",
        global = true
    )]
    pub bearer_token_file: Option<PathBuf>,

    /// Basic auth user; the password comes from --basic-auth-password-file or
    /// PROMDASH_BASIC_AUTH_PASSWORD.
    #[arg(
        long,
        env = "PROMDASH_BASIC_AUTH_USER",
        hide_env_values = true,
        value_name = "USER",
        global = true
    )]
    pub basic_auth_user: Option<String>,

    /// File holding the basic auth password.
    #[arg(
        long,
        env = "PROMDASH_BASIC_AUTH_PASSWORD_FILE",
        hide_env_values = true,
        value_name = "FILE",
        global = true
    )]
    pub basic_auth_password_file: Option<PathBuf>,

    /// PEM file of CA certificates to trust besides the system's.
    #[arg(long, env = "PROMDASH_CA_CERT", value_name = "FILE", global = true)]
    pub ca_cert: Option<PathBuf>,

    /// PEM client certificate for mutual TLS (with --client-key).
    #[arg(
        long,
        env = "PROMDASH_CLIENT_CERT",
        value_name = "FILE",
        requires = "client_key",
        global = true
    )]
    pub client_cert: Option<PathBuf>,

    /// PEM private key of --client-cert.
    #[arg(
        long,
        env = "PROMDASH_CLIENT_KEY",
        value_name = "FILE",
        requires = "client_cert",
        global = true
    )]
    pub client_key: Option<PathBuf>,

    /// Do not verify the server's TLS certificate (for tests only; the dashboard shows
    /// INSECURE).
    #[arg(long, env = "PROMDASH_INSECURE_SKIP_VERIFY", global = true)]
    pub insecure_skip_verify: bool,

    /// Give up on a request after this long, e.g. 10s [default: the dashboard file's,
    /// else 10s].
    #[arg(long, env = "PROMDASH_TIMEOUT", value_name = "DURATION", value_parser = parse_duration, global = true)]
    pub timeout: Option<Duration>,

    /// Let the dashboard file's `[connection]` name secret and certificate files
    /// (bearer_token_file, basic_auth_password_file, ca_cert, client_cert, client_key).
    /// Without it a dashboard naming one is refused: a shared dashboard could otherwise
    /// send your files to its own server.
    #[arg(long, env = "PROMDASH_ALLOW_DASHBOARD_SECRETS", global = true)]
    pub allow_dashboard_secrets: bool,

    /// Most requests in flight at once to the server; the others wait [default: 16].
    #[arg(long, env = "PROMDASH_MAX_IN_FLIGHT", value_name = "N", value_parser = clap::value_parser!(u32).range(1..), global = true)]
    pub max_in_flight: Option<u32>,

    /// Refuse answers larger than this, e.g. 64MiB, 500KiB or a number of bytes
    /// [default: the dashboard file's, else 64MiB].
    #[arg(long, env = "PROMDASH_MAX_RESPONSE_BYTES", value_name = "BYTES", value_parser = parse_bytes, global = true)]
    pub max_response_bytes: Option<u64>,

    /// The user's settings file's `[connection]` table: the last layer before the
    /// defaults. Not an option: filled in by [`ConnectionArgs::with_user_config`].
    #[arg(skip)]
    pub user_config: Option<Connection>,
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
            allow_dashboard_secrets: self.allow_dashboard_secrets
                || fallback.allow_dashboard_secrets,
            timeout: self.timeout.or(fallback.timeout),
            max_in_flight: self.max_in_flight.or(fallback.max_in_flight),
            max_response_bytes: self.max_response_bytes.or(fallback.max_response_bytes),
            user_config: self
                .user_config
                .clone()
                .or_else(|| fallback.user_config.clone()),
        }
    }

    /// These settings with the `[connection]` table of the user's settings file (see
    /// [`user_config_path`]) as the last fallback. A missing file is fine; a broken one
    /// is an error naming file:line:col.
    pub fn with_user_config(mut self) -> Result<ConnectionArgs, String> {
        if let Some(path) = user_config_path() {
            self.user_config = load_config(&path).map_err(|e| e.to_string())?;
        }
        Ok(self)
    }

    /// The client configuration: these settings over the file's `[connection]` table
    /// over the user's settings file over the defaults. Errors (an unreadable secret
    /// file, a dashboard naming one without `--allow-dashboard-secrets`) are the user's to
    /// fix. See [`client_config_with_notes`](Self::client_config_with_notes).
    pub fn client_config(&self, file: Option<&Connection>) -> Result<ClientConfig, String> {
        self.client_config_with_notes(file).map(|(c, _)| c)
    }

    /// [`client_config`](Self::client_config) and what the dashboard file's
    /// `[connection]` changes about the connection, one sentence each, to show before
    /// the first request.
    pub fn client_config_with_notes(
        &self,
        file: Option<&Connection>,
    ) -> Result<(ClientConfig, Vec<String>), String> {
        self.client_config_with_env(file, &|name| std::env::var(name).ok())
    }

    /// [`client_config_with_notes`](Self::client_config_with_notes) reading the
    /// environment through `env` (for tests).
    ///
    /// What a dashboard file may do (it may come from anyone):
    /// - name its own server (`url`), headers, timeout and answer limit;
    /// - a `url` on another server than the user's (`--url`/`PROMDASH_URL`, else the
    ///   settings file's, else the default) gets none of the credentials, headers or TLS
    ///   files of the settings file or the environment: only what is passed on the
    ///   command line;
    /// - secret and certificate files only with `--allow-dashboard-secrets`;
    /// - never `insecure_skip_verify`: a dashboard cannot lower TLS verification.
    pub fn client_config_with_env(
        &self,
        file: Option<&Connection>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<(ClientConfig, Vec<String>), String> {
        let empty = Connection::default();
        let dashboard = file.unwrap_or(&empty);
        let user = self.user_config.as_ref().unwrap_or(&empty);
        let mut notes = Vec::new();

        let secret_files = [
            ("bearer_token_file", &dashboard.bearer_token_file),
            (
                "basic_auth_password_file",
                &dashboard.basic_auth_password_file,
            ),
            ("ca_cert", &dashboard.ca_cert),
            ("client_cert", &dashboard.client_cert),
            ("client_key", &dashboard.client_key),
        ];
        for (key, path) in secret_files {
            let Some(path) = path else { continue };
            if !self.allow_dashboard_secrets {
                return Err(format!(
                    "the dashboard file's connection.{key} names the file {}: a dashboard may \
                     only read secret or certificate files when you pass \
                     --allow-dashboard-secrets (or give the file on the command line instead)",
                    path.display()
                ));
            }
            notes.push(format!(
                "the dashboard reads connection.{key} {} (--allow-dashboard-secrets)",
                path.display()
            ));
        }
        if dashboard.insecure_skip_verify {
            notes.push(
                "the dashboard's insecure_skip_verify is ignored: a dashboard cannot lower TLS \
                 verification (pass --insecure-skip-verify yourself to test)"
                    .into(),
            );
        }

        // The server the user configured: their credentials are for it.
        let user_url = self
            .url
            .clone()
            .or_else(|| user.url.clone())
            .unwrap_or_else(|| DEFAULT_URL.to_owned());
        let url = match (&self.url, &dashboard.url) {
            (None, Some(d)) => d.clone(),
            _ => user_url.clone(),
        };
        let foreign = self.url.is_none()
            && dashboard
                .url
                .as_deref()
                .is_some_and(|d| !same_server(d, &user_url));
        if let Some(d) = dashboard.url.as_deref().filter(|_| self.url.is_none()) {
            if foreign {
                notes.push(format!(
                    "the dashboard connects to {}, not your server {}: your settings file's \
                     and environment's credentials, headers and TLS files are not sent there",
                    redact(d),
                    redact(&user_url)
                ));
            } else {
                notes.push(format!("the dashboard connects to {}", redact(d)));
            }
        }
        for name in dashboard.headers.keys() {
            notes.push(format!("the dashboard sends header {name}"));
        }

        // What the user set up for their server: dropped for another one. Settings given
        // on the command line are kept; those that only came from the environment are not.
        let trusted = if foreign { &empty } else { user };
        let from_env = |name: &str, value: Option<&str>| {
            foreign && value.is_some() && env(name).as_deref().map(str::trim) == value
        };
        let keep_path = |name: &str, p: &Option<PathBuf>| -> Option<PathBuf> {
            p.clone().filter(|p| !from_env(name, p.to_str()))
        };
        let file = Connection {
            // The dashboard's own insecure_skip_verify never counts.
            insecure_skip_verify: false,
            // Not credentials: the user's choices hold for any server.
            timeout: dashboard.timeout.or(user.timeout),
            max_response_bytes: dashboard.max_response_bytes.or(user.max_response_bytes),
            ..merge(dashboard, trusted)
        };
        let mut client = ClientConfig::new(url);
        client.timeout = self.timeout.or(file.timeout).unwrap_or(DEFAULT_TIMEOUT);
        client.connect_timeout = client.connect_timeout.min(client.timeout);

        let mut headers: Vec<(String, String)> = file.headers.clone().into_iter().collect();
        let env_header = env("PROMDASH_HEADER").and_then(|h| parse_header(&h).ok());
        for (name, value) in &self.headers {
            if foreign && env_header.as_ref() == Some(&(name.clone(), value.clone())) {
                continue;
            }
            headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
            headers.push((name.clone(), value.clone()));
        }
        client.headers = headers
            .into_iter()
            .map(|(n, v)| (n, Secret::new(v)))
            .collect();

        // Command line (or its environment variable) > PROMDASH_BEARER_TOKEN > files.
        let env_secret = |name: &str| {
            env(name)
                .filter(|_| !foreign)
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .map(Secret::new)
        };
        let bearer_token_file = keep_path("PROMDASH_BEARER_TOKEN_FILE", &self.bearer_token_file);
        client.bearer_token = match (&bearer_token_file, &file.bearer_token_file) {
            (Some(path), _) => Some(Secret::new(read_secret(path, "bearer token")?)),
            (None, from_file) => match env_secret("PROMDASH_BEARER_TOKEN") {
                Some(token) => Some(token),
                None => match from_file {
                    Some(path) => Some(Secret::new(read_secret(path, "bearer token")?)),
                    None => None,
                },
            },
        };

        let basic_auth_user = self
            .basic_auth_user
            .clone()
            .filter(|u| !from_env("PROMDASH_BASIC_AUTH_USER", Some(u)));
        if let Some(user) = basic_auth_user.or_else(|| file.basic_auth_user.clone()) {
            let password_file = keep_path(
                "PROMDASH_BASIC_AUTH_PASSWORD_FILE",
                &self.basic_auth_password_file,
            );
            let password = match &password_file {
                Some(path) => Secret::new(read_secret(path, "basic auth password")?),
                None => match env_secret("PROMDASH_BASIC_AUTH_PASSWORD") {
                    Some(p) => p,
                    None => match &file.basic_auth_password_file {
                        Some(path) => Secret::new(read_secret(path, "basic auth password")?),
                        None => Secret::new(""),
                    },
                },
            };
            client.basic_auth = Some(BasicAuth { user, password });
        }

        client.ca_cert =
            keep_path("PROMDASH_CA_CERT", &self.ca_cert).or_else(|| file.ca_cert.clone());
        client.client_cert = keep_path("PROMDASH_CLIENT_CERT", &self.client_cert)
            .or_else(|| file.client_cert.clone());
        client.client_key =
            keep_path("PROMDASH_CLIENT_KEY", &self.client_key).or_else(|| file.client_key.clone());
        if client.client_cert.is_some() != client.client_key.is_some() {
            // One of the pair came from the environment for another server.
            client.client_cert = None;
            client.client_key = None;
        }
        client.insecure_skip_verify = (self.insecure_skip_verify
            && !(foreign && env("PROMDASH_INSECURE_SKIP_VERIFY").is_some()))
            || trusted.insecure_skip_verify;
        if let Some(max) = self.max_response_bytes.or(file.max_response_bytes) {
            client.max_response_bytes = max;
        }
        if let Some(n) = self.max_in_flight {
            client.max_in_flight = n as usize;
        }
        // Warned once per file, with the other notes, before the first request.
        let secret_paths = [
            (&bearer_token_file, "bearer token"),
            (&file.bearer_token_file, "bearer token"),
            (&self.basic_auth_password_file, "basic auth password"),
            (&file.basic_auth_password_file, "basic auth password"),
            (&client.client_key, "client key"),
        ];
        let mut seen: Vec<&Path> = Vec::new();
        for (path, what) in secret_paths {
            let Some(path) = path.as_deref() else {
                continue;
            };
            if seen.contains(&path) {
                continue;
            }
            seen.push(path);
            if let Some(w) = readable_by_others(path, what) {
                notes.push(w);
            }
        }
        Ok((client, notes))
    }
}

/// Whether two base URLs name the same server: scheme, host and port (path prefixes
/// aside). Unparseable URLs are the same server only when equal as text.
pub fn same_server(a: &str, b: &str) -> bool {
    match (reqwest::Url::parse(a.trim()), reqwest::Url::parse(b.trim())) {
        (Ok(a), Ok(b)) => {
            a.scheme() == b.scheme()
                && a.host_str() == b.host_str()
                && a.port_or_known_default() == b.port_or_known_default()
        }
        _ => a.trim() == b.trim(),
    }
}

/// A URL without any `user:pass@`, for notes.
pub(crate) fn redact(url: &str) -> String {
    match reqwest::Url::parse(url.trim()) {
        Ok(mut u) => {
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.as_str().trim_end_matches('/').to_owned()
        }
        Err(_) => "(an unparseable URL)".to_owned(),
    }
}

/// `primary`'s settings, each one it leaves unset taken from `fallback`; headers are
/// joined, `primary`'s winning by name.
fn merge(primary: &Connection, fallback: &Connection) -> Connection {
    let mut headers = fallback.headers.clone();
    for (name, value) in &primary.headers {
        headers.retain(|n, _| !n.eq_ignore_ascii_case(name));
        headers.insert(name.clone(), value.clone());
    }
    Connection {
        url: primary.url.clone().or_else(|| fallback.url.clone()),
        headers,
        bearer_token_file: primary
            .bearer_token_file
            .clone()
            .or_else(|| fallback.bearer_token_file.clone()),
        basic_auth_user: primary
            .basic_auth_user
            .clone()
            .or_else(|| fallback.basic_auth_user.clone()),
        basic_auth_password_file: primary
            .basic_auth_password_file
            .clone()
            .or_else(|| fallback.basic_auth_password_file.clone()),
        ca_cert: primary.ca_cert.clone().or_else(|| fallback.ca_cert.clone()),
        client_cert: primary
            .client_cert
            .clone()
            .or_else(|| fallback.client_cert.clone()),
        client_key: primary
            .client_key
            .clone()
            .or_else(|| fallback.client_key.clone()),
        insecure_skip_verify: primary.insecure_skip_verify || fallback.insecure_skip_verify,
        timeout: primary.timeout.or(fallback.timeout),
        max_response_bytes: primary.max_response_bytes.or(fallback.max_response_bytes),
    }
}

/// The user's settings file: `$PROMDASH_CONFIG` when set, else `config.toml` in
/// `$XDG_CONFIG_HOME/promdash` or `~/.config/promdash`.
pub fn user_config_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("PROMDASH_CONFIG").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".config")))?;
    Some(base.join("promdash").join("config.toml"))
}

/// Where a `[[scrape]]` table comes from: a dashboard (which may come from anyone) or
/// the user's own settings file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScrapeOrigin {
    Dashboard,
    UserConfig,
}

/// The HTTP client and the request headers for the targets of a `[[scrape]]` table: its
/// basic auth or bearer token (read from their files now) and its TLS files and flag,
/// with [`ConnectionArgs::client_config_with_env`]'s rules for what comes from a
/// dashboard: secret and certificate files only with `allow_dashboard_secrets`, never
/// `insecure_skip_verify` (ignored, with a note). Also returns notes to show (the files
/// a dashboard reads, secret files readable by others). Errors name the job and file.
pub fn scrape_client(
    job: &str,
    auth: &ScrapeAuth,
    origin: ScrapeOrigin,
    allow_dashboard_secrets: bool,
) -> Result<(reqwest::Client, reqwest::header::HeaderMap, Vec<String>), String> {
    let mut notes = Vec::new();
    let dashboard = origin == ScrapeOrigin::Dashboard;
    for (key, path) in auth.files() {
        if !dashboard {
            continue;
        }
        if !allow_dashboard_secrets {
            return Err(format!(
                "[[scrape]] job {job:?}: {key} names the file {}: a dashboard may only read \
                 secret or certificate files when you pass --allow-dashboard-secrets (or put \
                 the table in your settings file instead)",
                path.display()
            ));
        }
        notes.push(format!(
            "the dashboard's [[scrape]] job {job:?} reads {key} {} (--allow-dashboard-secrets)",
            path.display()
        ));
    }
    let insecure = auth.insecure_skip_verify && !dashboard;
    if auth.insecure_skip_verify && dashboard {
        notes.push(format!(
            "the dashboard's [[scrape]] job {job:?} sets insecure_skip_verify, which is ignored: \
             a dashboard cannot lower TLS verification"
        ));
    }
    let in_job = |e: String| format!("[[scrape]] job {job:?}: {e}");
    let mut headers = reqwest::header::HeaderMap::new();
    if let Some(path) = &auth.bearer_token_file {
        let token = read_secret(path, "bearer token").map_err(in_job)?;
        let mut v = reqwest::header::HeaderValue::from_str(&format!("Bearer {token}"))
            .map_err(|_| in_job("the bearer token has characters a header cannot carry".into()))?;
        v.set_sensitive(true);
        headers.insert(reqwest::header::AUTHORIZATION, v);
        notes.extend(readable_by_others(path, "bearer token"));
    }
    if let Some(user) = &auth.basic_auth_user {
        let password = match &auth.basic_auth_password_file {
            Some(path) => {
                notes.extend(readable_by_others(path, "basic auth password"));
                read_secret(path, "basic auth password").map_err(in_job)?
            }
            None => String::new(),
        };
        let v = promdash_queries::client::basic_auth_header(user, &password)
            .map_err(|e| in_job(e.to_string()))?;
        headers.insert(reqwest::header::AUTHORIZATION, v);
    }
    if let Some(key) = &auth.client_key {
        notes.extend(readable_by_others(key, "client key"));
    }
    let builder = promdash_queries::tls::configure(
        promdash_queries::tls::http_client_builder(),
        auth.ca_cert.as_deref(),
        auth.client_cert.as_deref(),
        auth.client_key.as_deref(),
        insecure,
    )
    .map_err(|e| in_job(e.to_string()))?;
    let client = builder
        .build()
        .map_err(|e| in_job(format!("cannot build the HTTP client: {e}")))?;
    Ok((client, headers, notes))
}

/// A size in bytes: `67108864`, `64MiB`, `64M`, `500KiB`, `1GiB` (powers of 1024).
pub fn parse_bytes(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (digits, unit) = s.split_at(split);
    let shift = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        _ => {
            return Err(format!(
                "unknown unit `{unit}` (expected e.g. 64MiB, 500KiB or 1048576)"
            ));
        }
    };
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("`{s}` is not a size (expected e.g. 64MiB, 500KiB or 1048576)"))?;
    n.checked_mul(1 << shift)
        .filter(|&b| b > 0)
        .ok_or_else(|| format!("`{s}` is not a usable size (more than 0, less than 16 EiB)"))
}

pub(crate) fn read_secret(path: &Path, what: &str) -> Result<String, String> {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_owned())
        .map_err(|e| format!("cannot read the {what} file {}: {e}", path.display()))
}

/// A warning when the secret file at `path` can be read by users other than its owner
/// (group or others may read it), as ssh warns about keys.
pub fn readable_by_others(path: &Path, what: &str) -> Option<String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(path).ok()?.permissions().mode();
        (mode & 0o044 != 0).then(|| {
            format!(
                "the {what} file {} is readable by other users (mode {:o}); chmod 600 it",
                path.display(),
                mode & 0o777
            )
        })
    }
    #[cfg(not(unix))]
    {
        let _ = (path, what);
        None
    }
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
    fn environment_over_dashboard_over_user_config() {
        let dir = tempfile::tempdir().expect("temp dir");
        let token_file = dir.path().join("token");
        std::fs::write(&token_file, "from-file\n").expect("write");
        let user = Connection {
            url: Some("http://user:1".into()),
            timeout: Some(Duration::from_secs(7)),
            headers: [("A".to_owned(), "user".to_owned())].into(),
            bearer_token_file: Some(token_file.clone()),
            basic_auth_user: Some("bob".into()),
            max_response_bytes: Some(1000),
            ..Connection::default()
        };
        let dashboard = Connection {
            url: Some("http://user:1/prefix".into()),
            headers: [("B".to_owned(), "dash".to_owned())].into(),
            ..Connection::default()
        };
        let args = ConnectionArgs {
            user_config: Some(user),
            ..ConnectionArgs::default()
        };
        let no_env = |_: &str| None;
        let (c, notes) = args
            .client_config_with_env(Some(&dashboard), &no_env)
            .expect("config");
        assert_eq!(c.url, "http://user:1/prefix");
        assert_eq!(c.timeout, Duration::from_secs(7));
        assert_eq!(c.max_response_bytes, 1000);
        assert_eq!(c.headers.len(), 2);
        assert_eq!(
            c.bearer_token.as_ref().map(Secret::expose),
            Some("from-file")
        );
        assert!(
            notes.iter().any(|n| n.contains("sends header B")),
            "{notes:?}"
        );
        let (c, _) = args.client_config_with_env(None, &no_env).expect("config");
        assert_eq!(c.url, "http://user:1");
        let env = |name: &str| match name {
            "PROMDASH_BEARER_TOKEN" => Some("from-env".to_owned()),
            "PROMDASH_BASIC_AUTH_PASSWORD" => Some("pw-env".to_owned()),
            _ => None,
        };
        let (c, _) = args.client_config_with_env(None, &env).expect("config");
        assert_eq!(
            c.bearer_token.as_ref().map(Secret::expose),
            Some("from-env")
        );
        let basic = c.basic_auth.as_ref().expect("basic auth");
        assert_eq!(
            (basic.user.as_str(), basic.password.expose()),
            ("bob", "pw-env")
        );
        let args = ConnectionArgs {
            bearer_token_file: Some(token_file),
            max_response_bytes: Some(5),
            ..args
        };
        let (c, _) = args.client_config_with_env(None, &env).expect("config");
        assert_eq!(
            c.bearer_token.as_ref().map(Secret::expose),
            Some("from-file")
        );
        assert_eq!(c.max_response_bytes, 5);
    }

    #[test]
    fn a_dashboard_on_another_server_borrows_nothing() {
        let dir = tempfile::tempdir().expect("temp dir");
        let token_file = dir.path().join("token");
        std::fs::write(&token_file, "user-token").expect("write");
        let user = Connection {
            url: Some("https://mine:9090".into()),
            headers: [("X-Scope-OrgID".to_owned(), "team".to_owned())].into(),
            bearer_token_file: Some(token_file.clone()),
            basic_auth_user: Some("bob".into()),
            ca_cert: Some("/etc/my-ca.pem".into()),
            insecure_skip_verify: true,
            timeout: Some(Duration::from_secs(7)),
            ..Connection::default()
        };
        let dashboard = Connection {
            url: Some("http://evil:80".into()),
            headers: [("X-Dash".to_owned(), "d".to_owned())].into(),
            ..Connection::default()
        };
        let args = ConnectionArgs {
            user_config: Some(user),
            ..ConnectionArgs::default()
        };
        let env = |name: &str| match name {
            "PROMDASH_BEARER_TOKEN" => Some("env-token".to_owned()),
            "PROMDASH_BASIC_AUTH_PASSWORD" => Some("env-pw".to_owned()),
            "PROMDASH_HEADER" => Some("X-Api-Key: env-key".to_owned()),
            _ => None,
        };
        // PROMDASH_HEADER as clap would have read it.
        let args = ConnectionArgs {
            headers: vec![("X-Api-Key".into(), "env-key".into())],
            ..args
        };
        let (c, notes) = args
            .client_config_with_env(Some(&dashboard), &env)
            .expect("config");
        assert_eq!(c.url, "http://evil:80");
        assert!(c.bearer_token.is_none());
        assert!(c.basic_auth.is_none());
        assert!(c.ca_cert.is_none() && !c.insecure_skip_verify);
        let names: Vec<&str> = c.headers.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["X-Dash"]);
        // Not a credential: still the user's.
        assert_eq!(c.timeout, Duration::from_secs(7));
        assert!(
            notes
                .iter()
                .any(|n| n.contains("not your server https://mine:9090")),
            "{notes:?}"
        );

        // Passed on the command line: sent, to whichever server the user chose to open.
        let args = ConnectionArgs {
            bearer_token_file: Some(token_file),
            headers: vec![("X-Api-Key".into(), "cli-key".into())],
            ..args
        };
        let (c, _) = args
            .client_config_with_env(Some(&dashboard), &env)
            .expect("config");
        assert_eq!(
            c.bearer_token.as_ref().map(Secret::expose),
            Some("user-token")
        );
        assert!(
            c.headers
                .iter()
                .any(|(n, v)| n == "X-Api-Key" && v.expose() == "cli-key")
        );
    }

    #[test]
    fn dashboard_secret_files_need_the_flag_and_tls_never_lowers() {
        let dashboard = Connection {
            basic_auth_user: Some("u".into()),
            basic_auth_password_file: Some("/home/victim/.ssh/id_ed25519".into()),
            ..Connection::default()
        };
        let no_env = |_: &str| None;
        let e = ConnectionArgs::default()
            .client_config_with_env(Some(&dashboard), &no_env)
            .expect_err("refused");
        assert!(e.contains("connection.basic_auth_password_file"), "{e}");
        assert!(e.contains("--allow-dashboard-secrets"), "{e}");
        let allowed = ConnectionArgs {
            allow_dashboard_secrets: true,
            ..ConnectionArgs::default()
        };
        let e = allowed
            .client_config_with_env(Some(&dashboard), &no_env)
            .expect_err("the file does not exist");
        assert!(
            e.contains("cannot read the basic auth password file"),
            "{e}"
        );

        let insecure = Connection {
            insecure_skip_verify: true,
            ..Connection::default()
        };
        let (c, notes) = ConnectionArgs::default()
            .client_config_with_env(Some(&insecure), &no_env)
            .expect("config");
        assert!(!c.insecure_skip_verify);
        assert!(
            notes.iter().any(|n| n.contains("cannot lower TLS")),
            "{notes:?}"
        );
    }

    #[test]
    #[cfg(unix)]
    fn secret_files_readable_by_others_are_warned_about() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().expect("temp dir");
        let token = dir.path().join("token");
        std::fs::write(&token, "t0ken").expect("write");
        std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        let args = ConnectionArgs {
            bearer_token_file: Some(token.clone()),
            ..ConnectionArgs::default()
        };
        let (_, notes) = args
            .client_config_with_env(None, &|_| None)
            .expect("config");
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(
            notes[0].contains("readable by other users (mode 644)"),
            "{notes:?}"
        );
        std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        let (_, notes) = args
            .client_config_with_env(None, &|_| None)
            .expect("config");
        assert!(notes.is_empty(), "{notes:?}");
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_bytes("64MiB"), Ok(64 << 20));
        assert_eq!(parse_bytes("500k"), Ok(500 << 10));
        assert_eq!(parse_bytes("1048576"), Ok(1 << 20));
        assert!(parse_bytes("0").is_err());
        assert!(parse_bytes("12 parsecs").is_err());
        assert!(parse_bytes("99999999999999G").is_err());
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
