//! Starting and stopping a service instance.

use std::future::Future;
use std::net::SocketAddr;

use anyhow::Context as _;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::{Faults, FaultsError, ServiceConfig};
use crate::metrics::Metrics;
use crate::routes::{AppState, app, metrics_app};

/// A service running on the current tokio runtime, started by [`spawn`].
///
/// Dropping it starts a graceful shutdown in the background; call
/// [`RunningService::shutdown`] to wait for it to finish.
pub struct RunningService {
    addr: SocketAddr,
    metrics_addr: SocketAddr,
    state: AppState,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<std::io::Result<()>>>,
}

/// Binds the listener(s) of `config` and serves on the current tokio runtime.
///
/// Returns once the sockets are bound, so requests can be sent at once; with port 0 in
/// `config.listen` the OS picks a free port, see [`RunningService::addr`].
pub async fn spawn(config: ServiceConfig) -> anyhow::Result<RunningService> {
    config.faults.validate()?;
    let state = AppState::new(&config).context("cannot create the metrics registry")?;
    let (stop, _) = watch::channel(false);

    let listener = TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let addr = listener.local_addr()?;
    let limits = Limits::of(&config);
    let mut tasks = vec![serve(
        listener,
        app(state.clone()),
        limits,
        stop.subscribe(),
    )];

    let mut metrics_addr = addr;
    if let Some(metrics_listen) = config.metrics_listen {
        let listener = TcpListener::bind(metrics_listen)
            .await
            .with_context(|| format!("cannot listen on {metrics_listen} for /metrics"))?;
        metrics_addr = listener.local_addr()?;
        tasks.push(serve(
            listener,
            metrics_app(state.clone()),
            limits,
            stop.subscribe(),
        ));
    }

    Ok(RunningService {
        addr,
        metrics_addr,
        state,
        stop,
        tasks,
    })
}

/// How one listener treats its connections.
#[derive(Debug, Clone, Copy)]
struct Limits {
    header_read_timeout: std::time::Duration,
    max_connections: usize,
    shutdown_timeout: std::time::Duration,
}

impl Limits {
    fn of(config: &ServiceConfig) -> Self {
        Self {
            header_read_timeout: config.header_read_timeout,
            max_connections: config
                .max_connections
                .unwrap_or_else(crate::config::default_max_connections)
                .max(1),
            shutdown_timeout: config.shutdown_timeout,
        }
    }
}

/// The accept loop: HTTP/1.1 connections served by hyper with a header-read timeout, at
/// most `max_connections` open at once (beyond, a new connection is closed at once and
/// the first refusal of a burst is logged), and on `stop` a graceful shutdown that closes
/// whatever is still open after `shutdown_timeout`.
fn serve(
    listener: TcpListener,
    router: axum::Router,
    limits: Limits,
    mut stop: watch::Receiver<bool>,
) -> JoinHandle<std::io::Result<()>> {
    use hyper_util::rt::{TokioIo, TokioTimer};
    use hyper_util::service::TowerToHyperService;

    tokio::spawn(async move {
        let slots = std::sync::Arc::new(tokio::sync::Semaphore::new(limits.max_connections));
        let mut connections = tokio::task::JoinSet::new();
        let (closing, _) = watch::channel(false);
        let mut refusing = false;
        loop {
            let accepted = tokio::select! {
                a = listener.accept() => a,
                _ = stop.wait_for(|stopped| *stopped) => break,
                // Reap finished connections so the set stays small.
                Some(_) = connections.join_next(), if !connections.is_empty() => continue,
            };
            let (tcp, peer) = match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of descriptors (EMFILE) or a connection reset before accept:
                    // say so, pause a moment, go on.
                    tracing::warn!("cannot accept a connection: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            };
            let Ok(slot) = slots.clone().try_acquire_owned() else {
                if !refusing {
                    tracing::warn!(
                        "connection limit reached: {} connections open (--max-connections); \
                         closing new connections until some finish",
                        limits.max_connections
                    );
                    refusing = true;
                }
                drop(tcp);
                continue;
            };
            if refusing {
                tracing::info!("below the connection limit again: accepting connections");
                refusing = false;
            }
            // Small request/response exchanges: send each response at once (no Nagle).
            if let Err(e) = tcp.set_nodelay(true) {
                tracing::debug!("cannot set TCP_NODELAY: {e}");
            }
            let service = TowerToHyperService::new(router.clone());
            let mut closing = closing.subscribe();
            connections.spawn(async move {
                let _slot = slot;
                let mut builder = hyper::server::conn::http1::Builder::new();
                builder
                    .timer(TokioTimer::new())
                    .header_read_timeout(limits.header_read_timeout);
                let conn = builder.serve_connection(TokioIo::new(tcp), service);
                let mut conn = std::pin::pin!(conn);
                tokio::select! {
                    r = conn.as_mut() => {
                        if let Err(e) = r {
                            tracing::debug!(%peer, "connection ended: {e}");
                        }
                    }
                    () = async { let _ = closing.wait_for(|c| *c).await; } => {
                        // Finish the request in flight, then close.
                        conn.as_mut().graceful_shutdown();
                        let _ = conn.await;
                    }
                }
            });
        }
        drop(listener);
        let _ = closing.send(true);
        let open = connections.len();
        let deadline = tokio::time::sleep(limits.shutdown_timeout);
        tokio::pin!(deadline);
        loop {
            tokio::select! {
                next = connections.join_next() => if next.is_none() { break },
                _ = &mut deadline => {
                    tracing::warn!(
                        "shutdown deadline of {} passed: closing {} of {open} connections still open",
                        humantime::format_duration(limits.shutdown_timeout),
                        connections.len()
                    );
                    connections.abort_all();
                    while connections.join_next().await.is_some() {}
                    break;
                }
            }
        }
        Ok(())
    })
}

impl RunningService {
    /// The address the API listens on (with the real port when 0 was asked).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://` + [`addr`](Self::addr).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The address serving `/metrics`: [`addr`](Self::addr) unless `metrics_listen` was set.
    pub fn metrics_addr(&self) -> SocketAddr {
        self.metrics_addr
    }

    /// The faults `/process` simulates right now.
    pub fn faults(&self) -> Faults {
        self.state.faults()
    }

    /// Changes the simulated faults at run time (what `PUT /admin/faults` does).
    pub fn set_faults(&self, faults: Faults) -> Result<(), FaultsError> {
        self.state.set_faults(faults)
    }

    /// The instance's metrics, e.g. to render them without going through HTTP.
    pub fn metrics(&self) -> &Metrics {
        self.state.metrics()
    }

    /// The shared state (metrics, faults, readiness).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Stops accepting connections, lets requests in flight finish (closing what is
    /// still open after the shutdown timeout), and returns when all listeners are closed.
    /// `/readyz` answers 503 from the first moment.
    pub async fn shutdown(self) -> anyhow::Result<()> {
        self.state.set_ready(false);
        let _ = self.stop.send(true);
        for task in self.tasks {
            task.await.context("server task panicked")??;
        }
        Ok(())
    }
}

/// Runs the service until `signal` completes, then shuts down gracefully. Logs the
/// listening addresses as `listening on http://ADDR` (the test harness reads that line).
pub async fn serve_until(
    config: ServiceConfig,
    signal: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let service = spawn(config).await?;
    tracing::info!("listening on {}", service.url());
    if service.metrics_addr() != service.addr() {
        tracing::info!("metrics on http://{}/metrics", service.metrics_addr());
    }
    signal.await;
    tracing::info!("shutting down: finishing requests in flight");
    service.shutdown().await?;
    tracing::info!("stopped");
    Ok(())
}

/// Installs handlers for SIGINT (Ctrl-C) and, on Unix, SIGTERM, and returns a future
/// that completes when either arrives. The handlers are in place when this returns, so a
/// signal sent right after the service says it is listening is never lost.
pub fn shutdown_signal() -> anyhow::Result<impl Future<Output = ()>> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut interrupt = signal(SignalKind::interrupt()).context("cannot handle SIGINT")?;
        let mut terminate = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
        Ok(async move {
            tokio::select! {
                _ = interrupt.recv() => tracing::info!("SIGINT received"),
                _ = terminate.recv() => tracing::info!("SIGTERM received"),
            }
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            if tokio::signal::ctrl_c().await.is_err() {
                std::future::pending::<()>().await;
            }
        })
    }
}
