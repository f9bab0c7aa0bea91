//! Rules evaluated against a remote server: a [`RuleBackend`] over any
//! [`MetricsSource`]. Nothing is written back (the server keeps its own recorded series).
//!
//! An answer that may lack data (`isPartial`, warnings) is an evaluation error, as a failed
//! query is: a series missing from it proves nothing, so no alert resolves because of it.

use tokio::runtime::Handle;

use super::eval::{QuerySample, RuleBackend};
use super::template::LabelMap;
use crate::model::{QueryData, QueryResult};
use crate::source::MetricsSource;

/// Queries `source` at each evaluation's timestamp, blocking on `handle`. Call
/// [`GroupState::eval`](super::eval::GroupState::eval) with it from a blocking thread
/// (`spawn_blocking`), never from inside an async task.
pub struct SourceBackend<'a, S: MetricsSource> {
    pub source: &'a S,
    pub handle: Handle,
}

impl<S: MetricsSource> RuleBackend for SourceBackend<'_, S> {
    fn query(&self, expr: &str, t_ms: i64) -> Result<Vec<QuerySample>, String> {
        let answer = self
            .handle
            .block_on(self.source.instant(expr, Some(t_ms as f64 / 1000.0)))
            .map_err(|e| e.to_string())?;
        samples(answer)
    }

    fn append(&mut self, _labels: &LabelMap, _t_ms: i64, _value: f64) {}
}

/// A query answer as a rule sees it: a vector, or a scalar as one sample without labels
/// (Prometheus's `EngineQueryFunc`).
pub fn samples(answer: QueryResult) -> Result<Vec<QuerySample>, String> {
    if let Some(why) = answer.notes.incomplete_reason() {
        return Err(why);
    }
    match answer.data {
        QueryData::Vector(v) => Ok(v
            .into_iter()
            .map(|s| QuerySample {
                labels: s
                    .labels
                    .iter()
                    .map(|(k, v)| (k.to_owned(), v.to_owned()))
                    .collect(),
                value: s.sample.v,
            })
            .collect()),
        QueryData::Scalar(s) => Ok(vec![QuerySample {
            labels: LabelMap::new(),
            value: s.v,
        }]),
        _ => Err("rule result is not a vector or scalar".into()),
    }
}
