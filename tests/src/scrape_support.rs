//! Helpers for the scrape tests: the embedded engine's answers in the shape of the
//! harness's Prometheus answers, and a side-by-side diff of two answers.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::bail;
use promdash_engine::EmbeddedSource;
use promdash_queries::model::QueryData;

use crate::query::QuerySample;

/// A label set as a sorted map (what both sides are compared on).
pub type LabelMap = BTreeMap<String, String>;

/// Instant query on the embedded engine at `time` (Unix seconds; now when `None`).
pub fn engine_query(
    source: &EmbeddedSource,
    expr: &str,
    time: Option<f64>,
) -> anyhow::Result<Vec<QuerySample>> {
    let r = source
        .query_instant(expr, time)
        .map_err(|e| anyhow::anyhow!("engine: {expr}: {e}"))?;
    Ok(match r.data {
        QueryData::Vector(v) => v
            .into_iter()
            .map(|s| QuerySample {
                labels: s
                    .labels
                    .iter()
                    .map(|(k, v)| (k.to_owned(), v.to_owned()))
                    .collect(),
                value: s.sample.v,
            })
            .collect(),
        QueryData::Scalar(s) => vec![QuerySample {
            labels: BTreeMap::new(),
            value: s.v,
        }],
        other => bail!("engine: {expr}: unexpected answer {other:?}"),
    })
}

/// Samples keyed by label set (later duplicates win; PromQL answers have none).
pub fn by_labels(samples: &[QuerySample]) -> BTreeMap<LabelMap, f64> {
    samples
        .iter()
        .map(|s| (s.labels.clone(), s.value))
        .collect()
}

/// One line per label set present on either side, marking differences: for assertion
/// messages.
pub fn side_by_side(left: &str, a: &[QuerySample], right: &str, b: &[QuerySample]) -> String {
    let (a, b) = (by_labels(a), by_labels(b));
    let mut keys: Vec<&LabelMap> = a.keys().chain(b.keys()).collect();
    keys.sort();
    keys.dedup();
    let mut out = format!("{:<6} {left:>16} {right:>16}  labels\n", "");
    for k in keys {
        let (x, y) = (a.get(k), b.get(k));
        let same = match (x, y) {
            (Some(x), Some(y)) => x == y || (x.is_nan() && y.is_nan()),
            _ => false,
        };
        let show = |v: Option<&f64>| v.map_or_else(|| "-".to_owned(), |v| v.to_string());
        out.push_str(&format!(
            "{:<6} {:>16} {:>16}  {k:?}\n",
            if same { "" } else { "DIFF" },
            show(x),
            show(y)
        ));
    }
    out
}

/// Polls `f` every 100 ms until it returns `Ok(true)` or `timeout` passes; the error
/// carries `what` and the last `Err`/state described by `describe`.
pub async fn poll_until<F, Fut>(what: &str, timeout: Duration, mut f: F) -> anyhow::Result<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<bool>>,
{
    let deadline = Instant::now() + timeout;
    let mut last = String::new();
    loop {
        match f().await {
            Ok(true) => return Ok(()),
            Ok(false) => last.clear(),
            Err(e) => last = format!("{e:#}"),
        }
        if Instant::now() >= deadline {
            bail!("{what}: not within {timeout:?} {last}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
