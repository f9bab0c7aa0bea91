//! One HTTP scrape: the request Prometheus sends (`scrape/scrape.go`, `targetScraper`),
//! the status check, the body size limit and gzip.

use std::io::Read as _;
use std::time::Duration;

use reqwest::header::{
    ACCEPT, ACCEPT_ENCODING, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE, HeaderMap, USER_AGENT,
};

use super::ScrapeError;
use crate::exposition::Format;

/// The `Accept` header Prometheus 2.42 sends: OpenMetrics first, then the text format.
pub const ACCEPT_HEADER: &str = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

/// A scraped body and the format its `Content-Type` announces.
#[derive(Debug)]
pub struct Body {
    pub bytes: Vec<u8>,
    pub format: Format,
}

/// Fetches `url` with `client` within `timeout`; a body longer than `body_limit` bytes
/// (after decompression; 0 = no limit) is an error.
pub async fn fetch(
    client: &reqwest::Client,
    url: &str,
    timeout: Duration,
    body_limit: usize,
) -> Result<Body, ScrapeError> {
    fetch_with(client, url, &HeaderMap::new(), timeout, body_limit).await
}

/// [`fetch`] with extra request headers (the job's `Authorization`).
pub async fn fetch_with(
    client: &reqwest::Client,
    url: &str,
    headers: &HeaderMap,
    timeout: Duration,
    body_limit: usize,
) -> Result<Body, ScrapeError> {
    let inner = fetch_inner(client, url, headers, timeout, body_limit);
    match tokio::time::timeout(timeout, inner).await {
        Ok(r) => r,
        Err(_) => Err(ScrapeError::Timeout(timeout)),
    }
}

async fn fetch_inner(
    client: &reqwest::Client,
    url: &str,
    headers: &HeaderMap,
    timeout: Duration,
    body_limit: usize,
) -> Result<Body, ScrapeError> {
    let mut resp = client
        .get(url)
        .headers(headers.clone())
        .header(ACCEPT, ACCEPT_HEADER)
        .header(ACCEPT_ENCODING, "gzip")
        .header(USER_AGENT, concat!("promdash/", env!("CARGO_PKG_VERSION")))
        .header(
            "X-Prometheus-Scrape-Timeout-Seconds",
            format!("{}", timeout.as_secs_f64()),
        )
        .send()
        .await
        .map_err(|e| ScrapeError::Request(describe(&e)))?;
    let status = resp.status();
    if status != reqwest::StatusCode::OK {
        return Err(ScrapeError::Status(status.to_string()));
    }
    let format = resp
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map_or(Format::Text, Format::from_content_type);
    let gzip = resp
        .headers()
        .get(CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("gzip"));
    // The whole body in one allocation when its length is announced (within the limit).
    let announced = resp
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<usize>().ok())
        .unwrap_or(0);
    let cap = if body_limit > 0 {
        announced.min(body_limit)
    } else {
        announced.min(64 << 20)
    };
    let mut raw = Vec::with_capacity(cap);
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| ScrapeError::Request(describe(&e)))?
    {
        raw.extend_from_slice(&chunk);
        // A compressed body is checked after decompression; this bounds the download.
        if body_limit > 0 && raw.len() > body_limit {
            return Err(ScrapeError::BodyLimit(body_limit));
        }
    }
    let bytes = if gzip { gunzip(&raw, body_limit)? } else { raw };
    Ok(Body { bytes, format })
}

/// Decompresses a gzip body, stopping past `limit` bytes (0 = no limit).
pub fn gunzip(raw: &[u8], limit: usize) -> Result<Vec<u8>, ScrapeError> {
    let mut out = Vec::new();
    let decoder = flate2::read::GzDecoder::new(raw);
    let cap = if limit == 0 {
        u64::MAX
    } else {
        limit as u64 + 1
    };
    decoder
        .take(cap)
        .read_to_end(&mut out)
        .map_err(|e| ScrapeError::Request(format!("cannot decompress the gzip body: {e}")))?;
    if limit > 0 && out.len() > limit {
        return Err(ScrapeError::BodyLimit(limit));
    }
    Ok(out)
}

/// A reqwest error with its causes ("error sending request: connection refused").
fn describe(e: &reqwest::Error) -> String {
    let mut msg = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let text = s.to_string();
        if !msg.contains(&text) {
            msg.push_str(": ");
            msg.push_str(&text);
        }
        source = s.source();
    }
    msg
}
