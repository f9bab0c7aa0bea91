//! Which server answers: Prometheus or VictoriaMetrics, and what that changes for the user.
//!
//! VictoriaMetrics speaks the Prometheus API but not quite its language (MetricsQL), and
//! by default it hides the newest 30 s (`-search.latencyOffset`) from range queries, so
//! a graph or a `check` replay that ends "now" sees the last 30 s flattened or empty.
//! It is recognised from `/api/v1/status/buildinfo`: a version that names it, or build
//! information without the `revision` and `goVersion` Prometheus (and Thanos, Mimir)
//! always fill in (VictoriaMetrics 1.79 answers `{}`, later ones only a version). How
//! much it hides is read from its `/flags` page, which lists the flags it was started
//! with (`-search.latencyOffset="0s"`); without the flag there, the default 30 s.

use std::fmt;
use std::time::Duration;

use crate::client::BuildInfo;

/// VictoriaMetrics' default `-search.latencyOffset`: range queries do not see samples
/// younger than this.
pub const VM_HIDDEN_WINDOW: Duration = Duration::from_secs(30);

/// How VictoriaMetrics' answers differ from Prometheus's for the same expression, one
/// short line each (shown in the inspector and the README).
pub const VM_DIFFERENCES: &[&str] = &[
    "MetricsQL: rate() and increase() do not extrapolate to the window's edges",
    "series whose value is NaN are dropped from answers",
    "histogram_quantile() answers buckets without a +Inf bucket",
    "rate() of a gauge is accepted without a warning",
];

/// The kind of server behind the URL.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Backend {
    /// Not asked yet, or buildinfo could not be read.
    #[default]
    Unknown,
    /// Prometheus or a server that reports itself as such (Thanos, Mimir), with its version.
    Prometheus { version: String },
    /// VictoriaMetrics (single-node or cluster); the version when it says one, and how
    /// much of the newest data its range queries hide (`-search.latencyOffset`).
    VictoriaMetrics { version: String, hidden: Duration },
}

impl Backend {
    /// Reads the kind from a buildinfo answer.
    pub fn from_buildinfo(info: &BuildInfo) -> Self {
        let v = info.version.to_ascii_lowercase();
        let named = v.contains("victoria") || v.starts_with("vm") || v.contains("-vm");
        if named || (info.revision.is_empty() && info.go_version.is_empty()) {
            Self::VictoriaMetrics {
                version: info.version.clone(),
                hidden: VM_HIDDEN_WINDOW,
            }
        } else {
            Self::Prometheus {
                version: info.version.clone(),
            }
        }
    }

    pub fn is_victoria_metrics(&self) -> bool {
        matches!(self, Self::VictoriaMetrics { .. })
    }

    /// How much of the newest data range queries do not show (30 s on VictoriaMetrics
    /// with its default offset, zero elsewhere).
    pub fn hidden_window(&self) -> Duration {
        match self {
            Self::VictoriaMetrics { hidden, .. } => *hidden,
            _ => Duration::ZERO,
        }
    }

    /// Applies VictoriaMetrics' `/flags` page: the `-search.latencyOffset` it was started
    /// with, when listed and readable (VictoriaMetrics writes Go durations such as `0s`,
    /// `5s`, `1m30s`). Other servers, and pages without the flag, are left as they are.
    pub fn with_flags(mut self, flags: &str) -> Self {
        if let Self::VictoriaMetrics { hidden, .. } = &mut self
            && let Some(offset) = latency_offset(flags)
        {
            *hidden = offset;
        }
        self
    }
}

/// `-search.latencyOffset="…"` from a `/flags` page.
fn latency_offset(flags: &str) -> Option<Duration> {
    let line = flags
        .lines()
        .map(str::trim)
        .find_map(|l| l.strip_prefix("-search.latencyOffset="))?;
    let value = line.trim().trim_matches('"');
    if value == "0" {
        return Some(Duration::ZERO);
    }
    humantime::parse_duration(value).ok()
}

/// One line for the inspector about the newest data a VictoriaMetrics server hides.
pub fn hidden_note(hidden: Duration) -> String {
    if hidden.is_zero() {
        "nothing of the newest data is hidden (-search.latencyOffset=0s)".to_owned()
    } else {
        format!(
            "the newest {} are hidden from range queries (-search.latencyOffset)",
            humantime::format_duration(hidden)
        )
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (name, version) = match self {
            Self::Unknown => return f.write_str("unknown server"),
            Self::Prometheus { version } => ("Prometheus", version),
            Self::VictoriaMetrics { version, .. } => ("VictoriaMetrics", version),
        };
        if version.is_empty() {
            f.write_str(name)
        } else {
            write!(f, "{name} {version}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(version: &str, revision: &str, go: &str) -> BuildInfo {
        BuildInfo {
            version: version.into(),
            revision: revision.into(),
            go_version: go.into(),
            ..BuildInfo::default()
        }
    }

    #[test]
    fn recognises_victoria_metrics_from_buildinfo() {
        // Prometheus 2.42 fills everything in.
        let prom = Backend::from_buildinfo(&info("2.42.0+ds", "abc", "go1.19.8"));
        assert_eq!(prom.to_string(), "Prometheus 2.42.0+ds");
        assert!(!prom.is_victoria_metrics());
        assert_eq!(prom.hidden_window(), Duration::ZERO);
        // VictoriaMetrics 1.79 answers `{"data":{}}`; later ones `{"version":"2.24.0"}`.
        let vm = Backend::from_buildinfo(&BuildInfo::default());
        assert!(vm.is_victoria_metrics());
        assert_eq!(vm.to_string(), "VictoriaMetrics");
        assert_eq!(vm.hidden_window(), VM_HIDDEN_WINDOW);
        assert!(Backend::from_buildinfo(&info("2.24.0", "", "")).is_victoria_metrics());
        assert!(
            Backend::from_buildinfo(&info("victoria-metrics-20220801", "x", "go1.18"))
                .is_victoria_metrics()
        );
        assert_eq!(Backend::Unknown.hidden_window(), Duration::ZERO);
    }

    #[test]
    fn latency_offset_from_the_flags_page() {
        let vm = || Backend::from_buildinfo(&BuildInfo::default());
        let page = "-httpListenAddr=\"127.0.0.1:8428\"\n-search.latencyOffset=\"0s\"\n";
        assert_eq!(vm().with_flags(page).hidden_window(), Duration::ZERO);
        let page = "-search.latencyOffset=\"1m30s\"\n";
        assert_eq!(
            vm().with_flags(page).hidden_window(),
            Duration::from_secs(90)
        );
        // Not listed (left at its default) or unreadable: the default stays.
        assert_eq!(
            vm().with_flags("-retentionPeriod=\"1\"\n").hidden_window(),
            VM_HIDDEN_WINDOW
        );
        assert_eq!(
            vm().with_flags("-search.latencyOffset=\"soon\"")
                .hidden_window(),
            VM_HIDDEN_WINDOW
        );
        // Prometheus has no hidden window whatever a page says.
        let prom = Backend::from_buildinfo(&info("2.42.0", "abc", "go1.19"));
        assert_eq!(
            prom.with_flags("-search.latencyOffset=\"5s\"")
                .hidden_window(),
            Duration::ZERO
        );
    }
}
