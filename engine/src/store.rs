//! The in-memory store: series keyed by their sorted label set, samples in time order in
//! compressed chunks ([`crate::chunk`]), an inverted label index (postings, as Prometheus's
//! `tsdb/index/postings.go` keeps them) for selectors and completion, retention by time and
//! a cap on the number of series.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};

use promql_parser::label::{MatchOp, Matcher};

use crate::chunk::{SAMPLES_PER_CHUNK, XorChunk};
use crate::exposition::MetricType;
use crate::value::{Labels, Point};

/// Limits of a store.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// Samples older than the newest sample minus this are dropped with their chunks.
    pub retention_ms: i64,
    /// At most this many series; appending a new series beyond it is an error.
    pub max_series: usize,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            retention_ms: 60 * 60 * 1000,
            max_series: 1_000_000,
        }
    }
}

/// Why a sample was not stored.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("too many series: the store holds at most {limit}")]
    TooManySeries { limit: usize },
    #[error("out of order sample for {labels}: {t} is older than the newest sample {newest}")]
    OutOfOrder { labels: String, t: i64, newest: i64 },
    #[error("duplicate sample for {labels} at {t}: a different value is already stored")]
    Duplicate { labels: String, t: i64 },
    #[error("invalid label set {labels}: {reason}")]
    InvalidLabels { labels: String, reason: String },
}

/// A series' position in the store. Stable for the life of the series.
pub type SeriesId = u32;

/// One series: its labels, closed chunks and the open head.
#[derive(Debug)]
struct SeriesData {
    labels: Labels,
    chunks: Vec<XorChunk>,
    head: Vec<Point>,
}

impl SeriesData {
    fn last(&self) -> Option<Point> {
        self.head
            .last()
            .copied()
            .or_else(|| self.chunks.last().and_then(|c| c.iter().last()))
    }
}

/// Series and their samples.
#[derive(Debug)]
pub struct Store {
    config: StoreConfig,
    /// Unique to this store (and changed by `clear`): an id is only valid in its epoch.
    epoch: u64,
    series: Vec<Option<SeriesData>>,
    by_labels: HashMap<Labels, SeriesId>,
    /// Label name -> value -> ids of the series that have it, ascending.
    postings: HashMap<String, BTreeMap<String, Vec<SeriesId>>>,
    live: usize,
    newest: Option<i64>,
    next_gc: i64,
    /// `# TYPE` and `# HELP` of the families seen, by OpenMetrics family name.
    metadata: BTreeMap<String, FamilyMetadata>,
}

/// What a page said about a metric family, kept for writing the store as OpenMetrics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FamilyMetadata {
    pub kind: MetricType,
    pub help: Option<String>,
}

impl Default for Store {
    fn default() -> Self {
        Store::new(StoreConfig::default())
    }
}

/// The next store epoch: every store (and every clearing) gets its own.
fn next_epoch() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

impl Store {
    pub fn new(config: StoreConfig) -> Self {
        Store {
            config,
            epoch: next_epoch(),
            series: Vec::new(),
            by_labels: HashMap::new(),
            postings: HashMap::new(),
            live: 0,
            newest: None,
            next_gc: 0,
            metadata: BTreeMap::new(),
        }
    }

    pub fn config(&self) -> &StoreConfig {
        &self.config
    }

    /// Drops every series and sample (promqltest's `clear`); keeps the configuration.
    pub fn clear(&mut self) {
        *self = Store::new(self.config.clone());
    }

    /// Appends one sample (`t` in ms) to the series `labels` (which includes `__name__`).
    ///
    /// Samples of one series come in time order: an older one is an error, and so is a
    /// different value at the newest timestamp (the same value again is accepted and kept
    /// once, as Prometheus's head does).
    pub fn append(&mut self, labels: &Labels, t: i64, v: f64) -> Result<(), StoreError> {
        self.append_get_id(labels, t, v).1
    }

    /// [`append`](Store::append), also giving the id of the series (when it exists or
    /// was created), for later [`append_id`](Store::append_id)s.
    pub fn append_get_id(
        &mut self,
        labels: &Labels,
        t: i64,
        v: f64,
    ) -> (Option<SeriesId>, Result<(), StoreError>) {
        let id = match self.by_labels.get(labels) {
            Some(&id) => id,
            None if labels.values().any(str::is_empty) => {
                // A label with an empty value is no label, as in Prometheus.
                let own: Labels = labels.iter().filter(|(_, v)| !v.is_empty()).collect();
                return self.append_get_id(&own, t, v);
            }
            None => match self.create_series(labels) {
                Ok(id) => id,
                Err(e) => return (None, Err(e)),
            },
        };
        (Some(id), self.append_at(id, t, v))
    }

    /// Appends one sample to the series `id` of this store's [`epoch`](Store::epoch), as
    /// [`append`](Store::append) does; `None` when that series is gone (dropped by
    /// retention, or the store was cleared since): append by labels then.
    pub fn append_id(
        &mut self,
        epoch: u64,
        id: SeriesId,
        t: i64,
        v: f64,
    ) -> Option<Result<(), StoreError>> {
        if epoch != self.epoch || !matches!(self.series.get(id as usize), Some(Some(_))) {
            return None;
        }
        Some(self.append_at(id, t, v))
    }

    /// Identifies this store's series ids: a store made or cleared later has another.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    fn append_at(&mut self, id: SeriesId, t: i64, v: f64) -> Result<(), StoreError> {
        let Some(Some(s)) = self.series.get_mut(id as usize) else {
            return Err(StoreError::InvalidLabels {
                labels: format!("series #{id}"),
                reason: "no such series".into(),
            });
        };
        let labels = &s.labels;
        if let Some(last) = s.head.last().copied().or_else(|| {
            s.chunks.last().map(|c| Point {
                t: c.max_t(),
                v: f64::NAN,
            })
        }) {
            if t < last.t {
                return Err(StoreError::OutOfOrder {
                    labels: labels.to_string(),
                    t,
                    newest: last.t,
                });
            }
            if t == last.t {
                let same = s.last().is_some_and(|p| p.v.to_bits() == v.to_bits());
                return if same {
                    Ok(())
                } else {
                    Err(StoreError::Duplicate {
                        labels: labels.to_string(),
                        t,
                    })
                };
            }
        }
        s.head.push(Point { t, v });
        if s.head.len() >= SAMPLES_PER_CHUNK {
            let chunk = XorChunk::encode(&s.head);
            s.head.clear();
            s.chunks.push(chunk);
        }
        if self.newest.is_none_or(|n| t > n) {
            self.newest = Some(t);
        }
        if t >= self.next_gc {
            self.enforce_retention();
            self.next_gc = t + (self.config.retention_ms / 8).max(1_000);
        }
        Ok(())
    }

    fn create_series(&mut self, labels: &Labels) -> Result<SeriesId, StoreError> {
        if self.live >= self.config.max_series {
            return Err(StoreError::TooManySeries {
                limit: self.config.max_series,
            });
        }
        if labels.iter().any(|(n, _)| n.is_empty()) {
            return Err(StoreError::InvalidLabels {
                labels: labels.to_string(),
                reason: "a label name is empty".into(),
            });
        }
        let id = SeriesId::try_from(self.series.len()).map_err(|_| StoreError::TooManySeries {
            limit: SeriesId::MAX as usize,
        })?;
        // A copy of its own, so the store never keeps a caller's shared block alive.
        let own: Labels = labels.iter().collect();
        for (name, value) in own.iter() {
            self.postings
                .entry(name.to_owned())
                .or_default()
                .entry(value.to_owned())
                .or_default()
                .push(id);
        }
        self.series.push(Some(SeriesData {
            labels: own.clone(),
            chunks: Vec::new(),
            head: Vec::new(),
        }));
        self.by_labels.insert(own.clone(), id);
        self.live += 1;
        Ok(id)
    }

    /// Drops closed chunks entirely older than the newest sample minus the retention,
    /// and series left with no sample in the retention window.
    pub fn enforce_retention(&mut self) {
        let Some(newest) = self.newest else { return };
        let cutoff = newest.saturating_sub(self.config.retention_ms);
        let mut dead = Vec::new();
        for (id, slot) in self.series.iter_mut().enumerate() {
            let Some(s) = slot else { continue };
            let keep_from = s.chunks.partition_point(|c| c.max_t() < cutoff);
            if keep_from > 0 {
                s.chunks.drain(..keep_from);
            }
            let head_old = s.head.last().is_none_or(|p| p.t < cutoff);
            if s.chunks.is_empty() && head_old {
                dead.push(id as SeriesId);
            }
        }
        for id in dead {
            self.remove_series(id);
        }
    }

    fn remove_series(&mut self, id: SeriesId) {
        let Some(s) = self.series[id as usize].take() else {
            return;
        };
        self.live -= 1;
        self.by_labels.remove(&s.labels);
        for (name, value) in s.labels.iter() {
            if let Some(values) = self.postings.get_mut(name) {
                if let Some(ids) = values.get_mut(value) {
                    if let Ok(i) = ids.binary_search(&id) {
                        ids.remove(i);
                    }
                    if ids.is_empty() {
                        values.remove(value);
                    }
                }
                if values.is_empty() {
                    self.postings.remove(name);
                }
            }
        }
    }

    /// Records the type (and help) of the OpenMetrics family `family`; the last word wins.
    pub fn set_metadata(&mut self, family: &str, meta: FamilyMetadata) {
        match self.metadata.get_mut(family) {
            Some(m) if *m == meta => {}
            Some(m) => *m = meta,
            None => {
                self.metadata.insert(family.to_owned(), meta);
            }
        }
    }

    /// The families' types and help texts, by OpenMetrics family name.
    pub fn metadata(&self) -> &BTreeMap<String, FamilyMetadata> {
        &self.metadata
    }

    /// Number of series held.
    pub fn series_count(&self) -> usize {
        self.live
    }

    /// Number of samples held (closed chunks and heads).
    pub fn sample_count(&self) -> usize {
        self.live_series()
            .map(|s| s.head.len() + s.chunks.iter().map(XorChunk::len).sum::<usize>())
            .sum()
    }

    /// Samples and bytes in closed chunks: what compression achieves.
    pub fn closed_chunk_stats(&self) -> (usize, usize) {
        let mut samples = 0;
        let mut bytes = 0;
        for s in self.live_series() {
            for c in &s.chunks {
                samples += c.len();
                bytes += c.byte_len();
            }
        }
        (samples, bytes)
    }

    /// The newest timestamp appended to any series.
    pub fn newest(&self) -> Option<i64> {
        self.newest
    }

    /// The oldest timestamp held by any series (after retention), e.g. the start of a
    /// loaded recording.
    pub fn oldest(&self) -> Option<i64> {
        self.live_series()
            .filter_map(|s| {
                s.chunks
                    .first()
                    .and_then(|c| c.iter().next())
                    .or_else(|| s.head.first().copied())
                    .map(|p| p.t)
            })
            .min()
    }

    fn live_series(&self) -> impl Iterator<Item = &SeriesData> {
        self.series.iter().flatten()
    }

    /// The label set of a series.
    pub fn labels(&self, id: SeriesId) -> Option<&Labels> {
        self.series.get(id as usize)?.as_ref().map(|s| &s.labels)
    }

    /// Appends the samples of series `id` with `mint <= t <= maxt` to `out`, in time order.
    pub fn samples(&self, id: SeriesId, mint: i64, maxt: i64, out: &mut Vec<Point>) {
        let Some(Some(s)) = self.series.get(id as usize) else {
            return;
        };
        let first = s.chunks.partition_point(|c| c.max_t() < mint);
        let chunks = &s.chunks[first..];
        let chunks = &chunks[..chunks.partition_point(|c| c.min_t() <= maxt)];
        let from = s.head.partition_point(|p| p.t < mint);
        let head = &s.head[from..];
        let head = &head[..head.partition_point(|p| p.t <= maxt)];
        // Room for every sample of the chunks read (a few more than the range may hold).
        out.reserve(chunks.iter().map(XorChunk::len).sum::<usize>() + head.len());
        for c in chunks {
            c.decode_range(mint, maxt, out);
        }
        out.extend_from_slice(head);
    }

    /// The closed chunks and the open head of series `id`, oldest first: for readers that
    /// walk the samples without copying them out (the evaluator's instant selectors).
    pub fn series_samples(&self, id: SeriesId) -> Option<(&[XorChunk], &[Point])> {
        let s = self.series.get(id as usize)?.as_ref()?;
        Some((&s.chunks, &s.head))
    }

    /// The series matching all `matchers`, ascending by id. A matcher on a label a series
    /// lacks sees the empty value, as in Prometheus; with no matcher every series matches.
    pub fn select(&self, matchers: &[Matcher]) -> Vec<SeriesId> {
        // Narrow with the postings of matchers that reject the empty value (a series must
        // have that label); check every matcher on the candidates.
        let mut candidates: Option<Vec<SeriesId>> = None;
        for m in matchers.iter().filter(|m| !m.is_match("")) {
            let ids = self.postings_for(m);
            candidates = Some(match candidates {
                None => ids,
                Some(c) => intersect(&c, &ids),
            });
            if candidates.as_ref().is_some_and(Vec::is_empty) {
                return Vec::new();
            }
        }
        let all;
        let candidates: &[SeriesId] = match &candidates {
            Some(c) => c,
            None => {
                all = (0..self.series.len() as SeriesId)
                    .filter(|&id| self.series[id as usize].is_some())
                    .collect::<Vec<_>>();
                &all
            }
        };
        candidates
            .iter()
            .copied()
            .filter(|&id| {
                let Some(Some(s)) = self.series.get(id as usize) else {
                    return false;
                };
                matchers
                    .iter()
                    .all(|m| m.is_match(s.labels.get(&m.name).unwrap_or("")))
            })
            .collect()
    }

    /// Ids of the series whose label `m.name` has a non-empty value matching `m`.
    fn postings_for(&self, m: &Matcher) -> Vec<SeriesId> {
        let Some(values) = self.postings.get(&m.name) else {
            return Vec::new();
        };
        if let MatchOp::Equal = m.op {
            return values.get(&m.value).cloned().unwrap_or_default();
        }
        let mut set = BTreeSet::new();
        for (value, ids) in values {
            if m.is_match(value) {
                set.extend(ids.iter().copied());
            }
        }
        set.into_iter().collect()
    }

    /// Label names of the series matching `matchers` (all series when `None`), sorted.
    pub fn label_names(&self, matchers: Option<&[Matcher]>) -> Vec<String> {
        match matchers {
            None => {
                let mut names: Vec<String> = self.postings.keys().cloned().collect();
                names.sort();
                names
            }
            Some(ms) => {
                let mut names = BTreeSet::new();
                for id in self.select(ms) {
                    if let Some(l) = self.labels(id) {
                        names.extend(l.keys().map(str::to_owned));
                    }
                }
                names.into_iter().collect()
            }
        }
    }

    /// Values of label `name` over the series matching `matchers` (all when `None`), sorted.
    pub fn label_values(&self, name: &str, matchers: Option<&[Matcher]>) -> Vec<String> {
        match matchers {
            None => self
                .postings
                .get(name)
                .map(|v| v.keys().cloned().collect())
                .unwrap_or_default(),
            Some(ms) => {
                let mut values = BTreeSet::new();
                for id in self.select(ms) {
                    if let Some(v) = self.labels(id).and_then(|l| l.get(name)) {
                        values.insert(v.to_owned());
                    }
                }
                values.into_iter().collect()
            }
        }
    }
}

fn intersect(a: &[SeriesId], b: &[SeriesId]) -> Vec<SeriesId> {
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::new();
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                out.push(a[i]);
                i += 1;
                j += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::{STALE_MARKER_BITS, is_stale_marker};
    use promql_parser::parser::{Expr, parse};

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs.iter().copied().collect()
    }

    fn matchers(selector: &str) -> Vec<Matcher> {
        let Ok(Expr::VectorSelector(vs)) = parse(selector) else {
            panic!("not a selector: {selector}");
        };
        let mut ms = vs.matchers.matchers;
        if let Some(name) = vs.name {
            ms.push(Matcher::new(MatchOp::Equal, "__name__", &name));
        }
        ms
    }

    fn sample_store() -> Store {
        let mut s = Store::new(StoreConfig::default());
        for (name, job, inst) in [
            ("up", "api", "a:1"),
            ("up", "api", "b:1"),
            ("up", "db", "c:1"),
            ("requests_total", "api", "a:1"),
        ] {
            let l = labels(&[("__name__", name), ("job", job), ("instance", inst)]);
            for i in 0..300 {
                s.append(&l, i * 15_000, i as f64).unwrap();
            }
        }
        s
    }

    fn selected(s: &Store, sel: &str) -> Vec<String> {
        s.select(&matchers(sel))
            .into_iter()
            .map(|id| s.labels(id).unwrap().to_string())
            .collect()
    }

    #[test]
    fn matchers_select_through_the_index() {
        let s = sample_store();
        assert_eq!(selected(&s, "up").len(), 3);
        assert_eq!(selected(&s, r#"up{job="api"}"#).len(), 2);
        assert_eq!(selected(&s, r#"up{job!="api"}"#).len(), 1);
        assert_eq!(selected(&s, r#"{job=~"a.*"}"#).len(), 3);
        assert_eq!(
            selected(&s, r#"{__name__=~"up|req.*", job!~"db"}"#).len(),
            3
        );
        assert_eq!(selected(&s, r#"{__name__!="up", job="api"}"#).len(), 1);
        // A missing label matches as the empty value.
        assert_eq!(selected(&s, r#"up{zone=""}"#).len(), 3);
        assert_eq!(selected(&s, r#"up{zone="x"}"#).len(), 0);
        assert_eq!(selected(&s, r#"up{zone!="x"}"#).len(), 3);
        // Regexes are anchored.
        assert_eq!(selected(&s, r#"up{job=~"ap"}"#).len(), 0);
    }

    #[test]
    fn label_names_and_values_for_completion() {
        let s = sample_store();
        assert_eq!(s.label_names(None), ["__name__", "instance", "job"]);
        assert_eq!(s.label_values("job", None), ["api", "db"]);
        assert_eq!(s.label_values("__name__", None), ["requests_total", "up"]);
        let m = matchers(r#"up{job="db"}"#);
        assert_eq!(s.label_values("instance", Some(&m)), ["c:1"]);
        assert_eq!(
            s.label_names(Some(&matchers("nothing"))),
            Vec::<String>::new()
        );
    }

    #[test]
    fn samples_read_back_across_chunks_and_head() {
        let s = sample_store();
        let id = s.select(&matchers(r#"up{instance="a:1"}"#))[0];
        let mut out = Vec::new();
        s.samples(id, 0, i64::MAX, &mut out);
        assert_eq!(out.len(), 300);
        assert!(
            out.iter()
                .enumerate()
                .all(|(i, p)| p.t == i as i64 * 15_000 && p.v == i as f64)
        );
        out.clear();
        // Inclusive bounds, across a chunk boundary (120 samples each).
        s.samples(id, 119 * 15_000, 121 * 15_000, &mut out);
        assert_eq!(
            out.iter().map(|p| p.v).collect::<Vec<_>>(),
            [119.0, 120.0, 121.0]
        );
        let (closed, bytes) = s.closed_chunk_stats();
        assert_eq!(closed, 4 * 240);
        assert!(bytes < closed * 2, "{bytes} bytes for {closed} samples");
    }

    #[test]
    fn oldest_and_newest_span_every_series() {
        let mut s = Store::new(StoreConfig::default());
        assert_eq!((s.oldest(), s.newest()), (None, None));
        let a = labels(&[("__name__", "a")]);
        let b = labels(&[("__name__", "b")]);
        // `a` fills closed chunks, `b` starts earlier and has only a head.
        for i in 0..200 {
            s.append(&a, 10_000 + i * 1_000, 1.0).unwrap();
        }
        s.append(&b, 5_000, 1.0).unwrap();
        assert_eq!((s.oldest(), s.newest()), (Some(5_000), Some(209_000)));
    }

    #[test]
    fn out_of_order_and_duplicates_are_errors() {
        let mut s = Store::new(StoreConfig::default());
        let l = labels(&[("__name__", "x")]);
        s.append(&l, 1_000, 1.0).unwrap();
        s.append(&l, 2_000, 2.0).unwrap();
        let e = s.append(&l, 1_500, 3.0).unwrap_err();
        assert!(
            matches!(
                e,
                StoreError::OutOfOrder {
                    t: 1_500,
                    newest: 2_000,
                    ..
                }
            ),
            "{e}"
        );
        assert!(e.to_string().contains("x"), "{e}");
        assert!(s.append(&l, 2_000, 2.0).is_ok());
        assert!(matches!(
            s.append(&l, 2_000, 5.0),
            Err(StoreError::Duplicate { .. })
        ));
        // Out of order across a closed chunk.
        for i in 3..200 {
            s.append(&l, i * 1_000, 0.0).unwrap();
        }
        assert!(matches!(
            s.append(&l, 10, 0.0),
            Err(StoreError::OutOfOrder { .. })
        ));
    }

    #[test]
    fn stale_marker_and_other_nans_are_kept_by_bits() {
        let mut s = Store::new(StoreConfig::default());
        let l = labels(&[("__name__", "x")]);
        let other_nan = f64::from_bits(0x7ff8_0000_0000_0001);
        for i in 0..250 {
            let v = match i % 3 {
                0 => f64::from_bits(STALE_MARKER_BITS),
                1 => other_nan,
                _ => i as f64,
            };
            s.append(&l, i * 1_000, v).unwrap();
        }
        let mut out = Vec::new();
        s.samples(0, 0, i64::MAX, &mut out);
        assert_eq!(out.len(), 250);
        for (i, p) in out.iter().enumerate() {
            match i % 3 {
                0 => assert!(is_stale_marker(p.v)),
                1 => assert_eq!(p.v.to_bits(), other_nan.to_bits()),
                _ => assert_eq!(p.v, i as f64),
            }
        }
    }

    #[test]
    fn series_cap_is_a_clear_error() {
        let mut s = Store::new(StoreConfig {
            max_series: 2,
            ..StoreConfig::default()
        });
        s.append(&labels(&[("__name__", "a")]), 0, 1.0).unwrap();
        s.append(&labels(&[("__name__", "b")]), 0, 1.0).unwrap();
        s.append(&labels(&[("__name__", "a")]), 1, 1.0).unwrap();
        let e = s.append(&labels(&[("__name__", "c")]), 0, 1.0).unwrap_err();
        assert_eq!(e.to_string(), "too many series: the store holds at most 2");
    }

    #[test]
    fn retention_drops_old_chunks_and_dead_series() {
        let mut s = Store::new(StoreConfig {
            retention_ms: 600_000,
            ..StoreConfig::default()
        });
        let old = labels(&[("__name__", "gone")]);
        s.append(&old, 0, 1.0).unwrap();
        let l = labels(&[("__name__", "x")]);
        for i in 0..2_000 {
            s.append(&l, i * 1_000, i as f64).unwrap();
        }
        s.enforce_retention();
        assert_eq!(s.series_count(), 1);
        assert!(s.label_values("__name__", None) == ["x"]);
        let mut out = Vec::new();
        s.samples(s.select(&matchers("x"))[0], 0, i64::MAX, &mut out);
        // Whole chunks older than newest - retention are gone; the rest is intact.
        assert!(out[0].t >= 1_999_000 - 600_000 - 120_000, "{}", out[0].t);
        assert!(out[0].t <= 1_999_000 - 600_000);
        assert_eq!(out.last().unwrap().t, 1_999_000);
        // The cap counts live series only.
        assert_eq!(s.label_names(None), ["__name__"]);
    }

    #[test]
    fn clear_empties_the_store() {
        let mut s = sample_store();
        s.clear();
        assert_eq!(s.series_count(), 0);
        assert!(s.select(&matchers("up")).is_empty());
    }
}
