//! The Prometheus HTTP API client.
//!
//! One [`PromClient`] holds one connection pool (reqwest over rustls); clone it freely,
//! clones share the pool. Every answer is read in chunks and refused once it passes
//! [`ClientConfig::max_response_bytes`].
//!
//! Requests: `query` and `query_range` go by GET while the expression is short, and by
//! POST form once it is longer than [`POST_THRESHOLD`] bytes (URLs that long are cut by
//! proxies). Both carry `latency_offset=0s`, which VictoriaMetrics reads (it otherwise
//! hides the newest 30 s) and Prometheus ignores, as it ignores every unknown parameter.
//! Instant queries also carry `nocache=1`: VictoriaMetrics before `latency_offset`
//! existed (Debian's 1.79) moves an instant query near "now" back by its offset unless
//! it is set. Its range queries with a step under a minute still show the newest 30 s
//! flattened there; only its `-search.latencyOffset=0s` flag changes that.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, RequestBuilder, Url};
use serde::Deserialize;

use crate::alert::ServerAlert;
use crate::decode::{parse_api_response, parse_query_response};
use crate::error::QueryError;
use crate::model::{Labels, QueryResult};
use crate::source::{MetricsSource, RangeWindow};

/// Expressions longer than this many bytes are sent by POST form.
pub const POST_THRESHOLD: usize = 1500;

/// Default limit on the size of one answer: 64 MiB.
pub const DEFAULT_MAX_RESPONSE_BYTES: u64 = 64 * 1024 * 1024;

/// A secret string. `Debug` and `Display` print `***`; read it with [`Secret::expose`].
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }

    /// The secret itself: only for putting it on the wire.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Self {
        Self(s)
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Self {
        Self(s.to_owned())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Basic auth user and password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BasicAuth {
    pub user: String,
    pub password: Secret,
}

/// Everything needed to talk to one server. `Debug` shows the URL without credentials
/// and no secret.
#[derive(Clone)]
pub struct ClientConfig {
    /// Base URL, may carry a path prefix (`http://host/prometheus`) and credentials
    /// (`https://user:pass@host`, turned into basic auth and stripped from the URL).
    pub url: String,
    /// Whole-request timeout (default 30 s).
    pub timeout: Duration,
    /// TCP + TLS connect timeout (default 5 s).
    pub connect_timeout: Duration,
    /// Prometheus's own `timeout` parameter for query evaluation (default: not sent).
    pub query_timeout: Option<Duration>,
    /// Extra headers sent with every request (e.g. `X-Scope-OrgID`). Values may be
    /// secret and are never printed.
    pub headers: Vec<(String, Secret)>,
    pub bearer_token: Option<Secret>,
    pub basic_auth: Option<BasicAuth>,
    /// PEM file of extra CA certificates to trust.
    pub ca_cert: Option<PathBuf>,
    /// PEM client certificate and key for mutual TLS.
    pub client_cert: Option<PathBuf>,
    pub client_key: Option<PathBuf>,
    pub insecure_skip_verify: bool,
    /// Answers larger than this are refused (default 64 MiB).
    pub max_response_bytes: u64,
    /// Send `latency_offset=0s` with queries, and `nocache=1` with instant queries
    /// (default true; see the module docs).
    pub latency_offset_zero: bool,
    /// Most requests in flight at once to this server, across every clone of the client
    /// (default [`DEFAULT_MAX_IN_FLIGHT`]); the others wait for a slot.
    pub max_in_flight: usize,
}

/// Default bound on requests in flight to one server.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 16;

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            url: "http://localhost:9090".to_owned(),
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(5),
            query_timeout: None,
            headers: Vec::new(),
            bearer_token: None,
            basic_auth: None,
            ca_cert: None,
            client_cert: None,
            client_key: None,
            insecure_skip_verify: false,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            latency_offset_zero: true,
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
        }
    }
}

impl ClientConfig {
    /// Defaults with this base URL.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            ..Self::default()
        }
    }
}

impl fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `url` may carry `user:pass@`: shown redacted. Secrets print as `***`.
        f.debug_struct("ClientConfig")
            .field("url", &redact_str(&self.url))
            .field("timeout", &self.timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("query_timeout", &self.query_timeout)
            .field("headers", &self.headers)
            .field("bearer_token", &self.bearer_token)
            .field("basic_auth", &self.basic_auth)
            .field("ca_cert", &self.ca_cert)
            .field("client_cert", &self.client_cert)
            .field("client_key", &self.client_key)
            .field("insecure_skip_verify", &self.insecure_skip_verify)
            .field("max_response_bytes", &self.max_response_bytes)
            .field("latency_offset_zero", &self.latency_offset_zero)
            .field("max_in_flight", &self.max_in_flight)
            .finish()
    }
}

/// What kind of credentials a request carried, to explain a 401.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AuthKind {
    None,
    Basic,
    Bearer,
}

/// The Prometheus HTTP API client. Cheap to clone; clones share one connection pool.
#[derive(Clone)]
pub struct PromClient {
    http: reqwest::Client,
    /// Base URL with a trailing slash and no credentials.
    base: Url,
    /// The two endpoints every refresh uses, joined to `base` once.
    query_url: Url,
    query_range_url: Url,
    redacted: String,
    timeout: Duration,
    query_timeout: Option<Duration>,
    max_response_bytes: u64,
    latency_offset_zero: bool,
    auth: AuthKind,
    has_tenant_header: bool,
    /// `--ca-cert` was given (shapes the advice in TLS errors).
    ca_given: bool,
    /// The secrets sent (token, password, header values, the basic auth header), to
    /// blank out of anything a server quotes back. Never printed.
    secrets: Vec<String>,
    /// The configured headers (`Authorization` and `--header`s), sent to the configured
    /// server only: see [`redirect_keeps_headers`].
    headers: HeaderMap,
    /// Slots for requests in flight, shared by the clones.
    in_flight: std::sync::Arc<tokio::sync::Semaphore>,
}

impl fmt::Debug for PromClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PromClient")
            .field("url", &self.redacted)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// `/api/v1/metadata` entry.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct MetricMetadata {
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub help: String,
    #[serde(default)]
    pub unit: String,
}

/// `/api/v1/status/buildinfo`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct BuildInfo {
    pub version: String,
    pub revision: String,
    pub branch: String,
    pub build_user: String,
    pub build_date: String,
    pub go_version: String,
}

/// One scrape target of `/api/v1/targets`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Target {
    pub labels: Labels,
    pub scrape_pool: String,
    pub scrape_url: String,
    /// `up`, `down` or `unknown`.
    pub health: String,
    pub last_error: String,
    pub last_scrape: String,
    pub last_scrape_duration: f64,
    /// Like `1m`; empty from servers that do not say.
    pub scrape_interval: String,
}

/// `/api/v1/targets`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Targets {
    pub active_targets: Vec<Target>,
    pub dropped_targets: Vec<serde::de::IgnoredAny>,
}

/// One rule of `/api/v1/rules`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Rule {
    pub name: String,
    pub query: String,
    /// `alerting` or `recording`.
    #[serde(rename = "type")]
    pub kind: String,
    pub health: String,
    pub last_error: String,
    /// Alerting rules only: `inactive`, `pending` or `firing`.
    pub state: String,
    pub labels: Labels,
    pub annotations: Labels,
    pub alerts: Vec<ServerAlert>,
}

/// A rule group of `/api/v1/rules`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RuleGroup {
    pub name: String,
    pub file: String,
    pub rules: Vec<Rule>,
}

impl PromClient {
    /// Builds the client. Fails on a bad URL, header or certificate file.
    pub fn new(config: ClientConfig) -> Result<Self, QueryError> {
        let mut base = Url::parse(config.url.trim()).map_err(|e| {
            QueryError::Config(format!(
                "--url {:?} is not a URL ({e}); expected e.g. http://localhost:9090",
                redact_str(&config.url)
            ))
        })?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(QueryError::Config(format!(
                "--url must start with http:// or https://, not {}://",
                base.scheme()
            )));
        }
        let mut basic_auth = config.basic_auth.clone();
        if !base.username().is_empty() || base.password().is_some() {
            let user = percent_decode(base.username());
            let password = percent_decode(base.password().unwrap_or(""));
            if basic_auth.is_none() {
                basic_auth = Some(BasicAuth {
                    user,
                    password: Secret(password),
                });
            }
            // Cannot fail for http(s) URLs, which have a host.
            let _ = base.set_username("");
            let _ = base.set_password(None);
        }
        base.set_fragment(None);
        if !base.path().ends_with('/') {
            let p = format!("{}/", base.path());
            base.set_path(&p);
        }
        let redacted = base.as_str().trim_end_matches('/').to_owned();

        let mut headers = HeaderMap::new();
        let mut has_tenant_header = false;
        for (name, value) in &config.headers {
            let n = HeaderName::from_bytes(name.trim().as_bytes()).map_err(|_| {
                QueryError::Config(format!(
                    "header name {name:?} is not valid; expected e.g. X-Scope-OrgID"
                ))
            })?;
            let mut v = HeaderValue::from_str(value.expose().trim()).map_err(|_| {
                QueryError::Config(format!(
                    "the value of header {name:?} has characters a header cannot carry"
                ))
            })?;
            v.set_sensitive(true);
            has_tenant_header |= n.as_str().eq_ignore_ascii_case("x-scope-orgid");
            headers.append(n, v);
        }
        let auth = if let Some(token) = &config.bearer_token {
            let mut v = HeaderValue::from_str(&format!("Bearer {}", token.expose().trim()))
                .map_err(|_| {
                    QueryError::Config(
                        "the bearer token has characters a header cannot carry".into(),
                    )
                })?;
            v.set_sensitive(true);
            headers.insert(reqwest::header::AUTHORIZATION, v);
            AuthKind::Bearer
        } else if basic_auth.is_some() {
            AuthKind::Basic
        } else {
            AuthKind::None
        };
        if let Some(b) = &basic_auth
            && auth == AuthKind::Basic
        {
            let v = basic_auth_header(&b.user, b.password.expose())?;
            headers.insert(reqwest::header::AUTHORIZATION, v);
        }
        let mut secrets: Vec<String> = config
            .headers
            .iter()
            .map(|(_, v)| v.expose().trim().to_owned())
            .chain(
                config
                    .bearer_token
                    .iter()
                    .map(|t| t.expose().trim().to_owned()),
            )
            .collect();
        if let Some(b) = &basic_auth {
            secrets.push(b.password.expose().to_owned());
            secrets.push(base64(
                format!("{}:{}", b.user, b.password.expose()).as_bytes(),
            ));
        }
        // Very short values would blank out ordinary words; longest first, so a secret
        // containing another is blanked whole.
        secrets.retain(|s| s.len() >= MIN_SCRUBBED_LEN);
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));

        if config.timeout.is_zero() {
            return Err(QueryError::Config(
                "the request timeout is 0s, which no answer can meet: set --timeout (or the \
                 connection's timeout) to more than 0s, e.g. 10s"
                    .into(),
            ));
        }
        // Redirects are followed by `send`, which decides which headers go along.
        let mut builder = crate::tls::http_client_builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(config.timeout)
            .connect_timeout(config.connect_timeout)
            .pool_idle_timeout(Duration::from_secs(90))
            .user_agent(concat!("promdash/", env!("CARGO_PKG_VERSION")));
        builder = crate::tls::configure(
            builder,
            config.ca_cert.as_deref(),
            config.client_cert.as_deref(),
            config.client_key.as_deref(),
            config.insecure_skip_verify,
        )?;
        let http = builder.build().map_err(|e| {
            QueryError::Config(format!("cannot set up the HTTP client: {}", chain(&e)))
        })?;
        let endpoint = |path: &str| {
            base.join(path)
                .map_err(|e| QueryError::Config(format!("cannot build the request URL: {e}")))
        };
        let query_url = endpoint("api/v1/query")?;
        let query_range_url = endpoint("api/v1/query_range")?;
        Ok(Self {
            http,
            base,
            query_url,
            query_range_url,
            redacted,
            timeout: config.timeout,
            query_timeout: config.query_timeout,
            max_response_bytes: config.max_response_bytes,
            latency_offset_zero: config.latency_offset_zero,
            auth,
            has_tenant_header,
            ca_given: config.ca_cert.is_some(),
            secrets,
            headers,
            in_flight: std::sync::Arc::new(tokio::sync::Semaphore::new(
                config.max_in_flight.max(1),
            )),
        })
    }

    /// The base URL without credentials, for display.
    pub fn redacted_url(&self) -> &str {
        &self.redacted
    }

    /// An instant query at `time` (Unix seconds) or at the server's now.
    pub async fn query(&self, expr: &str, time: Option<f64>) -> Result<QueryResult, QueryError> {
        let mut params = vec![("query", expr.to_owned())];
        if let Some(t) = time {
            params.push(("time", fmt_secs(t)));
        }
        self.query_params(&mut params);
        if self.latency_offset_zero {
            // Older VictoriaMetrics only skips its latency offset for instant queries
            // with `nocache=1` (see the module docs); a cache is of no use to them.
            params.push(("nocache", "1".to_owned()));
        }
        self.query_request(&self.query_url, expr.len(), &params)
            .await
    }

    /// A range query from `start` to `end` (Unix seconds, sub-second precision) every
    /// `step` (sent as seconds with decimals).
    pub async fn query_range(
        &self,
        expr: &str,
        start: f64,
        end: f64,
        step: Duration,
    ) -> Result<QueryResult, QueryError> {
        let mut params = vec![
            ("query", expr.to_owned()),
            ("start", fmt_secs(start)),
            ("end", fmt_secs(end)),
            ("step", fmt_secs(step.as_secs_f64())),
        ];
        self.query_params(&mut params);
        self.query_request(&self.query_range_url, expr.len(), &params)
            .await
    }

    /// Series matching any of `matchers`, optionally within `start..end`.
    pub async fn series(
        &self,
        matchers: &[&str],
        start: Option<f64>,
        end: Option<f64>,
    ) -> Result<Vec<Labels>, QueryError> {
        let mut params: Vec<(&str, String)> = matchers
            .iter()
            .map(|m| ("match[]", (*m).to_owned()))
            .collect();
        push_range(&mut params, start, end);
        self.api(Method::POST, &["api", "v1", "series"], &params)
            .await
    }

    /// Label names, optionally of series matching `matchers`.
    pub async fn label_names(&self, matchers: &[&str]) -> Result<Vec<String>, QueryError> {
        let params: Vec<(&str, String)> = matchers
            .iter()
            .map(|m| ("match[]", (*m).to_owned()))
            .collect();
        self.api(Method::GET, &["api", "v1", "labels"], &params)
            .await
    }

    /// Values of label `name`, optionally of series matching `matcher`.
    pub async fn label_values(
        &self,
        name: &str,
        matcher: Option<&str>,
    ) -> Result<Vec<String>, QueryError> {
        let params: Vec<(&str, String)> = matcher
            .map(|m| ("match[]", m.to_owned()))
            .into_iter()
            .collect();
        self.api(
            Method::GET,
            &["api", "v1", "label", name, "values"],
            &params,
        )
        .await
    }

    /// Metric metadata (type, help, unit), optionally of one metric.
    pub async fn metadata(
        &self,
        metric: Option<&str>,
    ) -> Result<BTreeMap<String, Vec<MetricMetadata>>, QueryError> {
        let params: Vec<(&str, String)> = metric
            .map(|m| ("metric", m.to_owned()))
            .into_iter()
            .collect();
        self.api(Method::GET, &["api", "v1", "metadata"], &params)
            .await
    }

    /// The server's active alerts.
    pub async fn alerts(&self) -> Result<Vec<ServerAlert>, QueryError> {
        #[derive(Deserialize)]
        struct Data {
            #[serde(default)]
            alerts: Vec<ServerAlert>,
        }
        let d: Data = self.api(Method::GET, &["api", "v1", "alerts"], &[]).await?;
        Ok(d.alerts)
    }

    /// The server's alerting and recording rules.
    pub async fn rules(&self) -> Result<Vec<RuleGroup>, QueryError> {
        #[derive(Deserialize)]
        struct Data {
            #[serde(default)]
            groups: Vec<RuleGroup>,
        }
        let d: Data = self.api(Method::GET, &["api", "v1", "rules"], &[]).await?;
        Ok(d.groups)
    }

    /// Scrape targets.
    pub async fn targets(&self) -> Result<Targets, QueryError> {
        self.api(Method::GET, &["api", "v1", "targets"], &[]).await
    }

    /// Version information.
    pub async fn buildinfo(&self) -> Result<BuildInfo, QueryError> {
        self.api(Method::GET, &["api", "v1", "status", "buildinfo"], &[])
            .await
    }

    /// The configuration the server loaded, as YAML (`/api/v1/status/config`; Prometheus
    /// only: VictoriaMetrics and others answer an error).
    pub async fn config_yaml(&self) -> Result<String, QueryError> {
        #[derive(Deserialize)]
        struct Data {
            #[serde(default)]
            yaml: String,
        }
        let d: Data = self
            .api(Method::GET, &["api", "v1", "status", "config"], &[])
            .await?;
        Ok(d.yaml)
    }

    /// What kind of server answers ([`Backend`](crate::backend::Backend)), from its
    /// buildinfo and, on VictoriaMetrics, the `-search.latencyOffset` on its `/flags` page.
    /// `Unknown` when buildinfo cannot be read.
    pub async fn detect_backend(&self) -> crate::backend::Backend {
        let Ok(info) = self.buildinfo().await else {
            return crate::backend::Backend::Unknown;
        };
        let backend = crate::backend::Backend::from_buildinfo(&info);
        if !backend.is_victoria_metrics() {
            return backend;
        }
        match self.send(self.http.get(self.endpoint(&["flags"]))).await {
            Ok((200..=299, body)) => backend.with_flags(&String::from_utf8_lossy(&body)),
            _ => backend,
        }
    }

    /// `/-/ready`: `Ok(true)` when ready, `Ok(false)` while starting (503), an error when
    /// unreachable or answering anything else.
    pub async fn ready(&self) -> Result<bool, QueryError> {
        let url = self.endpoint(&["-", "ready"]);
        let (status, body) = self.send(self.http.get(url)).await?;
        match status {
            200..=299 => Ok(true),
            503 => Ok(false),
            _ => Err(self.explain(crate::decode::http_error(&self.redacted, status, &body))),
        }
    }

    /// A request to `segments` under the base URL with an optional JSON body, through the
    /// same headers, auth, TLS, redirect and size handling as every query; any 2xx status
    /// gives its body, any other a [`QueryError`] quoting it (secrets blanked). For the
    /// other HTTP APIs promdash talks to with one set of connection flags (Alertmanager).
    pub(crate) async fn request_json(
        &self,
        method: Method,
        segments: &[&str],
        params: &[(&str, String)],
        json: Option<Vec<u8>>,
    ) -> Result<Vec<u8>, QueryError> {
        let mut req = self
            .http
            .request(method, self.endpoint(segments))
            .query(params);
        if let Some(body) = json {
            req = req
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body);
        }
        let (status, body) = self.send(req).await?;
        if (200..300).contains(&status) {
            Ok(body)
        } else {
            Err(self.explain(crate::decode::http_error(&self.redacted, status, &body)))
        }
    }

    // ------------------------------------------------------------------------------

    fn query_params(&self, params: &mut Vec<(&'static str, String)>) {
        if let Some(t) = self.query_timeout {
            // Float seconds: both Prometheus and VictoriaMetrics read them, while Go-style
            // durations with decimals ("0.5s") are refused by Prometheus.
            params.push(("timeout", fmt_secs(t.as_secs_f64())));
        }
        if self.latency_offset_zero {
            params.push(("latency_offset", "0s".to_owned()));
        }
    }

    async fn query_request(
        &self,
        url: &Url,
        expr_len: usize,
        params: &[(&str, String)],
    ) -> Result<QueryResult, QueryError> {
        let url = url.clone();
        let req = if expr_len > POST_THRESHOLD {
            self.http.post(url).form(params)
        } else {
            self.http.get(url).query(params)
        };
        let (status, body) = self.send(req).await?;
        parse_query_response(&self.redacted, status, &body).map_err(|e| self.explain(e))
    }

    async fn api<T: serde::de::DeserializeOwned>(
        &self,
        method: Method,
        segments: &[&str],
        params: &[(&str, String)],
    ) -> Result<T, QueryError> {
        let url = self.endpoint(segments);
        let req = if method == Method::POST {
            self.http.post(url).form(params)
        } else {
            self.http.get(url).query(params)
        };
        let (status, body) = self.send(req).await?;
        parse_api_response(&self.redacted, status, &body)
            .map(|(data, _notes)| data)
            .map_err(|e| self.explain(e))
    }

    fn endpoint(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }

    /// Sends a request with the configured headers, follows redirects (at most
    /// [`MAX_REDIRECTS`]) and reads the body in chunks, refusing more than the limit.
    ///
    /// A redirect to another host or port, or from https to http, is followed without
    /// any configured header: neither `Authorization` nor `--header`s such as
    /// `X-Scope-OrgID` or `X-Api-Key` go to a server they were not configured for.
    async fn send(&self, req: RequestBuilder) -> Result<(u16, Vec<u8>), QueryError> {
        // Held until the answer is read: at most `max_in_flight` sockets and bodies at
        // once, however many panels ask. The semaphore is never closed.
        let _slot = self.in_flight.acquire().await.ok();
        let mut request = req.build().map_err(|e| self.transport(&e))?;
        request.headers_mut().extend(self.headers.clone());
        let mut redirects = 0;
        let mut resp = loop {
            let next = request.try_clone();
            let resp = self
                .http
                .execute(request)
                .await
                .map_err(|e| self.send_error(&e))?;
            let status = resp.status();
            let location = resp
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|l| l.to_str().ok())
                .and_then(|l| resp.url().join(l).ok());
            let (Some(mut next), Some(location), true) = (next, location, status.is_redirection())
            else {
                break resp;
            };
            redirects += 1;
            if redirects > MAX_REDIRECTS {
                return Err(QueryError::Transport {
                    url: self.redacted.clone(),
                    detail: format!("more than {MAX_REDIRECTS} redirects"),
                });
            }
            if !matches!(location.scheme(), "http" | "https") {
                break resp;
            }
            if !redirect_keeps_headers(next.url(), &location) {
                for name in self.headers.keys() {
                    next.headers_mut().remove(name);
                }
                tracing::debug!(
                    to = %redact_str(location.as_str()),
                    "redirect to another server: configured headers not sent"
                );
            }
            // 303, and 301/302 after a POST, become a GET without a body (as browsers do).
            let code = status.as_u16();
            if code == 303 || (matches!(code, 301 | 302) && next.method() == Method::POST) {
                *next.method_mut() = Method::GET;
                *next.body_mut() = None;
                next.headers_mut().remove(reqwest::header::CONTENT_TYPE);
                next.headers_mut().remove(reqwest::header::CONTENT_LENGTH);
            }
            *next.url_mut() = location;
            request = next;
        };
        let status = resp.status().as_u16();
        let encoding = resp
            .headers()
            .get(reqwest::header::CONTENT_ENCODING)
            .and_then(|v| v.to_str().ok())
            .map(str::to_ascii_lowercase)
            .filter(|e| e != "identity");
        let limit = self.max_response_bytes;
        if resp.content_length().is_some_and(|n| n > limit) {
            return Err(QueryError::TooLarge {
                url: self.redacted.clone(),
                limit,
            });
        }
        let cap = resp.content_length().unwrap_or(8 * 1024).min(limit) as usize;
        let mut body = Vec::with_capacity(cap);
        loop {
            let chunk = match resp.chunk().await {
                Ok(Some(c)) => c,
                Ok(None) => break,
                Err(e) if encoding.is_some() && !e.is_timeout() => {
                    return Err(QueryError::Decode {
                        url: self.redacted.clone(),
                        detail: format!(
                            "the answer sent with Content-Encoding: {} could not be read: {}",
                            encoding.as_deref().unwrap_or_default(),
                            chain(&e)
                        ),
                    });
                }
                Err(e) => return Err(self.transport(&e)),
            };
            if (body.len() + chunk.len()) as u64 > limit {
                return Err(QueryError::TooLarge {
                    url: self.redacted.clone(),
                    limit,
                });
            }
            body.extend_from_slice(&chunk);
        }
        if let Some(enc) = encoding.filter(|_| body.first() != Some(&b'{')) {
            // promdash does not ask for compression; a server (or proxy) that sends it
            // anyway is named, rather than its bytes called "not JSON".
            return Err(QueryError::Decode {
                url: self.redacted.clone(),
                detail: format!(
                    "the answer is {enc}-compressed (Content-Encoding: {enc}) although promdash \
                     did not ask for compression; check the server or proxy in between"
                ),
            });
        }
        if body.starts_with(&[0x1f, 0x8b]) {
            return Err(QueryError::Decode {
                url: self.redacted.clone(),
                detail: "the answer is gzip data (it starts with 1f 8b) without a \
                         Content-Encoding header; a proxy in between compressed it"
                    .into(),
            });
        }
        Ok((status, body))
    }

    /// Makes a 401/403 hint name the credentials actually configured, and blanks out
    /// any secret the server quoted back.
    fn explain(&self, e: QueryError) -> QueryError {
        let e = match e {
            QueryError::Http {
                url,
                status: status @ (401 | 403),
                body,
                ..
            } => {
                let what = if status == 401 {
                    "401 unauthorized"
                } else {
                    "403 forbidden"
                };
                let mut hint = match self.auth {
                    AuthKind::Basic => format!("{what} — check the basic auth credentials"),
                    AuthKind::Bearer => format!("{what} — check the bearer token"),
                    AuthKind::None => format!(
                        "{what} — the server wants credentials: set basic auth or a bearer token"
                    ),
                };
                if !self.has_tenant_header {
                    hint.push_str(" (missing tenant header? set X-Scope-OrgID with --header)");
                }
                QueryError::Http {
                    url,
                    status,
                    body,
                    hint,
                }
            }
            other => other,
        };
        self.scrub(e)
    }

    /// Replaces every secret (and a secret's start at the end of a quote cut short) in
    /// the parts of an error that quote the server, and escapes their control characters
    /// (see [`crate::text`]): they are printed to terminals.
    fn scrub(&self, e: QueryError) -> QueryError {
        let clean = |text: &str| crate::text::escaped(&scrub_text(text, &self.secrets));
        match e {
            QueryError::Http {
                url,
                status,
                body,
                hint,
            } => QueryError::Http {
                url,
                status,
                body: clean(&body),
                hint,
            },
            QueryError::Api {
                status,
                error_type,
                message,
            } => QueryError::Api {
                status,
                error_type: match error_type {
                    crate::error::ErrorType::Other(t) => crate::error::ErrorType::Other(clean(&t)),
                    known => known,
                },
                message: clean(&message),
            },
            QueryError::Decode { url, detail } => QueryError::Decode {
                url,
                detail: clean(&detail),
            },
            QueryError::Transport { url, detail } => QueryError::Transport {
                url,
                detail: clean(&detail),
            },
            other => other,
        }
    }

    /// An error before any answer arrived. Over TLS 1.3 a server that refuses the
    /// client's certificate (or wants one) closes the connection after the handshake,
    /// and depending on timing the client sees its alert or just the connection gone:
    /// the latter is reported as a TLS problem too, saying so.
    fn send_error(&self, e: &reqwest::Error) -> QueryError {
        match self.transport(e) {
            QueryError::Transport { url, detail } if self.base.scheme() == "https" => {
                let lower = detail.to_ascii_lowercase();
                if lower.contains("not ready")
                    || lower.contains("closed before message completed")
                    || lower.contains("connection reset")
                {
                    QueryError::Tls {
                        url,
                        detail: format!(
                            "the server closed the connection before answering ({detail}); \
                             a server that wants a client certificate does this: check \
                             --client-cert/--client-key"
                        ),
                    }
                } else {
                    QueryError::Transport { url, detail }
                }
            }
            other => other,
        }
    }

    fn transport(&self, e: &reqwest::Error) -> QueryError {
        let url = self.redacted.clone();
        let detail = chain(e);
        if e.is_timeout() {
            return QueryError::Timeout {
                url,
                after: self.timeout,
            };
        }
        let lower = detail.to_ascii_lowercase();
        let refused = io_kind(e).is_some_and(|k| k == std::io::ErrorKind::ConnectionRefused)
            || lower.contains("connection refused");
        if refused {
            return QueryError::ConnectionRefused { url };
        }
        {
            use std::error::Error as _;
            if let Some(r) = e.source().and_then(crate::tls::find_rustls_error) {
                return QueryError::Tls {
                    url,
                    detail: crate::tls::describe_rustls(r, self.ca_given),
                };
            }
        }
        if lower.contains("certificate")
            || lower.contains("tls")
            || lower.contains("handshake")
            || lower.contains("invalidcertificate")
        {
            return QueryError::Tls {
                url,
                detail: format!(
                    "{detail}; if the server's certificate comes from a private CA pass it \
                     with --ca-cert (or --insecure-skip-verify to test), and check \
                     --client-cert/--client-key if the server wants a client certificate"
                ),
            };
        }
        if lower.contains("dns") || lower.contains("resolve") || lower.contains("lookup") {
            return QueryError::Dns { url, detail };
        }
        QueryError::Transport { url, detail }
    }
}

impl MetricsSource for PromClient {
    async fn instant(&self, expr: &str, time: Option<f64>) -> Result<QueryResult, QueryError> {
        self.query(expr, time).await
    }

    async fn range(&self, expr: &str, window: RangeWindow) -> Result<QueryResult, QueryError> {
        self.query_range(expr, window.start, window.end, window.step)
            .await
    }

    async fn label_values(
        &self,
        name: &str,
        matcher: Option<&str>,
    ) -> Result<Vec<String>, QueryError> {
        PromClient::label_values(self, name, matcher).await
    }

    async fn label_names(&self, matcher: Option<&str>) -> Result<Vec<String>, QueryError> {
        let matchers: Vec<&str> = matcher.into_iter().collect();
        PromClient::label_names(self, &matchers).await
    }

    async fn backend(&self) -> crate::backend::Backend {
        self.detect_backend().await
    }

    async fn alerts(&self) -> Result<Vec<ServerAlert>, QueryError> {
        PromClient::alerts(self).await
    }

    async fn scrape_interval(&self) -> Option<std::time::Duration> {
        let yaml = self.config_yaml().await.ok()?;
        crate::grafana::interval::scrape_interval_of_config(&yaml)
    }

    async fn targets(&self) -> Result<Vec<Target>, QueryError> {
        Ok(PromClient::targets(self).await?.active_targets)
    }
}

fn push_range(params: &mut Vec<(&str, String)>, start: Option<f64>, end: Option<f64>) {
    if let Some(s) = start {
        params.push(("start", fmt_secs(s)));
    }
    if let Some(e) = end {
        params.push(("end", fmt_secs(e)));
    }
}

/// Seconds with up to millisecond decimals, no trailing zeros: `1700000000.5`, `30`.
pub fn fmt_secs(s: f64) -> String {
    // Whole milliseconds as an integer: several of these go out with every request, and
    // `{:.3}` takes the slow exact path of float formatting.
    let ms = (s * 1000.0).round();
    if ms.is_nan() || ms.abs() >= 1e15 {
        let out = format!("{s:.3}");
        return out.trim_end_matches('0').trim_end_matches('.').to_owned();
    }
    let ms = ms as i64;
    let (whole, frac) = (ms / 1000, (ms % 1000).unsigned_abs());
    let sign = if ms < 0 && whole == 0 { "-" } else { "" };
    let mut out = format!("{sign}{whole}");
    if frac != 0 {
        let digits = format!("{frac:03}");
        out.push('.');
        out.push_str(digits.trim_end_matches('0'));
    }
    out
}

/// The `Authorization: Basic …` value of `user` and `password`, marked sensitive.
pub fn basic_auth_header(user: &str, password: &str) -> Result<HeaderValue, QueryError> {
    let raw = format!("{user}:{password}");
    let mut v = HeaderValue::from_str(&format!("Basic {}", base64(raw.as_bytes())))
        .map_err(|_| QueryError::Config("the basic auth user cannot be sent in a header".into()))?;
    v.set_sensitive(true);
    Ok(v)
}

fn base64(input: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        out.push(T[(n >> 18) as usize & 63] as char);
        out.push(T[(n >> 12) as usize & 63] as char);
        out.push(if chunk.len() > 1 {
            T[(n >> 6) as usize & 63] as char
        } else {
            '='
        });
        out.push(if chunk.len() > 2 {
            T[n as usize & 63] as char
        } else {
            '='
        });
    }
    out
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(b) = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Most redirects followed for one request.
pub const MAX_REDIRECTS: usize = 10;

/// Whether the configured headers may follow a redirect from `from` to `to`: only to the
/// same host and port, and never from https down to http.
pub fn redirect_keeps_headers(from: &Url, to: &Url) -> bool {
    let downgrade = from.scheme() == "https" && to.scheme() != "https";
    !downgrade
        && from.host_str() == to.host_str()
        && from.port_or_known_default() == to.port_or_known_default()
}

/// Secrets shorter than this are not blanked out of server messages.
const MIN_SCRUBBED_LEN: usize = 4;

/// `text` with every secret replaced by `***`, and a tail that is the start of a secret
/// (a quote cut in the middle of one) too.
fn scrub_text(text: &str, secrets: &[String]) -> String {
    let mut out = text.to_owned();
    if secrets.is_empty() {
        return out;
    }
    for s in secrets {
        if out.contains(s.as_str()) {
            out = out.replace(s.as_str(), "***");
        }
    }
    for s in secrets {
        let cut = (MIN_SCRUBBED_LEN..s.len())
            .rev()
            .filter(|&k| s.is_char_boundary(k))
            .find(|&k| out.ends_with(&s[..k]));
        if let Some(k) = cut {
            out.truncate(out.len() - k);
            out.push_str("***");
            break;
        }
    }
    out
}

/// A URL string with any `user:pass@` removed, for messages about unparseable URLs.
fn redact_str(s: &str) -> String {
    match (s.find("://"), s.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}***@{}", &s[..scheme + 3], &s[at + 1..])
        }
        _ => s.to_owned(),
    }
}

/// The error and its sources, joined, without the URL.
fn chain(e: &reqwest::Error) -> String {
    use std::error::Error as _;
    let mut out = String::new();
    let mut cur: Option<&dyn std::error::Error> = e.source();
    let top = e.to_string();
    // reqwest's own message names the URL, which we print separately (redacted).
    out.push_str(top.split(" for url").next().unwrap_or(&top));
    while let Some(s) = cur {
        out.push_str(": ");
        out.push_str(&s.to_string());
        cur = s.source();
    }
    out
}

fn io_kind(e: &reqwest::Error) -> Option<std::io::ErrorKind> {
    use std::error::Error as _;
    let mut cur: Option<&dyn std::error::Error> = e.source();
    while let Some(s) = cur {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            return Some(io.kind());
        }
        cur = s.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64(b"user:pa ss"), "dXNlcjpwYSBzcw==");
    }

    #[test]
    fn url_credentials_become_basic_auth_and_are_stripped() {
        let c = PromClient::new(ClientConfig::new(
            "https://al%40ice:s3cr%2Ft@host:9090/prometheus",
        ))
        .expect("valid");
        assert_eq!(c.redacted_url(), "https://host:9090/prometheus");
        assert_eq!(c.auth, AuthKind::Basic);
        assert!(!format!("{c:?}").contains("s3cr"));
        assert_eq!(percent_decode("al%40ice"), "al@ice");
        assert_eq!(percent_decode("s3cr%2Ft"), "s3cr/t");
    }

    #[test]
    fn secrets_do_not_print() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s} {s:?}"), "*** ***");
        let cfg = ClientConfig {
            bearer_token: Some(s.clone()),
            basic_auth: Some(BasicAuth {
                user: "u".into(),
                password: s,
            }),
            headers: vec![("X-Scope-OrgID".into(), "hunter2".into())],
            ..ClientConfig::default()
        };
        assert!(!format!("{cfg:?}").contains("hunter2"));
    }

    #[test]
    fn endpoints_keep_the_path_prefix() {
        let c = PromClient::new(ClientConfig::new("http://h/select/0/prometheus")).expect("valid");
        assert_eq!(
            c.endpoint(&["api", "v1", "label", "a/b", "values"])
                .as_str(),
            "http://h/select/0/prometheus/api/v1/label/a%2Fb/values"
        );
        assert_eq!(
            c.base.join("api/v1/query").expect("joins").as_str(),
            "http://h/select/0/prometheus/api/v1/query"
        );
        let c = PromClient::new(ClientConfig::new("http://h:9090")).expect("valid");
        assert_eq!(
            c.endpoint(&["-", "ready"]).as_str(),
            "http://h:9090/-/ready"
        );
    }

    #[test]
    fn headers_follow_redirects_on_the_same_server_only() {
        let u = |s: &str| Url::parse(s).expect("url");
        let keeps = |a: &str, b: &str| redirect_keeps_headers(&u(a), &u(b));
        assert!(keeps("http://h:9090/a", "http://h:9090/b"));
        assert!(keeps("https://h/a", "https://h:443/b"));
        assert!(keeps("http://h/a", "https://h:80/b"));
        assert!(!keeps("https://h/a", "http://h:443/b"), "https to http");
        assert!(!keeps("https://h/a", "http://h/b"), "https to http");
        assert!(!keeps("http://h:9090/a", "http://h:9091/a"), "another port");
        assert!(!keeps("http://h/a", "http://evil/a"), "another host");
    }

    #[test]
    fn a_zero_timeout_is_refused() {
        let cfg = ClientConfig {
            timeout: Duration::ZERO,
            ..ClientConfig::default()
        };
        let e = PromClient::new(cfg).expect_err("0s");
        assert!(e.to_string().contains("timeout is 0s"), "{e}");
    }

    #[test]
    fn quoted_secrets_are_blanked() {
        let secrets = vec!["hunter2-long".to_owned(), "s3cr".to_owned()];
        assert_eq!(
            scrub_text("bad token hunter2-long and s3cr", &secrets),
            "bad token *** and ***"
        );
        // A quote cut inside a secret loses the secret's start too.
        assert_eq!(scrub_text("header: hunter2-l", &secrets), "header: ***");
        assert_eq!(scrub_text("plain message", &secrets), "plain message");
        assert_eq!(scrub_text("ends with hun", &secrets), "ends with hun");
    }

    #[test]
    fn seconds_format() {
        assert_eq!(fmt_secs(30.0), "30");
        assert_eq!(fmt_secs(0.5), "0.5");
        assert_eq!(fmt_secs(1_700_000_000.125), "1700000000.125");
        assert_eq!(fmt_secs(1_700_000_000.1), "1700000000.1");
        assert_eq!(fmt_secs(0.0), "0");
        assert_eq!(fmt_secs(-0.25), "-0.25");
        assert_eq!(fmt_secs(-90.05), "-90.05");
        assert_eq!(fmt_secs(12.0004), "12");
        assert_eq!(fmt_secs(12.0996), "12.1");
        assert_eq!(
            fmt_secs(1e300),
            format!("{:.3}", 1e300)
                .trim_end_matches('0')
                .trim_end_matches('.')
        );
        // Agrees with `{:.3}` (trailing zeros trimmed) away from exact half-milliseconds.
        for i in 0..20_000u32 {
            let s = 1_700_000_000.0 + f64::from(i) * 0.017_3 + 0.000_03;
            let old = format!("{s:.3}");
            assert_eq!(
                fmt_secs(s),
                old.trim_end_matches('0').trim_end_matches('.'),
                "{s}"
            );
        }
    }
}
