//! A minimal instant-query client for the harness's own waiting and checks. (The real
//! client is `promdash-queries`; this one only has to be obviously right.)

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context as _, bail};
use serde_json::Value;

/// One sample of an instant query: its labels and value. A scalar answer is one sample
/// with no labels.
#[derive(Debug, Clone, PartialEq)]
pub struct QuerySample {
    /// The series' labels (with `__name__` if the server kept it).
    pub labels: BTreeMap<String, String>,
    /// The value; `NaN` and `±Inf` parse as such.
    pub value: f64,
}

/// Runs `GET {base_url}/api/v1/query?query=expr` and returns the samples of a `vector`
/// or `scalar` answer. Any other status, an `error` envelope or a body that is not JSON
/// is an error quoting the server.
pub async fn query_api(base_url: &str, expr: &str) -> anyhow::Result<Vec<QuerySample>> {
    query_api_at(base_url, expr, None).await
}

/// [`query_api`] evaluated at `time` (Unix seconds) when given.
pub async fn query_api_at(
    base_url: &str,
    expr: &str,
    time: Option<f64>,
) -> anyhow::Result<Vec<QuerySample>> {
    let client = promdash_queries::tls::http_client_builder()
        .timeout(Duration::from_secs(10))
        .build()?;
    let mut params = vec![("query", expr.to_owned())];
    if let Some(t) = time {
        params.push(("time", format!("{t:.3}")));
    }
    let resp = client
        .get(format!("{base_url}/api/v1/query"))
        .query(&params)
        .send()
        .await
        .with_context(|| format!("query {expr:?} to {base_url}"))?;
    let status = resp.status();
    let body = resp.text().await?;
    let json: Value = serde_json::from_str(&body).with_context(|| {
        format!(
            "query {expr:?}: HTTP {status}, not JSON: {}",
            body.chars().take(200).collect::<String>()
        )
    })?;
    if json["status"] != "success" {
        bail!("query {expr:?}: HTTP {status}: {body}");
    }
    let data = &json["data"];
    match data["resultType"].as_str() {
        Some("vector") => data["result"]
            .as_array()
            .context("vector result is not an array")?
            .iter()
            .map(|s| {
                let labels = s["metric"]
                    .as_object()
                    .map(|m| {
                        m.iter()
                            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                            .collect()
                    })
                    .unwrap_or_default();
                Ok(QuerySample {
                    labels,
                    value: parse_value(&s["value"])?,
                })
            })
            .collect(),
        Some("scalar") => Ok(vec![QuerySample {
            labels: BTreeMap::new(),
            value: parse_value(&data["result"])?,
        }]),
        other => bail!("query {expr:?}: unexpected result type {other:?}: {body}"),
    }
}

/// Polls `expr` (every 250 ms, up to `timeout`) until it returns exactly one sample
/// whose value is `want`; the error quotes the last answer. Scrapes land every second,
/// so this is how a test waits for data to arrive.
pub async fn wait_for_value(
    base_url: &str,
    expr: &str,
    want: f64,
    timeout: Duration,
) -> anyhow::Result<()> {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        let answer = query_api(base_url, expr).await;
        if let Ok(v) = &answer
            && v.len() == 1
            && v[0].value == want
        {
            return Ok(());
        }
        if std::time::Instant::now() >= deadline {
            bail!("{expr} did not become {want} within {timeout:?}; last answer: {answer:?}");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// `[timestamp, "value"]` → value.
fn parse_value(pair: &Value) -> anyhow::Result<f64> {
    let text = pair[1]
        .as_str()
        .with_context(|| format!("sample value is not [ts, \"string\"]: {pair}"))?;
    Ok(match text {
        "+Inf" | "Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        "NaN" => f64::NAN,
        v => v.parse().with_context(|| format!("sample value {v:?}"))?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_special_values() {
        assert_eq!(
            parse_value(&serde_json::json!([1, "2e-07"])).ok(),
            Some(2e-7)
        );
        assert_eq!(
            parse_value(&serde_json::json!([1, "+Inf"])).ok(),
            Some(f64::INFINITY)
        );
        assert!(parse_value(&serde_json::json!([1, "NaN"])).is_ok_and(f64::is_nan));
        assert!(parse_value(&serde_json::json!([1, 3])).is_err());
    }
}
