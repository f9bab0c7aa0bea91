//! Typed query results of the Prometheus HTTP API.
//!
//! Values arrive as strings (`"NaN"`, `"+Inf"`, `"2e-07"`) and are parsed into `f64`.

pub use crate::labels::{Iter as LabelsIter, Labels};

/// One sample: a Unix timestamp in seconds (sub-second precision) and its value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    pub t: f64,
    pub v: f64,
}

/// One series of an instant vector.
#[derive(Debug, Clone, PartialEq)]
pub struct InstantSeries {
    pub labels: Labels,
    pub sample: Sample,
}

/// One series of a range matrix, samples in time order.
#[derive(Debug, Clone, PartialEq)]
pub struct RangeSeries {
    pub labels: Labels,
    pub samples: Vec<Sample>,
}

/// The `data` of a query answer.
#[derive(Debug, Clone, PartialEq)]
pub enum QueryData {
    Vector(Vec<InstantSeries>),
    Matrix(Vec<RangeSeries>),
    Scalar(Sample),
    String { t: f64, value: String },
}

/// What the server said besides the data: kept and shown to the user.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Notes {
    pub warnings: Vec<String>,
    pub infos: Vec<String>,
    /// VictoriaMetrics' `isPartial`: some storage nodes did not answer.
    pub is_partial: bool,
}

impl Notes {
    /// The answer may lack data: `isPartial` is set or the server sent warnings (Thanos
    /// and Mimir report a store that did not answer as a warning). Such an answer is
    /// "unknown" for alerting, like an error: a series missing from it proves nothing.
    pub fn is_incomplete(&self) -> bool {
        self.is_partial || !self.warnings.is_empty()
    }

    /// One line saying why an answer is incomplete ("partial answer: warning; warning"),
    /// or `None` when it is complete.
    pub fn incomplete_reason(&self) -> Option<String> {
        if !self.is_incomplete() {
            return None;
        }
        let mut s = String::from(if self.is_partial {
            "partial answer"
        } else {
            "answer with warnings"
        });
        if !self.warnings.is_empty() {
            s.push_str(": ");
            s.push_str(&self.warnings.join("; "));
        }
        Some(s)
    }
}

/// A successful query answer.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryResult {
    pub data: QueryData,
    pub notes: Notes,
}

impl QueryResult {
    /// A single number: a scalar, or a vector/matrix with exactly one series (its last
    /// sample). VictoriaMetrics answers `vector` where Prometheus answers `scalar`.
    pub fn as_scalar(&self) -> Option<Sample> {
        match &self.data {
            QueryData::Scalar(s) => Some(*s),
            QueryData::Vector(v) if v.len() == 1 => Some(v[0].sample),
            QueryData::Matrix(m) if m.len() == 1 => m[0].samples.last().copied(),
            _ => None,
        }
    }

    /// Number of series (1 for a scalar or string).
    pub fn series_count(&self) -> usize {
        match &self.data {
            QueryData::Vector(v) => v.len(),
            QueryData::Matrix(m) => m.len(),
            QueryData::Scalar(_) | QueryData::String { .. } => 1,
        }
    }

    /// About how many bytes this answer takes in memory once decoded: label text plus a
    /// fixed cost per label, series and sample. An estimate for memory budgets, not an
    /// exact count.
    pub fn approx_bytes(&self) -> usize {
        const PER_LABEL: usize = 32;
        const PER_SERIES: usize = 64;
        let labels = |l: &Labels| {
            l.iter()
                .map(|(k, v)| k.len() + v.len() + PER_LABEL)
                .sum::<usize>()
        };
        let sample = std::mem::size_of::<Sample>();
        match &self.data {
            QueryData::Vector(v) => v
                .iter()
                .map(|s| labels(&s.labels) + PER_SERIES + sample)
                .sum(),
            QueryData::Matrix(m) => m
                .iter()
                .map(|s| labels(&s.labels) + PER_SERIES + s.samples.len() * sample)
                .sum(),
            QueryData::Scalar(_) => sample,
            QueryData::String { value, .. } => value.len() + sample,
        }
    }

    /// Number of samples over all series.
    pub fn point_count(&self) -> usize {
        match &self.data {
            QueryData::Vector(v) => v.len(),
            QueryData::Matrix(m) => m.iter().map(|s| s.samples.len()).sum(),
            QueryData::Scalar(_) | QueryData::String { .. } => 1,
        }
    }
}

/// Parses a sample value as Prometheus writes it: `"1"`, `"2e-07"`, `"NaN"`, `"+Inf"`,
/// `"-Inf"`.
pub fn parse_value(s: &str) -> Option<f64> {
    match s {
        "NaN" => Some(f64::NAN),
        "+Inf" | "Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        _ => crate::fastnum::parse_f64(s.as_bytes()),
    }
}

/// serde helper: an optional value sent as a string (or a number).
pub(crate) fn de_opt_value<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<f64>, D::Error> {
    struct V;
    impl<'de> serde::de::Visitor<'de> for V {
        type Value = Option<f64>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a sample value such as \"1.5\" or \"NaN\"")
        }
        fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Self::Value, E> {
            Ok(parse_value(s))
        }
        fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Self::Value, E> {
            Ok(Some(v))
        }
        fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Self::Value, E> {
            Ok(Some(v as f64))
        }
        fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Self::Value, E> {
            Ok(Some(v as f64))
        }
        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D2: serde::Deserializer<'de>>(self, d: D2) -> Result<Self::Value, D2::Error> {
            d.deserialize_any(V)
        }
    }
    d.deserialize_any(V)
}
