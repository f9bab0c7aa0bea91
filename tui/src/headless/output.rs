//! Printing query results as an aligned table, JSON or CSV.
//!
//! Values print exactly as Prometheus's own tools print them, so nothing is lost and
//! output can be compared as text: the shortest decimal that reads back as the same
//! `f64`, and `NaN`, `+Inf`, `-Inf`. Table and CSV write it without an exponent, as
//! promtool does (Go's `FormatFloat(v, 'f', -1, 64)`, which is also what Rust's `{}`
//! writes); JSON writes it as the HTTP API does, with an exponent below 1e-6 and from
//! 1e21 up (`3.3e-10`).

use std::io::{self, Write};

use promdash_queries::model::{Labels, QueryData, QueryResult, Sample};
use promdash_queries::text::{escape_control, escaped};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, SerializeTuple, Serializer};
use serde_json::Value;

/// Output format of `promdash query`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    /// Aligned columns: one per label, then the value (a range result gets one row per
    /// series with its last, min and max value and a sparkline).
    #[default]
    Table,
    /// The API's `data` object: `resultType` and `result`, values as strings written
    /// as the API writes them.
    Json,
    /// A header row, then one row per sample: labels, timestamp, value.
    Csv,
}

/// A sample value as Prometheus writes it, exact to the last bit.
pub fn fmt_value(v: f64) -> String {
    if v.is_nan() {
        "NaN".to_owned()
    } else if v == f64::INFINITY {
        "+Inf".to_owned()
    } else if v == f64::NEG_INFINITY {
        "-Inf".to_owned()
    } else {
        format!("{v}")
    }
}

/// A sample value as the Prometheus API writes it in JSON: like [`fmt_value`], except that
/// magnitudes below 1e-6 or from 1e21 up take an exponent (`3.3e-10`, `1e+21`).
pub fn fmt_value_json(v: f64) -> String {
    let a = v.abs();
    if !v.is_finite() || a == 0.0 || (1e-6..1e21).contains(&a) {
        return fmt_value(v);
    }
    // Rust writes `3.3e-10` and `1e21`; Go writes `3.3e-10` and `1e+21`, with at
    // least two exponent digits.
    let s = format!("{v:e}");
    let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let (sign, digits) = match exp.strip_prefix('-') {
        Some(d) => ('-', d),
        None => ('+', exp),
    };
    format!("{mantissa}e{sign}{digits:0>2}")
}

/// A timestamp in seconds, as the API writes it (millisecond precision).
pub fn fmt_time(t: f64) -> String {
    promdash_queries::client::fmt_secs(t)
}

/// How the server that answered writes sample values in JSON, so `-o json` writes them
/// the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum JsonNumbers {
    /// Prometheus: an exponent below 1e-6 and from 1e21 up (`1e-09`), see
    /// [`fmt_value_json`].
    #[default]
    Prometheus,
    /// VictoriaMetrics: never an exponent (`0.000000001`), as [`fmt_value`].
    Plain,
}

impl JsonNumbers {
    fn fmt(self, v: f64) -> String {
        match self {
            Self::Prometheus => fmt_value_json(v),
            Self::Plain => fmt_value(v),
        }
    }
}

/// Writes `result` in `format`.
pub fn write_result(out: &mut dyn Write, result: &QueryResult, format: Format) -> io::Result<()> {
    write_result_as(out, result, format, JsonNumbers::default())
}

/// Writes `result` in `format`, JSON values written as `numbers` says.
pub fn write_result_as(
    out: &mut dyn Write,
    result: &QueryResult,
    format: Format,
    numbers: JsonNumbers,
) -> io::Result<()> {
    match format {
        Format::Table => write_table(out, &result.data),
        Format::Json => {
            // Written as it is serialized, through a buffer: never a copy of the answer.
            let mut buf = io::BufWriter::with_capacity(64 * 1024, &mut *out);
            serde_json::to_writer_pretty(&mut buf, &JsonData(&result.data, numbers))?;
            writeln!(buf)?;
            buf.flush()
        }
        Format::Csv => write_csv(out, &result.data),
    }
}

/// Most label columns `query -o table` and `-o csv` show. Labels beyond them go into one
/// last `labels` column, in PromQL syntax, so a row costs what its own labels cost however
/// many different label names the answer holds.
pub const MAX_LABEL_COLUMNS: usize = 24;

/// The label columns: `__name__` first, then the rest sorted, at most
/// [`MAX_LABEL_COLUMNS`]; and whether some label names did not fit.
fn label_columns<'a>(sets: impl Iterator<Item = &'a Labels>) -> (Vec<String>, bool) {
    let mut names: std::collections::BTreeSet<(bool, &'a str)> = Default::default();
    for labels in sets {
        for name in labels.keys() {
            names.insert((name != "__name__", name));
        }
    }
    let more = names.len() > MAX_LABEL_COLUMNS;
    let cols = names
        .into_iter()
        .take(MAX_LABEL_COLUMNS)
        .map(|(_, n)| n.to_owned())
        .collect();
    (cols, more)
}

/// Name of the column holding the labels that got no column of their own.
const OTHER_LABELS: &str = "labels";

/// The header cells of the label columns.
fn label_head(cols: &[String], more: bool) -> impl Iterator<Item = String> + '_ {
    cols.iter()
        .map(|c| escaped(c))
        .chain(more.then(|| OTHER_LABELS.to_owned()))
}

fn write_table(out: &mut dyn Write, data: &QueryData) -> io::Result<()> {
    let mut rows: Vec<Vec<String>> = Vec::new();
    match data {
        QueryData::Vector(series) => {
            let (cols, more) = label_columns(series.iter().map(|s| &s.labels));
            rows.push(
                label_head(&cols, more)
                    .chain(["value".to_owned()])
                    .collect(),
            );
            for s in series {
                let mut row = label_cells(&cols, more, &s.labels);
                row.push(fmt_value(s.sample.v));
                rows.push(row);
            }
        }
        QueryData::Matrix(series) => {
            let (cols, more) = label_columns(series.iter().map(|s| &s.labels));
            let head = ["points", "last", "min", "max", "sparkline"];
            rows.push(
                label_head(&cols, more)
                    .chain(head.iter().map(|h| (*h).to_owned()))
                    .collect(),
            );
            let (start, end) = time_span(series.iter().flat_map(|s| s.samples.iter()));
            for s in series {
                let mut row = label_cells(&cols, more, &s.labels);
                let finite = s.samples.iter().map(|p| p.v).filter(|v| !v.is_nan());
                let min = finite.clone().fold(f64::NAN, f64::min);
                let max = finite.fold(f64::NAN, f64::max);
                row.push(s.samples.len().to_string());
                row.push(s.samples.last().map_or("-".into(), |p| fmt_value(p.v)));
                row.push(fmt_value(min));
                row.push(fmt_value(max));
                row.push(sparkline(&s.samples, start, end, SPARKLINE_WIDTH));
                rows.push(row);
            }
        }
        QueryData::Scalar(s) => {
            rows.push(vec!["scalar".to_owned()]);
            rows.push(vec![fmt_value(s.v)]);
        }
        QueryData::String { value, .. } => {
            rows.push(vec!["string".to_owned()]);
            rows.push(vec![escaped(value)]);
        }
    }
    if rows.len() == 1 {
        return writeln!(out, "(no series)");
    }
    write_aligned(out, &rows)
}

/// One row's label cells, control characters escaped (see
/// [`escape_control`]); with `more`, a last cell holding the labels without a column.
fn label_cells(cols: &[String], more: bool, labels: &Labels) -> Vec<String> {
    let mut row: Vec<String> = cols
        .iter()
        .map(|c| escaped(labels.get(c).unwrap_or_default()))
        .collect();
    if more {
        let rest: Labels = labels
            .iter()
            .filter(|(k, _)| cols.binary_search_by(|c| cmp_columns(c, k)).is_err())
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        row.push(if rest.is_empty() {
            String::new()
        } else {
            fmt_labels(&rest)
        });
    }
    row
}

/// The order of [`label_columns`]: `__name__` first, then by name.
fn cmp_columns(a: &str, b: &str) -> std::cmp::Ordering {
    (a != "__name__", a).cmp(&(b != "__name__", b))
}

/// Columns padded to their widest cell (counted in chars), two spaces apart; the last
/// column is not padded.
fn write_aligned(out: &mut dyn Write, rows: &[Vec<String>]) -> io::Result<()> {
    let n = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..n)
        .map(|i| {
            rows.iter()
                .filter_map(|r| r.get(i))
                .map(|c| c.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for row in rows {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i + 1 == row.len() {
                line.push_str(cell);
            } else {
                line.push_str(cell);
                let pad = widths[i] - cell.chars().count() + 2;
                line.extend(std::iter::repeat_n(' ', pad));
            }
        }
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}

/// Most cells a sparkline takes.
pub const SPARKLINE_WIDTH: usize = 40;

const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

fn time_span<'a>(samples: impl Iterator<Item = &'a Sample>) -> (f64, f64) {
    samples.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), s| {
        (lo.min(s.t), hi.max(s.t))
    })
}

/// One line of `▁▂▃▄▅▆▇█` over `start..=end` in at most `width` cells: each cell shows
/// the largest value that falls in it, scaled between the series' min and max; a cell
/// without samples (a gap) or with only NaN is a space. A flat series is drawn low.
pub fn sparkline(samples: &[Sample], start: f64, end: f64, width: usize) -> String {
    if samples.is_empty() || width == 0 {
        return String::new();
    }
    let cells = width.min(samples.len());
    let mut peaks = vec![f64::NAN; cells];
    let span = end - start;
    for s in samples {
        let i = if span > 0.0 {
            (((s.t - start) / span) * cells as f64).floor() as usize
        } else {
            0
        };
        let cell = &mut peaks[i.min(cells - 1)];
        if !s.v.is_nan() && (cell.is_nan() || s.v > *cell) {
            *cell = s.v;
        }
    }
    let finite = peaks.iter().copied().filter(|v| v.is_finite());
    let lo = finite.clone().fold(f64::INFINITY, f64::min);
    let hi = finite.fold(f64::NEG_INFINITY, f64::max);
    peaks
        .iter()
        .map(|&v| {
            if v.is_nan() {
                ' '
            } else if v == f64::INFINITY {
                BARS[7]
            } else if v == f64::NEG_INFINITY || hi <= lo {
                BARS[0]
            } else {
                let level = ((v - lo) / (hi - lo) * 7.0).round() as usize;
                BARS[level.min(7)]
            }
        })
        .collect()
}

/// The API's `data` object for `data`: values as strings, timestamps as numbers.
pub fn to_json(data: &QueryData) -> Value {
    serde_json::to_value(JsonData(data, JsonNumbers::default())).unwrap_or(Value::Null)
}

/// `data` as the API's `data` object, serialized as it is written: nothing but the
/// answer itself is held in memory, however large it is.
struct JsonData<'a>(&'a QueryData, JsonNumbers);

/// A sample as `[t, "v"]`.
struct JsonPair<'a>(&'a Sample, JsonNumbers);

impl Serialize for JsonPair<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut t = s.serialize_tuple(2)?;
        t.serialize_element(&self.0.t)?;
        t.serialize_element(&self.1.fmt(self.0.v))?;
        t.end()
    }
}

/// A sequence written from an iterator, one element at a time.
struct JsonSeq<F>(F);

impl<I, F> Serialize for JsonSeq<F>
where
    F: Fn() -> I,
    I: ExactSizeIterator,
    I::Item: Serialize,
{
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let it = (self.0)();
        let mut seq = s.serialize_seq(Some(it.len()))?;
        for item in it {
            seq.serialize_element(&item)?;
        }
        seq.end()
    }
}

/// One series: `{"metric": {...}, "value": [...]}` or `"values": [[...], ...]`.
struct JsonSeries<'a> {
    labels: &'a Labels,
    instant: Option<&'a Sample>,
    range: &'a [Sample],
    numbers: JsonNumbers,
}

impl Serialize for JsonSeries<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(2))?;
        m.serialize_entry("metric", self.labels)?;
        match self.instant {
            Some(sample) => m.serialize_entry("value", &JsonPair(sample, self.numbers))?,
            None => m.serialize_entry(
                "values",
                &JsonSeq(|| self.range.iter().map(|p| JsonPair(p, self.numbers))),
            )?,
        }
        m.end()
    }
}

impl Serialize for JsonData<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(2))?;
        match self.0 {
            QueryData::Vector(series) => {
                m.serialize_entry("resultType", "vector")?;
                m.serialize_entry(
                    "result",
                    &JsonSeq(|| {
                        series.iter().map(|x| JsonSeries {
                            labels: &x.labels,
                            instant: Some(&x.sample),
                            range: &[],
                            numbers: self.1,
                        })
                    }),
                )?;
            }
            QueryData::Matrix(series) => {
                m.serialize_entry("resultType", "matrix")?;
                m.serialize_entry(
                    "result",
                    &JsonSeq(|| {
                        series.iter().map(|x| JsonSeries {
                            labels: &x.labels,
                            instant: None,
                            range: &x.samples,
                            numbers: self.1,
                        })
                    }),
                )?;
            }
            QueryData::Scalar(sample) => {
                m.serialize_entry("resultType", "scalar")?;
                m.serialize_entry("result", &JsonPair(sample, self.1))?;
            }
            QueryData::String { t, value } => {
                m.serialize_entry("resultType", "string")?;
                m.serialize_entry("result", &(t, value))?;
            }
        }
        m.end()
    }
}

fn write_csv(out: &mut dyn Write, data: &QueryData) -> io::Result<()> {
    write_csv_tagged(out, None, &[("", data)])
}

/// The label sets of `data`'s series (none for a scalar or a string).
fn data_labels(data: &QueryData) -> Box<dyn Iterator<Item = &Labels> + '_> {
    match data {
        QueryData::Vector(v) => Box::new(v.iter().map(|s| &s.labels)),
        QueryData::Matrix(m) => Box::new(m.iter().map(|s| &s.labels)),
        QueryData::Scalar(_) | QueryData::String { .. } => Box::new(std::iter::empty()),
    }
}

/// Several answers as one CSV, the columns of `query -o csv` (labels, `timestamp`,
/// `value`) over the labels of all of them. With `tag`, a first column of that name
/// holds each answer's name (a panel's queries: its legend or expression).
pub fn write_csv_tagged(
    out: &mut dyn Write,
    tag: Option<&str>,
    parts: &[(&str, &QueryData)],
) -> io::Result<()> {
    let record = |out: &mut dyn Write, name: &str, cells: &[String]| -> io::Result<()> {
        let mut line: Vec<String> = Vec::with_capacity(cells.len() + 1);
        if tag.is_some() {
            line.push(csv_field(&escaped(name)));
        }
        line.extend(cells.iter().map(|c| csv_field(c)));
        writeln!(out, "{}", line.join(","))
    };
    let (cols, more) = label_columns(parts.iter().flat_map(|(_, d)| data_labels(d)));
    let head: Vec<String> = label_head(&cols, more)
        .chain(["timestamp".to_owned(), "value".to_owned()])
        .collect();
    record(out, tag.unwrap_or_default(), &head)?;
    for (name, data) in parts {
        match data {
            QueryData::Vector(series) => {
                for s in series {
                    let mut row = label_cells(&cols, more, &s.labels);
                    row.extend([fmt_time(s.sample.t), fmt_value(s.sample.v)]);
                    record(out, name, &row)?;
                }
            }
            QueryData::Matrix(series) => {
                for s in series {
                    let labels = label_cells(&cols, more, &s.labels);
                    for p in &s.samples {
                        let mut row = labels.clone();
                        row.extend([fmt_time(p.t), fmt_value(p.v)]);
                        record(out, name, &row)?;
                    }
                }
            }
            QueryData::Scalar(s) => {
                let mut row = label_cells(&cols, more, &Labels::new());
                row.extend([fmt_time(s.t), fmt_value(s.v)]);
                record(out, name, &row)?;
            }
            QueryData::String { t, value } => {
                let mut row = label_cells(&cols, more, &Labels::new());
                row.extend([fmt_time(*t), escaped(value)]);
                record(out, name, &row)?;
            }
        }
    }
    Ok(())
}

/// RFC 4180: quoted when it holds a comma, a quote or a line break; quotes doubled. The
/// cells come escaped ([`escape_control`]), so a line break in a label value never
/// splits a record.
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

/// `{a="1", b="2"}` in PromQL syntax, `__name__` written in front; quotes and
/// backslashes escaped as in PromQL, control characters as [`escape_control`] does.
pub fn fmt_labels(labels: &Labels) -> String {
    let name = escaped(labels.get("__name__").unwrap_or_default());
    let rest: Vec<String> = labels
        .iter()
        .filter(|(k, _)| *k != "__name__")
        .map(|(k, v)| {
            let quoted = v.replace('\\', "\\\\").replace('"', "\\\"");
            format!("{}=\"{}\"", escape_control(k), escape_control(&quoted))
        })
        .collect();
    if rest.is_empty() && !name.is_empty() {
        name
    } else {
        format!("{name}{{{}}}", rest.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use promdash_queries::model::{InstantSeries, Notes, RangeSeries};

    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn render(data: QueryData, format: Format) -> String {
        let result = QueryResult {
            data,
            notes: Notes::default(),
        };
        let mut out = Vec::new();
        write_result(&mut out, &result, format).expect("write to a Vec");
        String::from_utf8(out).expect("utf-8")
    }

    #[test]
    fn values_print_like_go() {
        // Go: strconv.FormatFloat(v, 'f', -1, 64), what promtool prints.
        assert_eq!(fmt_value(1.0), "1");
        assert_eq!(fmt_value(0.1 + 0.2), "0.30000000000000004");
        assert_eq!(fmt_value(2e-7), "0.0000002");
        assert_eq!(fmt_value(1e21), "1000000000000000000000");
        assert_eq!(fmt_value(-0.5), "-0.5");
        assert_eq!(fmt_value(f64::NAN), "NaN");
        assert_eq!(fmt_value(f64::INFINITY), "+Inf");
        assert_eq!(fmt_value(f64::NEG_INFINITY), "-Inf");
        for v in [0.1, 1.0 / 3.0, 123_456.789, 5e-324, f64::MAX] {
            assert_eq!(fmt_value(v).parse::<f64>().ok(), Some(v));
        }
    }

    #[test]
    fn json_values_print_like_the_api() {
        assert_eq!(fmt_value_json(1.5), "1.5");
        assert_eq!(fmt_value_json(0.000001), "0.000001");
        assert_eq!(fmt_value_json(1.0 / 3.0 * 1e-9), "3.333333333333333e-10");
        assert_eq!(fmt_value_json(2e-7), "2e-07");
        assert_eq!(fmt_value_json(-1e21), "-1e+21");
        assert_eq!(fmt_value_json(1.25e300), "1.25e+300");
        assert_eq!(fmt_value_json(f64::NAN), "NaN");
        assert_eq!(fmt_value_json(0.0), "0");
        for v in [2e-7, 1e21, 5e-324, f64::MAX] {
            assert_eq!(
                promdash_queries::model::parse_value(&fmt_value_json(v)),
                Some(v)
            );
        }
    }

    #[test]
    fn vector_table_aligns_label_columns() {
        let data = QueryData::Vector(vec![
            InstantSeries {
                labels: labels(&[("__name__", "up"), ("job", "prometheus")]),
                sample: Sample { t: 1.0, v: 1.0 },
            },
            InstantSeries {
                labels: labels(&[("__name__", "up"), ("instance", "a:1"), ("job", "x")]),
                sample: Sample { t: 1.0, v: 0.25 },
            },
        ]);
        assert_eq!(
            render(data, Format::Table),
            "__name__  instance  job         value\n\
             up                  prometheus  1\n\
             up        a:1       x           0.25\n"
        );
        assert_eq!(
            render(QueryData::Vector(vec![]), Format::Table),
            "(no series)\n"
        );
    }

    #[test]
    fn matrix_table_has_a_sparkline_per_series() {
        let samples = (0..8)
            .map(|i| Sample {
                t: f64::from(i),
                v: f64::from(i),
            })
            .collect();
        let data = QueryData::Matrix(vec![RangeSeries {
            labels: labels(&[("route", "/a")]),
            samples,
        }]);
        assert_eq!(
            render(data, Format::Table),
            "route  points  last  min  max  sparkline\n\
             /a     8       7     0    7    ▁▂▃▄▅▆▇█\n"
        );
    }

    #[test]
    fn sparkline_shows_gaps_and_nan_as_spaces() {
        let s = |t: f64, v: f64| Sample { t, v };
        let line = sparkline(&[s(0.0, 1.0), s(1.0, f64::NAN), s(3.0, 2.0)], 0.0, 3.0, 4);
        // 3 samples → 3 cells: [0,1) has 1, [1,2) NaN, [2,3] has 2.
        assert_eq!(line, "▁ █");
        assert_eq!(sparkline(&[s(0.0, 5.0), s(1.0, 5.0)], 0.0, 1.0, 40), "▁▁");
        assert_eq!(sparkline(&[], 0.0, 1.0, 40), "");
    }

    #[test]
    fn json_round_trips_special_values() {
        let data = QueryData::Vector(vec![InstantSeries {
            labels: labels(&[("a", "b")]),
            sample: Sample {
                t: 1_700_000_000.5,
                v: f64::NAN,
            },
        }]);
        let v: Value = serde_json::from_str(&render(data, Format::Json)).expect("valid JSON");
        assert_eq!(v["resultType"], "vector");
        assert_eq!(v["result"][0]["metric"]["a"], "b");
        assert_eq!(v["result"][0]["value"][0], 1_700_000_000.5);
        assert_eq!(v["result"][0]["value"][1], "NaN");
    }

    #[test]
    fn csv_has_a_header_and_quotes_fields() {
        let data = QueryData::Matrix(vec![RangeSeries {
            labels: labels(&[("path", "/a,\"b\"")]),
            samples: vec![
                Sample { t: 10.0, v: 1.5 },
                Sample {
                    t: 20.0,
                    v: f64::INFINITY,
                },
            ],
        }]);
        assert_eq!(
            render(data, Format::Csv),
            "path,timestamp,value\n\"/a,\"\"b\"\"\",10,1.5\n\"/a,\"\"b\"\"\",20,+Inf\n"
        );
        assert_eq!(
            render(QueryData::Scalar(Sample { t: 1.25, v: 2.0 }), Format::Csv),
            "timestamp,value\n1.25,2\n"
        );
    }

    #[test]
    fn control_characters_never_reach_the_terminal() {
        let hostile = "a\u{1b}]52;c;aGk=\u{7}\rb\nc\u{202e}";
        let data = QueryData::Vector(vec![InstantSeries {
            labels: labels(&[("job", hostile)]),
            sample: Sample { t: 1.0, v: 1.0 },
        }]);
        for format in [Format::Table, Format::Csv] {
            let out = render(data.clone(), format);
            assert!(
                !out.chars()
                    .any(|c| c != '\n' && promdash_queries::text::is_unsafe_char(c)),
                "{format:?}: {out:?}"
            );
            assert_eq!(
                out.lines().count(),
                2,
                "{format:?}: one header, one row: {out}"
            );
            assert!(out.contains(r"a\x1b]52;c;aGk=\a\rb\nc\u202e"), "{out}");
        }
        assert_eq!(fmt_labels(&labels(&[("a", "q\"\\\n")])), r#"{a="q\"\\\n"}"#);
    }

    #[test]
    fn columns_are_capped_and_rows_stay_linear() {
        // Each series its own label name: one column per name would be n x n cells.
        let n = 2_000;
        let series: Vec<InstantSeries> = (0..n)
            .map(|i| InstantSeries {
                labels: labels(&[("__name__", "m"), (&format!("l{i:05}"), "v")]),
                sample: Sample { t: 1.0, v: 1.0 },
            })
            .collect();
        let out = render(QueryData::Vector(series.clone()), Format::Table);
        let head = out.lines().next().expect("a header");
        assert_eq!(
            head.split_whitespace().count(),
            MAX_LABEL_COLUMNS + 2,
            "{head}"
        );
        let tail: Vec<&str> = head.split_whitespace().rev().take(2).collect();
        assert_eq!(tail, ["value", "labels"], "{head}");
        assert_eq!(out.lines().count(), n + 1);
        let last = out.lines().last().expect("a row");
        assert!(last.contains(&format!("{{l{:05}=\"v\"}}", n - 1)), "{last}");
        // Every line is about as long as the widest cells: linear in the answer.
        assert!(
            out.len() < n * (MAX_LABEL_COLUMNS + 2) * 16,
            "{} bytes",
            out.len()
        );
        let csv = render(QueryData::Vector(series), Format::Csv);
        assert_eq!(csv.lines().count(), n + 1);
        assert!(
            csv.lines()
                .all(|l| l.split(',').count() <= MAX_LABEL_COLUMNS + 4)
        );
    }

    #[test]
    fn labels_print_as_promql() {
        assert_eq!(
            fmt_labels(&labels(&[("__name__", "up"), ("job", "x")])),
            "up{job=\"x\"}"
        );
        assert_eq!(fmt_labels(&labels(&[("__name__", "up")])), "up");
        assert_eq!(fmt_labels(&Labels::new()), "{}");
    }
}
