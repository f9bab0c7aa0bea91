//! Alertmanager's HTTP API v2 (`api/v2/openapi.yaml`): alerts in and out, silences.
//!
//! One [`AlertmanagerClient`] per Alertmanager. It goes through [`PromClient`]'s HTTP
//! code, so the same connection flags (basic auth, bearer token, headers, CA, client
//! certificate, timeouts) work for an Alertmanager as for `--url`, and secrets never
//! appear in its errors.

use std::collections::BTreeMap;

use reqwest::Method;
use serde::{Deserialize, Serialize};

use crate::client::{ClientConfig, PromClient};
use crate::error::QueryError;

/// Labels or annotations, sorted by name.
pub type LabelMap = BTreeMap<String, String>;

/// One alert as `POST /api/v2/alerts` takes it (`postableAlert`). Times are RFC 3339;
/// an empty one is left out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PostableAlert {
    pub labels: LabelMap,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: LabelMap,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub starts_at: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub ends_at: String,
    #[serde(
        rename = "generatorURL",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub generator_url: String,
}

/// `alertStatus`: `unprocessed`, `active` or `suppressed`, with what suppresses it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AlertStatus {
    pub state: String,
    pub silenced_by: Vec<String>,
    pub inhibited_by: Vec<String>,
}

/// A receiver an alert is routed to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct Receiver {
    pub name: String,
}

/// One alert of `GET /api/v2/alerts` (`gettableAlert`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct GettableAlert {
    pub labels: LabelMap,
    pub annotations: LabelMap,
    pub starts_at: String,
    pub ends_at: String,
    pub updated_at: String,
    #[serde(rename = "generatorURL")]
    pub generator_url: String,
    pub fingerprint: String,
    pub receivers: Vec<Receiver>,
    pub status: AlertStatus,
}

impl GettableAlert {
    /// Silenced by at least one silence.
    pub fn is_silenced(&self) -> bool {
        !self.status.silenced_by.is_empty()
    }

    /// Inhibited by at least one other alert.
    pub fn is_inhibited(&self) -> bool {
        !self.status.inhibited_by.is_empty()
    }
}

/// A silence matcher: `name="value"`, `name!="value"`, `name=~"re"`, `name!~"re"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Matcher {
    pub name: String,
    pub value: String,
    pub is_regex: bool,
    /// `false` for `!=` and `!~` (Alertmanager 0.22 and later; absent means `true`).
    #[serde(default = "yes")]
    pub is_equal: bool,
}

fn yes() -> bool {
    true
}

/// A silence as `POST /api/v2/silences` takes it; with `id` set it updates that silence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PostableSilence {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub matchers: Vec<Matcher>,
    pub starts_at: String,
    pub ends_at: String,
    pub created_by: String,
    pub comment: String,
}

/// `silenceStatus`: `active`, `pending` or `expired`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct SilenceStatus {
    pub state: String,
}

/// One silence of `GET /api/v2/silences` (`gettableSilence`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct GettableSilence {
    pub id: String,
    pub status: SilenceStatus,
    pub updated_at: String,
    pub matchers: Vec<Matcher>,
    pub starts_at: String,
    pub ends_at: String,
    pub created_by: String,
    pub comment: String,
}

impl GettableSilence {
    pub fn is_active(&self) -> bool {
        self.status.state == "active"
    }
}

/// Which alerts `GET /api/v2/alerts` returns; every kind by default, as Alertmanager does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertQuery {
    pub active: bool,
    pub silenced: bool,
    pub inhibited: bool,
    pub unprocessed: bool,
    /// Matchers in Alertmanager's text form (`alertname="X"`), all of which must match.
    pub filter: Vec<String>,
}

impl Default for AlertQuery {
    fn default() -> Self {
        AlertQuery {
            active: true,
            silenced: true,
            inhibited: true,
            unprocessed: true,
            filter: Vec::new(),
        }
    }
}

/// One Alertmanager's API v2.
#[derive(Debug, Clone)]
pub struct AlertmanagerClient {
    http: PromClient,
}

impl AlertmanagerClient {
    /// A client for the Alertmanager at `config.url` (its path prefix kept, e.g.
    /// `http://host/alertmanager`), with the connection settings of `config`.
    pub fn new(config: ClientConfig) -> Result<Self, QueryError> {
        let http = PromClient::new(config).map_err(|e| match e {
            QueryError::Config(m) => QueryError::Config(m.replace("--url", "--alertmanager")),
            other => other,
        })?;
        Ok(AlertmanagerClient { http })
    }

    /// Its URL without credentials, for display.
    pub fn url(&self) -> &str {
        self.http.redacted_url()
    }

    /// `POST /api/v2/alerts`.
    pub async fn post_alerts(&self, alerts: &[PostableAlert]) -> Result<(), QueryError> {
        let body = encode(alerts)?;
        self.http
            .request_json(Method::POST, &["api", "v2", "alerts"], &[], Some(body))
            .await
            .map(drop)
    }

    /// `POST /api/v2/alerts` with a body already encoded (one encoding for every
    /// Alertmanager).
    pub(crate) async fn post_alerts_raw(&self, body: Vec<u8>) -> Result<(), QueryError> {
        self.http
            .request_json(Method::POST, &["api", "v2", "alerts"], &[], Some(body))
            .await
            .map(drop)
    }

    /// `GET /api/v2/alerts`: the alerts it holds that have not ended, with their
    /// silenced/inhibited state.
    pub async fn alerts(&self, q: &AlertQuery) -> Result<Vec<GettableAlert>, QueryError> {
        let flag = |b: bool| if b { "true" } else { "false" }.to_owned();
        let mut params = vec![
            ("active", flag(q.active)),
            ("silenced", flag(q.silenced)),
            ("inhibited", flag(q.inhibited)),
            ("unprocessed", flag(q.unprocessed)),
        ];
        params.extend(q.filter.iter().map(|f| ("filter", f.clone())));
        let body = self
            .http
            .request_json(Method::GET, &["api", "v2", "alerts"], &params, None)
            .await?;
        self.decode(&body, "alerts")
    }

    /// `GET /api/v2/silences`: every silence it knows (active, pending and expired ones
    /// it still keeps).
    pub async fn silences(&self) -> Result<Vec<GettableSilence>, QueryError> {
        let body = self
            .http
            .request_json(Method::GET, &["api", "v2", "silences"], &[], None)
            .await?;
        self.decode(&body, "silences")
    }

    /// `POST /api/v2/silences`; returns the new silence's id.
    pub async fn create_silence(&self, s: &PostableSilence) -> Result<String, QueryError> {
        #[derive(Deserialize)]
        struct Created {
            #[serde(rename = "silenceID")]
            silence_id: String,
        }
        let body = serde_json::to_vec(s).map_err(|e| QueryError::Config(e.to_string()))?;
        let answer = self
            .http
            .request_json(Method::POST, &["api", "v2", "silences"], &[], Some(body))
            .await?;
        let c: Created = self.decode(&answer, "the new silence's id")?;
        Ok(c.silence_id)
    }

    /// `DELETE /api/v2/silence/{id}`: expires the silence now.
    pub async fn expire_silence(&self, id: &str) -> Result<(), QueryError> {
        self.http
            .request_json(Method::DELETE, &["api", "v2", "silence", id], &[], None)
            .await
            .map(drop)
    }

    /// `GET /-/ready`: answers 200 once it has settled (gossip, if any) and serves.
    pub async fn ready(&self) -> Result<(), QueryError> {
        self.http
            .request_json(Method::GET, &["-", "ready"], &[], None)
            .await
            .map(drop)
    }

    fn decode<T: serde::de::DeserializeOwned>(
        &self,
        body: &[u8],
        what: &str,
    ) -> Result<T, QueryError> {
        serde_json::from_slice(body).map_err(|e| QueryError::Decode {
            url: self.url().to_owned(),
            detail: format!(
                "Alertmanager's answer with {what} is not what API v2 sends: {e} (body starts \
                 {:?})",
                crate::text::escaped(&String::from_utf8_lossy(&body[..body.len().min(120)]))
            ),
        })
    }
}

/// The JSON body of a list of alerts.
pub(crate) fn encode(alerts: &[PostableAlert]) -> Result<Vec<u8>, QueryError> {
    // Strings and maps of strings only: serialising cannot fail, but say so if it does.
    serde_json::to_vec(alerts).map_err(|e| QueryError::Config(format!("cannot encode alerts: {e}")))
}
