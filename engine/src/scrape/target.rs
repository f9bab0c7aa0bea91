//! One target: its URL, its labels and where its scrapes fall inside the interval.
//!
//! Follows Prometheus's `scrape/target.go`: the `job` and `instance` labels (the URL's
//! `host:port`), the extra labels of the job, and a per-target offset inside the interval
//! derived from a hash of the target, so the scrapes of many targets spread out and the
//! same target is scraped at the same phase after a restart.

use std::time::Duration;

use reqwest::Url;

use super::ScrapeError;
use crate::value::Labels;

/// The URL a `--scrape` argument names: a URL with `http://` or `https://` as given, a bare
/// `host:port` (optionally with a path) as `http://host:port/metrics` (or that path).
pub fn target_url(arg: &str) -> Result<String, ScrapeError> {
    let arg = arg.trim();
    let invalid = |reason: &str| ScrapeError::InvalidTarget {
        target: arg.to_owned(),
        reason: reason.to_owned(),
    };
    if arg.is_empty() {
        return Err(invalid("it is empty"));
    }
    let full = if arg.contains("://") {
        arg.to_owned()
    } else if arg.contains('/') {
        format!("http://{arg}")
    } else {
        format!("http://{arg}/metrics")
    };
    let url = Url::parse(&full).map_err(|e| invalid(&format!("not a URL: {e}")))?;
    match url.scheme() {
        "http" | "https" => {}
        other => {
            return Err(invalid(&format!(
                "the scheme {other:?} is not http or https"
            )));
        }
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(invalid("it names no host"));
    }
    if url.fragment().is_some() {
        return Err(invalid("a scrape URL has no #fragment"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid(
            "credentials in the URL would be shown in the targets view; give them as the \
             job's auth settings instead",
        ));
    }
    Ok(url.to_string())
}

/// The `instance` label of a target: the URL's `host:port` (the host alone when the URL
/// has no port, as Prometheus 3 keeps it).
pub fn instance_of(url: &str) -> String {
    match Url::parse(url) {
        Ok(u) => {
            let host = u.host_str().unwrap_or("");
            match u.port() {
                Some(p) => format!("{host}:{p}"),
                None => host.to_owned(),
            }
        }
        Err(_) => url.to_owned(),
    }
}

/// The labels a target adds to every sample: `job`, `instance` and the job's own labels
/// (which may override `instance`, never `job`... as in Prometheus, a configured label
/// wins over the defaults). Names starting with `__` and empty values are dropped.
pub fn target_labels(
    job: &str,
    url: &str,
    extra: &std::collections::BTreeMap<String, String>,
) -> Labels {
    let mut pairs: std::collections::BTreeMap<&str, String> = std::collections::BTreeMap::new();
    pairs.insert("job", job.to_owned());
    pairs.insert("instance", instance_of(url));
    for (k, v) in extra {
        pairs.insert(k.as_str(), v.clone());
    }
    pairs
        .into_iter()
        .filter(|(k, v)| !k.starts_with("__") && !v.is_empty())
        .collect()
}

/// FNV-1a, 64 bits: the hash Prometheus uses for a target's identity.
fn fnv1a(bytes: impl IntoIterator<Item = u8>, mut h: u64) -> u64 {
    for b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// A stable hash of a target: its labels and URL.
pub fn target_hash(labels: &Labels, url: &str) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325;
    for (k, v) in labels.iter() {
        h = fnv1a(k.bytes().chain([0xff]), h);
        h = fnv1a(v.bytes().chain([0xff]), h);
    }
    fnv1a(url.bytes(), h)
}

/// The first scheduled scrape strictly after `now_ms`: the scrapes of a target fall at
/// the times `t` with `t mod interval == hash mod interval` (Prometheus's
/// `Target.offset`), so they keep their phase across restarts.
pub fn first_scrape_ms(hash: u64, interval: Duration, now_ms: i64) -> i64 {
    let interval_ms = (interval.as_millis() as i64).max(1);
    let phase = (hash % interval_ms as u64) as i64;
    let base = now_ms - now_ms.rem_euclid(interval_ms) + phase;
    if base > now_ms {
        base
    } else {
        base + interval_ms
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn bare_host_port_means_the_metrics_path() {
        assert_eq!(
            target_url("127.0.0.1:8080").unwrap(),
            "http://127.0.0.1:8080/metrics"
        );
        assert_eq!(
            target_url("localhost:9100/custom").unwrap(),
            "http://localhost:9100/custom"
        );
        assert_eq!(
            target_url("https://example.invalid:8443/m?x=1").unwrap(),
            "https://example.invalid:8443/m?x=1"
        );
        assert_eq!(
            target_url("[::1]:9090").unwrap(),
            "http://[::1]:9090/metrics"
        );
    }

    #[test]
    fn bad_targets_say_why() {
        for (arg, why) in [
            ("", "empty"),
            ("ftp://h:1/m", "not http or https"),
            ("http://", "not a URL"),
            ("http://u:p@h:1/metrics", "credentials"),
            ("h:notaport", "not a URL"),
            ("http://h:1/m#x", "fragment"),
        ] {
            let e = target_url(arg).unwrap_err().to_string();
            assert!(e.contains(why), "{arg}: {e}");
        }
    }

    #[test]
    fn job_instance_and_extra_labels() {
        let mut extra = BTreeMap::new();
        extra.insert("env".to_owned(), "prod".to_owned());
        extra.insert("__hidden".to_owned(), "x".to_owned());
        extra.insert("empty".to_owned(), String::new());
        let l = target_labels("api", "http://10.0.0.1:8080/metrics", &extra);
        assert_eq!(
            l.to_string(),
            r#"{env="prod", instance="10.0.0.1:8080", job="api"}"#
        );
        assert_eq!(instance_of("http://[::1]:9/metrics"), "[::1]:9");
        assert_eq!(instance_of("https://h/metrics"), "h");
    }

    #[test]
    fn offsets_keep_their_phase() {
        let i = Duration::from_secs(5);
        for hash in [0, 1, 4_999, 5_000, u64::MAX, 123_456_789] {
            for now in [0, 1, 4_999, 1_700_000_000_123] {
                let t = first_scrape_ms(hash, i, now);
                assert!(t > now && t <= now + 5_000, "{hash} {now} {t}");
                assert_eq!(t.rem_euclid(5_000), (hash % 5_000) as i64);
            }
        }
        let a = target_hash(&[("job", "a")].into(), "http://h:1/metrics");
        let b = target_hash(&[("job", "b")].into(), "http://h:1/metrics");
        assert_ne!(a, b);
    }
}
