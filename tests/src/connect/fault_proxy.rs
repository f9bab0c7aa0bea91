//! A fault-injecting HTTP proxy for the tests: it sits between the client and a real
//! Prometheus and, per request, forwards faithfully or misbehaves the ways networks and
//! gateways do.
//!
//! Every connection carries one request: the proxy answers it (or not) and closes, so a
//! mode change applies to the very next request even when the client pools connections.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use anyhow::Context as _;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use crate::child::ensure_loopback;

/// The size of the [`FaultMode::Huge`] body: 100 MiB.
pub const HUGE_BODY_BYTES: u64 = 100 * 1024 * 1024;

/// How long [`FaultMode::Hang`] holds a request at most.
const HANG_AT_MOST: Duration = Duration::from_secs(600);

/// What the proxy does with the next requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultMode {
    /// Forward to the upstream and pass its answer back unchanged.
    Healthy,
    /// Read the request, answer nothing, keep the connection open (until the client
    /// gives up, at most 10 minutes).
    Hang,
    /// Read the request, then reset the connection (RST, no answer).
    Reset,
    /// Forward, then pass back the headers (with the full `Content-Length`) and only the
    /// first half of the body before closing.
    Truncate,
    /// Answer `502 Bad Gateway` with an HTML page, as a proxy does when its upstream is
    /// down.
    Html502,
    /// Answer `200` with a 100 MiB JSON-looking body, announced by `Content-Length` when
    /// `content_length` is true, else delimited by closing the connection (so the client
    /// cannot know the size in advance).
    Huge { content_length: bool },
    /// Answer `400` quoting the request's head back, headers and all, as careless auth
    /// proxies do: as plain text, or inside a Prometheus JSON error envelope when
    /// `json` is true.
    EchoRequest { json: bool },
    /// Forward; a query answer (one with a `resultType`) comes back successful but empty,
    /// with a warning that a store did not answer (as Thanos and Mimir send) and
    /// `isPartial` set when `is_partial` (as VictoriaMetrics cluster sends). Other
    /// answers pass unchanged.
    PartialEmpty { is_partial: bool },
}

/// The warning [`FaultMode::PartialEmpty`] adds.
pub const PARTIAL_WARNING: &str = "store 127.0.0.2:10901 did not answer: partial response";

struct Shared {
    mode: Mutex<FaultMode>,
    upstream: SocketAddr,
    requests: AtomicU64,
    huge_bytes_sent: AtomicU64,
    /// Every request read, head and body (lossy UTF-8), in order.
    seen: Mutex<Vec<String>>,
}

/// The proxy on a free 127.0.0.1 port; its accept loop stops when it is dropped.
pub struct FaultProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl FaultProxy {
    /// Starts a proxy to `upstream` (a loopback address) in [`FaultMode::Healthy`].
    /// Needs a running tokio runtime.
    pub async fn start(upstream: SocketAddr) -> anyhow::Result<Self> {
        ensure_loopback(&upstream.to_string())?;
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .context("cannot bind 127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            mode: Mutex::new(FaultMode::Healthy),
            upstream,
            requests: AtomicU64::new(0),
            huge_bytes_sent: AtomicU64::new(0),
            seen: Mutex::new(Vec::new()),
        });
        let for_loop = Arc::clone(&shared);
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let shared = Arc::clone(&for_loop);
                tokio::spawn(async move {
                    // A client hanging up mid-answer is expected in several modes.
                    let _ = handle(stream, &shared).await;
                });
            }
        });
        Ok(Self { addr, shared, task })
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Sets what the next requests get.
    pub fn set_mode(&self, mode: FaultMode) {
        *self
            .shared
            .mode
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = mode;
    }

    /// Requests read so far, in every mode.
    pub fn requests(&self) -> u64 {
        self.shared.requests.load(Ordering::SeqCst)
    }

    /// The PromQL expressions asked so far (the `query` parameter of every request, from
    /// its URL or its form body), in order; other requests are left out.
    pub fn queries(&self) -> Vec<String> {
        let seen = self
            .shared
            .seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        seen.iter().filter_map(|r| query_param(r)).collect()
    }

    /// The `(query, step)` parameters of every range query asked so far, in order (the
    /// step as sent, e.g. `15` or `15s`).
    pub fn range_steps(&self) -> Vec<(String, String)> {
        let seen = self
            .shared
            .seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        seen.iter()
            .filter_map(|r| Some((query_param(r)?, named_param(r, "step")?)))
            .collect()
    }

    /// Body bytes written so far by [`FaultMode::Huge`] answers (all of them added up).
    pub fn huge_bytes_sent(&self) -> u64 {
        self.shared.huge_bytes_sent.load(Ordering::SeqCst)
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn handle(mut client: TcpStream, shared: &Shared) -> std::io::Result<()> {
    let Some(request) = read_request(&mut client).await? else {
        return Ok(());
    };
    shared.requests.fetch_add(1, Ordering::SeqCst);
    shared
        .seen
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(String::from_utf8_lossy(&request).into_owned());
    let mode = *shared.mode.lock().unwrap_or_else(PoisonError::into_inner);
    match mode {
        FaultMode::Healthy => {
            let answer = forward(&request, shared.upstream).await?;
            client.write_all(&answer).await?;
            client.shutdown().await
        }
        FaultMode::PartialEmpty { is_partial } => {
            // Ask for an answer we can rewrite: no compression.
            let request = without_header(&request, "accept-encoding");
            let answer = forward(&request, shared.upstream).await?;
            client
                .write_all(&partial_empty(&answer, is_partial))
                .await?;
            client.shutdown().await
        }
        FaultMode::Hang => {
            let mut buf = [0u8; 1024];
            let _ = tokio::time::timeout(HANG_AT_MOST, async {
                while matches!(client.read(&mut buf).await, Ok(n) if n > 0) {}
            })
            .await;
            Ok(())
        }
        FaultMode::Reset => {
            client.set_zero_linger()?;
            drop(client);
            Ok(())
        }
        FaultMode::Truncate => {
            let answer = forward(&request, shared.upstream).await?;
            let head_end = find(&answer, b"\r\n\r\n").map_or(answer.len(), |i| i + 4);
            let body_len = answer.len() - head_end;
            // Prometheus sends small answers with Content-Length; keep it, cut the body.
            client.write_all(&answer[..head_end + body_len / 2]).await?;
            client.shutdown().await
        }
        FaultMode::Html502 => {
            let page = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n\
                        <center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n\
                        </body>\r\n</html>\r\n";
            let head = format!(
                "HTTP/1.1 502 Bad Gateway\r\nServer: nginx\r\nContent-Type: text/html\r\n\
                 Content-Length: {}\r\nConnection: close\r\n\r\n",
                page.len()
            );
            client.write_all(head.as_bytes()).await?;
            client.write_all(page.as_bytes()).await?;
            client.shutdown().await
        }
        FaultMode::EchoRequest { json } => {
            let end = find(&request, b"\r\n\r\n").unwrap_or(request.len());
            let head = String::from_utf8_lossy(&request[..end]).replace("\r\n", " | ");
            let (kind, body) = if json {
                let envelope = serde_json::json!({
                    "status": "error",
                    "errorType": "bad_data",
                    "error": format!("rejected request: {head}"),
                });
                ("application/json", envelope.to_string())
            } else {
                ("text/plain", format!("rejected request: {head}\n"))
            };
            let answer = format!(
                "HTTP/1.1 400 Bad Request\r\nContent-Type: {kind}\r\nContent-Length: {}\r\n\
                 Connection: close\r\n\r\n{body}",
                body.len()
            );
            client.write_all(answer.as_bytes()).await?;
            client.shutdown().await
        }
        FaultMode::Huge { content_length } => {
            let length = if content_length {
                format!("Content-Length: {HUGE_BODY_BYTES}\r\n")
            } else {
                String::new()
            };
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n{length}Connection: close\r\n\r\n"
            );
            client.write_all(head.as_bytes()).await?;
            let sample = br#"{"metric":{"__name__":"up","instance":"127.0.0.1:9090"},"value":[1700000000,"1"]},"#;
            let mut chunk =
                br#"{"status":"success","data":{"resultType":"vector","result":["#.to_vec();
            while chunk.len() < 64 * 1024 {
                chunk.extend_from_slice(sample);
            }
            let mut left = HUGE_BODY_BYTES;
            while left > 0 {
                let n = chunk.len().min(usize::try_from(left).unwrap_or(usize::MAX));
                client.write_all(&chunk[..n]).await?;
                shared.huge_bytes_sent.fetch_add(n as u64, Ordering::SeqCst);
                left -= n as u64;
            }
            client.shutdown().await
        }
    }
}

/// Reads one request (head and `Content-Length` body); `None` when the client closed
/// without sending one.
async fn read_request(client: &mut TcpStream) -> std::io::Result<Option<Vec<u8>>> {
    let mut data = Vec::with_capacity(4096);
    let mut buf = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = find(&data, b"\r\n\r\n") {
            break i + 4;
        }
        if data.len() > 1024 * 1024 {
            return Err(std::io::Error::other("request head too long"));
        }
        let n = client.read(&mut buf).await?;
        if n == 0 {
            return Ok(None);
        }
        data.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&data[..head_end]).into_owned();
    let body_len: usize = head
        .lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse().ok())
        .unwrap_or(0);
    while data.len() < head_end + body_len {
        let n = client.read(&mut buf).await?;
        if n == 0 {
            return Err(std::io::Error::other("request body cut short"));
        }
        data.extend_from_slice(&buf[..n]);
    }
    // Ask the upstream to close after its answer, so reading to EOF reads one answer.
    let mut out = Vec::with_capacity(data.len() + 32);
    for line in head.split_inclusive("\r\n") {
        let is_connection = line
            .split_once(':')
            .is_some_and(|(name, _)| name.trim().eq_ignore_ascii_case("connection"));
        if line == "\r\n" {
            out.extend_from_slice(b"Connection: close\r\n\r\n");
        } else if !is_connection {
            out.extend_from_slice(line.as_bytes());
        }
    }
    out.extend_from_slice(&data[head_end..]);
    Ok(Some(out))
}

/// Sends one request to the upstream and reads its whole answer (until it closes).
async fn forward(request: &[u8], upstream: SocketAddr) -> std::io::Result<Vec<u8>> {
    let mut up = TcpStream::connect(upstream).await?;
    up.write_all(request).await?;
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(60), up.read_to_end(&mut answer))
        .await
        .map_err(|_| std::io::Error::other("upstream did not answer within 60 s"))??;
    Ok(answer)
}

/// The request with header `name` (lowercase) left out.
fn without_header(request: &[u8], name: &str) -> Vec<u8> {
    let end = find(request, b"\r\n\r\n").map_or(request.len(), |i| i + 4);
    let head = String::from_utf8_lossy(&request[..end]);
    let mut out = Vec::with_capacity(request.len());
    for line in head.split_inclusive("\r\n") {
        let drop = line
            .split_once(':')
            .is_some_and(|(n, _)| n.trim().eq_ignore_ascii_case(name));
        if !drop {
            out.extend_from_slice(line.as_bytes());
        }
    }
    out.extend_from_slice(&request[end..]);
    out
}

/// A successful query answer emptied and marked partial; anything else unchanged.
fn partial_empty(answer: &[u8], is_partial: bool) -> Vec<u8> {
    let Some(head_end) = find(answer, b"\r\n\r\n").map(|i| i + 4) else {
        return answer.to_vec();
    };
    let Ok(mut body) = serde_json::from_slice::<serde_json::Value>(&answer[head_end..]) else {
        return answer.to_vec();
    };
    let Some(data) = body.get_mut("data").and_then(|d| d.as_object_mut()) else {
        return answer.to_vec();
    };
    if !data.contains_key("resultType") {
        return answer.to_vec();
    }
    data.insert("result".into(), serde_json::json!([]));
    body["warnings"] = serde_json::json!([PARTIAL_WARNING]);
    if is_partial {
        body["isPartial"] = serde_json::json!(true);
    }
    let body = body.to_string();
    let mut out = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body.as_bytes());
    out
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The `query` parameter of one raw HTTP request: in the request line's query string, or
/// in an `application/x-www-form-urlencoded` body.
/// The parameter `name` of a request, from its URL or its form body.
fn named_param(request: &str, name: &str) -> Option<String> {
    let (head, body) = request.split_once("\r\n\r\n").unwrap_or((request, ""));
    let target = head.lines().next()?.split(' ').nth(1)?;
    let from = |query: &str| {
        reqwest::Url::parse(&format!("http://x/?{query}"))
            .ok()?
            .query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    };
    target
        .split_once('?')
        .and_then(|(_, q)| from(q))
        .or_else(|| from(body.trim()))
}

fn query_param(request: &str) -> Option<String> {
    let (head, body) = request.split_once("\r\n\r\n").unwrap_or((request, ""));
    let target = head.lines().next()?.split(' ').nth(1)?;
    let from = |query: &str| {
        reqwest::Url::parse(&format!("http://x/?{query}"))
            .ok()?
            .query_pairs()
            .find(|(k, _)| k == "query")
            .map(|(_, v)| v.into_owned())
    };
    target
        .split_once('?')
        .and_then(|(_, q)| from(q))
        .or_else(|| from(body.trim()))
}
