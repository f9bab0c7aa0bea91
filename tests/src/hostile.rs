//! A small hostile HTTP server for the security tests (issue 18): it answers whatever the
//! test scripts — escape sequences in label values, redirects to another host, gzip it
//! was not asked for, wrongly shaped JSON — and records every request it receives, headers
//! included, so a test can tell which credentials reached it.
//!
//! HTTP/1.1, one request per connection (`Connection: close`), on 127.0.0.1 only; the
//! accept loop ends when the handle is dropped.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context as _;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpListener;

/// One request as the server read it.
#[derive(Debug, Clone, Default)]
pub struct Request {
    pub method: String,
    /// Path and query, as sent.
    pub target: String,
    /// Header names lower-cased, in the order received.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    /// The value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The path without the query.
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or("")
    }
}

/// What to answer.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// `200` with a JSON body.
    pub fn json(body: impl Into<String>) -> Self {
        Self {
            status: 200,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: body.into().into_bytes(),
        }
    }

    /// `200` with a text body (an exposition for Prometheus to scrape).
    pub fn text(body: impl Into<Vec<u8>>) -> Self {
        Self {
            status: 200,
            headers: vec![(
                "Content-Type".into(),
                "text/plain; version=0.0.4; charset=utf-8".into(),
            )],
            body: body.into(),
        }
    }

    /// A redirect to `location`.
    pub fn redirect(status: u16, location: &str) -> Self {
        Self {
            status,
            headers: vec![("Location".into(), location.to_owned())],
            body: Vec::new(),
        }
    }

    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    pub fn with_status(mut self, status: u16) -> Self {
        self.status = status;
        self
    }
}

type Handler = dyn Fn(&Request) -> Response + Send + Sync;

/// The running server. Dropping it stops accepting.
pub struct HostileServer {
    addr: SocketAddr,
    requests: Arc<Mutex<Vec<Request>>>,
    /// (requests being answered now, the most there ever were at once).
    concurrency: Arc<Mutex<(usize, usize)>>,
    task: tokio::task::JoinHandle<()>,
}

impl HostileServer {
    /// Serves `handler` on a free 127.0.0.1 port.
    pub async fn start(
        handler: impl Fn(&Request) -> Response + Send + Sync + 'static,
    ) -> anyhow::Result<Self> {
        Self::start_slow(Duration::ZERO, handler).await
    }

    /// Like [`start`](Self::start), answering each request only after `delay`, so that
    /// [`max_concurrency`](Self::max_concurrency) shows how many a client keeps in flight.
    pub async fn start_slow(
        delay: Duration,
        handler: impl Fn(&Request) -> Response + Send + Sync + 'static,
    ) -> anyhow::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .context("cannot bind 127.0.0.1")?;
        let addr = listener.local_addr()?;
        let requests: Arc<Mutex<Vec<Request>>> = Arc::default();
        let handler: Arc<Handler> = Arc::new(handler);
        let log = requests.clone();
        let concurrency: Arc<Mutex<(usize, usize)>> = Arc::default();
        let count = concurrency.clone();
        let task = tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let handler = handler.clone();
                let log = log.clone();
                let count = count.clone();
                tokio::spawn(async move {
                    let read =
                        tokio::time::timeout(Duration::from_secs(10), read_request(&mut stream));
                    let Ok(Ok(req)) = read.await else { return };
                    if let Ok(mut c) = count.lock() {
                        c.0 += 1;
                        c.1 = c.1.max(c.0);
                    }
                    tokio::time::sleep(delay).await;
                    if let Ok(mut c) = count.lock() {
                        c.0 -= 1;
                    }
                    let resp = handler(&req);
                    if let Ok(mut l) = log.lock() {
                        l.push(req);
                    }
                    let _ = write_response(&mut stream, &resp).await;
                });
            }
        });
        Ok(Self {
            addr,
            requests,
            concurrency,
            task,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The most requests that were being answered at once.
    pub fn max_concurrency(&self) -> usize {
        self.concurrency.lock().map(|c| c.1).unwrap_or(0)
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().map(|r| r.clone()).unwrap_or_default()
    }
}

impl Drop for HostileServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn read_request(stream: &mut tokio::net::TcpStream) -> anyhow::Result<Request> {
    let mut buf = Vec::with_capacity(4096);
    let head_end = loop {
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).await?;
        anyhow::ensure!(n > 0, "connection closed before the request head ended");
        buf.extend_from_slice(&chunk[..n]);
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break p;
        }
        anyhow::ensure!(buf.len() < 1 << 20, "request head too large");
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let start = lines.next().unwrap_or_default();
    let mut parts = start.split(' ');
    let method = parts.next().unwrap_or_default().to_owned();
    let target = parts.next().unwrap_or_default().to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let len: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < len {
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).await?;
        anyhow::ensure!(n > 0, "connection closed inside the body");
        body.extend_from_slice(&chunk[..n]);
    }
    Ok(Request {
        method,
        target,
        headers,
        body,
    })
}

async fn write_response(
    stream: &mut tokio::net::TcpStream,
    resp: &Response,
) -> std::io::Result<()> {
    let mut head = format!("HTTP/1.1 {} X\r\n", resp.status);
    for (n, v) in &resp.headers {
        head.push_str(&format!("{n}: {v}\r\n"));
    }
    head.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        resp.body.len()
    ));
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(&resp.body).await?;
    stream.shutdown().await
}
