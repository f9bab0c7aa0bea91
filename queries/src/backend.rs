//! Which server answers: Prometheus or VictoriaMetrics, and what that changes for the user.
//!
//! VictoriaMetrics speaks the Prometheus API but not quite its language (MetricsQL), and
//! by default it hides the newest 30 s (`-search.latencyOffset`) from range queries, so
//! a graph or a `check` replay that ends "now" sees the last 30 s flattened or empty.
//! It is recognised from `/api/v1/status/buildinfo`: a version that names it, or build
//! information without the `revision` and `goVersion` Prometheus (and Thanos, Mimir)
//! always fill in (VictoriaMetrics 1.79 answers `{}`, later ones only a version).

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
    "the newest 30 s are hidden from range queries (-search.latencyOffset)",
];

/// The kind of server behind the URL.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Backend {
    /// Not asked yet, or buildinfo could not be read.
    #[default]
    Unknown,
    /// Prometheus or a server that reports itself as such (Thanos, Mimir), with its version.
    Prometheus { version: String },
    /// VictoriaMetrics (single-node or cluster); the version when it says one.
    VictoriaMetrics { version: String },
}

impl Backend {
    /// Reads the kind from a buildinfo answer.
    pub fn from_buildinfo(info: &BuildInfo) -> Self {
        let v = info.version.to_ascii_lowercase();
        let named = v.contains("victoria") || v.starts_with("vm") || v.contains("-vm");
        if named || (info.revision.is_empty() && info.go_version.is_empty()) {
            Self::VictoriaMetrics {
                version: info.version.clone(),
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
        if self.is_victoria_metrics() {
            VM_HIDDEN_WINDOW
        } else {
            Duration::ZERO
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (name, version) = match self {
            Self::Unknown => return f.write_str("unknown server"),
            Self::Prometheus { version } => ("Prometheus", version),
            Self::VictoriaMetrics { version } => ("VictoriaMetrics", version),
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
}
