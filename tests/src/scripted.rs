//! A tiny exporter whose series the test sets: scripted input for Prometheus or
//! VictoriaMetrics to scrape, so an alert's condition turns true and false exactly when
//! the test says (NaN included).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};

use anyhow::Context as _;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

type Series = Arc<Mutex<BTreeMap<String, f64>>>;

/// An exporter on a free 127.0.0.1 port serving `/metrics` (any path, really) from the
/// series set with [`set`](Self::set). Its accept loop stops when dropped.
pub struct ScriptedExporter {
    addr: SocketAddr,
    series: Series,
    task: JoinHandle<()>,
}

impl ScriptedExporter {
    /// Starts it with no series. Needs a running tokio runtime.
    pub async fn start() -> anyhow::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .context("cannot bind 127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let series: Series = Arc::default();
        let shared = Arc::clone(&series);
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut stream, _)) = listener.accept().await else {
                    continue;
                };
                let body = exposition(&shared);
                tokio::spawn(async move {
                    // Read the request head (bounded), answer, close.
                    let mut head = Vec::new();
                    let mut buf = [0u8; 4096];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 65536 {
                        match stream.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&buf[..n]),
                        }
                    }
                    let answer = format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\n\
                         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = stream.write_all(answer.as_bytes()).await;
                    let _ = stream.shutdown().await;
                });
            }
        });
        Ok(Self { addr, series, task })
    }

    /// `127.0.0.1:<port>`, a scrape target.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Sets one series, written as in the exposition format (`flap`, or
    /// `latency{route="/a"}`), to `value` (NaN and infinities allowed).
    pub fn set(&self, series: &str, value: f64) {
        self.series
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(series.to_owned(), value);
    }

    /// Stops exposing one series.
    pub fn remove(&self, series: &str) {
        self.series
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(series);
    }
}

impl Drop for ScriptedExporter {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn exposition(series: &Series) -> String {
    let series = series.lock().unwrap_or_else(PoisonError::into_inner);
    let mut out = String::new();
    for (name, v) in series.iter() {
        let v = if v.is_nan() {
            "NaN".to_owned()
        } else if v.is_infinite() {
            if *v > 0.0 { "+Inf" } else { "-Inf" }.to_owned()
        } else {
            v.to_string()
        };
        out.push_str(&format!("{name} {v}\n"));
    }
    out
}
