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
//!
//! A scrape is two steps: [`LoopState::parse`] reads the page (outside the store's lock)
//! and [`LoopState::apply`] stores it. Like Prometheus's `scrapeCache`, the loop keeps a
//! cache from the text of each series as the page writes it (`name{labels}`) to what it
//! became: the parser skips the labels of a text it has seen, and the sample goes to the
//! store by series id. Which series were in the last scrape, which are new and which
//! went missing is kept as per-scrape generation numbers in the cache's entries, so a
//! scrape of known series costs no allocation and no label hashing.

use std::collections::HashMap;
use std::time::Instant;

use foldhash::fast::RandomState;

use super::ScrapeError;
use crate::exposition::{
    Format, Limits, Metadata, SampleSink, SeriesRef, check_repeat, parse_into,
};
use crate::store::{SeriesId, Store};
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

/// A page read by [`LoopState::parse`], waiting for [`LoopState::apply`].
#[derive(Debug)]
pub struct Parsed {
    /// The families' `# HELP`/`# TYPE`/`# UNIT`.
    pub metadata: Vec<Metadata>,
    /// The scrape (generation) it belongs to.
    generation: u64,
}

/// One series text of a page (or several that give the same labels): the page's labels
/// and where they go.
#[derive(Debug)]
struct PageEntry {
    /// The labels as the page gives them.
    labels: Labels,
    /// Its stored series: index in [`ScrapeCache::finals`].
    fin: u32,
    /// The last scrape that gave it, and the timestamp it had then (duplicate checks).
    seen_gen: u64,
    last_ts: Option<i64>,
    /// Its place in [`ScrapeCache::order`] (meaningful only while that holds it).
    pos: u32,
}

/// One stored series of the target: the labels after the target's were set.
#[derive(Debug)]
struct FinalEntry {
    labels: Labels,
    /// Its id in the store of epoch `epoch`, once appended to.
    id: Option<(u64, SeriesId)>,
    /// One of the scrape's own synthetic series: a page may not write it.
    report: bool,
    /// The last successful scrape that stored a sample of it.
    seen_gen: u64,
    /// In that scrape: whether it was already in the last successful non-empty scrape
    /// before (not counted in `scrape_series_added`).
    was_cached: bool,
    /// The last successful scrape that gave it a sample without a timestamp.
    cur_gen: u64,
    /// The page entries that map to it (usually one).
    pages: Vec<u32>,
}

/// A target's scrape cache (Prometheus's `scrapeCache`, written for this project).
#[derive(Debug, Default)]
struct ScrapeCache {
    /// Series text as written -> page entry.
    raw: HashMap<Box<str>, u32, RandomState>,
    /// The format the texts in `raw` were checked in.
    format: Option<Format>,
    pages: Vec<Option<PageEntry>>,
    free_pages: Vec<u32>,
    live_pages: usize,
    finals: Vec<Option<FinalEntry>>,
    free_finals: Vec<u32>,
    by_final: HashMap<Labels, u32, RandomState>,
    /// Page entries after the last clean-up, to bound growth through failed scrapes.
    live_after_flush: usize,
    /// The series texts of the last page parsed without error, in page order, each with
    /// its page entry: pages list their series in the same order every scrape, so the
    /// text at the same place is compared first (sequential reads) before `raw` is asked
    /// (a hash and a random read). Every text here maps to its entry in `raw` as well.
    order: PageOrder,
    /// The order being built by the page in progress.
    next_order: PageOrder,
}

/// Series texts in page order: `texts` holds them end to end; `ends[k]` is where the
/// k-th ends and which page entry it is.
#[derive(Debug, Default)]
struct PageOrder {
    texts: String,
    ends: Vec<(u32, u32)>,
}

impl PageOrder {
    fn clear(&mut self) {
        self.texts.clear();
        self.ends.clear();
    }

    /// The k-th text and its page entry.
    #[inline]
    fn get(&self, k: usize) -> Option<(&str, u32)> {
        let &(end, p) = self.ends.get(k)?;
        let start = match k {
            0 => 0,
            _ => self.ends[k - 1].0,
        };
        Some((self.texts.get(start as usize..end as usize)?, p))
    }
}

impl ScrapeCache {
    fn page(&mut self, p: u32) -> &mut PageEntry {
        // Indices in `raw`, `batch` and `FinalEntry::pages` are of live entries only:
        // `flush` removes an entry from all of them together.
        self.pages[p as usize].as_mut().expect("live page entry")
    }

    fn fin(&mut self, f: u32) -> &mut FinalEntry {
        // As in `page`: only live indices are kept anywhere.
        self.finals[f as usize].as_mut().expect("live final entry")
    }

    /// The page entry of a series text not in `raw`, with its labels; made if needed.
    fn insert(&mut self, raw: Option<&str>, labels: Labels, target: &TargetInfo) -> u32 {
        let final_labels = mutate_labels(&labels, &target.labels, target.honor_labels);
        let f = match self.by_final.get(&final_labels) {
            Some(&f) => f,
            None => {
                let entry = FinalEntry {
                    report: target.is_report_series(&final_labels),
                    labels: final_labels.clone(),
                    id: None,
                    seen_gen: 0,
                    was_cached: false,
                    cur_gen: 0,
                    pages: Vec::new(),
                };
                let f = match self.free_finals.pop() {
                    Some(f) => {
                        self.finals[f as usize] = Some(entry);
                        f
                    }
                    None => {
                        self.finals.push(Some(entry));
                        (self.finals.len() - 1) as u32
                    }
                };
                self.by_final.insert(final_labels, f);
                f
            }
        };
        let pages = &self.pages;
        let existing = self.finals[f as usize].as_ref().and_then(|fin| {
            fin.pages.iter().copied().find(|&p| {
                pages[p as usize]
                    .as_ref()
                    .is_some_and(|e| e.labels == labels)
            })
        });
        let p = match existing {
            Some(p) => p,
            None => {
                let entry = PageEntry {
                    labels,
                    fin: f,
                    seen_gen: 0,
                    last_ts: None,
                    pos: u32::MAX,
                };
                let p = match self.free_pages.pop() {
                    Some(p) => {
                        self.pages[p as usize] = Some(entry);
                        p
                    }
                    None => {
                        self.pages.push(Some(entry));
                        (self.pages.len() - 1) as u32
                    }
                };
                self.live_pages += 1;
                self.fin(f).pages.push(p);
                p
            }
        };
        if let Some(raw) = raw {
            self.raw.insert(raw.into(), p);
        }
        p
    }

    /// Drops the stored series `keep` rejects, their page entries and texts, and page
    /// entries `keep_page` rejects (Prometheus's `iterDone` flush: series churn and
    /// texts not seen any more do not stay forever).
    fn flush(
        &mut self,
        keep: impl Fn(&FinalEntry) -> bool,
        keep_page: impl Fn(&PageEntry) -> bool,
    ) {
        for f in 0..self.finals.len() {
            let Some(fin) = &self.finals[f] else { continue };
            if keep(fin) {
                continue;
            }
            let fin = self.finals[f].take().expect("checked above");
            self.by_final.remove(&fin.labels);
            self.free_finals.push(f as u32);
            for p in fin.pages {
                if self.pages[p as usize].take().is_some() {
                    self.live_pages -= 1;
                    self.free_pages.push(p);
                }
            }
        }
        for p in 0..self.pages.len() {
            let Some(page) = &self.pages[p] else { continue };
            if keep_page(page) {
                continue;
            }
            let fin = page.fin;
            self.pages[p] = None;
            self.live_pages -= 1;
            self.free_pages.push(p as u32);
            self.fin(fin).pages.retain(|&q| q as usize != p);
        }
        let pages = &self.pages;
        self.raw.retain(|_, p| pages[*p as usize].is_some());
        self.live_after_flush = self.live_pages;
        // Its entries may be gone (and their slots reused).
        self.order.clear();
    }
}

/// What the loop knows of its target.
#[derive(Debug)]
struct TargetInfo {
    labels: Labels,
    honor_labels: bool,
}

impl TargetInfo {
    fn is_report_series(&self, labels: &Labels) -> bool {
        labels.len() == self.labels.len() + 1
            && labels
                .get("__name__")
                .is_some_and(|n| REPORT_SERIES.contains(&n))
            && self.labels.iter().all(|(k, v)| labels.get(k) == Some(v))
    }
}

/// The parser's sink during [`LoopState::parse`]: resolves each sample to its stored
/// series through the cache, checks duplicates, and queues it.
struct CacheSink<'a> {
    cache: &'a mut ScrapeCache,
    target: &'a TargetInfo,
    batch: &'a mut Vec<(u32, f64, Option<i64>)>,
    generation: u64,
    /// Page entries given by this page.
    distinct: usize,
    /// Where the page is in `cache.order`: the place of the next text expected.
    cursor: usize,
    /// The text `known` was last asked about, at the end of `cache.next_order.texts`
    /// from this offset until `sample` records it.
    pending: Option<usize>,
}

impl CacheSink<'_> {
    /// Records the pending text (if any) as page entry `p`'s in the page's order.
    fn record(&mut self, p: u32, keep: bool) {
        let Some(start) = self.pending.take() else {
            return;
        };
        let next = &mut self.cache.next_order;
        if keep && let Ok(end) = u32::try_from(next.texts.len()) {
            next.ends.push((end, p));
        } else {
            next.texts.truncate(start);
        }
    }
}

impl SampleSink for CacheSink<'_> {
    type Id = u32;

    fn known(&mut self, raw: &str) -> Option<u32> {
        let next = &mut self.cache.next_order;
        self.pending = Some(next.texts.len());
        next.texts.push_str(raw);
        if let Some((text, p)) = self.cache.order.get(self.cursor)
            && text == raw
        {
            self.cursor += 1;
            return Some(p);
        }
        let p = self.cache.raw.get(raw).copied()?;
        // Back in step with the last page after a series came or went.
        let pos = self.cache.page(p).pos as usize;
        if self.cache.order.get(pos).is_some_and(|(_, q)| q == p) {
            self.cursor = pos + 1;
        }
        Some(p)
    }

    fn sample(
        &mut self,
        series: SeriesRef<'_, u32>,
        value: f64,
        timestamp_ms: Option<i64>,
    ) -> Result<(), String> {
        let p = match series {
            SeriesRef::Known(p) => {
                self.record(p, true);
                p
            }
            SeriesRef::New { raw, labels } => {
                let keep = raw.is_some();
                let p = self.cache.insert(raw, labels, self.target);
                // Only texts that `raw` maps to their entry go in the order.
                self.record(p, keep);
                p
            }
        };
        let generation = self.generation;
        let page = self.cache.page(p);
        if page.seen_gen == generation {
            check_repeat(&page.labels, page.last_ts, timestamp_ms)?;
        } else {
            page.seen_gen = generation;
            self.distinct += 1;
        }
        page.last_ts = timestamp_ms;
        self.batch.push((page.fin, value, timestamp_ms));
        Ok(())
    }
}

/// The memory of one target's loop.
#[derive(Debug)]
pub struct LoopState {
    target: TargetInfo,
    sample_limit: usize,
    cache: ScrapeCache,
    /// The samples of the page parsed last: stored series (index in the cache), value,
    /// explicit timestamp.
    batch: Vec<(u32, f64, Option<i64>)>,
    /// The current scrape; numbers start at 1 (0 = never).
    generation: u64,
    /// Page entries the current page gave.
    distinct: usize,
    /// The last successful non-empty scrape: its series are not "added" when they come
    /// again (`scrape_series_added`). 0 = none yet.
    ok_gen: u64,
    /// Series written with the scrape's timestamp by the last successful scrape: the
    /// ones that get a stale marker when they go missing.
    prev: Vec<u32>,
    /// The same, being collected by the scrape in progress.
    cur: Vec<u32>,
    /// The labels of the synthetic series.
    report: Vec<Labels>,
    /// Timestamp of the last scrape, if any.
    last_t: Option<i64>,
}

impl LoopState {
    pub fn new(target_labels: Labels, honor_labels: bool, sample_limit: usize) -> Self {
        let report = REPORT_SERIES
            .iter()
            .map(|name| {
                let mut l = target_labels.clone();
                l.insert("__name__", name);
                l
            })
            .collect();
        LoopState {
            target: TargetInfo {
                labels: target_labels,
                honor_labels,
            },
            sample_limit,
            cache: ScrapeCache::default(),
            batch: Vec::new(),
            generation: 0,
            distinct: 0,
            ok_gen: 0,
            prev: Vec::new(),
            cur: Vec::new(),
            report,
            last_t: None,
        }
    }

    pub fn last_t(&self) -> Option<i64> {
        self.last_t
    }

    /// The labels a page's sample is stored with.
    pub fn sample_labels(&self, page_labels: &Labels) -> Labels {
        mutate_labels(page_labels, &self.target.labels, self.target.honor_labels)
    }

    /// Number of series texts the cache holds (for tests and the benchmarks).
    pub fn cached_texts(&self) -> usize {
        self.cache.raw.len()
    }

    /// Reads a page for the next [`apply`](LoopState::apply) (the first step of a
    /// scrape; the store is not touched).
    pub fn parse(&mut self, bytes: &[u8], format: Format) -> Result<Parsed, ScrapeError> {
        self.generation += 1;
        self.batch.clear();
        if self.cache.format != Some(format) {
            // A text checked in one format may be invalid in the other.
            self.cache.raw.clear();
            self.cache.order.clear();
            self.cache.format = Some(format);
        }
        self.cache.next_order.clear();
        let mut sink = CacheSink {
            cache: &mut self.cache,
            target: &self.target,
            batch: &mut self.batch,
            generation: self.generation,
            distinct: 0,
            cursor: 0,
            pending: None,
        };
        let result = parse_into(bytes, format, &Limits::default(), &mut sink);
        self.distinct = sink.distinct;
        match result {
            Ok(metadata) => {
                // This page's order is the one the next page is compared with.
                let cache = &mut self.cache;
                std::mem::swap(&mut cache.order, &mut cache.next_order);
                for (k, &(_, p)) in cache.order.ends.iter().enumerate() {
                    if let Some(Some(page)) = cache.pages.get_mut(p as usize) {
                        page.pos = k as u32;
                    }
                }
                Ok(Parsed {
                    metadata,
                    generation: self.generation,
                })
            }
            Err(e) => {
                self.batch.clear();
                Err(ScrapeError::Parse(e))
            }
        }
    }

    /// Stores the result of the scrape that started at `start` with timestamp `t` (ms):
    /// the samples of the page [`parse`](LoopState::parse) read (or stale markers when
    /// the scrape failed) and the five synthetic series.
    pub fn apply(
        &mut self,
        store: &mut Store,
        t: i64,
        result: Result<Parsed, ScrapeError>,
        start: Instant,
    ) -> Outcome {
        self.last_t = Some(t);
        let mut refused = 0;
        let result = match result {
            Ok(parsed) if parsed.generation != self.generation => Err((
                0,
                ScrapeError::Request("internal error: a page parsed for another scrape".into()),
            )),
            Ok(_) => self.check(),
            Err(e) => Err((0, e)),
        };
        let (scraped, post, added, error) = match result {
            Ok(()) => {
                let n = self.batch.len();
                let (added, r) = self.store_batch(store, t);
                refused += r;
                (n, n, added, None)
            }
            Err((scraped, e)) => {
                self.mark_all_stale(store, t);
                self.after_failure();
                (scraped, scraped, 0, Some(e.to_string()))
            }
        };
        self.batch.clear();
        let duration_secs = start.elapsed().as_secs_f64();
        let up = error.is_none();
        for (labels, v) in self.report.iter().zip([
            if up { 1.0 } else { 0.0 },
            duration_secs,
            scraped as f64,
            post as f64,
            added as f64,
        ]) {
            let _ = store.append(labels, t, v);
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

    /// Appends the parsed samples; stale markers for the series of the last successful
    /// scrape that are missing now. Returns (series added, samples refused).
    fn store_batch(&mut self, store: &mut Store, t: i64) -> (usize, usize) {
        let g = self.generation;
        let ok_gen = self.ok_gen;
        let mut added = 0;
        let mut refused = 0;
        self.cur.clear();
        for &(f, v, ts) in &self.batch {
            let fin = self.cache.fin(f);
            // The synthetic series are the scraper's own: a page cannot set them.
            if fin.report {
                refused += 1;
                continue;
            }
            if append(store, fin, ts.unwrap_or(t), v).is_err() {
                refused += 1;
            }
            if fin.seen_gen != g {
                fin.was_cached = ok_gen != 0 && fin.seen_gen == ok_gen;
                fin.seen_gen = g;
            }
            if !fin.was_cached {
                added += 1;
            }
            if ts.is_none() && fin.cur_gen != g {
                fin.cur_gen = g;
                self.cur.push(f);
            }
        }
        for &f in &self.prev {
            let fin = self.cache.fin(f);
            if fin.cur_gen != g {
                // Refused only when a newer sample is already there: nothing to mark.
                let _ = append(store, fin, t, stale_marker());
            }
        }
        std::mem::swap(&mut self.prev, &mut self.cur);
        self.cur.clear();
        if !self.batch.is_empty() {
            self.ok_gen = g;
            if self.cache.live_pages > self.distinct {
                self.cache
                    .flush(|fin| fin.seen_gen == g, |page| page.seen_gen == g);
            }
        }
        (added, refused)
    }

    /// After a failed scrape: a cache grown by pages that never got stored (their texts
    /// kept changing) is cut back to the series of the last successful scrape.
    fn after_failure(&mut self) {
        if self.cache.live_pages > self.cache.live_after_flush * 2 + 1000 {
            let ok_gen = self.ok_gen;
            let keep = |fin: &FinalEntry| ok_gen != 0 && fin.seen_gen == ok_gen;
            self.cache.flush(keep, |_| true);
        }
    }

    /// A scrape error, or `Ok` with the sample limit checked. The error carries the
    /// number of samples the page held (`scrape_samples_scraped` of a failed scrape).
    fn check(&self) -> Result<(), (usize, ScrapeError)> {
        let n = self.batch.len();
        if self.sample_limit > 0 && n > self.sample_limit {
            return Err((
                n,
                ScrapeError::SampleLimit {
                    limit: self.sample_limit,
                    got: n,
                },
            ));
        }
        Ok(())
    }

    /// Stale markers at `t` for every series of the last successful scrape.
    fn mark_all_stale(&mut self, store: &mut Store, t: i64) {
        for f in std::mem::take(&mut self.prev) {
            let _ = append(store, self.cache.fin(f), t, stale_marker());
        }
    }

    /// The end of the target (removed, or the scraper stopped): stale markers at `t` for
    /// its series and its synthetic series. Nothing when it was never scraped.
    pub fn end(&mut self, store: &mut Store, t: i64) {
        if self.last_t.is_none() {
            return;
        }
        self.mark_all_stale(store, t);
        for labels in &self.report {
            let _ = store.append(labels, t, stale_marker());
        }
    }
}

/// Appends to the stored series of `fin`: by id when the store still has it, else by
/// labels (remembering the id).
fn append(
    store: &mut Store,
    fin: &mut FinalEntry,
    t: i64,
    v: f64,
) -> Result<(), crate::store::StoreError> {
    if let Some((epoch, id)) = fin.id
        && let Some(r) = store.append_id(epoch, id, t, v)
    {
        return r;
    }
    let (id, r) = store.append_get_id(&fin.labels, t, v);
    fin.id = id.map(|id| (store.epoch(), id));
    r
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
    use crate::value::is_stale_marker;

    fn scrape(st: &mut LoopState, store: &mut Store, t: i64, text: &str) -> Outcome {
        let parsed = st.parse(text.as_bytes(), Format::Text);
        st.apply(store, t, parsed, Instant::now())
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
        let o = scrape(&mut st, &mut store, 1_000, "a 1\nb 2\nc 3 500\n");
        assert!(o.up);
        assert_eq!((o.samples_scraped, o.series_added), (3, 3));
        let o = scrape(&mut st, &mut store, 2_000, "a 2\n");
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
        let o = scrape(&mut st, &mut store, 4_000, "a 3\n");
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
        let o = scrape(&mut st, &mut store, 1_000, "a 1\nb 2\n");
        assert!(o.up);
        let o = scrape(&mut st, &mut store, 2_000, "a 1\nb 2\nc 3\n");
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

    fn om_scrape(st: &mut LoopState, store: &mut Store, t: i64, text: &str) -> Outcome {
        let parsed = st.parse(text.as_bytes(), Format::OpenMetrics);
        st.apply(store, t, parsed, Instant::now())
    }

    #[test]
    fn a_series_that_changes_labels_is_new_and_the_old_one_stale() {
        let mut store = Store::default();
        let mut st = LoopState::new(target(), false, 0);
        let o = scrape(&mut st, &mut store, 1_000, "a{x=\"1\"} 1\nb 1\n");
        assert_eq!(o.series_added, 2);
        let o = scrape(&mut st, &mut store, 2_000, "a{x=\"2\"} 2\nb 2\n");
        assert_eq!((o.series_added, o.refused), (1, 0));
        let old = values(&store, r#"a{x="1"}"#);
        assert_eq!(old[0], (1_000, 1.0));
        assert!(is_stale_marker(old[1].1));
        assert_eq!(values(&store, r#"a{x="2"}"#), [(2_000, 2.0)]);
        // The text no page gives any more is gone from the cache.
        assert_eq!(st.cached_texts(), 2);
        // And back: new again (it was not in the last scrape), the other one stale.
        let o = scrape(&mut st, &mut store, 3_000, "a{x=\"1\"} 3\nb 3\n");
        assert_eq!(o.series_added, 1);
        assert_eq!(values(&store, r#"a{x="1"}"#).last(), Some(&(3_000, 3.0)));
        assert!(is_stale_marker(values(&store, r#"a{x="2"}"#)[1].1));
    }

    #[test]
    fn a_series_that_drops_out_comes_back_on_the_same_stored_series() {
        let mut store = Store::default();
        let mut st = LoopState::new(target(), false, 0);
        scrape(&mut st, &mut store, 1_000, "a 1\nb 1\n");
        let o = scrape(&mut st, &mut store, 2_000, "a 2\n");
        assert_eq!(o.series_added, 0);
        let o = scrape(&mut st, &mut store, 3_000, "a 3\nb 3\n");
        // Not in the last successful scrape: added again, as Prometheus counts it.
        assert_eq!(o.series_added, 1);
        let b = values(&store, "b");
        assert_eq!(b.len(), 3);
        assert_eq!((b[0], b[2]), ((1_000, 1.0), (3_000, 3.0)));
        assert!(is_stale_marker(b[1].1));
        assert_eq!(
            store
                .select(&crate::source::selector_matchers("b").unwrap())
                .len(),
            1
        );
    }

    #[test]
    fn texts_that_give_the_same_labels_are_one_series() {
        let mut store = Store::default();
        let mut st = LoopState::new(target(), false, 0);
        scrape(&mut st, &mut store, 1_000, "a{x=\"1\",y=\"2\"} 1\n");
        // Another order and blanks: the same series, not added, not stale.
        let o = scrape(&mut st, &mut store, 2_000, "a { y = \"2\", x=\"1\", } 2\n");
        assert!(o.up, "{:?}", o.error);
        assert_eq!(o.series_added, 0);
        assert_eq!(
            values(&store, r#"a{x="1",y="2"}"#),
            [(1_000, 1.0), (2_000, 2.0)]
        );
        // Both texts in one page: a duplicate series, whichever text came first.
        for page in [
            "a{x=\"1\",y=\"2\"} 1\na{y=\"2\",x=\"1\"} 2\n",
            "a { y = \"2\", x=\"1\", } 1\na{x=\"1\",y=\"2\"} 2\n",
            "a 1\na 2\n",
        ] {
            let o = scrape(&mut st, &mut store, 3_000, page);
            assert!(!o.up);
            assert!(
                o.error.as_deref().unwrap().contains("duplicate series"),
                "{page}: {:?}",
                o.error
            );
        }
        // Repeated with increasing explicit timestamps: allowed.
        let o = scrape(&mut st, &mut store, 4_000, "c 1 100\nc 2 200\nc{} 3 300\n");
        assert!(o.up, "{:?}", o.error);
        assert_eq!(values(&store, "c"), [(100, 1.0), (200, 2.0), (300, 3.0)]);
        let o = scrape(&mut st, &mut store, 5_000, "c 1 400\nc{} 2 400\n");
        assert!(o.error.unwrap().contains("a sample at 400 ms or later"));
    }

    #[test]
    fn honor_labels_and_exported_labels_through_the_cache() {
        for honor in [false, true] {
            let mut store = Store::default();
            let mut st = LoopState::new(target(), honor, 0);
            let page = "m{job=\"theirs\"} 1\nm{job=\"\"} 2\nn{instance=\"i\",job=\"j\"} 3\n";
            for t in [1_000, 2_000] {
                let o = scrape(&mut st, &mut store, t, page);
                assert!(o.up, "{:?}", o.error);
                assert_eq!(o.series_added, if t == 1_000 { 3 } else { 0 });
            }
            let got: Vec<String> = store
                .select(&crate::source::selector_matchers(r#"{__name__=~"m|n"}"#).unwrap())
                .into_iter()
                .map(|id| store.labels(id).unwrap().to_string())
                .collect();
            let want = if honor {
                [
                    r#"{__name__="m", instance="h:1", job="app"}"#,
                    r#"{__name__="m", instance="h:1", job="theirs"}"#,
                    r#"{__name__="n", instance="i", job="j"}"#,
                ]
            } else {
                [
                    r#"{__name__="m", exported_job="theirs", instance="h:1", job="app"}"#,
                    r#"{__name__="m", instance="h:1", job="app"}"#,
                    r#"{__name__="n", exported_instance="i", exported_job="j", instance="h:1", job="app"}"#,
                ]
            };
            let mut got = got;
            got.sort();
            assert_eq!(got, want, "honor_labels = {honor}");
        }
    }

    #[test]
    fn texts_that_collide_after_the_target_labels_are_refused_by_the_store() {
        // `job` becomes `exported_job`: the same stored series as the page's own
        // `exported_job`. Not a duplicate in the page; the store keeps the first value.
        let mut store = Store::default();
        let mut st = LoopState::new(target(), false, 0);
        let page = "m{job=\"x\"} 1\nm{exported_job=\"x\"} 2\n";
        let o = scrape(&mut st, &mut store, 1_000, page);
        assert!(o.up);
        assert_eq!((o.series_added, o.refused), (2, 1));
        let o = scrape(&mut st, &mut store, 2_000, page);
        assert_eq!((o.series_added, o.refused), (0, 1));
        assert_eq!(
            values(&store, r#"m{exported_job="x"}"#),
            [(1_000, 1.0), (2_000, 1.0)]
        );
    }

    #[test]
    fn a_page_cannot_write_the_synthetic_series() {
        let mut store = Store::default();
        let mut st = LoopState::new(target(), true, 0);
        for t in [1_000, 2_000] {
            let o = scrape(
                &mut st,
                &mut store,
                t,
                "up 0\nscrape_series_added{job=\"other\"} 7\n",
            );
            assert!(o.up);
            assert_eq!(o.refused, 1);
        }
        assert_eq!(
            values(&store, r#"up{job="app"}"#),
            [(1_000, 1.0), (2_000, 1.0)]
        );
        assert_eq!(
            values(&store, r#"scrape_series_added{job="other"}"#),
            [(1_000, 7.0), (2_000, 7.0)]
        );
    }

    #[test]
    fn a_series_the_store_dropped_is_stored_again() {
        let mut store = Store::default();
        let mut st = LoopState::new(target(), false, 0);
        scrape(&mut st, &mut store, 1_000, "a 1\n");
        store.clear();
        let o = scrape(&mut st, &mut store, 2_000, "a 2\n");
        assert!(o.up);
        assert_eq!(values(&store, "a"), [(2_000, 2.0)]);
        // Dropped by retention (no sample left in the window) while still cached.
        let mut store = Store::new(crate::store::StoreConfig {
            retention_ms: 10_000,
            ..Default::default()
        });
        let mut st = LoopState::new(target(), false, 0);
        scrape(&mut st, &mut store, 1_000, "a 1 1000\nb 1\n");
        scrape(&mut st, &mut store, 100_000, "a 2 1000\nb 2\n");
        store.enforce_retention();
        assert!(values(&store, "a").is_empty());
        let o = scrape(&mut st, &mut store, 200_000, "a 3 195000\nb 3\n");
        assert_eq!(o.refused, 0);
        assert_eq!(values(&store, "a"), [(195_000, 3.0)]);
    }

    #[test]
    fn a_text_checked_in_one_format_is_checked_again_in_the_other() {
        let mut store = Store::default();
        let mut st = LoopState::new(target(), false, 0);
        assert!(scrape(&mut st, &mut store, 1_000, "a {x=\"1\"} 1\n").up);
        let o = om_scrape(&mut st, &mut store, 2_000, "a {x=\"1\"} 1\n# EOF\n");
        assert!(!o.up);
        assert!(o.error.unwrap().contains("line 1"));
        let o = om_scrape(&mut st, &mut store, 3_000, "a{x=\"1\"} 1\n# EOF\n");
        assert!(o.up, "{:?}", o.error);
    }

    #[test]
    fn the_cache_does_not_grow_with_churn() {
        let mut store = Store::default();
        // Successful scrapes: only the last page's texts stay.
        let mut st = LoopState::new(target(), false, 0);
        for i in 0..50 {
            let page = format!("a{{i=\"{i}\"}} 1\nb 1\n");
            assert!(scrape(&mut st, &mut store, 1_000 * (i + 1), &page).up);
            assert_eq!(st.cached_texts(), 2);
        }
        // Failed scrapes (sample limit) never flush by success: bounded all the same.
        let mut st = LoopState::new(target(), false, 1);
        scrape(&mut st, &mut store, 1_000, "b 1\n");
        for i in 0..3_000 {
            let page = format!("a{{i=\"{i}\"}} 1\nb 1\n");
            assert!(!scrape(&mut st, &mut store, 2_000 + i, &page).up);
            assert!(st.cached_texts() <= 1_002, "{}", st.cached_texts());
        }
        // The series of the last successful scrape stayed cached.
        assert_eq!(scrape(&mut st, &mut store, 10_000, "b 1\n").series_added, 0);
    }

    /// The scrape cache changes nothing: random pages (label orders, blanks, empty
    /// values, conflicts with the target's labels, synthetic names, explicit timestamps,
    /// duplicates, failed scrapes) give the same outcomes and the same store as the
    /// straightforward way (parse every label set, mutate it, look it up by labels).
    #[test]
    fn the_cache_stores_what_plain_label_handling_stores() {
        use proptest::prelude::*;
        use proptest::test_runner::{Config, TestRunner};

        let label = (
            prop::sample::select(vec!["job", "instance", "exported_job", "x"]),
            prop::sample::select(vec!["", "1", "app", "h:1"]),
        );
        let sample = (
            prop::sample::select(vec!["a", "b", "up", "scrape_series_added"]),
            prop::collection::vec(label, 0..3),
            any::<bool>(),
            prop::option::of(prop::sample::select(vec![500i64, 20_000])),
            0u8..4,
        );
        let page = prop::option::weighted(0.9, prop::collection::vec(sample, 0..6));
        let strategy = (any::<bool>(), 0usize..6, prop::collection::vec(page, 1..8));
        let mut runner = TestRunner::new(Config {
            cases: 400,
            ..Config::default()
        });
        runner
            .run(&strategy, |(honor, limit, pages)| {
                let mut store = Store::default();
                let mut plain_store = Store::default();
                let mut st = LoopState::new(target(), honor, limit);
                let mut plain = Plain::new(target(), honor, limit);
                for (i, page) in pages.iter().enumerate() {
                    let t = 1_000 * (i as i64 + 1);
                    let text = page.as_ref().map(|samples| {
                        let mut text = String::new();
                        for (name, labels, blanks, ts, v) in samples {
                            text.push_str(name);
                            if !labels.is_empty() || *blanks {
                                text.push_str(if *blanks { " { " } else { "{" });
                                for (k, v) in labels {
                                    text.push_str(&format!("{k}=\"{v}\","));
                                }
                                text.push('}');
                            }
                            text.push_str(&format!(" {v}"));
                            if let Some(ts) = ts {
                                text.push_str(&format!(" {ts}"));
                            }
                            text.push('\n');
                        }
                        text
                    });
                    let o = match &text {
                        Some(text) => scrape(&mut st, &mut store, t, text),
                        None => {
                            let e = Err(ScrapeError::Status("503".into()));
                            st.apply(&mut store, t, e, Instant::now())
                        }
                    };
                    let p = plain.apply(&mut plain_store, t, text.as_deref());
                    let got = (o.up, o.samples_scraped, o.series_added, o.refused, o.error);
                    prop_assert_eq!(got, p, "scrape {} of {:?}", i, text);
                }
                st.end(&mut store, 100_000);
                plain.end(&mut plain_store, 100_000);
                prop_assert_eq!(dump(&store), dump(&plain_store));
                Ok(())
            })
            .unwrap();
    }

    /// Every series and sample of a store, `scrape_duration_seconds` by time only.
    fn dump(store: &Store) -> Vec<(String, Vec<(i64, u64)>)> {
        let mut out: Vec<_> = store
            .select(&[])
            .into_iter()
            .map(|id| {
                let labels = store.labels(id).unwrap();
                let timing = labels.get("__name__") == Some("scrape_duration_seconds");
                let mut pts = Vec::new();
                store.samples(id, i64::MIN, i64::MAX, &mut pts);
                let pts = pts
                    .iter()
                    .map(|p| {
                        (
                            p.t,
                            if timing && !is_stale_marker(p.v) {
                                0
                            } else {
                                p.v.to_bits()
                            },
                        )
                    })
                    .collect();
                (labels.to_string(), pts)
            })
            .collect();
        out.sort();
        out
    }

    /// The reference for the property test: each sample's labels parsed, mutated and
    /// stored by labels; sets of label sets for staleness and `scrape_series_added`.
    struct Plain {
        target: Labels,
        honor: bool,
        limit: usize,
        prev: std::collections::HashSet<Labels>,
        cache: std::collections::HashSet<Labels>,
        last_t: bool,
    }

    impl Plain {
        fn new(target: Labels, honor: bool, limit: usize) -> Self {
            Plain {
                target,
                honor,
                limit,
                prev: Default::default(),
                cache: Default::default(),
                last_t: false,
            }
        }

        fn report(&self, name: &str) -> Labels {
            let mut l = self.target.clone();
            l.insert("__name__", name);
            l
        }

        fn apply(
            &mut self,
            store: &mut Store,
            t: i64,
            text: Option<&str>,
        ) -> (bool, usize, usize, usize, Option<String>) {
            use crate::exposition::parse;
            self.last_t = true;
            let page = match text {
                None => Err((0, "server returned HTTP status 503".to_owned())),
                Some(text) => parse(text.as_bytes(), Format::Text, &Limits::default())
                    .map_err(|e| (0, ScrapeError::Parse(e).to_string())),
            };
            let page = page.and_then(|p| {
                let n = p.samples.len();
                if self.limit > 0 && n > self.limit {
                    let e = ScrapeError::SampleLimit {
                        limit: self.limit,
                        got: n,
                    };
                    return Err((n, e.to_string()));
                }
                Ok(p)
            });
            let mut refused = 0;
            let (n, added, error) = match page {
                Ok(page) => {
                    let mut cur = std::collections::HashSet::new();
                    let mut seen = std::collections::HashSet::new();
                    let mut added = 0;
                    for s in &page.samples {
                        let labels = mutate_labels(&s.labels, &self.target, self.honor);
                        let target = TargetInfo {
                            labels: self.target.clone(),
                            honor_labels: self.honor,
                        };
                        if target.is_report_series(&labels) {
                            refused += 1;
                            continue;
                        }
                        if store
                            .append(&labels, s.timestamp_ms.unwrap_or(t), s.value)
                            .is_err()
                        {
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
                        let _ = store.append(gone, t, stale_marker());
                    }
                    self.prev = cur;
                    if !page.samples.is_empty() {
                        self.cache = seen;
                    }
                    (page.samples.len(), added, None)
                }
                Err((n, e)) => {
                    for gone in self.prev.drain() {
                        let _ = store.append(&gone, t, stale_marker());
                    }
                    (n, 0, Some(e))
                }
            };
            let up = error.is_none();
            for (name, v) in REPORT_SERIES.iter().zip([
                if up { 1.0 } else { 0.0 },
                0.0,
                n as f64,
                n as f64,
                added as f64,
            ]) {
                let _ = store.append(&self.report(name), t, v);
            }
            (up, n, added, refused, error)
        }

        fn end(&mut self, store: &mut Store, t: i64) {
            if !self.last_t {
                return;
            }
            for gone in self.prev.drain() {
                let _ = store.append(&gone, t, stale_marker());
            }
            for name in REPORT_SERIES {
                let _ = store.append(&self.report(name), t, stale_marker());
            }
        }
    }
}
