//! [`EmbeddedSource`]: the engine behind promdash's [`MetricsSource`] seam, so the
//! dashboard, completion and the CLI read from an in-memory [`Store`] exactly as they
//! read from a Prometheus server.

use std::future::Future;
use std::sync::{Arc, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

use promdash_queries::alert::ServerAlert;
use promdash_queries::error::{ErrorType, QueryError};
use promdash_queries::model::{
    InstantSeries, Notes, QueryData, QueryResult, RangeSeries, Sample as QSample,
};
use promdash_queries::source::{MetricsSource, RangeWindow};
use promql_parser::label::{MatchOp, Matcher};
use promql_parser::parser::{Expr, parse};

use crate::eval::{Annotations, Engine, EvalError};
use crate::store::Store;
use crate::value::Value;

/// What "now" is for an instant query without a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Clock {
    /// The wall clock (a live scrape).
    #[default]
    Wall,
    /// The newest sample in the store (a replayed recording).
    NewestSample,
}

/// Answers PromQL from a shared [`Store`] with an [`Engine`].
///
/// Inside a tokio runtime the futures of [`MetricsSource`] evaluate on its blocking pool
/// (`spawn_blocking`), holding the store's read lock there: a long query never stalls the
/// runtime's workers (the UI, the scraper). Outside one they evaluate when polled. The
/// synchronous methods (`query_instant`, `query_range`, …) evaluate on the caller's
/// thread.
#[derive(Debug, Clone)]
pub struct EmbeddedSource {
    store: Arc<RwLock<Store>>,
    engine: Engine,
    clock: Clock,
}

impl EmbeddedSource {
    pub fn new(store: Arc<RwLock<Store>>, engine: Engine) -> Self {
        EmbeddedSource {
            store,
            engine,
            clock: Clock::Wall,
        }
    }

    /// Uses `clock` for instant queries without a time.
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    pub fn store(&self) -> &Arc<RwLock<Store>> {
        &self.store
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    fn now_ms(&self, store: &Store) -> i64 {
        match self.clock {
            Clock::NewestSample => store.newest().unwrap_or(0),
            Clock::Wall => SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_millis() as i64)
                .unwrap_or(0),
        }
    }

    /// An instant query, synchronously.
    pub fn query_instant(&self, expr: &str, time: Option<f64>) -> Result<QueryResult, QueryError> {
        let store = read(&self.store)?;
        let t = match time {
            Some(secs) => seconds_to_ms(secs)?,
            None => self.now_ms(&store),
        };
        let (v, notes) = self
            .engine
            .instant_annotated(&store, expr, t)
            .map_err(query_error)?;
        Ok(with_notes(to_result(v), notes))
    }

    /// A range query, synchronously.
    pub fn query_range(&self, expr: &str, window: RangeWindow) -> Result<QueryResult, QueryError> {
        let store = read(&self.store)?;
        let start = seconds_to_ms(window.start)?;
        let end = seconds_to_ms(window.end)?;
        let step = window.step.as_millis() as i64;
        // The limit Prometheus's HTTP API sets, with its message.
        if step > 0 && (end - start) / step > 11_000 {
            return Err(QueryError::Embedded {
                error_type: ErrorType::BadData,
                message: "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)".into(),
            });
        }
        let (v, notes) = self
            .engine
            .range_annotated(&store, expr, start, end, step)
            .map_err(query_error)?;
        Ok(with_notes(to_result(v), notes))
    }

    /// Values of label `name` over the series matching the selector `matcher` (all when
    /// `None`), sorted.
    pub fn values_of(&self, name: &str, matcher: Option<&str>) -> Result<Vec<String>, QueryError> {
        let matchers = matcher.map(selector_matchers).transpose()?;
        let store = read(&self.store)?;
        Ok(store.label_values(name, matchers.as_deref()))
    }

    /// Label names of the series matching the selector `matcher` (all when `None`), sorted.
    pub fn names(&self, matcher: Option<&str>) -> Result<Vec<String>, QueryError> {
        let matchers = matcher.map(selector_matchers).transpose()?;
        let store = read(&self.store)?;
        Ok(store.label_names(matchers.as_deref()))
    }
}

/// Runs `f` on the current tokio runtime's blocking pool, or right here outside a
/// runtime.
async fn off_worker<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, QueryError> + Send + 'static,
) -> Result<T, QueryError> {
    match tokio::runtime::Handle::try_current() {
        Ok(handle) => handle.spawn_blocking(f).await.unwrap_or_else(|e| {
            Err(QueryError::Embedded {
                error_type: ErrorType::Internal,
                message: format!("the embedded engine failed while evaluating: {e}"),
            })
        }),
        Err(_) => f(),
    }
}

impl MetricsSource for EmbeddedSource {
    fn instant(
        &self,
        expr: &str,
        time: Option<f64>,
    ) -> impl Future<Output = Result<QueryResult, QueryError>> + Send {
        let (this, expr) = (self.clone(), expr.to_owned());
        off_worker(move || this.query_instant(&expr, time))
    }

    fn range(
        &self,
        expr: &str,
        window: RangeWindow,
    ) -> impl Future<Output = Result<QueryResult, QueryError>> + Send {
        let (this, expr) = (self.clone(), expr.to_owned());
        off_worker(move || this.query_range(&expr, window))
    }

    fn label_values(
        &self,
        name: &str,
        matcher: Option<&str>,
    ) -> impl Future<Output = Result<Vec<String>, QueryError>> + Send {
        let this = self.clone();
        let (name, matcher) = (name.to_owned(), matcher.map(str::to_owned));
        off_worker(move || this.values_of(&name, matcher.as_deref()))
    }

    fn label_names(
        &self,
        matcher: Option<&str>,
    ) -> impl Future<Output = Result<Vec<String>, QueryError>> + Send {
        let this = self.clone();
        let matcher = matcher.map(str::to_owned);
        off_worker(move || this.names(matcher.as_deref()))
    }

    /// The embedded engine has no alerting rules of its own: no alerts.
    async fn alerts(&self) -> Result<Vec<ServerAlert>, QueryError> {
        Ok(Vec::new())
    }
}

fn read(store: &RwLock<Store>) -> Result<std::sync::RwLockReadGuard<'_, Store>, QueryError> {
    store.read().map_err(|_| QueryError::Embedded {
        error_type: ErrorType::Internal,
        message: "the embedded store is unusable: a writer panicked while holding it".into(),
    })
}

fn seconds_to_ms(secs: f64) -> Result<i64, QueryError> {
    if !secs.is_finite() || secs.abs() > 9.0e15 {
        return Err(QueryError::Embedded {
            error_type: ErrorType::BadData,
            message: format!("invalid time {secs}: not a Unix time in seconds"),
        });
    }
    Ok((secs * 1000.0).round() as i64)
}

/// An engine error as a [`QueryError`] a user can act on.
pub fn query_error(e: EvalError) -> QueryError {
    match e {
        EvalError::Parse(m) => QueryError::Embedded {
            error_type: ErrorType::BadData,
            message: format!("the expression does not parse: {m}"),
        },
        EvalError::Execution(m) => QueryError::Embedded {
            error_type: ErrorType::Execution,
            message: format!("the query failed: {m}"),
        },
        e @ EvalError::Unsupported(_) => QueryError::Embedded {
            error_type: ErrorType::Other("unsupported".into()),
            message: e.to_string(),
        },
    }
}

/// The matchers of a series selector such as `up{job="api"}`.
pub(crate) fn selector_matchers(selector: &str) -> Result<Vec<Matcher>, QueryError> {
    let bad = |why: String| QueryError::Embedded {
        error_type: ErrorType::BadData,
        message: format!("invalid series selector {selector:?}: {why}"),
    };
    match parse(selector).map_err(bad)? {
        Expr::VectorSelector(vs) if vs.matchers.or_matchers.is_empty() => {
            let mut ms = vs.matchers.matchers;
            if let Some(name) = vs.name {
                ms.push(Matcher::new(MatchOp::Equal, "__name__", &name));
            }
            Ok(ms)
        }
        _ => Err(bad("expected a selector such as up{job=\"api\"}".into())),
    }
}

fn secs(t: i64) -> f64 {
    t as f64 / 1000.0
}

/// The engine's annotations as the `warnings` and `infos` of an API answer.
fn with_notes(mut r: QueryResult, notes: Annotations) -> QueryResult {
    r.notes.warnings = notes.warnings;
    r.notes.infos = notes.infos;
    r
}

/// The engine's answer in the shape of a Prometheus API answer.
pub fn to_result(v: Value) -> QueryResult {
    let data = match v {
        Value::Scalar(p) => QueryData::Scalar(QSample {
            t: secs(p.t),
            v: p.v,
        }),
        Value::String { t, value } => QueryData::String { t: secs(t), value },
        Value::Vector(samples) => QueryData::Vector(
            samples
                .into_iter()
                .map(|s| InstantSeries {
                    labels: s.labels,
                    sample: QSample {
                        t: secs(s.t),
                        v: s.v,
                    },
                })
                .collect(),
        ),
        Value::Matrix(series) => QueryData::Matrix(
            series
                .into_iter()
                .map(|s| RangeSeries {
                    labels: s.labels,
                    samples: s
                        .points
                        .into_iter()
                        .map(|p| QSample {
                            t: secs(p.t),
                            v: p.v,
                        })
                        .collect(),
                })
                .collect(),
        ),
    };
    QueryResult {
        data,
        notes: Notes::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::StoreConfig;
    use crate::value::Labels;
    use std::time::Duration;

    fn source() -> EmbeddedSource {
        let mut store = Store::new(StoreConfig::default());
        for (job, inst) in [("api", "a"), ("api", "b"), ("db", "c")] {
            let l: Labels = [("__name__", "up"), ("job", job), ("instance", inst)].into();
            for i in 0..=60 {
                store.append(&l, i * 10_000, i as f64).unwrap();
            }
        }
        EmbeddedSource::new(Arc::new(RwLock::new(store)), Engine::default())
            .with_clock(Clock::NewestSample)
    }

    fn block<T>(f: impl Future<Output = T>) -> T {
        // The futures are ready on their first poll: no runtime needed.
        let waker = std::task::Waker::noop();
        let mut cx = std::task::Context::from_waker(waker);
        let mut f = std::pin::pin!(f);
        match f.as_mut().poll(&mut cx) {
            std::task::Poll::Ready(v) => v,
            std::task::Poll::Pending => panic!("pending"),
        }
    }

    #[test]
    fn instant_and_range_answer_in_seconds() {
        let s = source();
        let r = block(s.instant("sum(up)", Some(600.0))).unwrap();
        let QueryData::Vector(v) = &r.data else {
            panic!()
        };
        assert_eq!(v[0].sample, QSample { t: 600.0, v: 180.0 });
        // Without a time: the newest sample (600 s) with this clock.
        let r = block(s.instant("count(up)", None)).unwrap();
        assert_eq!(r.as_scalar().unwrap(), QSample { t: 600.0, v: 3.0 });
        let w = RangeWindow {
            start: 0.0,
            end: 600.0,
            step: Duration::from_secs(60),
        };
        let r = block(s.range("up{job=\"api\"}", w)).unwrap();
        let QueryData::Matrix(m) = &r.data else {
            panic!()
        };
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].samples.len(), 11);
        assert_eq!(m[0].samples[10], QSample { t: 600.0, v: 60.0 });
    }

    #[test]
    // Holding the lock across awaits is the point: the query must wait for it elsewhere.
    #[allow(clippy::await_holding_lock)]
    fn evaluation_leaves_the_runtime_worker_free() {
        // One worker thread holds the store's write lock while a query waits for the
        // read lock: evaluated on the worker, the query would block it for good.
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap();
            let s = source();
            let answer = rt.block_on(async {
                let guard = s.store().write().unwrap();
                let q = tokio::spawn({
                    let s = s.clone();
                    async move { s.instant("sum(up)", Some(600.0)).await }
                });
                for _ in 0..20 {
                    tokio::task::yield_now().await;
                }
                drop(guard);
                q.await.unwrap()
            });
            let _ = tx.send(answer);
        });
        let answer = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("the query blocked the runtime's only worker thread")
            .unwrap();
        assert_eq!(answer.as_scalar().unwrap(), QSample { t: 600.0, v: 180.0 });
    }

    #[test]
    fn annotations_become_warnings_and_infos() {
        let s = source();
        // `up` does not end in _total/_sum/_count/_bucket; φ = 2 is outside [0, 1].
        let r = block(s.instant("quantile(2, rate(up[1m]))", Some(600.0))).unwrap();
        assert_eq!(
            r.notes.infos,
            [
                "PromQL info: metric might not be a counter, name does not end in _total/_sum/_count/_bucket: \"up\""
            ]
        );
        assert_eq!(
            r.notes.warnings,
            ["PromQL warning: quantile value should be between 0 and 1, got 2"]
        );
        let w = RangeWindow {
            start: 0.0,
            end: 600.0,
            step: Duration::from_secs(60),
        };
        let r = block(s.range("rate(up[2m])", w)).unwrap();
        assert_eq!(r.notes.infos.len(), 1, "{:?}", r.notes);
        assert!(r.notes.warnings.is_empty());
        // Prometheus 2.x has no annotations.
        let v2 = EmbeddedSource::new(
            s.store().clone(),
            Engine::new(crate::eval::EngineOptions {
                compat: crate::eval::Compat::V2,
                ..Default::default()
            }),
        );
        let r = block(v2.instant("quantile(2, rate(up[1m]))", Some(600.0))).unwrap();
        assert_eq!(r.notes, Notes::default());
    }

    #[test]
    fn labels_for_completion() {
        let s = source();
        assert_eq!(
            block(s.label_names(None)).unwrap(),
            ["__name__", "instance", "job"]
        );
        assert_eq!(
            block(s.label_values("instance", Some("up{job=\"api\"}"))).unwrap(),
            ["a", "b"]
        );
        let e = block(s.label_values("job", Some("sum(up)"))).unwrap_err();
        assert!(e.to_string().contains("invalid series selector"), "{e}");
        assert!(block(s.alerts()).unwrap().is_empty());
    }

    #[test]
    fn errors_say_what_failed() {
        let s = source();
        let e = block(s.instant("sum(", Some(1.0))).unwrap_err();
        assert_eq!(e.error_type(), Some(&ErrorType::BadData));
        assert!(
            e.to_string().starts_with("the expression does not parse"),
            "{e}"
        );
        let e = block(s.instant("histogram_count(up)", Some(1.0))).unwrap_err();
        assert!(
            e.to_string().contains("histogram_count() is not supported"),
            "{e}"
        );
        assert!(e.to_string().contains("--url"), "{e}");
        assert!(!e.is_unreachable());
        let e = block(s.instant("up + on(job) up", Some(600.0))).unwrap_err();
        assert_eq!(e.error_type(), Some(&ErrorType::Execution));
    }
}
