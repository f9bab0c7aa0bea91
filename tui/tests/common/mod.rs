//! Fixed data and a frozen clock for driving `update` and `view` in tests.
#![allow(dead_code)]

use std::time::Duration;

use promdash::app::{Effect, FetchKey, FetchRequest, Fetched, Msg, Options, State, update};
use promdash_queries::dashboard::{Dashboard, default_dashboard};
use promdash_queries::error::{ErrorType, QueryError};
use promdash_queries::model::{
    InstantSeries, Labels, Notes, QueryData, QueryResult, RangeSeries, Sample,
};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// 2026-11-25 15:02:15 UTC.
pub const NOW: f64 = 1_795_618_935.0;

pub fn options() -> Options {
    Options {
        bell: true,
        ..Options::for_url("http://localhost:9090")
    }
}

/// A dashboard at `NOW` in a `w`×`h` terminal; returns the first round's requests.
pub fn start(dashboard: Dashboard, w: u16, h: u16) -> (State, Vec<FetchRequest>) {
    let mut state = State::new(dashboard, options());
    update(&mut state, Msg::Resize(w, h));
    let effects = update(&mut state, Msg::Tick(NOW));
    (state, fetches(effects))
}

pub fn default_state(w: u16, h: u16) -> (State, Vec<FetchRequest>) {
    start(default_dashboard(), w, h)
}

pub fn fetches(effects: Vec<Effect>) -> Vec<FetchRequest> {
    effects
        .into_iter()
        .filter_map(|e| match e {
            Effect::Fetch(r) => Some(r),
            _ => None,
        })
        .collect()
}

pub fn key(code: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

pub fn ctrl(c: char) -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL))
}

pub fn char_key(c: char) -> Msg {
    key(KeyCode::Char(c))
}

pub fn labels(kv: &[(&str, &str)]) -> Labels {
    kv.iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn ok(data: QueryData) -> Result<QueryResult, QueryError> {
    Ok(QueryResult {
        data,
        notes: Notes::default(),
    })
}

/// A deterministic wave around `base`.
fn wave(base: f64, amp: f64, i: usize) -> f64 {
    base + amp * ((i as f64) * 0.35).sin()
}

/// Fixed answers for the default dashboard's queries: `alert_p95` is what the
/// HighLatencyP95 rule sees, `alert_errors` what HighErrorRatio and the "Error ratio"
/// stat see.
#[derive(Debug, Clone, Copy)]
pub struct Data {
    pub alert_p95: f64,
    pub alert_errors: f64,
}

impl Default for Data {
    fn default() -> Self {
        Self {
            alert_p95: 0.12,
            alert_errors: 0.012,
        }
    }
}

/// Answers `req` from fixed data.
pub fn answer(req: &FetchRequest, data: Data) -> Result<QueryResult, QueryError> {
    let expr = req.key.expr();
    let instant = |v: f64, l: Labels| {
        ok(QueryData::Vector(vec![InstantSeries {
            labels: l,
            sample: Sample { t: NOW, v },
        }]))
    };
    match &req.key {
        FetchKey::Instant { .. } => {
            if expr.contains("[30s]") && expr.contains("histogram_quantile") {
                return instant(data.alert_p95, Labels::new());
            }
            if expr == "sum(app_request_count_total)" {
                return instant(123_456.0, Labels::new());
            }
            if expr.contains("app_in_flight_requests") {
                return instant(7.0, Labels::new());
            }
            if expr.contains("app_error_count_total") {
                // The "Error ratio" stat and the HighErrorRatio rule: one expression.
                return instant(data.alert_errors, Labels::new());
            }
            if expr.contains("by (route, status)") {
                let rows = [
                    ("/process", "200", 47.5),
                    ("/process", "500", 0.6),
                    ("/healthz", "200", 1.0),
                    ("unmatched", "404", 0.2),
                ];
                return ok(QueryData::Vector(
                    rows.iter()
                        .map(|(r, s, v)| InstantSeries {
                            labels: labels(&[("route", r), ("status", s)]),
                            sample: Sample { t: NOW, v: *v },
                        })
                        .collect(),
                ));
            }
            if expr.contains("rate(app_request_count_total") {
                return instant(49.8, Labels::new());
            }
            // Anything else (a graph's value at its window's end, among others): what the
            // range answer would hold at its first point, as a vector at NOW.
            let one = FetchRequest {
                key: FetchKey::Range {
                    expr: expr.to_owned(),
                    step_ms: 1000,
                },
                seq: req.seq,
                window: Some(promdash_queries::source::RangeWindow {
                    start: NOW,
                    end: NOW,
                    step: Duration::from_secs(1),
                }),
                time: None,
            };
            match answer(&one, data)?.data {
                QueryData::Matrix(m) => ok(QueryData::Vector(
                    m.into_iter()
                        .filter_map(|s| {
                            let sample = *s.samples.last()?;
                            Some(InstantSeries {
                                labels: s.labels,
                                sample,
                            })
                        })
                        .collect(),
                )),
                other => ok(other),
            }
        }
        FetchKey::Range { .. } => {
            let Some(w) = req.window else {
                return ok(QueryData::Matrix(Vec::new()));
            };
            let step = w.step.as_secs_f64();
            let n = ((w.end - w.start) / step).round() as usize + 1;
            let series = |l: Labels, f: &dyn Fn(usize) -> f64| RangeSeries {
                labels: l,
                samples: (0..n)
                    .map(|i| Sample {
                        t: w.start + step * i as f64,
                        v: f(i),
                    })
                    .collect(),
            };
            let m = if expr.contains("histogram_quantile(0.50") {
                vec![series(Labels::new(), &|i| wave(0.021, 0.004, i))]
            } else if expr.contains("histogram_quantile(0.95") {
                vec![series(Labels::new(), &|i| wave(0.09, 0.03, i))]
            } else if expr.contains("histogram_quantile(0.99") {
                // No traffic for a while: NaN in the middle, and a hole with no samples.
                vec![series(Labels::new(), &|i| {
                    if (n / 3..n / 2).contains(&i) {
                        f64::NAN
                    } else {
                        wave(0.3, 0.15, i)
                    }
                })]
            } else if expr.contains("by (route)") {
                vec![
                    series(labels(&[("route", "/process")]), &|i| wave(45.0, 4.0, i)),
                    series(labels(&[("route", "/healthz")]), &|i| wave(1.0, 0.2, i)),
                ]
            } else if expr.contains("app_error_count_total") {
                vec![series(Labels::new(), &|i| wave(0.012, 0.01, i).max(0.0))]
            } else if expr == "sum(app_request_count_total)" {
                vec![series(Labels::new(), &|i| 100_000.0 + 50.0 * i as f64)]
            } else if expr.contains("app_request_count_total") {
                vec![series(Labels::new(), &|i| wave(49.0, 2.0, i))]
            } else {
                vec![series(Labels::new(), &|i| wave(1.0, 0.5, i))]
            };
            // Drop a stretch of samples from the p99 series: a gap longer than the step.
            let m = if expr.contains("histogram_quantile(0.99") {
                m.into_iter()
                    .map(|mut s| {
                        let len = s.samples.len();
                        s.samples.retain(|x| {
                            let i = ((x.t - w.start) / step).round() as usize;
                            !(len * 3 / 4..len * 3 / 4 + 6).contains(&i)
                        });
                        s
                    })
                    .collect()
            } else {
                m
            };
            ok(QueryData::Matrix(m))
        }
    }
}

pub fn fetched(req: &FetchRequest, result: Result<QueryResult, QueryError>) -> Msg {
    Msg::Fetched(Box::new(Fetched {
        key: req.key.clone(),
        seq: req.seq,
        window: req.window,
        result,
        elapsed: Duration::from_millis(12),
    }))
}

/// Answers every request from fixed data; returns the effects of the answers.
pub fn answer_all(state: &mut State, reqs: &[FetchRequest], data: Data) -> Vec<Effect> {
    let mut out = Vec::new();
    for r in reqs {
        out.extend(update(state, fetched(r, answer(r, data))));
    }
    out
}

pub fn refused() -> QueryError {
    QueryError::ConnectionRefused {
        url: "http://localhost:9090/".to_owned(),
    }
}

pub fn bad_data(msg: &str) -> QueryError {
    QueryError::Api {
        status: 400,
        error_type: ErrorType::BadData,
        message: msg.to_owned(),
    }
}

/// Draws `state` on a test terminal of its size.
pub fn draw(state: &State) -> Terminal<TestBackend> {
    let (w, h) = state.size;
    let mut terminal = Terminal::new(TestBackend::new(w, h)).expect("test backend");
    terminal
        .draw(|f| promdash::ui::view(state, f))
        .expect("draw");
    terminal
}

/// The screen as text, one line per row.
pub fn screen(state: &State) -> String {
    let t = draw(state);
    let buf = t.backend().buffer();
    let mut out = String::new();
    for y in 0..buf.area.height {
        for x in 0..buf.area.width {
            out.push_str(buf[(x, y)].symbol());
        }
        out.push('\n');
    }
    out
}

/// A default dashboard with data, at `w`×`h`.
pub fn loaded(w: u16, h: u16) -> State {
    let (mut state, reqs) = default_state(w, h);
    answer_all(&mut state, &reqs, Data::default());
    state
}
