//! What one target's scrape loop remembers between scrapes, and how a scrape's result
//! goes into the store: Prometheus's `scrapeLoop.append` and `report` (`scrape/scrape.go`).
//!
//! - Every sample gets the target's labels (`mutateSampleLabels`): without
//!   `honor_labels` a label the page already has is kept as `exported_<name>`
//!   (`exported_exported_<name>`, … while that name is taken); with it the page wins.
//! - Samples without a timestamp get the scrape's timestamp; a series that such a sample
//!   gave in the last successful scrape and that is missing now gets a stale marker.
//!   Samples with explicit timestamps are never marked stale.
//! - A failed scrape (HTTP, timeout, body limit, malformed page, sample limit) stores
//!   none of its samples and marks every series of the last successful scrape stale.
//! - Five synthetic series per scrape: `up`, `scrape_duration_seconds`,
//!   `scrape_samples_scraped`, `scrape_samples_post_metric_relabeling`,
//!   `scrape_series_added`.

use std::collections::HashSet;
use std::time::Instant;

use super::ScrapeError;
use crate::exposition::Page;
use crate::store::Store;
use crate::value::{Labels, stale_marker};

/// The synthetic series of every scrape, in the order Prometheus appends them.
pub const REPORT_SERIES: [&str; 5] = [
    "up",
    "scrape_duration_seconds",
    "scrape_samples_scraped",
    "scrape_samples_post_metric_relabeling",
    "scrape_series_added",
];

/// What a scrape did.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub up: bool,
    pub duration_secs: f64,
    pub samples_scraped: usize,
    pub samples_post_relabeling: usize,
    pub series_added: usize,
    /// Samples the store refused (out of order or duplicate explicit timestamps, the
    /// store's series cap) and samples that would overwrite one of the scrape's own
    /// synthetic series; the scrape still counts as successful, as in Prometheus.
    pub refused: usize,
    pub error: Option<String>,
}

/// The memory of one target's loop.
#[derive(Debug)]
pub struct LoopState {
    target_labels: Labels,
    honor_labels: bool,
    sample_limit: usize,
    /// Series (final labels) written with the scrape's timestamp by the last successful
    /// scrape: the ones that get a stale marker when they go missing.
    prev: HashSet<Labels>,
    /// Series of the last successful scrape, for `scrape_series_added` (Prometheus's
    /// scrape cache, flushed after each successful non-empty scrape).
    cache: HashSet<Labels>,
    /// Timestamp of the last scrape, if any.
    last_t: Option<i64>,
}

impl LoopState {
    pub fn new(target_labels: Labels, honor_labels: bool, sample_limit: usize) -> Self {
        LoopState {
            target_labels,
            honor_labels,
            sample_limit,
            prev: HashSet::new(),
            cache: HashSet::new(),
            last_t: None,
        }
    }

    pub fn last_t(&self) -> Option<i64> {
        self.last_t
    }

    /// The labels a page's sample is stored with.
    pub fn sample_labels(&self, page_labels: &Labels) -> Labels {
        mutate_labels(page_labels, &self.target_labels, self.honor_labels)
    }

    /// Stores the result of the scrape that started at `start` with timestamp `t` (ms):
    /// its samples (or stale markers when it failed) and the five synthetic series.
    pub fn apply(
        &mut self,
        store: &mut Store,
        t: i64,
        result: Result<Page, ScrapeError>,
        start: Instant,
    ) -> Outcome {
        self.last_t = Some(t);
        let mut refused = 0;
        let (scraped, post, added, error) =
            match result.map_err(|e| (0, e)).and_then(|page| self.check(page)) {
                Ok(page) => {
                    let n = page.samples.len();
                    let mut cur = HashSet::with_capacity(self.prev.len());
                    let mut seen = HashSet::with_capacity(n);
                    let mut added = 0;
                    for s in &page.samples {
                        let labels = self.sample_labels(&s.labels);
                        // The synthetic series are the scraper's own: a page cannot set them.
                        if self.is_report_series(&labels) {
                            refused += 1;
                            continue;
                        }
                        let ts = s.timestamp_ms.unwrap_or(t);
                        if store.append(&labels, ts, s.value).is_err() {
                            refused += 1;
                        }
                        if !self.cache.contains(&labels) {
                            added += 1;
                        }
                        if s.timestamp_ms.is_none() {
                            cur.insert(labels.clone());
                        }
                        seen.insert(labels);
                    }
                    for gone in self.prev.difference(&cur) {
                        // Refused only when a newer sample is already there: nothing to mark.
                        let _ = store.append(gone, t, stale_marker());
                    }
                    self.prev = cur;
                    if n > 0 {
                        self.cache = seen;
                    }
                    (n, n, added, None)
                }
                Err((scraped, e)) => {
                    self.mark_all_stale(store, t);
                    (scraped, scraped, 0, Some(e.to_string()))
                }
            };
        let duration_secs = start.elapsed().as_secs_f64();
        let up = error.is_none();
        for (name, v) in REPORT_SERIES.iter().zip([
            if up { 1.0 } else { 0.0 },
            duration_secs,
            scraped as f64,
            post as f64,
            added as f64,
        ]) {
            let _ = store.append(&self.report_labels(name), t, v);
        }
        Outcome {
            up,
            duration_secs,
            samples_scraped: scraped,
            samples_post_relabeling: post,
            series_added: added,
            refused,
            error,
        }
    }

    /// A scrape error, or the page with the sample limit checked. The error carries the
    /// number of samples the page held (`scrape_samples_scraped` of a failed scrape).
    fn check(&self, page: Page) -> Result<Page, (usize, ScrapeError)> {
        let n = page.samples.len();
        if self.sample_limit > 0 && n > self.sample_limit {
            return Err((
                n,
                ScrapeError::SampleLimit {
                    limit: self.sample_limit,
                    got: n,
                },
            ));
        }
        Ok(page)
    }

    /// Stale markers at `t` for every series of the last successful scrape.
    fn mark_all_stale(&mut self, store: &mut Store, t: i64) {
        for gone in self.prev.drain() {
            let _ = store.append(&gone, t, stale_marker());
        }
    }

    /// The end of the target (removed, or the scraper stopped): stale markers at `t` for
    /// its series and its synthetic series. Nothing when it was never scraped.
    pub fn end(&mut self, store: &mut Store, t: i64) {
        if self.last_t.is_none() {
            return;
        }
        self.mark_all_stale(store, t);
        for name in REPORT_SERIES {
            let _ = store.append(&self.report_labels(name), t, stale_marker());
        }
    }

    fn is_report_series(&self, labels: &Labels) -> bool {
        labels.len() == self.target_labels.len() + 1
            && labels
                .get("__name__")
                .is_some_and(|n| REPORT_SERIES.contains(&n))
            && self
                .target_labels
                .iter()
                .all(|(k, v)| labels.get(k) == Some(v))
    }

    fn report_labels(&self, name: &str) -> Labels {
        let mut l = self.target_labels.clone();
        l.insert("__name__", name);
        l
    }
}

/// The target's labels set on a sample's (Prometheus's `mutateSampleLabels` without
/// relabelling); empty values dropped.
pub fn mutate_labels(page: &Labels, target: &Labels, honor_labels: bool) -> Labels {
    let mut out = page.clone();
    if honor_labels {
        for (k, v) in target.iter() {
            if page.get(k).is_none_or(str::is_empty) {
                out.insert(k, v);
            }
        }
    } else {
        for (k, v) in target.iter() {
            if let Some(existing) = page.get(k).filter(|e| !e.is_empty()) {
                let mut name = format!("exported_{k}");
                while page.contains_key(&name) || target.contains_key(&name) {
                    name = format!("exported_{name}");
                }
                out.insert(&name, existing);
            }
            out.insert(k, v);
        }
    }
    if out.values().any(str::is_empty) {
        out = out.iter().filter(|(_, v)| !v.is_empty()).collect();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exposition::{Format, Limits, parse};
    use crate::value::is_stale_marker;

    fn page(text: &str) -> Page {
        parse(text.as_bytes(), Format::Text, &Limits::default()).unwrap()
    }

    fn target() -> Labels {
        [("instance", "h:1"), ("job", "app")].into()
    }

    fn values(store: &Store, sel: &str) -> Vec<(i64, f64)> {
        let ms = crate::source::selector_matchers(sel).unwrap();
        let mut out = Vec::new();
        for id in store.select(&ms) {
            let mut pts = Vec::new();
            store.samples(id, i64::MIN, i64::MAX, &mut pts);
            out.extend(pts.into_iter().map(|p| (p.t, p.v)));
        }
        out
    }

    #[test]
    fn conflicting_labels_become_exported() {
        let t: Labels = [("instance", "h:1"), ("job", "app"), ("exported_job", "x")].into();
        let p: Labels = [("__name__", "m"), ("job", "theirs"), ("instance", "")].into();
        let m = mutate_labels(&p, &t, false);
        assert_eq!(
            m.to_string(),
            r#"{__name__="m", exported_exported_job="theirs", exported_job="x", instance="h:1", job="app"}"#
        );
        let m = mutate_labels(&p, &t, true);
        assert_eq!(
            m.to_string(),
            r#"{__name__="m", exported_job="x", instance="h:1", job="theirs"}"#
        );
    }

    #[test]
    fn missing_series_and_failed_scrapes_get_stale_markers() {
        let mut store = Store::default();
        let mut st = LoopState::new(target(), false, 0);
        let o = st.apply(
            &mut store,
            1_000,
            Ok(page("a 1\nb 2\nc 3 500\n")),
            Instant::now(),
        );
        assert!(o.up);
        assert_eq!((o.samples_scraped, o.series_added), (3, 3));
        let o = st.apply(&mut store, 2_000, Ok(page("a 2\n")), Instant::now());
        assert_eq!(o.series_added, 0);
        let b = values(&store, "b");
        assert_eq!(b[0], (1_000, 2.0));
        assert_eq!(b[1].0, 2_000);
        assert!(is_stale_marker(b[1].1));
        // An explicit timestamp is never marked stale.
        assert_eq!(values(&store, "c"), [(500, 3.0)]);
        let o = st.apply(
            &mut store,
            3_000,
            Err(ScrapeError::Status("500 Internal Server Error".into())),
            Instant::now(),
        );
        assert!(!o.up);
        assert!(o.error.unwrap().contains("500"));
        let a = values(&store, "a");
        assert_eq!(a.len(), 3);
        assert!(is_stale_marker(a[2].1));
        assert_eq!(
            values(&store, r#"up{job="app",instance="h:1"}"#),
            [(1_000, 1.0), (2_000, 1.0), (3_000, 0.0)]
        );
        // Back again: the series were in the cache of the last successful scrape.
        let o = st.apply(&mut store, 4_000, Ok(page("a 3\n")), Instant::now());
        assert_eq!(o.series_added, 0);
        assert_eq!(values(&store, "a").last(), Some(&(4_000, 3.0)));
        st.end(&mut store, 4_500);
        assert!(is_stale_marker(values(&store, "a").last().unwrap().1));
        for name in REPORT_SERIES {
            assert!(
                is_stale_marker(values(&store, name).last().unwrap().1),
                "{name}"
            );
        }
    }

    #[test]
    fn sample_limit_fails_the_scrape() {
        let mut store = Store::default();
        let mut st = LoopState::new(target(), false, 2);
        let o = st.apply(&mut store, 1_000, Ok(page("a 1\nb 2\n")), Instant::now());
        assert!(o.up);
        let o = st.apply(
            &mut store,
            2_000,
            Ok(page("a 1\nb 2\nc 3\n")),
            Instant::now(),
        );
        assert!(!o.up);
        assert_eq!(o.samples_scraped, 3);
        assert_eq!(
            o.error.as_deref(),
            Some("sample limit exceeded: 3 samples, the limit is 2")
        );
        assert!(values(&store, "c").is_empty());
        assert!(is_stale_marker(values(&store, "a")[1].1));
        assert_eq!(
            values(&store, "scrape_samples_scraped"),
            [(1_000, 2.0), (2_000, 3.0)]
        );
    }
}
