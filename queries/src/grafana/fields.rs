//! What a panel's field config does to the values it shows, as Grafana defines it:
//! value mappings and the "no value" text, thresholds relative to min/max, the reducer
//! of a stat or gauge, per-series overrides (display name, colour, unit, negative-Y,
//! axis, hidden) and stacking. The model lives on [`crate::dashboard::Panel::field`];
//! the functions here are pure, the TUI calls them when it prepares what it draws.

use std::cell::RefCell;
use std::collections::HashMap;

use regex::Regex;

use super::calc::Calc;
use crate::dashboard::{Color, Threshold, Unit};

/// The Grafana unit ids promdash formats (besides `suffix:<text>`). A Grafana dashboard
/// naming another one shows raw values and `validate` reports it.
pub const KNOWN_UNITS: &[&str] = &[
    "short",
    "none",
    "percent",
    "percentunit",
    "bytes",
    "decbytes",
    "bits",
    "decbits",
    "bps",
    "binbps",
    "Bps",
    "binBps",
    "pps",
    "s",
    "ms",
    "µs",
    "ns",
    "dtdurations",
    "reqps",
    "ops",
    "rps",
    "wps",
    "iops",
    "hertz",
    "celsius",
    "bool_yes_no",
    "bool",
    "bool_on_off",
    "dateTimeAsIso",
    "cps",
    "eps",
    "mps",
    "rotrpm",
];

/// A regex in Grafana's syntax ([`super::variable_regex`]), compiled once per thread
/// and pattern: the same override is in every panel of a large dashboard, and compiling
/// is what costs (`None`: not a regex).
pub fn cached_regex(pattern: &str) -> Option<Regex> {
    thread_local! {
        static CACHE: RefCell<HashMap<String, Option<Regex>>> = RefCell::new(HashMap::new());
    }
    CACHE.with(|c| {
        let mut c = c.borrow_mut();
        if let Some(r) = c.get(pattern) {
            return r.clone();
        }
        // Bounded: a dashboard has a few patterns, not thousands.
        if c.len() >= 1024 {
            c.clear();
        }
        let r = super::variable_regex(pattern).ok().map(|(re, _)| re);
        c.insert(pattern.to_owned(), r.clone());
        r
    })
}

/// Everything of Grafana's field config beyond unit, decimals, min/max and thresholds.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FieldConfig {
    /// Value mappings, tried in order; the first that matches gives the text and colour.
    pub mappings: Vec<ValueMapping>,
    /// Shown where there is no value (no series, or a reducer with nothing to reduce).
    pub no_value: Option<String>,
    /// Whether threshold values are absolute or percentages of min..max.
    pub thresholds_mode: ThresholdsMode,
    /// The colour below every threshold (Grafana's base step).
    pub base_color: Option<Color>,
    /// The reducer of a stat or gauge (`None`: the last value, as an instant query gives).
    pub reduce: Option<Calc>,
    /// How a graph's series are stacked (overrides may stack some only).
    pub stacking: Stacking,
    /// A display name for every series (`${__field.labels.x}` filled in).
    pub display_name: Option<String>,
    /// Per-series properties, applied in order (a later one wins).
    pub overrides: Vec<SeriesOverride>,
}

impl FieldConfig {
    /// Whether a stat or gauge computes its value from the range answer (a reducer other
    /// than the last value).
    pub fn reduces_range(&self) -> bool {
        self.reduce
            .is_some_and(|c| !matches!(c, Calc::Last | Calc::LastNotNull))
    }
}

/// What a value mapping matches.
#[derive(Debug, Clone, PartialEq)]
pub enum MappingMatch {
    /// The value's text (`"1"`, `"0.5"`), as Grafana compares it.
    Value(String),
    /// `from <= v <= to`, either end open.
    Range { from: Option<f64>, to: Option<f64> },
    /// No value at all.
    Null,
    /// NaN.
    NaN,
    /// No value or NaN.
    NullNaN,
    /// A regular expression over the value's text (Grafana's syntax: `/re/flags`, or
    /// anchored).
    Regex(String),
}

/// One value mapping: what it matches and what it shows instead.
#[derive(Debug, Clone, PartialEq)]
pub struct ValueMapping {
    pub on: MappingMatch,
    pub text: Option<String>,
    pub color: Option<Color>,
}

/// The text JavaScript's `String(v)` gives a number, which Grafana's value mappings
/// compare with: `1`, `0.5`, `NaN`, `Infinity`.
pub fn js_number(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "Infinity" } else { "-Infinity" }.into()
    } else if v == 0.0 {
        "0".into()
    } else {
        format!("{v}")
    }
}

/// The first mapping that matches `v` (`None`: no value at all).
pub fn map_value(mappings: &[ValueMapping], v: Option<f64>) -> Option<&ValueMapping> {
    mappings.iter().find(|m| match (&m.on, v) {
        (MappingMatch::Null | MappingMatch::NullNaN, None) => true,
        (MappingMatch::NaN | MappingMatch::NullNaN, Some(x)) => x.is_nan(),
        (_, None) => false,
        (MappingMatch::Value(key), Some(x)) => {
            let key = key.trim();
            key == js_number(x) || key.parse::<f64>().is_ok_and(|k| k == x)
        }
        (MappingMatch::Range { from, to }, Some(x)) => {
            !x.is_nan() && from.is_none_or(|f| x >= f) && to.is_none_or(|t| x <= t)
        }
        (MappingMatch::Regex(re), Some(x)) => {
            cached_regex(re).is_some_and(|re| re.is_match(&js_number(x)))
        }
        (MappingMatch::Null, Some(_)) => false,
    })
}

/// Absolute or relative thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ThresholdsMode {
    #[default]
    Absolute,
    /// Threshold values are percentages of the way from min to max.
    Percentage,
}

/// The colour of `v` under ascending `thresholds`: the last one it reaches, else
/// `base`. In percentage mode `v` is first placed between `min` and `max` (0..100).
pub fn threshold_color(
    thresholds: &[Threshold],
    mode: ThresholdsMode,
    base: Option<Color>,
    v: f64,
    (min, max): (f64, f64),
) -> Option<Color> {
    if !v.is_finite() {
        return None;
    }
    let x = match mode {
        ThresholdsMode::Absolute => v,
        ThresholdsMode::Percentage if max > min => (v - min) / (max - min) * 100.0,
        // A single value: as Grafana, the whole way.
        ThresholdsMode::Percentage => 100.0,
    };
    thresholds
        .iter()
        .rfind(|t| x >= t.value)
        .map(|t| t.color)
        .or(base)
}

/// How series are stacked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Stacking {
    #[default]
    None,
    /// Each series drawn on top of the ones before it.
    Normal,
    /// Stacked, as a share of the total at each time (0..1).
    Percent,
}

impl Stacking {
    /// `none`, `normal` or `percent`.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "none" | "" => Self::None,
            "normal" => Self::Normal,
            "percent" => Self::Percent,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Normal => "normal",
            Self::Percent => "percent",
        }
    }
}

/// Which y axis a series is drawn against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Axis {
    /// The left one.
    #[default]
    Left,
    /// Its own scale, labelled on the right.
    Right,
    /// The left scale, without labels.
    Hidden,
}

impl Axis {
    /// Grafana's `axisPlacement`: `auto`/`left`, `right`, `hidden`.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "auto" | "left" | "" => Self::Left,
            "right" => Self::Right,
            "hidden" => Self::Hidden,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Left => "left",
            Self::Right => "right",
            Self::Hidden => "hidden",
        }
    }
}

/// Which series an override applies to.
#[derive(Debug, Clone, PartialEq)]
pub enum SeriesMatcher {
    /// Every series.
    All,
    /// The series whose name (after the legend template) is this.
    Name(String),
    /// The series whose name the regex matches (Grafana's syntax: `/re/flags`, or a bare
    /// pattern anchored at both ends).
    Regex(String),
    /// The series of the panel's query with this index (0-based; Grafana's refId).
    Query(usize),
}

/// Properties an override sets on the series it matches; `None` leaves them.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesOverride {
    pub matcher: SeriesMatcher,
    pub display_name: Option<String>,
    pub color: Option<Color>,
    pub unit: Option<Unit>,
    pub negative_y: Option<bool>,
    pub axis: Option<Axis>,
    pub hidden: Option<bool>,
    pub stacking: Option<Stacking>,
}

impl SeriesOverride {
    pub fn new(matcher: SeriesMatcher) -> Self {
        Self {
            matcher,
            display_name: None,
            color: None,
            unit: None,
            negative_y: None,
            axis: None,
            hidden: None,
            stacking: None,
        }
    }

    /// Whether it sets nothing.
    pub fn is_empty(&self) -> bool {
        self == &Self::new(self.matcher.clone())
    }
}

/// One series' properties after every override.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SeriesStyle {
    /// The name shown (the display name, or the legend name).
    pub name: String,
    pub color: Option<Color>,
    pub unit: Option<Unit>,
    pub negative_y: bool,
    pub axis: Axis,
    pub hidden: bool,
    pub stacking: Stacking,
}

/// The overrides' matchers compiled once, for styling many series.
pub struct Styler<'a> {
    field: &'a FieldConfig,
    regexes: Vec<Option<Regex>>,
}

impl<'a> Styler<'a> {
    pub fn new(field: &'a FieldConfig) -> Self {
        let regexes = field
            .overrides
            .iter()
            .map(|o| match &o.matcher {
                SeriesMatcher::Regex(r) => cached_regex(r),
                _ => None,
            })
            .collect();
        Self { field, regexes }
    }

    /// The style of the series named `name` (its legend name) of query `query`, with
    /// labels `labels` (for `${__field.labels.x}` in display names).
    pub fn style<'l>(
        &self,
        name: &str,
        query: usize,
        labels: impl Fn(&str) -> Option<&'l str>,
    ) -> SeriesStyle {
        let mut s = SeriesStyle {
            name: name.to_owned(),
            stacking: self.field.stacking,
            ..SeriesStyle::default()
        };
        let mut display = self.field.display_name.clone();
        for (o, re) in self.field.overrides.iter().zip(&self.regexes) {
            let hit = match &o.matcher {
                SeriesMatcher::All => true,
                SeriesMatcher::Name(n) => n == name,
                SeriesMatcher::Regex(_) => re.as_ref().is_some_and(|re| re.is_match(name)),
                SeriesMatcher::Query(q) => *q == query,
            };
            if !hit {
                continue;
            }
            if let Some(d) = &o.display_name {
                display = Some(d.clone());
            }
            if let Some(c) = o.color {
                s.color = Some(c);
            }
            if let Some(u) = &o.unit {
                s.unit = Some(u.clone());
            }
            if let Some(n) = o.negative_y {
                s.negative_y = n;
            }
            if let Some(a) = o.axis {
                s.axis = a;
            }
            if let Some(h) = o.hidden {
                s.hidden = h;
            }
            if let Some(st) = o.stacking {
                s.stacking = st;
            }
        }
        if let Some(d) = display.filter(|d| !d.is_empty()) {
            s.name = display_name(&d, name, labels);
        }
        s
    }
}

/// A display name template: `${__field.labels.x}` (and `${__field.labels["x"]}`) is the
/// label's value, `${__field.name}` and `${__series.name}` the series' legend name.
pub fn display_name<'l>(
    template: &str,
    name: &str,
    labels: impl Fn(&str) -> Option<&'l str>,
) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find("${") {
        out.push_str(&rest[..open]);
        let after = &rest[open + 2..];
        let Some(close) = after.find('}') else {
            out.push_str(&rest[open..]);
            rest = "";
            break;
        };
        let key = after[..close].trim();
        if key == "__field.name" || key == "__series.name" || key == "__field.displayName" {
            out.push_str(name);
        } else if let Some(label) = key.strip_prefix("__field.labels") {
            let label = label
                .trim_start_matches('.')
                .trim_start_matches("[\"")
                .trim_end_matches("\"]");
            out.push_str(labels(label).unwrap_or(""));
        } else {
            // Something else (a dashboard variable is already filled in): as written.
            out.push_str(&rest[open..open + 2 + close + 1]);
        }
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(on: MappingMatch, text: &str) -> ValueMapping {
        ValueMapping {
            on,
            text: Some(text.into()),
            color: None,
        }
    }

    #[test]
    fn mappings_match_as_grafana_compares() {
        let maps = [
            m(MappingMatch::Value("1".into()), "Up"),
            m(MappingMatch::Value("0".into()), "Down"),
            m(
                MappingMatch::Range {
                    from: Some(10.0),
                    to: Some(20.0),
                },
                "ten to twenty",
            ),
            m(
                MappingMatch::Range {
                    from: None,
                    to: Some(-1.0),
                },
                "negative",
            ),
            m(MappingMatch::NaN, "not a number"),
            m(MappingMatch::Null, "nothing"),
        ];
        let text = |v| map_value(&maps, v).and_then(|m| m.text.clone());
        assert_eq!(text(Some(1.0)).as_deref(), Some("Up"));
        assert_eq!(text(Some(0.0)).as_deref(), Some("Down"));
        assert_eq!(text(Some(-0.0)).as_deref(), Some("Down"));
        // Both ends of a range are inside it.
        assert_eq!(text(Some(10.0)).as_deref(), Some("ten to twenty"));
        assert_eq!(text(Some(20.0)).as_deref(), Some("ten to twenty"));
        assert_eq!(text(Some(20.5)), None);
        assert_eq!(text(Some(-7.0)).as_deref(), Some("negative"));
        assert_eq!(text(Some(f64::NAN)).as_deref(), Some("not a number"));
        assert_eq!(text(None).as_deref(), Some("nothing"));
        assert_eq!(text(Some(2.0)), None);
        // "null+nan" takes both; a value key "1.0" is the number one.
        let both = [m(MappingMatch::NullNaN, "N/A")];
        assert!(map_value(&both, None).is_some());
        assert!(map_value(&both, Some(f64::NAN)).is_some());
        assert!(map_value(&both, Some(0.0)).is_none());
        let one = [m(MappingMatch::Value("1.0".into()), "one")];
        assert!(map_value(&one, Some(1.0)).is_some());
        // A regex over the value's text, anchored like Grafana's.
        let re = [m(MappingMatch::Regex("4\\d\\d".into()), "client error")];
        assert!(map_value(&re, Some(404.0)).is_some());
        assert!(map_value(&re, Some(1404.0)).is_none());
        // The first match wins.
        let first = [
            m(
                MappingMatch::Range {
                    from: None,
                    to: None,
                },
                "any",
            ),
            m(MappingMatch::Value("1".into()), "one"),
        ];
        assert_eq!(
            map_value(&first, Some(1.0)).and_then(|m| m.text.as_deref()),
            Some("any")
        );
    }

    #[test]
    fn percentage_thresholds_are_placed_between_min_and_max() {
        let steps = [
            Threshold {
                value: 50.0,
                color: Color::Yellow,
            },
            Threshold {
                value: 80.0,
                color: Color::Red,
            },
        ];
        let pct = |v| {
            threshold_color(
                &steps,
                ThresholdsMode::Percentage,
                Some(Color::Green),
                v,
                (200.0, 400.0),
            )
        };
        // 200..400: 50% is 300, 80% is 360.
        assert_eq!(pct(250.0), Some(Color::Green));
        assert_eq!(pct(300.0), Some(Color::Yellow));
        assert_eq!(pct(359.0), Some(Color::Yellow));
        assert_eq!(pct(360.0), Some(Color::Red));
        assert_eq!(pct(f64::NAN), None);
        // Absolute: the values as they are; the base colour below the first step.
        let abs = |v| {
            threshold_color(
                &steps,
                ThresholdsMode::Absolute,
                Some(Color::Blue),
                v,
                (0.0, 1.0),
            )
        };
        assert_eq!(abs(49.0), Some(Color::Blue));
        assert_eq!(abs(80.0), Some(Color::Red));
        assert_eq!(
            threshold_color(&steps, ThresholdsMode::Absolute, None, 1.0, (0.0, 1.0)),
            None
        );
    }

    #[test]
    fn overrides_apply_in_order_and_match_by_name_regex_and_query() {
        let mut field = FieldConfig {
            display_name: Some("${__field.labels.device} ${__series.name}".into()),
            ..FieldConfig::default()
        };
        let mut neg = SeriesOverride::new(SeriesMatcher::Regex("/.*transmit.*/".into()));
        neg.negative_y = Some(true);
        let mut right = SeriesOverride::new(SeriesMatcher::Query(1));
        right.axis = Some(Axis::Right);
        right.unit = Some(Unit::Percent);
        let mut name = SeriesOverride::new(SeriesMatcher::Name("eth0 receive".into()));
        name.color = Some(Color::Purple);
        name.display_name = Some("In".into());
        let mut hide = SeriesOverride::new(SeriesMatcher::Regex("lo.*".into()));
        hide.hidden = Some(true);
        field.overrides = vec![neg, right, name, hide];
        let styler = Styler::new(&field);
        let labels = |k: &str| (k == "device").then_some("eth0");
        let tx = styler.style("eth0 transmit", 0, labels);
        assert!(tx.negative_y && !tx.hidden);
        assert_eq!(tx.name, "eth0 eth0 transmit");
        assert_eq!(tx.axis, Axis::Left);
        let rx = styler.style("eth0 receive", 1, labels);
        assert_eq!(rx.name, "In");
        assert_eq!(rx.color, Some(Color::Purple));
        assert_eq!((rx.axis, rx.unit), (Axis::Right, Some(Unit::Percent)));
        assert!(!rx.negative_y);
        // A bare regex is anchored.
        assert!(styler.style("lo0", 0, labels).hidden);
        assert!(!styler.style("xlo0", 0, labels).hidden);
    }

    #[test]
    fn display_name_templates() {
        let labels = |k: &str| match k {
            "instance" => Some("h:9100"),
            _ => None,
        };
        assert_eq!(
            display_name("${__field.labels.instance} (${__field.name})", "up", labels),
            "h:9100 (up)"
        );
        assert_eq!(
            display_name("${__field.labels[\"instance\"]}", "up", labels),
            "h:9100"
        );
        assert_eq!(display_name("${other} x", "up", labels), "${other} x");
        assert_eq!(display_name("Total", "up", labels), "Total");
    }

    #[test]
    fn js_numbers() {
        assert_eq!(js_number(1.0), "1");
        assert_eq!(js_number(0.5), "0.5");
        assert_eq!(js_number(-0.0), "0");
        assert_eq!(js_number(f64::INFINITY), "Infinity");
    }
}
