//! What a panel shows, derived from query results when they arrive.
//!
//! Results are reduced here, once per arrival (or resize): series are named from their
//! legend template, capped to the top ones by last value, downsampled to braille columns,
//! and the y axis is chosen and labelled. Drawing then only walks these prepared columns.

use promdash_queries::dashboard::{Color as DashColor, Panel, PanelKind, Threshold, Unit};
use promdash_queries::grafana::calc::Calcs;
use promdash_queries::grafana::fields::{self, Axis, SeriesStyle, Stacking, Styler};
use promdash_queries::model::{Labels, QueryData, QueryResult, RangeSeries, Sample};
use promdash_queries::source::RangeWindow;

use crate::plot::{self, Column};
use crate::ticks::{Scale, nice_scale};
use crate::units::Format;

static EMPTY_LABELS: Labels = Labels::new();

/// How much later than a range window's next step a graph's newest point may be.
pub const TAIL_SLACK_SECS: f64 = 60.0;

/// Default cap on series drawn in one graph.
pub const MAX_SERIES: usize = 50;

/// A series ready to draw.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesView {
    pub name: String,
    pub last: f64,
    pub last_text: String,
    pub cols: Vec<Column>,
    /// Palette index (1-based; 0 is "no colour").
    pub color: u8,
    /// The panel's legend calculations over the points in the window, formatted in its
    /// unit (one per [`Panel::legend_calcs`]; empty without them). `-` when there is no
    /// value to show.
    pub calcs: Vec<String>,
    /// A fixed colour from the field config, instead of the palette's.
    pub fixed: Option<DashColor>,
    /// Drawn against the right-hand axis (its own scale).
    pub right: bool,
    /// Hidden from the graph by an override (`hideFrom.viz`): listed in the legend only.
    pub invisible: bool,
}

/// One series' value in a stat or gauge panel.
#[derive(Debug, Clone, PartialEq)]
pub struct StatValue {
    /// Legend name (as a graph names the series).
    pub name: String,
    pub labels: Labels,
    /// NaN when there is no value (`missing`).
    pub value: f64,
    /// No value at all (a reducer over no points).
    pub missing: bool,
    pub text: String,
    /// Its colour: a value mapping's, a fixed one, or by thresholds; `None`: the panel's
    /// default.
    pub color: Option<DashColor>,
}

/// One row of a table panel.
#[derive(Debug, Clone, PartialEq)]
pub struct TableRow {
    pub labels: Vec<String>,
    pub value: f64,
    pub text: String,
    /// A value mapping's colour, or by thresholds.
    pub color: Option<DashColor>,
}

/// An error from one of the panel's queries.
#[derive(Debug, Clone, PartialEq)]
pub struct PanelError {
    pub message: String,
    /// The server could not be reached: the status bar says so, the panel only shows stale.
    pub unreachable: bool,
}

/// A range query's raw answer, kept to redo the downsampling when the panel is resized.
#[derive(Debug, Clone, PartialEq)]
pub struct RawRange {
    pub window: RangeWindow,
    pub series: Vec<RangeSeries>,
}

/// Everything a panel shows.
#[derive(Debug, Clone, PartialEq)]
pub struct PanelState {
    pub format: Format,
    /// Per query: the last good range answer (graphs and stat sparklines).
    pub raw: Vec<Option<RawRange>>,
    /// Per query × {instant, range}: the last error, cleared by the next success.
    pub errors: Vec<Option<PanelError>>,
    /// Per query: the last good instant answer as the server sent it (stats, gauges and
    /// tables), for exports of the raw data behind what is shown.
    pub instant_raw: Vec<Option<QueryData>>,
    /// Per query of a graph or stat sparkline: the instant answer at the window's end,
    /// drawn after the range answer's last point. A range window is aligned to its step
    /// (so that it is asked once), which leaves up to a step undrawn before now: at 7 d
    /// that is up to 2 h. This newest partial step is the "tail".
    pub tail: Vec<Option<QueryData>>,
    /// At least one answer arrived.
    pub loaded: bool,

    // Graph.
    pub series: Vec<SeriesView>,
    pub hidden: usize,
    pub window: Option<RangeWindow>,
    pub scale: Scale,
    pub y_labels: Vec<String>,
    /// The right-hand axis of the series placed there.
    pub right_scale: Option<Scale>,
    pub right_labels: Vec<String>,
    /// Every series on the left axis has it hidden: no labels.
    pub left_labels_hidden: bool,

    // Stat and gauge.
    /// The value of a single series (the first of `values`), `None` without data.
    pub value: Option<f64>,
    pub value_text: String,
    /// Number of series the instant queries returned.
    pub value_series: usize,
    /// Per query: one value per series, sorted by labels (Grafana shows a stat or gauge
    /// on several series as one value each; showing "the first" would be whichever the
    /// server listed first, and could change on every refresh).
    pub instant_values: Vec<Vec<StatValue>>,

    // Table.
    pub columns: Vec<String>,
    pub rows: Vec<TableRow>,

    /// Heatmap: the bucket grid and quantile rows.
    pub heatmap: Option<crate::heatmap::HeatmapView>,
}

impl PanelState {
    pub fn new(panel: &Panel) -> Self {
        let n = panel.queries.len();
        Self {
            format: Format::from_unit(&panel.unit),
            raw: vec![None; n],
            errors: vec![None; n * 2],
            instant_raw: vec![None; n],
            tail: vec![None; n],
            loaded: false,
            series: Vec::new(),
            hidden: 0,
            window: None,
            scale: nice_scale(0.0, 1.0, 2),
            y_labels: Vec::new(),
            right_scale: None,
            right_labels: Vec::new(),
            left_labels_hidden: false,
            value: None,
            value_text: String::new(),
            value_series: 0,
            instant_values: vec![Vec::new(); n],
            columns: Vec::new(),
            rows: Vec::new(),
            heatmap: None,
        }
    }

    /// The error to show inside the panel (not "unreachable": the status bar has that).
    pub fn visible_error(&self) -> Option<&str> {
        self.errors
            .iter()
            .flatten()
            .find(|e| !e.unreachable)
            .map(|e| e.message.as_str())
    }

    /// Data is shown but the last refresh of some query failed.
    pub fn is_stale(&self) -> bool {
        self.loaded && self.errors.iter().any(Option::is_some)
    }

    fn error_slot(query: usize, range: bool) -> usize {
        query * 2 + usize::from(range)
    }

    /// Records a failed query.
    pub fn set_error(&mut self, query: usize, range: bool, error: PanelError) {
        if let Some(slot) = self.errors.get_mut(Self::error_slot(query, range)) {
            *slot = Some(error);
        }
    }

    /// Applies an instant query's answer for query `query`.
    pub fn apply_instant(&mut self, panel: &Panel, query: usize, result: &QueryResult) {
        if let Some(slot) = self.errors.get_mut(Self::error_slot(query, false)) {
            *slot = None;
        }
        if let Some(slot) = self.instant_raw.get_mut(query) {
            *slot = Some(result.data.clone());
        }
        self.loaded = true;
        match panel.kind {
            PanelKind::Table => self.set_table(panel, result),
            // A reducer over the range: the values come from the range answer.
            _ if panel.field.reduces_range() => {}
            _ => {
                let legend = panel.queries.get(query).and_then(|q| q.legend.as_deref());
                let expr = panel.queries.get(query).map_or("", |q| q.expr.as_str());
                let mut values: Vec<(&Labels, f64)> = match &result.data {
                    QueryData::Vector(v) => v.iter().map(|s| (&s.labels, s.sample.v)).collect(),
                    QueryData::Matrix(m) => m
                        .iter()
                        .filter_map(|s| s.samples.last().map(|p| (&s.labels, p.v)))
                        .collect(),
                    QueryData::Scalar(s) => vec![(&EMPTY_LABELS, s.v)],
                    QueryData::String { .. } => Vec::new(),
                };
                values.sort_by(|a, b| a.0.cmp(b.0));
                let styler = Styler::new(&panel.field);
                let values: Vec<StatValue> = values
                    .into_iter()
                    .map(|(labels, v)| {
                        let name = series_name(legend, labels, expr);
                        self.stat_value(panel, &styler, name, labels, query, Some(v))
                    })
                    .collect();
                if let Some(slot) = self.instant_values.get_mut(query) {
                    *slot = values;
                }
                self.finish_values(panel);
            }
        }
    }

    /// One series' value of a stat or gauge: its display name and text (unit, mapping,
    /// no-value text); the colour is [`Self::finish_values`]'s to give.
    fn stat_value(
        &self,
        panel: &Panel,
        styler: &Styler<'_>,
        name: String,
        labels: &Labels,
        query: usize,
        v: Option<f64>,
    ) -> StatValue {
        let style = styler.style(&name, query, |k| labels.get(k));
        let format = style.unit.as_ref().map(Format::from_unit);
        StatValue {
            name: style.name,
            labels: labels.clone(),
            value: v.unwrap_or(f64::NAN),
            missing: v.is_none(),
            text: value_text(panel, format.as_ref().unwrap_or(&self.format), v),
            color: style.color,
        }
    }

    /// After a change of the stat or gauge values: their colours (a percentage threshold
    /// is placed between min and max, from the data where the panel sets none) and the
    /// single value.
    fn finish_values(&mut self, panel: &Panel) {
        let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
        for v in self.instant_values.iter().flatten() {
            if v.value.is_finite() {
                lo = lo.min(v.value);
                hi = hi.max(v.value);
            }
        }
        let range = if panel.kind == PanelKind::Gauge {
            panel.gauge_bounds()
        } else {
            (panel.min.unwrap_or(lo), panel.max.unwrap_or(hi))
        };
        for v in self.instant_values.iter_mut().flatten() {
            let value = (!v.missing).then_some(v.value);
            v.color = value_color(panel, value, v.color, range, true);
        }
        let first = self.instant_values.iter().flatten().next();
        self.value = first.map(|v| v.value);
        self.value_series = self.instant_values.iter().map(Vec::len).sum();
        self.value_text = match first {
            Some(v) => v.text.clone(),
            None => value_text(panel, &self.format, None),
        };
    }

    /// A stat or gauge with a reducer over the range: each series' value from the range
    /// answer of its query.
    fn reduce_values(&mut self, panel: &Panel) {
        let Some(calc) = panel.field.reduce else {
            return;
        };
        let styler = Styler::new(&panel.field);
        for qi in 0..self.raw.len() {
            let Some(raw) = self.raw[qi].as_ref() else {
                continue;
            };
            let legend = panel.queries.get(qi).and_then(|q| q.legend.as_deref());
            let expr = panel.queries.get(qi).map_or("", |q| q.expr.as_str());
            let mut series: Vec<&RangeSeries> = raw.series.iter().collect();
            series.sort_by(|a, b| a.labels.cmp(&b.labels));
            let values: Vec<StatValue> = series
                .into_iter()
                .map(|s| {
                    let v = Calcs::of(s.samples.iter().map(|p| p.v)).get(calc);
                    let name = series_name(legend, &s.labels, expr);
                    self.stat_value(panel, &styler, name, &s.labels, qi, v)
                })
                .collect();
            if let Some(slot) = self.instant_values.get_mut(qi) {
                *slot = values;
            }
        }
        self.finish_values(panel);
    }

    /// Keeps an instant answer at the window's end for query `query` of a graph (see
    /// [`Self::tail`]) and redraws.
    pub fn apply_tail(
        &mut self,
        panel: &Panel,
        query: usize,
        result: &QueryResult,
        dots: usize,
        rows: u16,
    ) {
        if let Some(slot) = self.tail.get_mut(query) {
            *slot = Some(result.data.clone());
        }
        if self.raw.iter().any(Option::is_some) {
            self.rebuild(panel, dots, rows);
        }
    }

    /// The tail point of series `labels` of query `query`: the instant answer's sample,
    /// when it is newer than `after` (the range answer's last point) and belongs to the
    /// steps after `window` (an older or much newer answer belongs to another window).
    fn tail_point(
        &self,
        query: usize,
        labels: &Labels,
        after: f64,
        window: RangeWindow,
    ) -> Option<Sample> {
        let sample = match self.tail.get(query)?.as_ref()? {
            QueryData::Vector(v) => v.iter().find(|s| &s.labels == labels)?.sample,
            QueryData::Scalar(s) if labels.is_empty() => *s,
            _ => return None,
        };
        // Live, the instant answer is up to a step and the settling time past the window's
        // end (more while the next window's answer is still on its way): a step and a
        // minute beyond that is another window's.
        let step = window.step.as_secs_f64();
        let newest = window.end + 2.0 * step + TAIL_SLACK_SECS;
        (sample.t > after && sample.t > window.end && sample.t <= newest).then_some(sample)
    }

    /// Every series' value of a stat or gauge, query by query, each sorted by labels.
    pub fn stat_values(&self) -> impl Iterator<Item = &StatValue> {
        self.instant_values.iter().flatten()
    }

    /// Applies a range query's answer for query `query` and redraws the series for a
    /// plot `dots` braille columns wide and `rows` cells high.
    pub fn apply_range(
        &mut self,
        panel: &Panel,
        query: usize,
        window: RangeWindow,
        result: QueryResult,
        dots: usize,
        rows: u16,
    ) {
        let series = match result.data {
            QueryData::Matrix(m) => m,
            QueryData::Vector(v) => v
                .into_iter()
                .map(|s| RangeSeries {
                    labels: s.labels,
                    samples: vec![s.sample],
                })
                .collect(),
            QueryData::Scalar(s) => vec![RangeSeries {
                labels: Labels::new(),
                samples: vec![s],
            }],
            QueryData::String { .. } => Vec::new(),
        };
        if let Some(slot) = self.errors.get_mut(Self::error_slot(query, true)) {
            *slot = None;
        }
        if let Some(slot) = self.raw.get_mut(query) {
            *slot = Some(RawRange { window, series });
        }
        self.loaded = true;
        self.rebuild(panel, dots, rows);
    }

    /// Recomputes the drawn series from the raw answers (after new data or a resize).
    pub fn rebuild(&mut self, panel: &Panel, dots: usize, rows: u16) {
        if panel.kind == PanelKind::Heatmap {
            self.heatmap =
                self.raw.iter().flatten().next().map(|r| {
                    crate::heatmap::build(&r.series, r.window, dots / 2, usize::from(rows))
                });
            self.window = self.raw.iter().flatten().next().map(|r| r.window);
            return;
        }
        if matches!(panel.kind, PanelKind::Stat | PanelKind::Gauge) && panel.field.reduces_range() {
            self.reduce_values(panel);
        }
        let (all, drawn, total, drawn_end) = self.gather(panel);
        self.hidden = total.saturating_sub(MAX_SERIES);
        let first_window = self.raw.iter().flatten().next().map(|r| r.window);
        let percent = percent_stacked(&all);
        let right_unit = right_unit(&all);
        let mut series: Vec<SeriesView> = Vec::with_capacity(all.len());
        for ((style, last, qi, si, tail), points) in all.into_iter().zip(&drawn) {
            let Some(raw) = self.raw[qi].as_ref() else {
                continue;
            };
            let w = raw.window;
            let cols = plot::downsample(
                points,
                w.start,
                w.end.max(drawn_end),
                w.step.as_secs_f64(),
                dots,
            );
            // The legend shows the values as the server answered them.
            let with_tail;
            let samples = match tail {
                Some(p) => {
                    with_tail = [raw.series[si].samples.as_slice(), &[p]].concat();
                    with_tail.as_slice()
                }
                None => raw.series[si].samples.as_slice(),
            };
            let own = style.unit.as_ref().map(Format::from_unit);
            let format = own.as_ref().unwrap_or(&self.format);
            let last_text = value_text(panel, format, Some(last));
            let calcs = legend_calcs(panel, format, samples);
            series.push(SeriesView {
                name: style.name,
                last,
                last_text,
                cols,
                color: 0,
                calcs,
                fixed: style.color,
                right: style.axis == Axis::Right,
                invisible: style.hidden,
            });
        }
        let mut order: Vec<usize> = (0..series.len()).collect();
        order.sort_by(|a, b| series[*a].name.cmp(&series[*b].name));
        for (rank, i) in order.into_iter().enumerate() {
            series[i].color = (rank % crate::ui::PALETTE_LEN) as u8 + 1;
        }
        self.window = first_window.map(|w| RangeWindow {
            end: w.end.max(drawn_end),
            ..w
        });
        let max_ticks = usize::from(rows / 2).clamp(2, 6);
        let bounds = |right: bool| {
            let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
            for s in series.iter().filter(|s| s.right == right && !s.invisible) {
                let (a, b) = plot::bounds(&s.cols);
                if a.is_finite() {
                    lo = lo.min(a);
                    hi = hi.max(b);
                }
            }
            (lo, hi)
        };
        let (lo, mut hi) = bounds(false);
        // Thresholds close to the data are worth seeing: stretch the axis to them.
        if panel.field.thresholds_mode == fields::ThresholdsMode::Absolute {
            for t in &panel.thresholds {
                if hi.is_finite() && t.value > hi && t.value <= hi * 1.5 {
                    hi = t.value;
                }
            }
        }
        self.scale = nice_scale(lo, hi, max_ticks);
        let percent_format = Format::PercentUnit;
        let left_format = if percent {
            &percent_format
        } else {
            &self.format
        };
        self.y_labels = self
            .scale
            .ticks()
            .map(|v| left_format.format(v, None))
            .collect();
        self.right_scale = None;
        self.right_labels.clear();
        if series.iter().any(|s| s.right) {
            let (lo, hi) = bounds(true);
            let scale = nice_scale(lo, hi, max_ticks);
            let format = right_unit
                .as_ref()
                .map_or(self.format.clone(), Format::from_unit);
            self.right_labels = scale.ticks().map(|v| format.format(v, None)).collect();
            self.right_scale = Some(scale);
        }
        self.left_labels_hidden = panel
            .field
            .overrides
            .iter()
            .any(|o| o.matcher == fields::SeriesMatcher::All && o.axis == Some(Axis::Hidden));
        self.series = series;
    }

    /// A graph's series ranked and capped as [`Self::series`] shows them, with the points
    /// drawn for each (the raw answer and its tail, negated for negative-Y, stacked),
    /// the number of series before the cap, and where the drawn window ends.
    fn gather(&self, panel: &Panel) -> (Gathered, Vec<Vec<Sample>>, usize, f64) {
        let styler = Styler::new(&panel.field);
        // Gather (style, last value, query, series index, tail point) for every series.
        let mut all: Vec<(SeriesStyle, f64, usize, usize, Option<Sample>)> = Vec::new();
        for (qi, raw) in self.raw.iter().enumerate() {
            let Some(raw) = raw else { continue };
            let legend = panel.queries.get(qi).and_then(|q| q.legend.as_deref());
            let expr = panel.queries.get(qi).map_or("", |q| q.expr.as_str());
            for (si, s) in raw.series.iter().enumerate() {
                let after = s.samples.last().map_or(f64::NEG_INFINITY, |p| p.t);
                let tail = self.tail_point(qi, &s.labels, after, raw.window);
                // The newest point as the server answered it: NaN when it is NaN (the
                // legend must not keep showing an older finite value).
                let last = tail
                    .or_else(|| s.samples.last().copied())
                    .map_or(f64::NAN, |p| p.v);
                let name = series_name(legend, &s.labels, expr);
                let style = styler.style(&name, qi, |k| s.labels.get(k));
                all.push((style, last, qi, si, tail));
            }
        }
        // The drawn window reaches the newest tail point: the window's end is now.
        let first_window = self.raw.iter().flatten().next().map(|r| r.window);
        let drawn_end = all
            .iter()
            .filter_map(|a| a.4.map(|p| p.t))
            .fold(first_window.map_or(f64::NEG_INFINITY, |w| w.end), f64::max);
        if panel.kind == PanelKind::Stat {
            // A stat's sparkline follows the first series only.
            all.truncate(1);
        }
        // Highest last value first; NaN (no recent data) at the end.
        all.sort_by(|a, b| match (a.1.is_nan(), b.1.is_nan()) {
            (false, false) => b.1.total_cmp(&a.1),
            (a_nan, b_nan) => a_nan.cmp(&b_nan),
        });
        let total = all.len();
        all.truncate(MAX_SERIES);
        // The points drawn: with the tail, negated for negative-Y, stacked.
        let mut drawn: Vec<Vec<Sample>> = Vec::with_capacity(all.len());
        for (style, _, qi, si, tail) in &all {
            let Some(raw) = self.raw[*qi].as_ref() else {
                drawn.push(Vec::new());
                continue;
            };
            let mut samples = raw.series[*si].samples.clone();
            samples.extend(*tail);
            if style.negative_y {
                for p in &mut samples {
                    p.v = -p.v;
                }
            }
            drawn.push(samples);
        }
        stack(&all, &mut drawn);
        (all, drawn, total, drawn_end)
    }

    /// The points a graph draws, before they are cut to the terminal's columns: for
    /// pictures drawn from every sample (exports). Computed again from the raw answers
    /// as [`Self::rebuild`] computes them.
    pub fn drawn(&self, panel: &Panel) -> Drawn {
        let (all, drawn, _, _) = self.gather(panel);
        Drawn {
            percent: percent_stacked(&all),
            right_unit: right_unit(&all),
            points: all
                .iter()
                .zip(drawn)
                .map(|(a, points)| {
                    let step = self.raw[a.2]
                        .as_ref()
                        .map_or(0.0, |r| r.window.step.as_secs_f64());
                    (points, step)
                })
                .collect(),
        }
    }

    fn set_table(&mut self, panel: &Panel, result: &QueryResult) {
        if let QueryData::Matrix(m) = &result.data {
            self.set_samples_table(m);
            return;
        }
        let mut rows: Vec<(Labels, f64)> = match &result.data {
            QueryData::Vector(v) => v.iter().map(|s| (s.labels.clone(), s.sample.v)).collect(),
            QueryData::Matrix(m) => m
                .iter()
                .map(|s| (s.labels.clone(), s.samples.last().map_or(f64::NAN, |x| x.v)))
                .collect(),
            QueryData::Scalar(s) => vec![(Labels::new(), s.v)],
            QueryData::String { .. } => Vec::new(),
        };
        rows.sort_by(|a, b| match (a.1.is_nan(), b.1.is_nan()) {
            (false, false) => b.1.total_cmp(&a.1),
            (a_nan, b_nan) => a_nan.cmp(&b_nan),
        });
        let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
        for (_, v) in rows.iter().filter(|r| r.1.is_finite()) {
            lo = lo.min(*v);
            hi = hi.max(*v);
        }
        let range = (panel.min.unwrap_or(lo), panel.max.unwrap_or(hi));
        // Label names in order, at most MAX_TABLE_COLUMNS: an answer whose series each
        // carry their own label name costs rows, not rows x names.
        let mut names: std::collections::BTreeSet<&str> = std::collections::BTreeSet::new();
        for (labels, _) in &rows {
            names.extend(labels.keys().filter(|k| *k != "__name__"));
        }
        let columns: Vec<String> = names
            .into_iter()
            .take(MAX_TABLE_COLUMNS)
            .map(str::to_owned)
            .collect();
        self.rows = rows
            .into_iter()
            .map(|(labels, v)| TableRow {
                labels: columns
                    .iter()
                    .map(|c| promdash_queries::text::escaped(labels.get(c).unwrap_or_default()))
                    .collect(),
                value: v,
                text: value_text(panel, &self.format, Some(v)),
                color: value_color(panel, Some(v), None, range, false),
            })
            .collect();
        self.columns = columns;
    }
}

impl PanelState {
    /// A range vector (`x[10s]`) as Prometheus shows it: each series (sorted by labels)
    /// with every sample as `value @timestamp`, one per line, the value exact (not
    /// rounded to the panel's unit): the labels on the first line of the series.
    fn set_samples_table(&mut self, matrix: &[RangeSeries]) {
        let mut series: Vec<&RangeSeries> = matrix.iter().collect();
        series.sort_by(|a, b| a.labels.cmp(&b.labels));
        let mut names: std::collections::BTreeSet<&str> = std::collections::BTreeSet::new();
        for s in &series {
            names.extend(s.labels.keys().filter(|k| *k != "__name__"));
        }
        let columns: Vec<String> = names
            .into_iter()
            .take(MAX_TABLE_COLUMNS)
            .map(str::to_owned)
            .collect();
        let mut rows = Vec::new();
        for s in series {
            for (k, sample) in s.samples.iter().enumerate() {
                let labels = columns
                    .iter()
                    .map(|c| {
                        if k == 0 {
                            promdash_queries::text::escaped(s.labels.get(c).unwrap_or_default())
                        } else {
                            String::new()
                        }
                    })
                    .collect();
                rows.push(TableRow {
                    labels,
                    value: sample.v,
                    text: sample_text(*sample),
                    color: None,
                });
            }
        }
        self.rows = rows;
        self.columns = columns;
    }
}

/// A sample as Prometheus's table shows it: `value @timestamp`, the value as the server
/// sent it (shortest exact decimal; NaN, +Inf, -Inf) and the timestamp in Unix seconds
/// with milliseconds when it has them.
pub fn sample_text(s: Sample) -> String {
    let v = if s.v.is_nan() {
        "NaN".to_owned()
    } else if s.v.is_infinite() {
        if s.v > 0.0 { "+Inf" } else { "-Inf" }.to_owned()
    } else {
        format!("{}", s.v)
    };
    let ms = (s.t * 1000.0).round() as i64;
    let t = if ms % 1000 == 0 {
        format!("{}", ms / 1000)
    } else {
        let t = format!("{}.{:03}", ms.div_euclid(1000), ms.rem_euclid(1000));
        t.trim_end_matches('0').to_owned()
    };
    format!("{v} @{t}")
}

/// Most label columns a table panel keeps (the first by name).
pub const MAX_TABLE_COLUMNS: usize = 24;

/// A series' display name: the legend template with `{{label}}` filled in, or the label
/// set, or the expression when the series has no labels; control characters escaped
/// ([`promdash_queries::text::escape_control`]).
pub fn series_name(legend: Option<&str>, labels: &Labels, expr: &str) -> String {
    let name = raw_series_name(legend, labels, expr);
    match promdash_queries::text::escape_control(&name) {
        std::borrow::Cow::Borrowed(_) => name,
        std::borrow::Cow::Owned(e) => e,
    }
}

fn raw_series_name(legend: Option<&str>, labels: &Labels, expr: &str) -> String {
    if let Some(template) = legend {
        let mut out = String::with_capacity(template.len());
        let mut rest = template;
        while let Some(open) = rest.find("{{") {
            out.push_str(&rest[..open]);
            let after = &rest[open + 2..];
            let Some(close) = after.find("}}") else {
                out.push_str(&rest[open..]);
                rest = "";
                break;
            };
            let key = after[..close].trim();
            if let Some(v) = labels.get(key) {
                out.push_str(v);
            }
            rest = &after[close + 2..];
        }
        out.push_str(rest);
        return out;
    }
    let name = labels.get("__name__").unwrap_or_default();
    let rest: Vec<String> = labels
        .iter()
        .filter(|(k, _)| *k != "__name__")
        .map(|(k, v)| format!("{k}=\"{v}\""))
        .collect();
    match (name.is_empty(), rest.is_empty()) {
        (true, true) => expr.to_owned(),
        (false, true) => name.to_owned(),
        (_, false) => format!("{name}{{{}}}", rest.join(", ")),
    }
}

/// The colour of `value` under ascending `thresholds` (the last one it reaches).
pub fn threshold_color(
    thresholds: &[Threshold],
    value: f64,
) -> Option<promdash_queries::dashboard::Color> {
    if !value.is_finite() {
        return None;
    }
    thresholds
        .iter()
        .rfind(|t| value >= t.value)
        .map(|t| t.color)
}

/// A graph's series before drawing: (style, last value, query, series index, tail point).
type Gathered = Vec<(SeriesStyle, f64, usize, usize, Option<Sample>)>;

/// A graph's series as drawn from every sample (see [`PanelState::drawn`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Drawn {
    /// Per series, in [`PanelState::series`]'s order: its points as drawn and the step
    /// of its query.
    pub points: Vec<(Vec<Sample>, f64)>,
    /// The left axis shows the fractions of a percent stack (0..1).
    pub percent: bool,
    /// The right-hand axis's unit, from its series.
    pub right_unit: Option<Unit>,
}

/// Whether the left axis shows a percent stack.
fn percent_stacked(all: &Gathered) -> bool {
    all.iter()
        .any(|a| a.0.stacking == Stacking::Percent && !a.0.hidden && a.0.axis != Axis::Right)
}

/// The unit of the right-hand axis: the first of its series' own units.
fn right_unit(all: &Gathered) -> Option<Unit> {
    all.iter()
        .filter(|a| a.0.axis == Axis::Right)
        .find_map(|a| a.0.unit.clone())
}

/// What a value shows: a value mapping's text, else the value in `format`; without a
/// value, the panel's no-value text (`no data` by default).
pub fn value_text(panel: &Panel, format: &Format, v: Option<f64>) -> String {
    if let Some(text) = fields::map_value(&panel.field.mappings, v).and_then(|m| m.text.as_ref()) {
        return text.clone();
    }
    match v {
        Some(v) => format.format(v, panel.decimals),
        None => panel
            .field
            .no_value
            .clone()
            .unwrap_or_else(|| "no data".to_owned()),
    }
}

/// The colour of a value: a value mapping's, else `fixed`, else by the thresholds (in
/// percentage mode placed in `range`), and below them the base colour when `with_base`.
pub fn value_color(
    panel: &Panel,
    v: Option<f64>,
    fixed: Option<DashColor>,
    range: (f64, f64),
    with_base: bool,
) -> Option<DashColor> {
    if let Some(c) = fields::map_value(&panel.field.mappings, v).and_then(|m| m.color) {
        return Some(c);
    }
    if fixed.is_some() {
        return fixed;
    }
    fields::threshold_color(
        &panel.thresholds,
        panel.field.thresholds_mode,
        panel.field.base_color.filter(|_| with_base),
        v?,
        range,
    )
}

/// Stacks the drawn points of the series that stack, group by group (stacking mode, axis,
/// direction: a negative-Y series stacks below zero with the others), in query order as
/// Grafana stacks them; points at the same time add up. Percent stacking divides by the
/// group's total at each time (0..1).
#[allow(clippy::type_complexity)]
fn stack(all: &[(SeriesStyle, f64, usize, usize, Option<Sample>)], drawn: &mut [Vec<Sample>]) {
    let mut order: Vec<usize> = (0..all.len())
        .filter(|&i| all[i].0.stacking != Stacking::None && !all[i].0.hidden)
        .collect();
    if order.is_empty() {
        return;
    }
    order.sort_by_key(|&i| (all[i].2, all[i].3));
    let key = |i: usize| {
        let s = &all[i].0;
        (
            s.stacking == Stacking::Percent,
            s.axis == Axis::Right,
            s.negative_y,
        )
    };
    let mut groups: Vec<((bool, bool, bool), Vec<usize>)> = Vec::new();
    for i in order {
        match groups.iter_mut().find(|g| g.0 == key(i)) {
            Some(g) => g.1.push(i),
            None => groups.push((key(i), vec![i])),
        }
    }
    let t_key = |t: f64| (t * 1000.0).round() as i64;
    for ((percent, _, _), members) in groups {
        let mut totals: std::collections::HashMap<i64, f64> = std::collections::HashMap::new();
        if percent {
            for &i in &members {
                for p in drawn[i].iter().filter(|p| p.v.is_finite()) {
                    *totals.entry(t_key(p.t)).or_default() += p.v.abs();
                }
            }
        }
        let mut sums: std::collections::HashMap<i64, f64> = std::collections::HashMap::new();
        for &i in &members {
            for p in drawn[i].iter_mut().filter(|p| p.v.is_finite()) {
                let k = t_key(p.t);
                let sum = sums.entry(k).or_default();
                *sum += p.v;
                p.v = if percent {
                    match totals.get(&k) {
                        Some(t) if *t > 0.0 => *sum / t,
                        _ => 0.0,
                    }
                } else {
                    *sum
                };
            }
        }
    }
}

/// A graph's legend calculations over `samples`, formatted (see [`SeriesView::calcs`]).
fn legend_calcs(panel: &Panel, format: &Format, samples: &[Sample]) -> Vec<String> {
    if panel.legend_calcs.is_empty() {
        return Vec::new();
    }
    let c = Calcs::of(samples.iter().map(|s| s.v));
    panel
        .legend_calcs
        .iter()
        .map(|&calc| match c.get(calc) {
            Some(v) if calc.is_count() => Format::Short.format(v, Some(0)),
            Some(v) => value_text(panel, format, Some(v)),
            None => "-".to_owned(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_columns_are_capped_and_escaped() {
        use promdash_queries::model::{InstantSeries, Notes, QueryData, QueryResult, Sample};
        let d = promdash_queries::parse_dashboard(
            "title = \"t\"\n[[panels]]\ntitle = \"t\"\nkind = \"table\"\nquery = \"x\"\n",
            "t.toml",
        )
        .expect("valid");
        let panel = &d.panels[0];
        let series = (0..3_000)
            .map(|i| InstantSeries {
                labels: labels(&[(&format!("l{i:05}"), "v\u{1b}[2J")]),
                sample: Sample { t: 1.0, v: 1.0 },
            })
            .collect();
        let result = QueryResult {
            data: QueryData::Vector(series),
            notes: Notes::default(),
        };
        let mut state = PanelState::new(panel);
        state.apply_instant(panel, 0, &result);
        assert_eq!(state.columns.len(), MAX_TABLE_COLUMNS);
        assert_eq!(state.rows.len(), 3_000);
        assert_eq!(state.rows[0].labels.len(), MAX_TABLE_COLUMNS);
        assert!(
            state
                .rows
                .iter()
                .flat_map(|r| &r.labels)
                .all(|c| c.is_empty() || c == r"v\x1b[2J")
        );
    }

    fn labels(kv: &[(&str, &str)]) -> Labels {
        kv.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    /// Stacking as Grafana's uPlot stacking groups it: by mode, axis and direction, in
    /// query order; points at the same time add up; percent divides by the group's total;
    /// NaN is not added; hidden and unstacked series are left alone.
    #[test]
    fn stacking_groups() {
        let style = |stacking, negative_y, hidden| SeriesStyle {
            stacking,
            negative_y,
            hidden,
            ..SeriesStyle::default()
        };
        let pts = |v: &[f64]| -> Vec<Sample> {
            v.iter()
                .enumerate()
                .map(|(i, v)| Sample {
                    t: i as f64 * 15.0,
                    v: *v,
                })
                .collect()
        };
        // Listed by rank (as drawn), stacked by (query, series).
        let all = vec![
            (style(Stacking::Normal, false, false), 0.0, 1, 0, None),
            (style(Stacking::Normal, false, false), 0.0, 0, 0, None),
            (style(Stacking::Normal, true, false), 0.0, 0, 1, None),
            (style(Stacking::Normal, true, false), 0.0, 1, 1, None),
            (style(Stacking::Normal, false, true), 0.0, 2, 0, None),
            (style(Stacking::None, false, false), 0.0, 2, 1, None),
        ];
        let mut drawn = vec![
            pts(&[1.0, 2.0]),
            pts(&[10.0, f64::NAN]),
            pts(&[-3.0, -3.0]),
            pts(&[-4.0, -5.0]),
            pts(&[100.0, 100.0]),
            pts(&[7.0, 7.0]),
        ];
        stack(&all, &mut drawn);
        let v = |i: usize| -> Vec<f64> { drawn[i].iter().map(|p| p.v).collect() };
        // Query 0 first: 10 then 1 on it; the NaN stays, the next point starts at 0.
        assert_eq!(v(1)[0], 10.0);
        assert!(v(1)[1].is_nan());
        assert_eq!(v(0), [11.0, 2.0]);
        // The negative ones stack apart.
        assert_eq!(v(2), [-3.0, -3.0]);
        assert_eq!(v(3), [-7.0, -8.0]);
        // Hidden and unstacked: as they were.
        assert_eq!(v(4), [100.0, 100.0]);
        assert_eq!(v(5), [7.0, 7.0]);
        // Percent: shares of the total at each time, the last one at 1.
        let all = vec![
            (style(Stacking::Percent, false, false), 0.0, 0, 0, None),
            (style(Stacking::Percent, false, false), 0.0, 0, 1, None),
        ];
        let mut drawn = vec![pts(&[1.0, 0.0]), pts(&[3.0, 0.0])];
        stack(&all, &mut drawn);
        assert_eq!(
            drawn[0].iter().map(|p| p.v).collect::<Vec<_>>(),
            [0.25, 0.0]
        );
        assert_eq!(drawn[1].iter().map(|p| p.v).collect::<Vec<_>>(), [1.0, 0.0]);
    }

    #[test]
    fn legend_templates() {
        let hostile = labels(&[("job", "a\u{1b}[2J\rb\u{202e}")]);
        assert_eq!(
            series_name(Some("{{job}}"), &hostile, "x"),
            r"a\x1b[2J\rb\u202e"
        );
        assert_eq!(
            series_name(None, &hostile, "x"),
            r#"{job="a\x1b[2J\rb\u202e"}"#
        );
        let l = labels(&[("route", "/process"), ("status", "200")]);
        assert_eq!(
            series_name(Some("{{route}} {{ status }}"), &l, "x"),
            "/process 200"
        );
        assert_eq!(series_name(Some("p95"), &l, "x"), "p95");
        assert_eq!(series_name(Some("{{missing}}!"), &l, "x"), "!");
        assert_eq!(
            series_name(None, &l, "x"),
            "{route=\"/process\", status=\"200\"}"
        );
        assert_eq!(series_name(None, &Labels::new(), "sum(x)"), "sum(x)");
    }
}
