//! Hand-written decoding of API answers, straight from bytes into the model.
//!
//! No intermediate `serde_json::Value`: the envelope, the series and the samples have
//! their own visitors, sample values are parsed from borrowed strings, and the order of
//! keys does not matter (`result` may come before `resultType`). Unknown keys are
//! skipped with `IgnoredAny`.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::error::{ErrorType, QueryError, body_start, http_hint};
use crate::model::{
    InstantSeries, Labels, Notes, QueryData, QueryResult, RangeSeries, Sample, parse_value,
};

/// A decoded envelope of a query endpoint.
#[derive(Debug, Clone, PartialEq)]
pub enum Envelope {
    Success(QueryResult),
    Error {
        error_type: ErrorType,
        message: String,
        notes: Notes,
    },
}

/// Decodes the JSON body of `/api/v1/query` or `/api/v1/query_range`. The error names
/// what was expected and where (line and column of the body).
pub fn decode_query_body(body: &[u8]) -> Result<Envelope, serde_json::Error> {
    // The single-pass reader handles ordinary answers; anything else (and every error
    // message) comes from the serde decoder below.
    let raw = match crate::fastnum::read_envelope(body) {
        Some(raw) => raw,
        None => decode_query_body_serde_raw(body)?,
    };
    raw.finish().map_err(de::Error::custom)
}

/// The serde-only decoder (no single-pass fast path), for differential tests.
pub fn decode_query_body_serde(body: &[u8]) -> Result<Envelope, serde_json::Error> {
    decode_query_body_serde_raw(body)?
        .finish()
        .map_err(de::Error::custom)
}

fn decode_query_body_serde_raw(body: &[u8]) -> Result<RawEnvelope, serde_json::Error> {
    serde_json::from_slice(body)
}

/// Turns an HTTP answer of a query endpoint into a result or the right error. `url` is
/// the redacted URL for messages.
pub fn parse_query_response(
    url: &str,
    status: u16,
    body: &[u8],
) -> Result<QueryResult, QueryError> {
    if !looks_like_json(body) {
        return Err(http_error(url, status, body));
    }
    match decode_query_body(body) {
        Ok(Envelope::Success(r)) if (200..300).contains(&status) => Ok(r),
        Ok(Envelope::Success(_)) => Err(http_error(url, status, body)),
        Ok(Envelope::Error {
            error_type,
            message,
            ..
        }) => Err(QueryError::Api {
            status,
            error_type,
            message,
        }),
        Err(e) if (200..300).contains(&status) => Err(QueryError::Decode {
            url: url.to_owned(),
            detail: e.to_string(),
        }),
        // JSON of another shape with an error status: a gateway's own error page.
        Err(_) => Err(http_error(url, status, body)),
    }
}

/// The server's warnings and infos are only ever shown: their control characters are
/// escaped once, here (see [`crate::text`]).
fn escape_notes(mut notes: Notes) -> Notes {
    for w in notes.warnings.iter_mut().chain(notes.infos.iter_mut()) {
        if let std::borrow::Cow::Owned(e) = crate::text::escape_control(w) {
            *w = e;
        }
    }
    notes
}

/// Decodes the envelope of any other endpoint into `T` (`data`), mapping errors as
/// [`parse_query_response`] does.
pub fn parse_api_response<T: de::DeserializeOwned>(
    url: &str,
    status: u16,
    body: &[u8],
) -> Result<(T, Notes), QueryError> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Generic<T> {
        status: String,
        data: Option<T>,
        error_type: Option<String>,
        error: Option<String>,
        #[serde(default)]
        warnings: Vec<String>,
        #[serde(default)]
        infos: Vec<String>,
        #[serde(default)]
        is_partial: bool,
    }
    if !looks_like_json(body) {
        return Err(http_error(url, status, body));
    }
    match serde_json::from_slice::<Generic<T>>(body) {
        Ok(g) if g.status == "error" || g.error_type.is_some() => Err(QueryError::Api {
            status,
            error_type: ErrorType::parse(g.error_type.as_deref().unwrap_or("unknown")),
            message: g.error.unwrap_or_default(),
        }),
        Ok(g) if (200..300).contains(&status) => match g.data {
            Some(d) => Ok((
                d,
                escape_notes(Notes {
                    warnings: g.warnings,
                    infos: g.infos,
                    is_partial: g.is_partial,
                }),
            )),
            None => Err(QueryError::Decode {
                url: url.to_owned(),
                detail: "expected a `data` field in the answer".into(),
            }),
        },
        Ok(_) => Err(http_error(url, status, body)),
        Err(e) if (200..300).contains(&status) => Err(QueryError::Decode {
            url: url.to_owned(),
            detail: e.to_string(),
        }),
        Err(_) => Err(http_error(url, status, body)),
    }
}

fn looks_like_json(body: &[u8]) -> bool {
    body.iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|&b| b == b'{')
}

pub(crate) fn http_error(url: &str, status: u16, body: &[u8]) -> QueryError {
    QueryError::Http {
        url: url.to_owned(),
        status,
        body: body_start(body, 200),
        hint: http_hint(status),
    }
}

// ---------------------------------------------------------------------------------------

#[derive(Default)]
pub(crate) struct RawEnvelope {
    pub(crate) status: Option<String>,
    pub(crate) data: Option<RawData>,
    pub(crate) error_type: Option<String>,
    pub(crate) error: Option<String>,
    pub(crate) notes: Notes,
}

impl RawEnvelope {
    fn finish(self) -> Result<Envelope, String> {
        let is_error = self.status.as_deref() == Some("error") || self.error_type.is_some();
        if is_error {
            return Ok(Envelope::Error {
                error_type: ErrorType::parse(self.error_type.as_deref().unwrap_or("unknown")),
                message: self.error.unwrap_or_default(),
                notes: self.notes,
            });
        }
        match self.status.as_deref() {
            Some("success") => {}
            Some(other) => {
                return Err(format!(
                    "expected status \"success\" or \"error\", found {other:?}"
                ));
            }
            None => return Err("expected a `status` field in the answer".into()),
        }
        let data = self.data.ok_or("expected a `data` field in the answer")?;
        let result = data.result.ok_or("expected `data.result` in the answer")?;
        let data = match (data.result_type.as_deref(), result) {
            // A series without its sample is a wrongly shaped answer, never "no series":
            // read as empty, an alert on it would resolve. Native-histogram series are
            // skipped (not drawn yet).
            (Some("vector"), RawResult::Series(series)) => QueryData::Vector(
                series
                    .into_iter()
                    .enumerate()
                    .filter(|(_, s)| s.value.is_some() || !s.native_histogram)
                    .map(|(i, s)| match s.value {
                        Some(sample) => Ok(InstantSeries {
                            sample,
                            labels: s.labels,
                        }),
                        None => Err(format!(
                            "series {i} of the vector in `result` has no `value` [time, \"value\"]"
                        )),
                    })
                    .collect::<Result<_, _>>()?,
            ),
            (Some("matrix"), RawResult::Series(series)) => QueryData::Matrix(
                series
                    .into_iter()
                    .enumerate()
                    .filter(|(_, s)| s.values.is_some() || !s.native_histogram)
                    .map(|(i, s)| match s.values {
                        Some(samples) => Ok(RangeSeries {
                            labels: s.labels,
                            samples,
                        }),
                        None => Err(format!(
                            "series {i} of the matrix in `result` has no `values` [[time, \"value\"], ...]"
                        )),
                    })
                    .collect::<Result<_, _>>()?,
            ),
            (Some("vector"), RawResult::Empty) => QueryData::Vector(Vec::new()),
            (Some("matrix"), RawResult::Empty) => QueryData::Matrix(Vec::new()),
            (Some("scalar"), RawResult::Pair(t, v)) => QueryData::Scalar(Sample {
                t,
                v: parse_value(&v)
                    .ok_or_else(|| format!("expected a number in the scalar, found {v:?}"))?,
            }),
            (Some("string"), RawResult::Pair(t, value)) => QueryData::String { t, value },
            (Some(rt @ ("vector" | "matrix" | "scalar" | "string")), _) => {
                return Err(format!(
                    "`result` does not have the shape of resultType {rt:?}"
                ));
            }
            (Some(other), _) => {
                return Err(format!(
                    "expected resultType vector, matrix, scalar or string, found {other:?}"
                ));
            }
            (None, _) => return Err("expected `data.resultType` in the answer".into()),
        };
        Ok(Envelope::Success(QueryResult {
            data,
            notes: escape_notes(self.notes),
        }))
    }
}

#[derive(Deserialize)]
#[serde(field_identifier)]
enum EnvelopeKey {
    #[serde(rename = "status")]
    Status,
    #[serde(rename = "data")]
    Data,
    #[serde(rename = "errorType")]
    ErrorType,
    #[serde(rename = "error")]
    Error,
    #[serde(rename = "warnings")]
    Warnings,
    #[serde(rename = "infos")]
    Infos,
    #[serde(rename = "isPartial")]
    IsPartial,
    #[serde(other)]
    Other,
}

impl<'de> Deserialize<'de> for RawEnvelope {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawEnvelope;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object with `status` and `data` (the Prometheus API envelope)")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawEnvelope, A::Error> {
                let mut env = RawEnvelope::default();
                while let Some(key) = map.next_key::<EnvelopeKey>()? {
                    match key {
                        EnvelopeKey::Status => env.status = Some(map.next_value()?),
                        EnvelopeKey::Data => env.data = map.next_value()?,
                        EnvelopeKey::ErrorType => env.error_type = map.next_value()?,
                        EnvelopeKey::Error => env.error = map.next_value()?,
                        EnvelopeKey::Warnings => {
                            env.notes.warnings =
                                map.next_value::<Option<Vec<String>>>()?.unwrap_or_default();
                        }
                        EnvelopeKey::Infos => {
                            env.notes.infos =
                                map.next_value::<Option<Vec<String>>>()?.unwrap_or_default();
                        }
                        EnvelopeKey::IsPartial => {
                            env.notes.is_partial =
                                map.next_value::<Option<bool>>()?.unwrap_or(false);
                        }
                        EnvelopeKey::Other => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(env)
            }
        }
        d.deserialize_map(V)
    }
}

pub(crate) struct RawData {
    pub(crate) result_type: Option<String>,
    pub(crate) result: Option<RawResult>,
}

#[derive(Deserialize)]
#[serde(field_identifier)]
enum DataKey {
    #[serde(rename = "resultType")]
    ResultType,
    #[serde(rename = "result")]
    Result,
    #[serde(other)]
    Other,
}

impl<'de> Deserialize<'de> for RawData {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawData;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("`data` as an object with `resultType` and `result`")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawData, A::Error> {
                let mut data = RawData {
                    result_type: None,
                    result: None,
                };
                while let Some(key) = map.next_key::<DataKey>()? {
                    match key {
                        DataKey::ResultType => data.result_type = Some(map.next_value()?),
                        DataKey::Result => data.result = Some(map.next_value()?),
                        DataKey::Other => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(data)
            }
        }
        d.deserialize_map(V)
    }
}

/// `result`, whose shape is known from its first element: series objects, or a
/// `[time, "value"]` pair for scalar and string results.
pub(crate) enum RawResult {
    Empty,
    Series(Vec<RawSeries>),
    Pair(f64, String),
}

/// The first element of `result`.
enum First {
    Time(f64),
    Series(RawSeries),
}

impl<'de> Deserialize<'de> for First {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = First;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a series object or a [time, \"value\"] pair in `result`")
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<First, E> {
                Ok(First::Time(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<First, E> {
                Ok(First::Time(v as f64))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<First, E> {
                Ok(First::Time(v as f64))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<First, A::Error> {
                SeriesVisitor.visit_map(map).map(First::Series)
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for RawResult {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawResult;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("`result` as an array")
            }
            fn visit_unit<E: de::Error>(self) -> Result<RawResult, E> {
                Ok(RawResult::Empty)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawResult, A::Error> {
                match seq.next_element::<First>()? {
                    None => Ok(RawResult::Empty),
                    Some(First::Time(t)) => {
                        let v: String = seq.next_element()?.ok_or_else(|| {
                            de::Error::custom("expected a value after the time in `result`")
                        })?;
                        Ok(RawResult::Pair(t, v))
                    }
                    Some(First::Series(s)) => {
                        let mut all = Vec::with_capacity(seq.size_hint().unwrap_or(16) + 1);
                        all.push(s);
                        while let Some(s) = seq.next_element_seed(SeriesSeed)? {
                            all.push(s);
                        }
                        Ok(RawResult::Series(all))
                    }
                }
            }
        }
        d.deserialize_any(V)
    }
}

/// One element of a vector or matrix result.
pub(crate) struct RawSeries {
    pub(crate) labels: Labels,
    pub(crate) value: Option<Sample>,
    pub(crate) values: Option<Vec<Sample>>,
    /// The series carried a native histogram (`histogram`/`histograms`), which is not
    /// drawn yet: skipped, not an error.
    pub(crate) native_histogram: bool,
}

#[derive(Deserialize)]
#[serde(field_identifier)]
enum SeriesKey {
    #[serde(rename = "metric")]
    Metric,
    #[serde(rename = "value")]
    Value,
    #[serde(rename = "values")]
    Values,
    #[serde(rename = "histogram", alias = "histograms")]
    Histogram,
    #[serde(other)]
    Other,
}

struct SeriesSeed;

impl<'de> DeserializeSeed<'de> for SeriesSeed {
    type Value = RawSeries;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<RawSeries, D::Error> {
        d.deserialize_map(SeriesVisitor)
    }
}

struct SeriesVisitor;

impl<'de> Visitor<'de> for SeriesVisitor {
    type Value = RawSeries;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a series object with `metric` and `value` or `values`")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawSeries, A::Error> {
        let mut s = RawSeries {
            labels: Labels::new(),
            value: None,
            values: None,
            native_histogram: false,
        };
        while let Some(key) = map.next_key::<SeriesKey>()? {
            match key {
                SeriesKey::Metric => {
                    s.labels = map.next_value::<Option<Labels>>()?.unwrap_or_default()
                }
                SeriesKey::Value => s.value = Some(map.next_value::<SampleDe>()?.0),
                SeriesKey::Values => s.values = Some(map.next_value::<Samples>()?.0),
                // `histogram`/`histograms` (native histograms) are not drawn yet.
                SeriesKey::Histogram => {
                    s.native_histogram = true;
                    map.next_value::<IgnoredAny>()?;
                }
                SeriesKey::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(s)
    }
}

/// `[1435781451.781, "1"]`
struct SampleDe(Sample);

impl<'de> Deserialize<'de> for SampleDe {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = SampleDe;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a sample [time, \"value\"]")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<SampleDe, A::Error> {
                let t: f64 = seq.next_element()?.ok_or_else(|| {
                    de::Error::custom("expected a time in the sample [time, \"value\"]")
                })?;
                let v = seq.next_element::<ValueDe>()?.ok_or_else(|| {
                    de::Error::custom("expected a value in the sample [time, \"value\"]")
                })?;
                Ok(SampleDe(Sample { t, v: v.0 }))
            }
        }
        d.deserialize_seq(V)
    }
}

/// A sample value string, parsed without allocating.
struct ValueDe(f64);

impl<'de> Deserialize<'de> for ValueDe {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = ValueDe;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "a sample value as a string, such as \"1.5\", \"2e-07\", \"NaN\" or \"+Inf\"",
                )
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<ValueDe, E> {
                parse_value(s)
                    .map(ValueDe)
                    .ok_or_else(|| E::invalid_value(de::Unexpected::Str(s), &self))
            }
            fn visit_bytes<E: de::Error>(self, b: &[u8]) -> Result<ValueDe, E> {
                crate::fastnum::parse_value_bytes(b)
                    .map(ValueDe)
                    .ok_or_else(|| E::invalid_value(de::Unexpected::Bytes(b), &self))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<ValueDe, E> {
                Ok(ValueDe(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<ValueDe, E> {
                Ok(ValueDe(v as f64))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<ValueDe, E> {
                Ok(ValueDe(v as f64))
            }
        }
        // Bytes skip serde_json's UTF-8 check; a sample value is ASCII.
        d.deserialize_bytes(V)
    }
}

/// `[[t, "v"], ...]`: borrowed as raw text from the body and read by the fast loop of
/// [`crate::fastnum::parse_samples`]; serde reads it again only to explain an error.
struct Samples(Vec<Sample>);

impl<'de> Deserialize<'de> for Samples {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = <&'de serde_json::value::RawValue>::deserialize(d)?;
        let text = raw.get();
        let mut out = Vec::with_capacity(text.len() / 24 + 1);
        if crate::fastnum::parse_samples(text.as_bytes(), &mut out).is_some() {
            return Ok(Samples(out));
        }
        serde_json::from_str::<SlowSamples>(text)
            .map(|s| Samples(s.0))
            .map_err(|e| de::Error::custom(format!("in `values`: {e}")))
    }
}

/// The serde reading of `values`, for exact error messages and odd encodings.
struct SlowSamples(Vec<Sample>);

impl<'de> Deserialize<'de> for SlowSamples {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = SlowSamples;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an array of samples [[time, \"value\"], ...]")
            }
            fn visit_unit<E: de::Error>(self) -> Result<SlowSamples, E> {
                Ok(SlowSamples(Vec::new()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<SlowSamples, A::Error> {
                let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(64));
                while let Some(s) = seq.next_element::<SampleDe>()? {
                    out.push(s.0);
                }
                Ok(SlowSamples(out))
            }
        }
        d.deserialize_any(V)
    }
}
