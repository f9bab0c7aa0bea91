//! Grafana's reducers (`legend.calcs`, `reduceOptions.calcs`): one value computed over a
//! series' points, as Grafana's standard calculations define them. A NaN point counts as
//! a missing one (Prometheus has no nulls; NaN is what it answers for "no value").

/// One reducer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Calc {
    Min,
    Max,
    Mean,
    /// The newest point, missing or not.
    Last,
    /// The newest point that has a value.
    LastNotNull,
    First,
    FirstNotNull,
    /// Grafana's "Total".
    Sum,
    /// Number of points.
    Count,
    /// Max − min.
    Range,
    /// Cumulative increase, counter resets counted as a new start.
    Delta,
    /// Last − first (of the points with values).
    Diff,
}

impl Calc {
    /// The names a dashboard file accepts (Grafana's reducer ids).
    pub const NAMES: &'static str =
        "min, max, mean, last, lastNotNull, first, firstNotNull, sum, count, range, delta, diff";

    /// A Grafana reducer id (and the old graph panel's aliases `avg`, `current`,
    /// `total`).
    pub fn parse(id: &str) -> Option<Self> {
        Some(match id {
            "min" => Self::Min,
            "max" => Self::Max,
            "mean" | "avg" => Self::Mean,
            "last" => Self::Last,
            "lastNotNull" | "current" => Self::LastNotNull,
            "first" => Self::First,
            "firstNotNull" => Self::FirstNotNull,
            "sum" | "total" => Self::Sum,
            "count" => Self::Count,
            "range" => Self::Range,
            "delta" => Self::Delta,
            "diff" => Self::Diff,
            _ => return None,
        })
    }

    /// The id written in a dashboard file.
    pub fn id(self) -> &'static str {
        match self {
            Self::Min => "min",
            Self::Max => "max",
            Self::Mean => "mean",
            Self::Last => "last",
            Self::LastNotNull => "lastNotNull",
            Self::First => "first",
            Self::FirstNotNull => "firstNotNull",
            Self::Sum => "sum",
            Self::Count => "count",
            Self::Range => "range",
            Self::Delta => "delta",
            Self::Diff => "diff",
        }
    }

    /// The column header of a table legend, as Grafana names it.
    pub fn header(self) -> &'static str {
        match self {
            Self::Min => "Min",
            Self::Max => "Max",
            Self::Mean => "Mean",
            Self::Last => "Last",
            Self::LastNotNull => "Last *",
            Self::First => "First",
            Self::FirstNotNull => "First *",
            Self::Sum => "Total",
            Self::Count => "Count",
            Self::Range => "Range",
            Self::Delta => "Delta",
            Self::Diff => "Difference",
        }
    }

    /// Whether the result is a count (shown as a plain number, not in the panel's unit).
    pub fn is_count(self) -> bool {
        self == Self::Count
    }
}

/// Every reducer over one series at once, in one pass.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Calcs {
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub sum: f64,
    pub with_value: usize,
    pub count: usize,
    pub first: Option<f64>,
    pub last: Option<f64>,
    pub first_not_null: Option<f64>,
    pub last_not_null: Option<f64>,
    pub delta: f64,
}

impl Calcs {
    /// The reducers over `values`, oldest first.
    pub fn of(values: impl IntoIterator<Item = f64>) -> Self {
        let mut c = Calcs {
            min: None,
            max: None,
            sum: 0.0,
            with_value: 0,
            count: 0,
            first: None,
            last: None,
            first_not_null: None,
            last_not_null: None,
            delta: 0.0,
        };
        // Whether the step into the previous point went up (or stayed): after a drop (a
        // counter reset) the next point's whole value is new increase.
        let mut rising = true;
        let mut first_point = true;
        for v in values {
            let v = (!v.is_nan()).then_some(v);
            if first_point {
                c.first = v;
                first_point = false;
            }
            c.count += 1;
            c.last = v;
            let Some(v) = v else { continue };
            if let Some(prev) = c.last_not_null {
                if v < prev {
                    rising = false;
                } else {
                    c.delta += if rising { v - prev } else { v };
                    rising = true;
                }
            }
            c.first_not_null.get_or_insert(v);
            c.last_not_null = Some(v);
            c.sum += v;
            c.with_value += 1;
            c.min = Some(c.min.map_or(v, |m| m.min(v)));
            c.max = Some(c.max.map_or(v, |m| m.max(v)));
        }
        // A drop on the very last point: Grafana counts its value as increase.
        if !rising && c.last.is_some() {
            c.delta += c.last_not_null.unwrap_or(0.0);
        }
        c
    }

    /// One reducer's value; `None` when there is nothing to show (no point with a value).
    pub fn get(&self, calc: Calc) -> Option<f64> {
        match calc {
            Calc::Min => self.min,
            Calc::Max => self.max,
            Calc::Mean => (self.with_value > 0).then(|| self.sum / self.with_value as f64),
            Calc::Last => self.last,
            Calc::LastNotNull => self.last_not_null,
            Calc::First => self.first,
            Calc::FirstNotNull => self.first_not_null,
            Calc::Sum => Some(self.sum),
            Calc::Count => Some(self.count as f64),
            Calc::Range => self.max.zip(self.min).map(|(hi, lo)| hi - lo),
            Calc::Delta => (self.with_value > 0).then_some(self.delta),
            Calc::Diff => self
                .last_not_null
                .zip(self.first_not_null)
                .map(|(l, f)| l - f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAN: f64 = f64::NAN;

    fn all(values: &[f64]) -> Vec<(Calc, Option<f64>)> {
        let c = Calcs::of(values.iter().copied());
        [
            Calc::Min,
            Calc::Max,
            Calc::Mean,
            Calc::Last,
            Calc::LastNotNull,
            Calc::First,
            Calc::FirstNotNull,
            Calc::Sum,
            Calc::Count,
            Calc::Range,
            Calc::Delta,
            Calc::Diff,
        ]
        .into_iter()
        .map(|k| (k, c.get(k)))
        .collect()
    }

    #[test]
    fn every_reducer_over_points_with_gaps() {
        // NaN at both ends and inside: counted by `count`, skipped by the rest, seen by
        // `first` and `last`.
        let got = all(&[NAN, 4.0, 1.0, NAN, 7.0, NAN]);
        assert_eq!(
            got,
            [
                (Calc::Min, Some(1.0)),
                (Calc::Max, Some(7.0)),
                (Calc::Mean, Some(4.0)),
                (Calc::Last, None),
                (Calc::LastNotNull, Some(7.0)),
                (Calc::First, None),
                (Calc::FirstNotNull, Some(4.0)),
                (Calc::Sum, Some(12.0)),
                (Calc::Count, Some(6.0)),
                (Calc::Range, Some(6.0)),
                // 4 → 1 is a reset; 1 → 7 after it counts the whole 7.
                (Calc::Delta, Some(7.0)),
                (Calc::Diff, Some(3.0)),
            ]
        );
    }

    #[test]
    fn delta_of_a_counter_with_resets() {
        let d = |v: &[f64]| Calcs::of(v.iter().copied()).get(Calc::Delta);
        assert_eq!(d(&[1.0, 3.0, 6.0]), Some(5.0));
        // Reset in the middle: 1→3 (+2), 3→2 drop, 2→5 after a drop (+5).
        assert_eq!(d(&[1.0, 3.0, 2.0, 5.0]), Some(7.0));
        // Reset on the last point: its value is increase.
        assert_eq!(d(&[1.0, 3.0, 2.0]), Some(4.0));
        assert_eq!(d(&[5.0]), Some(0.0));
        assert_eq!(d(&[]), None);
    }

    #[test]
    fn empty_series() {
        let c = Calcs::of(std::iter::empty());
        assert_eq!(c.get(Calc::Mean), None);
        assert_eq!(c.get(Calc::Max), None);
        assert_eq!(c.get(Calc::Sum), Some(0.0));
        assert_eq!(c.get(Calc::Count), Some(0.0));
    }

    #[test]
    fn ids_round_trip_and_aliases() {
        for id in Calc::NAMES.split(", ") {
            let c = Calc::parse(id).expect(id);
            assert_eq!(c.id(), id);
        }
        assert_eq!(Calc::parse("avg"), Some(Calc::Mean));
        assert_eq!(Calc::parse("current"), Some(Calc::LastNotNull));
        assert_eq!(Calc::parse("total"), Some(Calc::Sum));
        assert_eq!(Calc::parse("stdDev"), None);
        assert_eq!(Calc::LastNotNull.header(), "Last *");
        assert_eq!(Calc::Sum.header(), "Total");
    }
}
