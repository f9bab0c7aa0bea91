//! The store as an OpenMetrics text file: what `promdash record` writes and the TUI's
//! "save store" key saves, read back by `promdash --data FILE.om` ([`load_openmetrics`])
//! and by `promtool tsdb create-blocks-from openmetrics`.
//!
//! One family after another (sorted by name), each with its `# TYPE` (and `# HELP`) line
//! when a scraped page said what it is; in a family one series after another (sorted by
//! labels), each with all its samples in time order, timestamps in seconds with
//! milliseconds; `# EOF` last. Stale markers are left out: OpenMetrics has no way to tell
//! them from an ordinary NaN, and a NaN would read back as a value.
//!
//! [`load_openmetrics`]: crate::exposition::load_openmetrics

use std::collections::BTreeMap;
use std::io::{self, Write};

use crate::exposition::{Format, Metadata, MetricType, write_openmetrics_sample};
use crate::store::{FamilyMetadata, SeriesId, Store};
use crate::value::{Point, is_stale_marker};

/// What [`write_openmetrics`] wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriteStats {
    pub families: usize,
    pub series: usize,
    pub samples: usize,
    /// Oldest and newest timestamp written (ms), if any sample was.
    pub span: Option<(i64, i64)>,
}

/// The OpenMetrics family a page's `# TYPE` names, in OpenMetrics terms: a text-format
/// counter `foo_total` is the family `foo`; a text-format counter without the `_total`
/// suffix cannot be an OpenMetrics counter and is left untyped (`None`), as is anything
/// untyped.
pub fn openmetrics_family(meta: &Metadata, format: Format) -> Option<(String, FamilyMetadata)> {
    let kind = meta.kind?;
    let family = match (format, kind) {
        (_, MetricType::Untyped) => return None,
        (Format::Text, MetricType::Counter) => meta.name.strip_suffix("_total")?.to_owned(),
        _ => meta.name.clone(),
    };
    if family.is_empty() {
        return None;
    }
    Some((
        family,
        FamilyMetadata {
            kind,
            help: meta.help.clone(),
        },
    ))
}

/// Records the families a page describes in the store's metadata.
pub fn remember_metadata(store: &mut Store, metadata: &[Metadata], format: Format) {
    for m in metadata {
        if let Some((family, meta)) = openmetrics_family(m, format) {
            store.set_metadata(&family, meta);
        }
    }
}

/// Writes every sample of `store` as OpenMetrics text.
pub fn write_openmetrics(store: &Store, out: &mut impl Write) -> io::Result<WriteStats> {
    write_openmetrics_range(store, i64::MIN, i64::MAX, out)
}

/// Writes the samples of `store` with `mint <= t <= maxt` as OpenMetrics text.
pub fn write_openmetrics_range(
    store: &Store,
    mint: i64,
    maxt: i64,
    out: &mut impl Write,
) -> io::Result<WriteStats> {
    let metadata = store.metadata();
    // Series name -> its family, from the suffixes each known family's type allows.
    let mut family_of: BTreeMap<String, (&str, Option<&FamilyMetadata>)> = BTreeMap::new();
    for (family, meta) in metadata {
        for suffix in meta.kind.suffixes() {
            family_of.insert(format!("{family}{suffix}"), (family.as_str(), Some(meta)));
        }
    }
    // Family -> its series, sorted by labels.
    let mut families: BTreeMap<&str, (Option<&FamilyMetadata>, Vec<SeriesId>)> = BTreeMap::new();
    let all = store.select(&[]);
    for id in all {
        let Some(labels) = store.labels(id) else {
            continue;
        };
        let name = labels.get("__name__").unwrap_or("");
        let (family, meta) = match family_of.get(name) {
            Some(&(f, m)) => (f, m),
            None => (name, None),
        };
        families
            .entry(family)
            .or_insert((meta, Vec::new()))
            .1
            .push(id);
    }
    let mut stats = WriteStats::default();
    let mut buf = String::new();
    let mut points: Vec<Point> = Vec::new();
    for (family, (meta, mut ids)) in families {
        ids.sort_by(|a, b| store.labels(*a).cmp(&store.labels(*b)));
        buf.clear();
        let mut wrote_family = false;
        for id in ids {
            points.clear();
            store.samples(id, mint, maxt, &mut points);
            points.retain(|p| !is_stale_marker(p.v));
            if points.is_empty() {
                continue;
            }
            if !wrote_family {
                wrote_family = true;
                stats.families += 1;
                if let Some(m) = meta.filter(|m| m.kind != MetricType::Untyped) {
                    write_family_header(&mut buf, family, m);
                }
            }
            let Some(labels) = store.labels(id) else {
                continue;
            };
            stats.series += 1;
            for p in &points {
                write_openmetrics_sample(&mut buf, labels, p.t, p.v);
                stats.samples += 1;
            }
            let (first, last) = (points[0].t, points[points.len() - 1].t);
            stats.span = Some(match stats.span {
                None => (first, last),
                Some((a, b)) => (a.min(first), b.max(last)),
            });
            if buf.len() > 1 << 16 {
                out.write_all(buf.as_bytes())?;
                buf.clear();
            }
        }
        out.write_all(buf.as_bytes())?;
    }
    out.write_all(b"# EOF\n")?;
    out.flush()?;
    Ok(stats)
}

fn write_family_header(buf: &mut String, family: &str, m: &FamilyMetadata) {
    if let Some(help) = &m.help {
        buf.push_str("# HELP ");
        buf.push_str(family);
        buf.push(' ');
        for ch in help.chars() {
            match ch {
                '\\' => buf.push_str("\\\\"),
                '"' => buf.push_str("\\\""),
                '\n' => buf.push_str("\\n"),
                c => buf.push(c),
            }
        }
        buf.push('\n');
    }
    buf.push_str("# TYPE ");
    buf.push_str(family);
    buf.push(' ');
    buf.push_str(m.kind.openmetrics_name());
    buf.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exposition::{Limits, load_openmetrics, parse};
    use crate::value::stale_marker;

    const PAGE: &str = concat!(
        "# HELP req_total Requests \"served\".\n",
        "# TYPE req_total counter\n",
        "req_total{route=\"/a\"} 3\n",
        "req_total{route=\"/b\"} 4\n",
        "# TYPE lat histogram\n",
        "lat_bucket{le=\"0.1\"} 1\n",
        "lat_bucket{le=\"+Inf\"} 2\n",
        "lat_sum 0.3\n",
        "lat_count 2\n",
        "# TYPE odd counter\n",
        "odd 1\n",
        "# TYPE g gauge\n",
        "g NaN\n",
        "plain 7\n",
    );

    fn stored() -> Store {
        let mut store = Store::default();
        let page = parse(PAGE.as_bytes(), Format::Text, &Limits::default()).unwrap();
        remember_metadata(&mut store, &page.metadata, Format::Text);
        for t in [1_000, 2_000] {
            for s in &page.samples {
                store.append(&s.labels, t, s.value + t as f64).unwrap();
            }
        }
        store
            .append(&[("__name__", "plain")].into(), 3_000, stale_marker())
            .unwrap();
        store
    }

    #[test]
    fn families_with_types_and_every_sample() {
        let store = stored();
        let mut out = Vec::new();
        let stats = write_openmetrics(&store, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            stats,
            WriteStats {
                families: 5,
                series: 9,
                samples: 18,
                span: Some((1_000, 2_000))
            }
        );
        assert!(text.ends_with("# EOF\n"), "{text}");
        assert!(text.contains("# HELP req Requests \\\"served\\\".\n# TYPE req counter\nreq_total{route=\"/a\"} 1003.0 1.000\nreq_total{route=\"/a\"} 2003.0 2.000\n"), "{text}");
        assert!(text.contains("# TYPE lat histogram\n"), "{text}");
        // A counter without `_total` cannot be an OpenMetrics counter: no TYPE.
        assert!(!text.contains("TYPE odd"), "{text}");
        assert!(text.contains("g NaN 1.000\n"), "{text}");
        // The stale marker is not written.
        assert!(!text.contains("plain NaN"), "{text}");
        // It reads back as the same samples.
        let mut back = Store::default();
        assert_eq!(load_openmetrics(&mut back, text.as_bytes()).unwrap(), 18);
        let mut again = Vec::new();
        write_openmetrics(&back, &mut again).unwrap();
        assert_eq!(String::from_utf8(again).unwrap(), text);
    }
}
