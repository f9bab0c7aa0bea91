//! The Prometheus text exposition format 0.0.4 and OpenMetrics text 1.0, written for this
//! project.
//!
//! [`parse`] reads a whole page (a scrape body or a recorded `.om` file) into samples and
//! the metadata of its families (`# HELP`, `# TYPE`, `# UNIT`). A malformed page is one
//! [`ParseError`] naming the line and column (1-based, in characters) and what was
//! expected there; no input makes it panic.
//!
//! What it follows: the text format of Prometheus's exposition-formats documentation
//! (label values escape `\\`, `\"` and `\n`; values are Go floats with `NaN`, `+Inf`,
//! `-Inf`; optional timestamps are integer milliseconds) and the OpenMetrics 1.0
//! specification (timestamps are seconds with an optional fraction, `# EOF` ends the page
//! and nothing may follow it, no blank lines, `# UNIT`, exemplars after ` # `). The way a
//! timestamp in seconds becomes milliseconds is Prometheus's own
//! (`model/textparse/openmetricsparse.go`: `int64(ts * 1000)`), so a file loaded here and
//! backfilled with `promtool tsdb create-blocks-from openmetrics` holds the same samples.
//!
//! A series that appears twice with the same timestamp (or twice without one) is an
//! error, as Prometheus rejects such a scrape; an OpenMetrics file may hold many samples
//! of one series at increasing timestamps.

use std::collections::HashMap;
use std::fmt;

use crate::store::{Store, StoreError};
use crate::value::Labels;

/// Which text format a page is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `text/plain; version=0.0.4`.
    Text,
    /// `application/openmetrics-text; version=1.0.0`.
    OpenMetrics,
}

impl Format {
    /// The format a `Content-Type` header announces: OpenMetrics for
    /// `application/openmetrics-text`, the text format for anything else (as Prometheus
    /// falls back).
    pub fn from_content_type(content_type: &str) -> Format {
        let media = content_type
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        if media == "application/openmetrics-text" {
            Format::OpenMetrics
        } else {
            Format::Text
        }
    }
}

/// Bounds on what one page may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Longest line, in bytes (without its `\n`).
    pub max_line_bytes: usize,
    /// Most samples in a page (Prometheus's `sample_limit`); `None` for no limit.
    pub max_samples: Option<usize>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_line_bytes: 1 << 20,
            max_samples: None,
        }
    }
}

/// What a page says a family is (`# TYPE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricType {
    Counter,
    Gauge,
    Histogram,
    GaugeHistogram,
    Summary,
    Info,
    StateSet,
    Untyped,
}

impl MetricType {
    fn parse(word: &str, format: Format) -> Option<MetricType> {
        Some(match (word, format) {
            ("counter", _) => MetricType::Counter,
            ("gauge", _) => MetricType::Gauge,
            ("histogram", _) => MetricType::Histogram,
            ("summary", _) => MetricType::Summary,
            ("untyped", Format::Text) | ("unknown", Format::OpenMetrics) => MetricType::Untyped,
            ("gaugehistogram", Format::OpenMetrics) => MetricType::GaugeHistogram,
            ("info", Format::OpenMetrics) => MetricType::Info,
            ("stateset", Format::OpenMetrics) => MetricType::StateSet,
            _ => return None,
        })
    }

    /// The word OpenMetrics uses for this type in `# TYPE`.
    pub fn openmetrics_name(self) -> &'static str {
        match self {
            MetricType::Counter => "counter",
            MetricType::Gauge => "gauge",
            MetricType::Histogram => "histogram",
            MetricType::GaugeHistogram => "gaugehistogram",
            MetricType::Summary => "summary",
            MetricType::Info => "info",
            MetricType::StateSet => "stateset",
            MetricType::Untyped => "unknown",
        }
    }

    /// The name suffixes a sample of a family of this type may have in OpenMetrics.
    pub fn suffixes(self) -> &'static [&'static str] {
        match self {
            MetricType::Counter => &["_total", "_created"],
            MetricType::Histogram => &["_bucket", "_count", "_sum", "_created"],
            MetricType::GaugeHistogram => &["_bucket", "_gcount", "_gsum"],
            MetricType::Summary => &["", "_count", "_sum", "_created"],
            MetricType::Info => &["_info"],
            MetricType::Gauge | MetricType::StateSet | MetricType::Untyped => &[""],
        }
    }
}

/// `# HELP`, `# TYPE` and `# UNIT` of one family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metadata {
    pub name: String,
    pub kind: Option<MetricType>,
    pub help: Option<String>,
    pub unit: Option<String>,
}

/// One sample of a page: its labels (with `__name__`), value and timestamp if given.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedSample {
    pub labels: Labels,
    pub value: f64,
    /// Milliseconds since the Unix epoch.
    pub timestamp_ms: Option<i64>,
}

/// A parsed page.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Page {
    pub samples: Vec<ParsedSample>,
    /// Families in the order the page first mentions them.
    pub metadata: Vec<Metadata>,
}

/// Where a page is malformed and what was expected there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub col: usize,
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.line, self.col, self.message)
    }
}

impl std::error::Error for ParseError {}

/// Parses a whole page in `format`.
pub fn parse(input: &[u8], format: Format, limits: &Limits) -> Result<Page, ParseError> {
    let mut sink = PageSink {
        samples: Vec::new(),
        seen: HashMap::new(),
    };
    let metadata = parse_into(input, format, limits, &mut sink)?;
    Ok(Page {
        samples: sink.samples,
        metadata,
    })
}

/// Where [`parse_into`] puts a page's samples: a consumer that may already know a series
/// by its text, as Prometheus's scrape cache knows it (`scrape/scrape.go`, `scrapeCache`),
/// so that a series seen before costs no label parsing at all.
pub trait SampleSink {
    /// What the sink calls a series it knows.
    type Id: Copy;
    /// The series written as `raw` (its name and label set exactly as the page has them),
    /// if the sink has seen that text before. The parser checks a known text no further.
    fn known(&mut self, raw: &str) -> Option<Self::Id>;
    /// One sample of the page, in page order. `Err(message)` fails the page there (e.g. a
    /// duplicate series).
    fn sample(
        &mut self,
        series: SeriesRef<'_, Self::Id>,
        value: f64,
        timestamp_ms: Option<i64>,
    ) -> Result<(), String>;
}

/// The series of a sample given to a [`SampleSink`].
#[derive(Debug)]
pub enum SeriesRef<'a, Id> {
    /// A text the sink knew.
    Known(Id),
    /// A text the sink did not know, with its parsed labels (`__name__` included). `raw`
    /// is `None` when the text cannot serve as a key (never in practice).
    New {
        raw: Option<&'a str>,
        labels: Labels,
    },
}

/// Parses a whole page in `format`, giving its samples to `sink`; returns the families'
/// metadata in the order the page first mentions them.
pub fn parse_into<S: SampleSink>(
    input: &[u8],
    format: Format,
    limits: &Limits,
    sink: &mut S,
) -> Result<Vec<Metadata>, ParseError> {
    Parser {
        format,
        limits: *limits,
        metadata: Vec::new(),
        samples: 0,
        families: HashMap::new(),
        current: None,
        line_no: 0,
        sink,
    }
    .run(input)
}

/// The sink of [`parse`]: every sample with its labels, duplicates refused.
struct PageSink {
    samples: Vec<ParsedSample>,
    /// Series -> the timestamp of its last sample, for duplicate detection.
    seen: HashMap<Labels, Option<i64>>,
}

impl SampleSink for PageSink {
    type Id = std::convert::Infallible;

    fn known(&mut self, _raw: &str) -> Option<Self::Id> {
        None
    }

    fn sample(
        &mut self,
        series: SeriesRef<'_, Self::Id>,
        value: f64,
        timestamp_ms: Option<i64>,
    ) -> Result<(), String> {
        let labels = match series {
            SeriesRef::Known(never) => match never {},
            SeriesRef::New { labels, .. } => labels,
        };
        match self.seen.get_mut(&labels) {
            Some(last) => {
                check_repeat(&labels, *last, timestamp_ms)?;
                *last = timestamp_ms;
            }
            None => {
                self.seen.insert(labels.clone(), timestamp_ms);
            }
        }
        self.samples.push(ParsedSample {
            labels,
            value,
            timestamp_ms,
        });
        Ok(())
    }
}

/// A series given again in one page, after a sample at `last`: allowed only when both
/// samples have timestamps and the new one is later; otherwise the error message.
pub fn check_repeat(labels: &Labels, last: Option<i64>, t: Option<i64>) -> Result<(), String> {
    let dup = match (last, t) {
        (Some(a), Some(b)) => b <= a,
        _ => true,
    };
    if !dup {
        return Ok(());
    }
    Err(match t {
        Some(t) => {
            format!("duplicate series {labels}: a sample at {t} ms or later was already given")
        }
        None => format!("duplicate series {labels}"),
    })
}

/// Parses an OpenMetrics file (`# EOF` required, every sample with a timestamp) and
/// appends its samples to `store`, in file order. Returns how many samples were stored.
pub fn load_openmetrics(store: &mut Store, input: &[u8]) -> Result<usize, LoadError> {
    let page = parse(input, Format::OpenMetrics, &Limits::default())?;
    crate::record::remember_metadata(store, &page.metadata, Format::OpenMetrics);
    let mut stored = 0;
    for (i, s) in page.samples.iter().enumerate() {
        let Some(t) = s.timestamp_ms else {
            return Err(LoadError::NoTimestamp {
                sample: i + 1,
                labels: s.labels.to_string(),
            });
        };
        store.append(&s.labels, t, s.value)?;
        stored += 1;
    }
    Ok(stored)
}

/// Why [`load_openmetrics`] stopped.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{0}")]
    Parse(#[from] ParseError),
    #[error(
        "sample {sample} ({labels}) has no timestamp: a file to load needs one on every sample"
    )]
    NoTimestamp { sample: usize, labels: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

struct Parser<'s, S> {
    format: Format,
    limits: Limits,
    metadata: Vec<Metadata>,
    /// Samples given to the sink so far.
    samples: usize,
    /// Family name -> index in `metadata`.
    families: HashMap<String, usize>,
    /// The family the last `# TYPE` (OpenMetrics) opened, with its type.
    current: Option<(String, MetricType)>,
    line_no: usize,
    sink: &'s mut S,
}

/// A failure inside a line: byte offset in the line and message.
struct LineErr(usize, String);

type LineResult<T> = Result<T, LineErr>;

fn err<T>(pos: usize, msg: impl Into<String>) -> LineResult<T> {
    Err(LineErr(pos, msg.into()))
}

impl<S: SampleSink> Parser<'_, S> {
    fn run(mut self, input: &[u8]) -> Result<Vec<Metadata>, ParseError> {
        let mut saw_eof = false;
        let mut rest = input;
        while !rest.is_empty() {
            let (raw, next) = match rest.iter().position(|&b| b == b'\n') {
                Some(i) => (&rest[..i], &rest[i + 1..]),
                None => (rest, &rest[rest.len()..]),
            };
            rest = next;
            self.line_no += 1;
            if saw_eof {
                return Err(self.error_at(raw, 0, "nothing may follow `# EOF`"));
            }
            if raw.len() > self.limits.max_line_bytes {
                return Err(ParseError {
                    line: self.line_no,
                    col: 1,
                    message: format!(
                        "line is {} bytes long, more than the limit of {} bytes",
                        raw.len(),
                        self.limits.max_line_bytes
                    ),
                });
            }
            let line = match std::str::from_utf8(raw) {
                Ok(line) => line,
                Err(e) => {
                    return Err(self.error_at(raw, e.valid_up_to(), "invalid UTF-8"));
                }
            };
            match self.line(line) {
                Ok(eof) => saw_eof = eof,
                Err(LineErr(pos, msg)) => return Err(self.error_at(raw, pos, msg)),
            }
        }
        if self.format == Format::OpenMetrics && !saw_eof {
            return Err(ParseError {
                line: self.line_no.max(1),
                col: 1,
                message: "missing `# EOF` at the end of an OpenMetrics page".into(),
            });
        }
        Ok(self.metadata)
    }

    /// A [`ParseError`] at byte `pos` of line `raw` (column counted in characters of its
    /// valid UTF-8 prefix).
    fn error_at(&self, raw: &[u8], pos: usize, msg: impl Into<String>) -> ParseError {
        let pos = pos.min(raw.len());
        let prefix = match std::str::from_utf8(&raw[..pos]) {
            Ok(s) => s.chars().count(),
            Err(e) => std::str::from_utf8(&raw[..e.valid_up_to()]).map_or(0, |s| s.chars().count()),
        };
        ParseError {
            line: self.line_no,
            col: prefix + 1,
            message: msg.into(),
        }
    }

    /// One line; `Ok(true)` when it is `# EOF`.
    fn line(&mut self, line: &str) -> LineResult<bool> {
        let om = self.format == Format::OpenMetrics;
        if om {
            if line.is_empty() {
                return err(0, "empty line: OpenMetrics allows none");
            }
        } else if line.trim_matches([' ', '\t']).is_empty() {
            return Ok(false);
        }
        let start = if om {
            0
        } else {
            line.len() - line.trim_start_matches([' ', '\t']).len()
        };
        if line[start..].starts_with('#') {
            return self.comment(line, start);
        }
        self.sample(line, start)?;
        Ok(false)
    }

    fn comment(&mut self, line: &str, start: usize) -> LineResult<bool> {
        let om = self.format == Format::OpenMetrics;
        if om && line == "# EOF" {
            return Ok(true);
        }
        let mut c = Cursor::new(line, start + 1);
        if om {
            if !c.eat(' ') {
                return err(c.pos, "expected a space after `#`");
            }
        } else {
            c.skip_blanks();
        }
        let kw_start = c.pos;
        let kw = c.take_while(|ch| ch.is_ascii_alphabetic());
        let keyword = match kw {
            "HELP" | "TYPE" => kw,
            "UNIT" if om => kw,
            _ if om => {
                return err(
                    kw_start,
                    "expected `HELP`, `TYPE`, `UNIT` or `EOF` after `# ` (OpenMetrics has no other comments)",
                );
            }
            // Any other comment in the text format.
            _ => return Ok(false),
        };
        if om {
            if !c.eat(' ') {
                return err(c.pos, format!("expected a space after `# {keyword}`"));
            }
        } else {
            if !c.eat_blanks() {
                // `# HELPER ...` is an ordinary comment.
                return Ok(false);
            }
        }
        let name_pos = c.pos;
        let name = c.metric_name();
        if name.is_empty() {
            return err(
                name_pos,
                format!("expected a metric name after `# {keyword}`"),
            );
        }
        let name = name.to_owned();
        let text = if c.at_end() {
            if keyword == "TYPE" {
                return err(c.pos, "expected a metric type after the name");
            }
            String::new()
        } else {
            if om {
                if !c.eat(' ') {
                    return err(c.pos, "expected a space after the metric name");
                }
            } else if !c.eat_blanks() {
                return err(c.pos, "expected a space after the metric name");
            }
            let text_pos = c.pos;
            let rest = c.rest();
            if keyword == "HELP" {
                unescape_help(rest, om).map_err(|(p, m)| LineErr(text_pos + p, m))?
            } else {
                rest.to_owned()
            }
        };
        let idx = match self.families.get(&name) {
            Some(&i) => i,
            None => {
                self.metadata.push(Metadata {
                    name: name.clone(),
                    kind: None,
                    help: None,
                    unit: None,
                });
                self.families.insert(name.clone(), self.metadata.len() - 1);
                self.metadata.len() - 1
            }
        };
        let meta = &mut self.metadata[idx];
        match keyword {
            "HELP" => {
                if meta.help.is_some() {
                    return err(start, format!("second `# HELP` for {name}"));
                }
                meta.help = Some(text);
            }
            "TYPE" => {
                let word = if om { text.as_str() } else { text.trim_end() };
                let Some(kind) = MetricType::parse(word, self.format) else {
                    return err(
                        name_pos + name.len() + 1,
                        format!(
                            "unknown metric type {word:?}: expected {}",
                            if om {
                                "counter, gauge, histogram, gaugehistogram, summary, info, stateset or unknown"
                            } else {
                                "counter, gauge, histogram, summary or untyped"
                            }
                        ),
                    );
                };
                if meta.kind.is_some() {
                    return err(start, format!("second `# TYPE` for {name}"));
                }
                meta.kind = Some(kind);
                self.current = Some((name, kind));
            }
            _ => {
                if meta.unit.is_some() {
                    return err(start, format!("second `# UNIT` for {name}"));
                }
                if !text.is_empty() && !name.ends_with(&format!("_{text}")) {
                    return err(
                        name_pos,
                        format!("the metric name {name} must end with its unit `_{text}`"),
                    );
                }
                meta.unit = Some(text);
            }
        }
        Ok(false)
    }

    fn sample(&mut self, line: &str, start: usize) -> LineResult<()> {
        let om = self.format == Format::OpenMetrics;
        let mut c = Cursor::new(line, start);
        let name_pos = c.pos;
        let name = c.metric_name();
        if name.is_empty() {
            return err(
                name_pos,
                "expected a metric name ([a-zA-Z_:][a-zA-Z0-9_:]*) or a comment",
            );
        }
        if om {
            self.check_family(name, name_pos)?;
        }
        let after_name = c.pos;
        // The series' text as written: a text seen before needs no parsing (it was
        // valid then, and the same text gives the same labels).
        let raw_end = series_end(line, after_name, om);
        let known = raw_end.and_then(|end| self.sink.known(&line[name_pos..end]));
        let mut pairs: Vec<(String, String)> = Vec::new();
        if known.is_some() {
            // `known` is only Some when `raw_end` is.
            c.pos = raw_end.unwrap_or(after_name);
        } else {
            pairs.push(("__name__".into(), name.to_owned()));
            if !om {
                c.skip_blanks();
            }
            if c.eat('{') {
                c.label_pairs(om, &mut pairs)?;
            } else {
                c.pos = after_name;
            }
        }
        let series_text = raw_end
            .filter(|&end| end == c.pos)
            .map(|end| &line[name_pos..end]);
        // Separator before the value.
        let sep_pos = c.pos;
        if om {
            if !c.eat(' ') {
                return err(sep_pos, "expected a space and the value");
            }
        } else if !c.eat_blanks() {
            return err(sep_pos, "expected a space and the value");
        }
        let value_pos = c.pos;
        let word = c.word();
        if word.is_empty() {
            return err(value_pos, "expected a value");
        }
        let value = parse_value(word).ok_or_else(|| {
            LineErr(
                value_pos,
                format!("expected a number, NaN, +Inf or -Inf as the value, got {word:?}"),
            )
        })?;
        let mut timestamp_ms = None;
        let ts_start = c.pos;
        let has_more = if om { c.eat(' ') } else { c.eat_blanks() };
        if has_more && !c.at_end() && !c.rest().starts_with('#') {
            let ts_pos = c.pos;
            let word = c.word();
            timestamp_ms = Some(if om {
                parse_om_timestamp(word).ok_or_else(|| {
                    LineErr(
                        ts_pos,
                        format!(
                            "expected a timestamp in seconds (e.g. 1700000000.25), got {word:?}"
                        ),
                    )
                })?
            } else {
                word.parse::<i64>().map_err(|_| {
                    LineErr(
                        ts_pos,
                        format!("expected a timestamp in integer milliseconds, got {word:?}"),
                    )
                })?
            });
            if om {
                c.eat(' ');
            } else {
                c.skip_blanks();
            }
        } else if om && has_more && c.at_end() {
            return err(ts_start, "trailing space after the value");
        }
        if !c.at_end() {
            if om && c.rest().starts_with("# ") {
                c.exemplar()?;
            }
            if !c.at_end() {
                return err(
                    c.pos,
                    "expected the end of the line after the value and timestamp",
                );
            }
        }
        if let Some(limit) = self.limits.max_samples
            && self.samples >= limit
        {
            return err(
                name_pos,
                format!("more than {limit} samples: the sample limit is exceeded"),
            );
        }
        let series = match known {
            Some(id) => SeriesRef::Known(id),
            None => {
                let labels = build_labels(&mut pairs).map_err(|dup| {
                    LineErr(name_pos, format!("label {dup} appears twice in one series"))
                })?;
                SeriesRef::New {
                    raw: series_text,
                    labels,
                }
            }
        };
        self.samples += 1;
        self.sink
            .sample(series, value, timestamp_ms)
            .map_err(|msg| LineErr(name_pos, msg))?;
        Ok(())
    }

    /// In OpenMetrics a sample belongs to the family of the last `# TYPE` when its name is
    /// that family's name plus a suffix its type allows; otherwise it opens an untyped
    /// family of its own.
    fn check_family(&mut self, name: &str, pos: usize) -> LineResult<()> {
        if let Some((family, kind)) = &self.current
            && let Some(suffix) = name.strip_prefix(family.as_str())
        {
            if kind.suffixes().contains(&suffix) {
                return Ok(());
            }
            if matches!(kind, MetricType::Counter) && suffix.is_empty() {
                return err(
                    pos,
                    format!(
                        "a counter's sample must be named {family}_total (or {family}_created)"
                    ),
                );
            }
        }
        if let Some(&i) = self.families.get(name)
            && let Some(kind) = self.metadata[i].kind
            && !matches!(
                kind,
                MetricType::Gauge | MetricType::StateSet | MetricType::Untyped
            )
        {
            return err(
                pos,
                format!("the samples of family {name} must follow its `# TYPE` line"),
            );
        }
        self.current = None;
        Ok(())
    }
}

/// Where the series text starting with a metric name ending at `after_name` ends: after
/// the name, or after the `}` closing its label set (the first `}` outside a quoted value,
/// `\\` escaping the next character inside one). `None` when no `}` closes it.
fn series_end(line: &str, after_name: usize, om: bool) -> Option<usize> {
    let b = line.as_bytes();
    let mut i = after_name;
    if !om {
        while i < b.len() && matches!(b[i], b' ' | b'\t') {
            i += 1;
        }
    }
    if b.get(i) != Some(&b'{') {
        return Some(after_name);
    }
    i += 1;
    let mut quoted = false;
    while i < b.len() {
        match b[i] {
            b'\\' if quoted => i += 1,
            b'"' => quoted = !quoted,
            b'}' if !quoted => return Some(i + 1),
            _ => {}
        }
        i += 1;
    }
    None
}

/// Sorts pairs by name and makes [`Labels`]; `Err(name)` when a name repeats.
fn build_labels(pairs: &mut [(String, String)]) -> Result<Labels, String> {
    pairs.sort_by(|a, b| a.0.cmp(&b.0));
    if let Some(w) = pairs.windows(2).find(|w| w[0].0 == w[1].0) {
        return Err(w[0].0.clone());
    }
    Ok(pairs
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect())
}

/// A Go-style float: decimal with optional sign, fraction and exponent, or `NaN`/`Inf`
/// (any case, `Inf` and `Infinity` with an optional sign).
pub fn parse_value(word: &str) -> Option<f64> {
    let unsigned = word.strip_prefix(['+', '-']).unwrap_or(word);
    if unsigned.eq_ignore_ascii_case("nan") {
        return (unsigned.len() == word.len()).then_some(f64::NAN);
    }
    if unsigned.eq_ignore_ascii_case("inf") || unsigned.eq_ignore_ascii_case("infinity") {
        return Some(if word.starts_with('-') {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        });
    }
    // Only digits, one dot and an exponent: Rust's parser takes the same decimal forms.
    let bytes = unsigned.as_bytes();
    if bytes.is_empty()
        || !bytes
            .iter()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'))
    {
        return None;
    }
    word.parse::<f64>().ok()
}

/// An OpenMetrics timestamp (seconds, optional fraction) as milliseconds, the way
/// Prometheus converts it (`int64(ts * 1000)`); not NaN or infinite.
fn parse_om_timestamp(word: &str) -> Option<i64> {
    let lower = word.to_ascii_lowercase();
    if lower.contains("nan") || lower.contains("inf") {
        return None;
    }
    let ts = parse_value(word)?;
    let ms = ts * 1000.0;
    if !ms.is_finite() || ms.abs() >= 9.2e18 {
        return None;
    }
    Some(ms as i64)
}

/// Unescapes a HELP text: `\\` and `\n` (and `\"` in OpenMetrics); any other escape is an
/// error in OpenMetrics and kept as written in the text format, as Prometheus reads it.
fn unescape_help(text: &str, om: bool) -> Result<String, (usize, String)> {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.char_indices();
    while let Some((i, ch)) = chars.next() {
        if ch != '\\' {
            out.push(ch);
            continue;
        }
        match chars.next() {
            Some((_, '\\')) => out.push('\\'),
            Some((_, 'n')) => out.push('\n'),
            Some((_, '"')) if om => out.push('"'),
            Some((_, other)) if !om => {
                out.push('\\');
                out.push(other);
            }
            Some((_, other)) => {
                return Err((
                    i,
                    format!("invalid escape `\\{other}` in HELP: expected \\\\, \\\" or \\n"),
                ));
            }
            None if !om => out.push('\\'),
            None => return Err((i, "a HELP text may not end with a lone `\\`".into())),
        }
    }
    Ok(out)
}

/// A position in one line.
struct Cursor<'a> {
    line: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn new(line: &'a str, pos: usize) -> Self {
        Cursor { line, pos }
    }

    fn rest(&self) -> &'a str {
        &self.line[self.pos..]
    }

    fn at_end(&self) -> bool {
        self.pos >= self.line.len()
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn eat(&mut self, ch: char) -> bool {
        if self.peek() == Some(ch) {
            self.pos += ch.len_utf8();
            true
        } else {
            false
        }
    }

    fn skip_blanks(&mut self) {
        self.take_while(|c| c == ' ' || c == '\t');
    }

    /// Skips spaces and tabs; whether there was at least one.
    fn eat_blanks(&mut self) -> bool {
        !self.take_while(|c| c == ' ' || c == '\t').is_empty()
    }

    fn take_while(&mut self, f: impl Fn(char) -> bool) -> &'a str {
        let rest = self.rest();
        let n = rest.find(|c: char| !f(c)).unwrap_or(rest.len());
        self.pos += n;
        &rest[..n]
    }

    /// Up to the next space or tab.
    fn word(&mut self) -> &'a str {
        self.take_while(|c| c != ' ' && c != '\t')
    }

    /// `[a-zA-Z_:][a-zA-Z0-9_:]*`, or "" when none starts here.
    fn metric_name(&mut self) -> &'a str {
        match self.peek() {
            Some(c) if c.is_ascii_alphabetic() || c == '_' || c == ':' => {
                self.take_while(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
            }
            _ => "",
        }
    }

    /// `[a-zA-Z_][a-zA-Z0-9_]*`, or "" when none starts here.
    fn label_name(&mut self) -> &'a str {
        match self.peek() {
            Some(c) if c.is_ascii_alphabetic() || c == '_' => {
                self.take_while(|c| c.is_ascii_alphanumeric() || c == '_')
            }
            _ => "",
        }
    }

    fn skip_blanks_if(&mut self, text_format: bool) {
        if text_format {
            self.skip_blanks();
        }
    }

    /// After `{`: `name="value"` pairs separated by `,` (a trailing comma allowed), then
    /// `}`.
    fn label_pairs(&mut self, om: bool, pairs: &mut Vec<(String, String)>) -> LineResult<()> {
        let text = !om;
        loop {
            self.skip_blanks_if(text);
            if self.eat('}') {
                return Ok(());
            }
            let name_pos = self.pos;
            let name = self.label_name();
            if name.is_empty() {
                return err(
                    name_pos,
                    "expected a label name ([a-zA-Z_][a-zA-Z0-9_]*) or `}`",
                );
            }
            self.skip_blanks_if(text);
            if !self.eat('=') {
                return err(
                    self.pos,
                    format!("expected `=` after the label name {name}"),
                );
            }
            self.skip_blanks_if(text);
            if !self.eat('"') {
                return err(self.pos, "expected `\"` to open the label value");
            }
            let value = self.quoted()?;
            pairs.push((name.to_owned(), value));
            self.skip_blanks_if(text);
            if self.eat(',') {
                continue;
            }
            if self.eat('}') {
                return Ok(());
            }
            return err(self.pos, "expected `,` or `}` after a label value");
        }
    }

    /// After an opening `"`: the value up to the closing `"`, unescaped.
    fn quoted(&mut self) -> LineResult<String> {
        let mut out = String::new();
        let start = self.pos;
        loop {
            let rest = self.rest();
            let Some(i) = rest.find(['"', '\\']) else {
                return err(start - 1, "label value is not closed with `\"`");
            };
            out.push_str(&rest[..i]);
            self.pos += i;
            if self.eat('"') {
                return Ok(out);
            }
            // A backslash.
            let esc_pos = self.pos;
            self.pos += 1;
            match self.peek() {
                Some('\\') => out.push('\\'),
                Some('"') => out.push('"'),
                Some('n') => out.push('\n'),
                Some(other) => {
                    return err(
                        esc_pos,
                        format!(
                            "invalid escape `\\{other}` in a label value: expected \\\\, \\\" or \\n"
                        ),
                    );
                }
                None => return err(esc_pos, "label value ends inside an escape"),
            }
            self.pos += 1;
        }
    }

    /// An OpenMetrics exemplar after the sample: `# {labels} value [timestamp]`, checked
    /// and dropped.
    fn exemplar(&mut self) -> LineResult<()> {
        self.pos += 2;
        if !self.eat('{') {
            return err(self.pos, "expected `{` to open the exemplar's labels");
        }
        let mut pairs = Vec::new();
        self.label_pairs(true, &mut pairs)?;
        if !self.eat(' ') {
            return err(self.pos, "expected a space and the exemplar's value");
        }
        let pos = self.pos;
        let word = self.word();
        if parse_value(word).is_none() {
            return err(pos, format!("expected the exemplar's value, got {word:?}"));
        }
        if self.eat(' ') {
            let pos = self.pos;
            let word = self.word();
            if parse_om_timestamp(word).is_none() {
                return err(
                    pos,
                    format!("expected the exemplar's timestamp, got {word:?}"),
                );
            }
        }
        Ok(())
    }
}

/// Writes one sample as an OpenMetrics line (timestamp in seconds with milliseconds),
/// escaping label values; the inverse of [`parse`] in [`Format::OpenMetrics`].
pub fn write_openmetrics_sample(out: &mut String, labels: &Labels, t_ms: i64, v: f64) {
    out.push_str(labels.get("__name__").unwrap_or(""));
    let mut first = true;
    for (name, value) in labels.iter().filter(|(n, _)| *n != "__name__") {
        out.push(if first { '{' } else { ',' });
        first = false;
        out.push_str(name);
        out.push_str("=\"");
        escape_label_value(out, value);
        out.push('"');
    }
    if !first {
        out.push('}');
    }
    out.push(' ');
    write_value(out, v);
    out.push(' ');
    write_om_timestamp(out, t_ms);
    out.push('\n');
}

/// `t_ms` as OpenMetrics seconds that read back as exactly `t_ms` under Prometheus's
/// `int64(ts * 1000)`: `s.mmm`, or `s.mmm1` when the product of `s.mmm` falls just short
/// of the integer and would be truncated to the one before.
pub fn write_om_timestamp(out: &mut String, t_ms: i64) {
    use std::fmt::Write as _;
    let sign = if t_ms < 0 { "-" } else { "" };
    let abs = t_ms.unsigned_abs();
    let plain = format!("{sign}{}.{:03}", abs / 1000, abs % 1000);
    if parse_om_timestamp(&plain) == Some(t_ms) {
        out.push_str(&plain);
    } else {
        let _ = write!(out, "{plain}1");
    }
}

/// `\\`, `\"` and `\n` escaped.
pub fn escape_label_value(out: &mut String, value: &str) {
    for ch in value.chars() {
        match ch {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

/// A value as both formats write it: `NaN`, `+Inf`, `-Inf` or the shortest decimal that
/// reads back as the same f64.
pub fn write_value(out: &mut String, v: f64) {
    use std::fmt::Write as _;
    if v.is_nan() {
        out.push_str("NaN");
    } else if v == f64::INFINITY {
        out.push_str("+Inf");
    } else if v == f64::NEG_INFINITY {
        out.push_str("-Inf");
    } else {
        let _ = write!(out, "{v:?}");
    }
}

#[cfg(test)]
mod tests;
