//! [`EmbeddedSource`]: the engine behind promdash's [`MetricsSource`] seam, so the
//! dashboard, completion and the CLI read from an in-memory [`Store`] exactly as they
//! read from a Prometheus server.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use promdash_queries::alert::ServerAlert;
use promdash_queries::error::{ErrorType, QueryError};
use promdash_queries::model::{
    InstantSeries, Notes, QueryData, QueryResult, RangeSeries, Sample as QSample,
};
use promdash_queries::source::{MetricsSource, RangeWindow};
use promql_parser::label::{MatchOp, Matcher};
use promql_parser::parser::{Expr, parse};

use crate::eval::{Annotations, Engine, EvalError, reach};
use crate::store::Store;
use crate::value::{Labels, Point, Series, Value};

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
    /// Range answers kept for reuse ([`EmbeddedSource::with_range_reuse`]).
    reuse: Option<Reuse>,
}

/// Range answers kept so that the next request for the same expression and step, over a
/// window moved on by a few steps, evaluates only the steps it does not have yet.
#[derive(Debug, Clone)]
struct Reuse {
    /// How long after "now" samples may still arrive with an older timestamp (ms).
    settle_ms: i64,
    memos: Arc<Mutex<Memos>>,
}

/// At most this many range answers are kept (the least recently used goes first).
const MAX_MEMOS: usize = 64;

#[derive(Debug, Default)]
struct Memos {
    by_query: HashMap<(String, i64), Memo>,
    uses: u64,
    /// Answers that reused steps of an earlier one.
    reused: u64,
}

/// A range answer: its series (sorted by labels) over `start..=end`, of which the steps
/// up to `settled` are final.
#[derive(Debug)]
struct Memo {
    start: i64,
    end: i64,
    settled: i64,
    /// The store's newest sample when it was evaluated (a store that went back was
    /// cleared: nothing is reused).
    newest: Option<i64>,
    series: Vec<Series>,
    last_use: u64,
}

impl EmbeddedSource {
    pub fn new(store: Arc<RwLock<Store>>, engine: Engine) -> Self {
        EmbeddedSource {
            store,
            engine,
            clock: Clock::Wall,
            reuse: None,
        }
    }

    /// Keeps range answers so that a request for the same expression and step over a
    /// later window (a live dashboard's, moved on by a step) evaluates only the steps the
    /// last answer does not have, or may not have had final: those whose samples could
    /// still arrive (later than "now" minus `settle`, which must cover the slowest
    /// scrape), and those whose samples retention may have dropped since. The answer is
    /// the one a whole evaluation gives, bit for bit, since each step of a range query is
    /// evaluated on its own samples only. Expressions with `@` (whose steps depend on the
    /// query's bounds or a fixed time) and answers with annotations are evaluated whole.
    pub fn with_range_reuse(mut self, settle: Duration) -> Self {
        self.reuse = Some(Reuse {
            settle_ms: i64::try_from(settle.as_millis()).unwrap_or(i64::MAX),
            memos: Arc::default(),
        });
        self
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
        let (v, notes) = match &self.reuse {
            Some(reuse) => self.range_reusing(reuse, &store, expr, (start, end, step)),
            None => self.engine.range_annotated(&store, expr, start, end, step),
        }
        .map_err(query_error)?;
        Ok(with_notes(to_result(v), notes))
    }

    /// A range query that takes the final steps of the last answer for `expr` at this
    /// step and evaluates the others ([`EmbeddedSource::with_range_reuse`]).
    fn range_reusing(
        &self,
        reuse: &Reuse,
        store: &Store,
        expr: &str,
        (start, end, step): (i64, i64, i64),
    ) -> Result<(Value, Annotations), EvalError> {
        let whole = || self.engine.range_annotated(store, expr, start, end, step);
        let lookback =
            i64::try_from(self.engine.options().lookback.as_millis()).unwrap_or(i64::MAX);
        let Some((behind, ahead)) = reach(expr, lookback).filter(|_| step > 0 && start <= end)
        else {
            return whole();
        };
        let newest = store.newest();
        // Steps reading samples older than this may have lost some to retention.
        let floor = newest.map_or(i64::MIN, |n| n.saturating_sub(store.config().retention_ms));
        let settled = self
            .now_ms(store)
            .saturating_sub(reuse.settle_ms)
            .saturating_sub(ahead);
        let key = (expr.to_owned(), step);
        let memo = reuse
            .memos
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .by_query
            .remove(&key);
        // The last step the memo can give: final, on this query's grid, inside it.
        let reused_end = memo.as_ref().and_then(|m| {
            let usable = m.start <= start
                && (start - m.start) % step == 0
                && start.saturating_sub(behind) >= floor
                && m.newest.is_some()
                && m.newest <= newest;
            let last = m.end.min(m.settled).min(end);
            (usable && last >= start).then(|| start + (last - start) / step * step)
        });
        let was_reused = reused_end.is_some();
        let (series, notes) = match (memo, reused_end) {
            (Some(memo), Some(reused_end)) => {
                let fresh = match reused_end.checked_add(step).filter(|&t| t <= end) {
                    Some(from) => self.engine.range_annotated(store, expr, from, end, step)?,
                    None => (Value::Matrix(Vec::new()), Annotations::default()),
                };
                let (Value::Matrix(fresh), notes) = fresh else {
                    return whole();
                };
                if !notes.warnings.is_empty() || !notes.infos.is_empty() {
                    return whole();
                }
                (merge(memo.series, start, reused_end, fresh), notes)
            }
            _ => match whole()? {
                (Value::Matrix(m), notes) => (m, notes),
                other => return Ok(other),
            },
        };
        if notes.warnings.is_empty() && notes.infos.is_empty() {
            let mut memos = reuse.memos.lock().unwrap_or_else(PoisonError::into_inner);
            memos.uses += 1;
            memos.reused += u64::from(was_reused);
            let last_use = memos.uses;
            if memos.by_query.len() >= MAX_MEMOS
                && let Some(oldest) = memos
                    .by_query
                    .iter()
                    .min_by_key(|(_, m)| m.last_use)
                    .map(|(k, _)| k.clone())
            {
                memos.by_query.remove(&oldest);
            }
            memos.by_query.insert(
                key,
                Memo {
                    start,
                    end,
                    settled,
                    newest,
                    series: series.clone(),
                    last_use,
                },
            );
        }
        Ok((Value::Matrix(series), notes))
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

/// The points of `old` at `start..=until` followed by those of `new` (all later), series
/// by series; both are sorted by labels, and so is the answer. Series left with no
/// point are left out.
fn merge(old: Vec<Series>, start: i64, until: i64, new: Vec<Series>) -> Vec<Series> {
    let mut out: Vec<Series> = Vec::with_capacity(old.len().max(new.len()));
    let mut new = new.into_iter().peekable();
    let keep = |points: Vec<Point>| -> Vec<Point> {
        points
            .into_iter()
            .filter(|p| (start..=until).contains(&p.t))
            .collect()
    };
    let mut push = |labels: Labels, points: Vec<Point>| {
        if !points.is_empty() {
            out.push(Series { labels, points });
        }
    };
    for s in old {
        while let Some(n) = new.next_if(|n| n.labels < s.labels) {
            push(n.labels, n.points);
        }
        let mut points = keep(s.points);
        if let Some(n) = new.next_if(|n| n.labels == s.labels) {
            points.extend(n.points);
        }
        push(s.labels, points);
    }
    for n in new {
        push(n.labels, n.points);
    }
    out
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

    /// A matrix answer with values as bits, to compare NaNs too.
    fn bits(r: &QueryResult) -> Vec<(String, Vec<(f64, u64)>)> {
        let QueryData::Matrix(m) = &r.data else {
            panic!("not a matrix: {r:?}")
        };
        m.iter()
            .map(|s| {
                let points = s.samples.iter().map(|p| (p.t, p.v.to_bits())).collect();
                (s.labels.to_string(), points)
            })
            .collect()
    }

    #[test]
    fn reused_range_answers_equal_whole_evaluations() {
        let exprs = [
            "sum(c_total)",
            "c_total",
            "sum by (job) (rate(c_total[1m]))",
            "rate(c_total[30s] offset 20s)",
            "g offset -10s",
            "histogram_quantile(0.9, sum by (le) (rate(h_bucket[1m])))",
            "max_over_time(g[2m:10s])",
            "count_over_time(c_total[7m])",
            "(sum(rate(c_total[1m])) or vector(0)) / sum(rate(c_total[1m]))",
            "g @ end()",
            "time()",
            "rate(g[1m])",
        ];
        let mut rng = 0x2545_f491_4f6c_dd1du64;
        let mut next = move |n: u64| {
            rng ^= rng >> 12;
            rng ^= rng << 25;
            rng ^= rng >> 27;
            rng.wrapping_mul(0x2545_f491_4f6c_dd1d) % n
        };
        let mut reused = 0;
        for compat in [crate::eval::Compat::V2, crate::eval::Compat::V3] {
            let store = Arc::new(RwLock::new(Store::new(StoreConfig {
                // Shorter than the data (20 minutes), and than a window with the range of
                // the subquery: its first steps lose samples, and are evaluated again.
                retention_ms: 16 * 60_000,
                ..StoreConfig::default()
            })));
            let engine = Engine::new(crate::eval::EngineOptions {
                compat,
                ..Default::default()
            });
            let whole = EmbeddedSource::new(Arc::clone(&store), engine.clone())
                .with_clock(Clock::NewestSample);
            let reusing = whole.clone().with_range_reuse(Duration::from_secs(2));
            let mut values = [0.0f64; 6];
            let mut t = 1_000_000i64;
            store
                .write()
                .unwrap()
                .append(&[("__name__", "late")].into(), 0, 1.0)
                .unwrap();
            for round in 0..80 {
                {
                    let mut st = store.write().unwrap();
                    // A sample half a second older than the last answer's end, inside the
                    // settling time: that answer's last step is not final.
                    st.append(&[("__name__", "late")].into(), t - 500, f64::from(round))
                        .unwrap();
                    for _ in 0..15 {
                        t += 1_000;
                        for (i, v) in values.iter_mut().enumerate() {
                            *v = if next(200) == 0 {
                                0.0
                            } else {
                                *v + next(5) as f64
                            };
                            let job = if i % 2 == 0 { "a" } else { "b" };
                            let l: Labels =
                                [("__name__", "c_total"), ("job", job), ("i", &i.to_string())]
                                    .into();
                            // One series pauses for a while, then comes back.
                            if !(i == 3 && (20..30).contains(&round)) {
                                st.append(&l, t, *v).unwrap();
                            }
                        }
                        for (le, f) in [("0.1", 1.0), ("1", 2.0), ("+Inf", 3.0)] {
                            let l: Labels = [("__name__", "h_bucket"), ("le", le)].into();
                            st.append(&l, t, values[0] * f).unwrap();
                        }
                        let g = match round {
                            40 => crate::value::stale_marker(),
                            41..44 => continue,
                            _ => next(100) as f64 / 7.0,
                        };
                        st.append(&[("__name__", "g")].into(), t, g).unwrap();
                    }
                }
                let end = t;
                let w = RangeWindow {
                    start: (end - 10 * 60_000) as f64 / 1000.0,
                    end: end as f64 / 1000.0,
                    step: Duration::from_secs(5),
                };
                for expr in exprs {
                    let a = reusing.query_range(expr, w).unwrap();
                    let b = whole.query_range(expr, w).unwrap();
                    assert_eq!(bits(&a), bits(&b), "{compat:?} round {round}: {expr}");
                    assert_eq!(a.notes, b.notes, "{expr}");
                }
                let late = "sum(late) + sum(c_total)";
                let a = reusing.query_range(late, w).unwrap();
                assert_eq!(bits(&a), bits(&whole.query_range(late, w).unwrap()));
            }
            reused += reusing.reuse.as_ref().unwrap().memos.lock().unwrap().reused;
        }
        // Most answers reuse the last one (not those with `@`, nor the subquery's).
        assert!(reused > 2 * 75 * 9, "{reused}");
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
