//! Starting and stopping a service instance.

use std::future::Future;
use std::net::SocketAddr;

use anyhow::Context as _;
use axum::serve::ListenerExt as _;
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
    let mut tasks = vec![serve(listener, app(state.clone()), stop.subscribe())];

    let mut metrics_addr = addr;
    if let Some(metrics_listen) = config.metrics_listen {
        let listener = TcpListener::bind(metrics_listen)
            .await
            .with_context(|| format!("cannot listen on {metrics_listen} for /metrics"))?;
        metrics_addr = listener.local_addr()?;
        tasks.push(serve(
            listener,
            metrics_app(state.clone()),
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

fn serve(
    listener: TcpListener,
    router: axum::Router,
    mut stop: watch::Receiver<bool>,
) -> JoinHandle<std::io::Result<()>> {
    // Small request/response exchanges: send each response at once (no Nagle delay).
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!("cannot set TCP_NODELAY: {e}");
        }
    });
    tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(async move {
                // Also stops when the sender is gone (the RunningService was dropped).
                let _ = stop.wait_for(|stopped| *stopped).await;
            })
            .await
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

    /// Stops accepting connections, lets requests in flight finish, and returns when all
    /// listeners are closed. `/readyz` answers 503 from the first moment.
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
