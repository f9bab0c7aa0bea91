use std::time::Duration;

use super::*;
use crate::dashboard::parse_dashboard;

const NODE: &str = include_str!("testdata/node-style.json");
const LEGACY: &str = include_str!("testdata/legacy-rows.json");

fn paths(im: &Import) -> Vec<&str> {
    im.warnings.iter().map(|w| w.path.as_str()).collect()
}

fn warned(im: &Import, path: &str) -> bool {
    im.warnings.iter().any(|w| w.path == path)
}

#[test]
fn detects_json_by_content() {
    assert!(is_json("  \n{\"panels\": []}"));
    assert!(is_json("\u{feff}{}"));
    assert!(!is_json("title = \"x\"\n"));
    assert!(!is_json("# {comment}\n"));
}

#[test]
fn new_schema_panels_rows_and_targets() {
    let im = import(NODE).expect("imports");
    let d = &im.dashboard;
    assert_eq!(d.title, "Host overview ($instance)");
    assert_eq!(d.refresh, Duration::from_secs(30));
    assert_eq!(d.range, Duration::from_secs(3600));
    let titles: Vec<&str> = d.panels.iter().map(|p| p.title.as_str()).collect();
    assert_eq!(
        titles,
        [
            "Uptime",
            "CPU busy",
            "Memory used",
            "About",
            "CPU by mode",
            "Memory",
            "Network traffic",
            "Interfaces",
            "Journal",
            "Log lines"
        ]
    );
    let kinds: Vec<PanelKind> = d.panels.iter().map(|p| p.kind).collect();
    use PanelKind::*;
    assert_eq!(
        kinds,
        [
            Stat, Gauge, Gauge, Text, Graph, Graph, Graph, Table, Text, Graph
        ]
    );
    // 24 columns → 12; heights in grid rows.
    assert_eq!(d.panels[0].width, 2);
    assert_eq!(d.panels[3].width, 6);
    assert_eq!(d.panels[4].height, Some(8));
    // Rows: one open, two collapsed holding their panels.
    let rows: Vec<(&str, bool, std::ops::Range<usize>)> = d
        .rows
        .iter()
        .map(|r| (r.title.as_str(), r.collapsed, r.panels.clone()))
        .collect();
    assert_eq!(
        rows,
        [
            ("CPU / Memory", false, 4..6),
            ("Network", true, 6..8),
            ("Logs", true, 8..10)
        ]
    );
    // `__auto` legend = the label set; `{{ mode }}` kept for the legend code to fill.
    assert_eq!(d.panels[0].queries[0].legend, None);
    assert_eq!(d.panels[4].queries[0].legend.as_deref(), Some("{{ mode }}"));
    // A hidden target is not run.
    let legends: Vec<Option<&str>> = d.panels[5]
        .queries
        .iter()
        .map(|q| q.legend.as_deref())
        .collect();
    assert_eq!(legends, [Some("total"), Some("available")]);
    // Field config.
    assert_eq!(d.panels[0].unit, Unit::Seconds);
    assert_eq!(d.panels[0].decimals, Some(0));
    assert_eq!(
        d.panels[0].thresholds,
        [Threshold {
            value: 3600.0,
            color: Color::Green
        }]
    );
    assert_eq!(d.panels[1].unit, Unit::Percent);
    assert_eq!((d.panels[1].min, d.panels[1].max), (Some(0.0), Some(100.0)));
    assert_eq!(
        d.panels[1].thresholds,
        [
            Threshold {
                value: 85.0,
                color: Color::Rgb(0xea, 0xb8, 0x39)
            },
            Threshold {
                value: 95.0,
                color: Color::Red
            }
        ]
    );
    assert_eq!(d.panels[6].unit, Unit::Other("bps".into()));
    assert_eq!(
        d.panels[3].text.as_deref(),
        Some("Host overview\n\nNode exporter metrics of $instance.")
    );
}

#[test]
fn other_data_sources_are_skipped_with_a_warning() {
    let im = import(NODE).expect("imports");
    let d = &im.dashboard;
    // The logs panel is a placeholder naming its type.
    assert_eq!(d.panels[8].kind, PanelKind::Text);
    assert!(
        d.panels[8]
            .text
            .as_deref()
            .is_some_and(|t| t.contains("\"logs\""))
    );
    assert!(warned(&im, "panels[8].panels[0].type"), "{:?}", paths(&im));
    // The mixed panel keeps its Prometheus target only.
    assert_eq!(d.panels[9].queries.len(), 1);
    assert_eq!(d.panels[9].queries[0].expr, "up{instance=\"$instance\"}");
    let w = im
        .warnings
        .iter()
        .find(|w| w.path == "panels[8].panels[1].targets[0]")
        .expect("the loki target is named");
    assert!(w.message.contains("loki"), "{w}");
    assert_eq!(w.panel, Some(9));
}

#[test]
fn unsupported_fields_are_named_by_json_path() {
    let im = import(NODE).expect("imports");
    for path in ["panels[8].panels[0].type", "panels[8].panels[1].targets[0]"] {
        assert!(warned(&im, path), "{path} missing from {:?}", paths(&im));
    }
    // Cosmetic keys, the export's own keys and the built-in annotation say nothing.
    for quiet in [
        "__inputs",
        "__requires",
        "annotations.list[0]",
        "graphTooltip",
        "panels[0].options.reduceOptions.calcs",
        "panels[5].options.legend.calcs",
        "panels[7].panels[0].options.legend.calcs",
        // Applied now: overrides, stacking.
        "panels[7].panels[0].fieldConfig.overrides[0]",
        "panels[5].fieldConfig.defaults.custom.stacking",
    ] {
        assert!(!warned(&im, quiet), "{quiet} should not be reported");
    }
}

/// `options.legend.calcs` (and the old graph's `legend.values` switches) become the
/// columns of a table legend, in the file's order; an unknown reducer is reported.
#[test]
fn legend_calculations_become_table_columns() {
    use crate::grafana::calc::Calc;
    let im = import(NODE).expect("imports");
    let by_title = |t: &str| {
        im.dashboard
            .panels
            .iter()
            .find(|p| p.title == t)
            .unwrap_or_else(|| panic!("no panel {t}"))
    };
    assert_eq!(
        by_title("CPU by mode").legend_calcs,
        [Calc::Mean, Calc::Max, Calc::LastNotNull]
    );
    assert_eq!(
        by_title("Network traffic").legend_calcs,
        [Calc::Min, Calc::Mean, Calc::Max, Calc::LastNotNull]
    );
    let legacy = import(LEGACY).expect("imports");
    assert_eq!(
        legacy.dashboard.panels[2].legend_calcs,
        [Calc::Max, Calc::LastNotNull]
    );
    let json = r#"{"panels": [{"type": "timeseries", "title": "x",
        "targets": [{"expr": "up"}],
        "options": {"legend": {"calcs": ["p95", "max"], "displayMode": "table"}}}]}"#;
    let im = import(json).expect("imports");
    assert_eq!(im.dashboard.panels[0].legend_calcs, [Calc::Max]);
    assert!(
        warned(&im, "panels[0].options.legend.calcs[0]"),
        "{:?}",
        paths(&im)
    );
    // A hidden legend shows no table.
    let hidden = json.replace(r#""displayMode": "table""#, r#""showLegend": false"#);
    assert!(
        import(&hidden).expect("imports").dashboard.panels[0]
            .legend_calcs
            .is_empty()
    );
}

#[test]
fn variables_from_grafana() {
    let im = import(NODE).expect("imports");
    let v = &im.dashboard.variables;
    let names: Vec<&str> = v.iter().map(|v| v.name.as_str()).collect();
    // The datasource variable means the connected server: no variable.
    assert_eq!(names, ["job", "instance", "mode"]);
    assert_eq!(
        v[0].source,
        VariableSource::LabelValues {
            label: "job".into(),
            matcher: Some("node_uname_info".into())
        }
    );
    assert_eq!(
        v[1].source,
        VariableSource::LabelValues {
            label: "instance".into(),
            matcher: Some("node_uname_info{job=\"$job\"}".into())
        }
    );
    assert_eq!(v[1].default, ["localhost:9100"]);
    assert_eq!(
        v[2].source,
        VariableSource::Values(vec!["user".into(), "system".into(), "iowait,steal".into()])
    );
    assert!(v[2].multi && v[2].all);
    assert_eq!(v[2].default, ["user", "system"]);
}

#[test]
fn old_schema_rows_spans_and_singlestats() {
    let im = import(LEGACY).expect("imports");
    let d = &im.dashboard;
    assert_eq!(d.range, Duration::from_secs(6 * 3600));
    assert_eq!(d.refresh, Duration::from_secs(10));
    let got: Vec<(&str, PanelKind, u8, Option<u16>)> = d
        .panels
        .iter()
        .map(|p| (p.title.as_str(), p.kind, p.width, p.height))
        .collect();
    use PanelKind::*;
    assert_eq!(
        got,
        [
            ("Requests/s", Stat, 3, Some(8)),
            ("Errors", Gauge, 3, Some(8)),
            ("Requests by route", Graph, 6, Some(8)),
            ("Latency p95", Graph, 12, Some(10)),
            ("Build", Table, 6, Some(10)),
            ("Share", Text, 6, Some(10)),
        ]
    );
    assert_eq!(d.rows.len(), 2);
    assert!(!d.rows[0].collapsed && d.rows[1].collapsed);
    assert_eq!(d.rows[1].panels, 3..6);
    // singlestat: format, thresholds "50,100" with its colours.
    let s = &d.panels[0];
    assert_eq!(s.unit, Unit::ReqPerSec);
    assert_eq!(s.decimals, Some(1));
    assert_eq!(
        s.thresholds,
        [
            Threshold {
                value: 50.0,
                color: Color::Rgb(237, 129, 40)
            },
            Threshold {
                value: 100.0,
                color: Color::Rgb(0xd4, 0x4a, 0x3a)
            }
        ]
    );
    // A singlestat with a gauge is a gauge with its bounds.
    assert_eq!((d.panels[1].min, d.panels[1].max), (Some(0.0), Some(1.0)));
    // graph: the left y axis.
    assert_eq!(d.panels[2].unit, Unit::ReqPerSec);
    assert_eq!(d.panels[2].min, Some(0.0));
    assert_eq!(d.panels[3].unit, Unit::Seconds);
    // Applied: the value shown (`avg`: the mean), stacking, the series override's colour,
    // the `null → N/A` value map.
    use crate::grafana::calc::Calc;
    use crate::grafana::fields::{MappingMatch, SeriesMatcher, Stacking};
    assert_eq!(d.panels[0].field.reduce, Some(Calc::LastNotNull));
    assert_eq!(d.panels[1].field.reduce, Some(Calc::Mean));
    assert_eq!(d.panels[2].field.stacking, Stacking::Normal);
    assert_eq!(
        d.panels[2].field.overrides[0].matcher,
        SeriesMatcher::Regex("/5../".into())
    );
    assert_eq!(
        d.panels[2].field.overrides[0].color,
        Some(Color::Rgb(0xe2, 0x4d, 0x42))
    );
    assert_eq!(d.panels[0].field.mappings[0].on, MappingMatch::Null);
    assert_eq!(d.panels[0].field.mappings[0].text.as_deref(), Some("N/A"));
    // colors[0] is the base colour of a singlestat that colours its value.
    for path in [
        "rows[0].panels[1].valueName",
        "rows[0].panels[2].stack",
        "rows[0].panels[2].seriesOverrides",
    ] {
        assert!(!warned(&im, path), "{path} is applied: {:?}", paths(&im));
    }
    assert!(
        warned(&im, "rows[1].panels[2].type"),
        "the type is named: {:?}",
        paths(&im)
    );
    // Grafana's default `null → N/A` mapping is nothing to report.
    assert!(!warned(&im, "rows[0].panels[0].valueMaps"));
    let v = &d.variables;
    assert_eq!(v[0].default, [ALL]);
    assert_eq!(v[0].all_value.as_deref(), Some(".*"));
    assert_eq!(v[0].regex.as_deref(), Some("/^\\/(.*)/"));
    assert!(v.iter().all(|v| v.grafana));
    // An interval variable with auto: `auto` first, Grafana's 30 steps and 10 s minimum.
    assert_eq!(
        v[1].source,
        VariableSource::Values(vec!["auto".into(), "1m".into(), "5m".into(), "10m".into()])
    );
    assert_eq!(v[1].default, ["5m"]);
    assert_eq!(v[1].auto_interval, Some((30, Duration::from_secs(10))));
    assert!(!warned(&im, "templating.list[1].auto"));
    assert_eq!(v[2].source, VariableSource::Values(vec!["prod".into()]));
}

#[test]
fn grafana_api_answers_and_bad_input() {
    let wrapped = format!("{{\"meta\": {{\"slug\": \"x\"}}, \"dashboard\": {NODE}}}");
    let im = import(&wrapped).expect("imports");
    assert_eq!(im.dashboard.panels.len(), 10);
    assert!(im.warnings.iter().all(|w| w.path.starts_with("dashboard.")));
    match import("{\"panels\": [\n  {\"type\": }]}") {
        Err(ImportError::Json { line: 2, col, .. }) => assert!(col > 1),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        import("[1, 2]"),
        Err(ImportError::NotADashboard(_))
    ));
    assert!(matches!(
        import("{\"title\": \"no panels\"}"),
        Err(ImportError::NotADashboard(_))
    ));
    // Odd values never panic and are reported.
    let odd = r#"{"panels": [7, {"type": "graph", "gridPos": {"w": 99, "h": -3},
        "targets": [{"expr": "up"}], "fieldConfig": {"defaults": {"min": 5, "max": 1}}}],
        "refresh": "soon", "time": {"from": "2024-01-01", "to": "now-1h"}}"#;
    let im = import(odd).expect("imports");
    assert_eq!(im.dashboard.panels[0].width, 12);
    assert_eq!(im.dashboard.panels[0].height, Some(3));
    assert_eq!(
        (im.dashboard.panels[0].min, im.dashboard.panels[0].max),
        (None, None)
    );
    for path in ["panels[0]", "panels[1]", "refresh", "time.from", "time.to"] {
        assert!(warned(&im, path), "{path} missing from {:?}", paths(&im));
    }
}

#[test]
fn custom_values_and_colours() {
    assert_eq!(split_custom("a, b ,c"), ["a", "b", "c"]);
    assert_eq!(split_custom(r"x\,y,z"), ["x,y", "z"]);
    assert_eq!(split_custom("Prod : prod,Dev : dev"), ["prod", "dev"]);
    assert_eq!(grafana_color("semi-dark-orange"), Some(Color::Orange));
    assert_eq!(grafana_color("#0a0"), Some(Color::Rgb(0, 0xaa, 0)));
    assert_eq!(
        grafana_color("rgba(1, 2, 3, 0.5)"),
        Some(Color::Rgb(1, 2, 3))
    );
    assert_eq!(grafana_color("chartreuse"), None);
}

#[test]
fn the_written_toml_is_a_valid_dashboard_with_comments() {
    for (name, text) in [("node-style.json", NODE), ("legacy-rows.json", LEGACY)] {
        let im = import(text).expect("imports");
        let toml = to_toml(&im, name);
        let back =
            parse_dashboard(&toml, "imported.toml").unwrap_or_else(|e| panic!("{e}\n{toml}"));
        // A promdash file has no step options (a comment says so).
        let mut want = im.dashboard.panels.clone();
        for q in want.iter_mut().flat_map(|p| p.queries.iter_mut()) {
            q.step = Default::default();
        }
        assert_eq!(back.panels, want, "{toml}");
        let mut vars = im.dashboard.variables.clone();
        for v in &mut vars {
            v.grafana = false;
            // The auto choice of an interval variable stays behind (with a comment).
            if v.auto_interval.take().is_some() {
                if let VariableSource::Values(vals) = &mut v.source {
                    vals.retain(|x| x != "auto");
                }
                v.default.retain(|d| d != "auto");
            }
        }
        assert_eq!(back.variables, vars);
        assert_eq!(back.refresh, im.dashboard.refresh);
        assert_eq!(back.range, im.dashboard.range);
        for w in &im.warnings {
            let line = format!("# not carried over: {w}");
            assert!(toml.contains(&line), "{line} missing:\n{toml}");
        }
    }
}

/// An interval variable saved at `auto` keeps it; `auto_count` and `auto_min` are read, a
/// bad `auto_min` is reported and 10 s used.
#[test]
fn interval_variable_auto() {
    let json = r#"{"panels": [], "templating": {"list": [
        {"name": "iv", "type": "interval", "query": "1m,10m,auto", "auto": true,
         "auto_count": 50, "auto_min": "2m",
         "current": {"text": "auto", "value": "$__auto_interval_iv"}},
        {"name": "bad", "type": "interval", "query": "1m", "auto": true, "auto_min": "soon"},
        {"name": "plain", "type": "interval", "query": "1m,5m"}
    ]}}"#;
    let im = import(json).expect("imports");
    let v = &im.dashboard.variables;
    assert_eq!(
        v[0].source,
        VariableSource::Values(vec!["auto".into(), "1m".into(), "10m".into()])
    );
    assert_eq!(v[0].default, ["auto"]);
    assert_eq!(v[0].auto_interval, Some((50, Duration::from_secs(120))));
    assert_eq!(v[1].auto_interval, Some((30, Duration::from_secs(10))));
    assert!(
        warned(&im, "templating.list[1].auto_min"),
        "{:?}",
        paths(&im)
    );
    assert_eq!(v[2].auto_interval, None);
}

const REPEAT: &str = include_str!("testdata/repeat.json");

/// `repeat` on panels and rows is kept (no warning); copies saved in the file are dropped.
#[test]
fn repeats_are_imported() {
    use repeat::{Repeat, Repeated};
    let im = import(REPEAT).expect("imports");
    assert!(
        im.warnings.iter().all(|w| !w.path.contains("repeat")),
        "{:?}",
        paths(&im)
    );
    let d = &im.dashboard;
    let titles: Vec<&str> = d.panels.iter().map(|p| p.title.as_str()).collect();
    assert_eq!(
        titles,
        [
            "Up: $instance",
            "Targets",
            "Scrape p$quantile",
            "Samples scraped",
            "Scrape duration"
        ],
        "the saved copy is dropped"
    );
    let rows: Vec<(&str, std::ops::Range<usize>)> = d
        .rows
        .iter()
        .map(|r| (r.title.as_str(), r.panels.clone()))
        .collect();
    assert_eq!(rows, [("Overview", 0..3), ("Instance $instance", 3..5)]);
    assert_eq!(
        d.repeats,
        [
            Repeat {
                what: Repeated::Panel(0),
                var: "instance".into(),
                vertical: false,
                max_per_row: 4,
            },
            Repeat {
                what: Repeated::Panel(2),
                var: "quantile".into(),
                vertical: true,
                max_per_row: 4,
            },
            Repeat {
                what: Repeated::Row(1),
                var: "instance".into(),
                vertical: false,
                max_per_row: 4,
            },
        ]
    );
    // The promdash file cannot repeat: it says so.
    let toml = to_toml(&im, "repeat.json");
    assert!(
        toml.contains("# not carried over: the panel repeats by $instance"),
        "{toml}"
    );
    assert!(
        toml.contains("# not carried over: the row repeats by $instance"),
        "{toml}"
    );
    parse_dashboard(&toml, "repeat.toml").expect("the TOML reads back");
}

/// Old dashboards: a repeated row and a panel repeating with `minSpan`; saved copies
/// (`repeatRowId`, `repeatPanelId`) dropped; a repeat by an unknown variable is named.
#[test]
fn old_schema_repeats() {
    use repeat::Repeated;
    let json = r#"{"schemaVersion": 14, "templating": {"list": [
        {"name": "host", "type": "custom", "query": "a,b", "multi": true, "includeAll": true}]},
      "rows": [
        {"title": "Host $host", "repeat": "host", "panels": [
            {"type": "singlestat", "title": "Load", "span": 4, "targets": [{"expr": "up"}]},
            {"type": "graph", "title": "Disk $host", "span": 8, "repeat": "host", "minSpan": 3,
             "targets": [{"expr": "up"}]},
            {"type": "graph", "title": "Saved", "span": 4, "repeatPanelId": 2,
             "targets": [{"expr": "up"}]}]},
        {"title": "Host b", "repeatRowId": 1, "repeatIteration": 1, "panels": [
            {"type": "singlestat", "title": "Load", "targets": [{"expr": "up"}]}]},
        {"title": "Other", "panels": [
            {"type": "graph", "title": "X", "repeat": "nope", "targets": [{"expr": "up"}]}]}
      ]}"#;
    let im = import(json).expect("imports");
    let d = &im.dashboard;
    let titles: Vec<&str> = d.panels.iter().map(|p| p.title.as_str()).collect();
    assert_eq!(titles, ["Load", "Disk $host", "X"]);
    assert_eq!(d.rows.len(), 2);
    let what: Vec<(Repeated, &str, u8)> = d
        .repeats
        .iter()
        .map(|r| (r.what, r.var.as_str(), r.max_per_row))
        .collect();
    assert_eq!(
        what,
        [
            (Repeated::Panel(1), "host", 4),
            (Repeated::Row(0), "host", 4)
        ]
    );
    assert!(warned(&im, "rows[2].panels[0].repeat"), "{:?}", paths(&im));
}

/// A target's `interval` (min step), `intervalFactor` and the legacy `step`, and the
/// panel's `interval`, are kept for the step (no warning); bad ones are named.
#[test]
fn target_step_options() {
    use interval::StepOptions;
    let json = r#"{"panels": [
        {"type": "timeseries", "title": "A", "interval": "20s", "gridPos": {"y": 0},
         "targets": [
            {"expr": "a", "interval": "1m", "intervalFactor": 2},
            {"expr": "b", "step": 30, "intervalFactor": 1},
            {"expr": "c", "interval": "$res", "step": 10},
            {"expr": "d", "interval": "", "intervalFactor": null}]},
        {"type": "graph", "title": "B", "gridPos": {"y": 9},
         "targets": [
            {"expr": "e", "interval": "soon", "intervalFactor": 0.5, "step": "15s"},
            {"expr": "f", "interval": ">10s"}]}
    ]}"#;
    let im = import(json).expect("imports");
    let steps: Vec<StepOptions> = im
        .dashboard
        .panels
        .iter()
        .flat_map(|p| p.queries.iter().map(|q| q.step.clone()))
        .collect();
    let o = |panel: Option<&str>, min: Option<&str>, factor| StepOptions {
        panel_min: panel.map(str::to_owned),
        min: min.map(str::to_owned),
        factor,
    };
    assert_eq!(
        steps,
        [
            o(Some("20s"), Some("1m"), 2),
            o(Some("20s"), Some("30s"), 0),
            o(Some("20s"), Some("$res"), 0),
            o(Some("20s"), None, 0),
            o(None, Some("15s"), 0),
            o(None, Some(">10s"), 0),
        ]
    );
    assert_eq!(
        paths(&im),
        [
            "panels[1].targets[0].interval",
            "panels[1].targets[0].intervalFactor"
        ]
    );
    let toml = to_toml(&im, "steps.json");
    assert!(
        toml.contains("query 1's panel min interval 20s, min step 1m, intervalFactor 2"),
        "{toml}"
    );
}
const FIELDS: &str = include_str!("testdata/field-config.json");

/// Issue 14 item 5: mappings, `noValue`, percentage thresholds with the base colour,
/// reducers, units, overrides, old series overrides and stacking are imported, not
/// reported; what is still not applied is named by its JSON path.
#[test]
fn field_config_is_applied() {
    use crate::grafana::calc::Calc;
    use crate::grafana::fields::{
        Axis, MappingMatch, SeriesMatcher, Stacking, ThresholdsMode, ValueMapping,
    };
    let im = import(FIELDS).expect("imports");
    let d = &im.dashboard;
    let p = |t: &str| {
        d.panels
            .iter()
            .find(|p| p.title == t)
            .unwrap_or_else(|| panic!("no panel {t}"))
    };
    // Mappings in the editor's order (`index`), special values, no value.
    let state = &p("Service state").field;
    assert_eq!(
        state.mappings,
        [
            ValueMapping {
                on: MappingMatch::Value("0".into()),
                text: Some("DOWN".into()),
                color: Some(Color::Red)
            },
            ValueMapping {
                on: MappingMatch::Value("1".into()),
                text: Some("UP".into()),
                color: Some(Color::Green)
            },
            ValueMapping {
                on: MappingMatch::NullNaN,
                text: Some("N/A".into()),
                color: Some(Color::Gray)
            },
        ]
    );
    assert_eq!(state.no_value.as_deref(), Some("no answer"));
    assert_eq!(state.base_color, Some(Color::Blue));
    assert_eq!(state.reduce, Some(Calc::LastNotNull));
    assert!(!state.reduces_range());
    assert_eq!(p("Service state").unit, Unit::Other("none".into()));
    // Percentage thresholds keep the base colour; the reducer is the first calc.
    let disk = p("Disk peak");
    assert_eq!(disk.field.thresholds_mode, ThresholdsMode::Percentage);
    assert_eq!(disk.field.base_color, Some(Color::Green));
    assert_eq!(
        disk.thresholds,
        [
            Threshold {
                value: 50.0,
                color: Color::Orange
            },
            Threshold {
                value: 90.0,
                color: Color::Red
            }
        ]
    );
    assert_eq!(disk.field.reduce, Some(Calc::Max));
    assert!(disk.field.reduces_range());
    assert_eq!(p("Load mean").field.reduce, Some(Calc::Mean));
    assert_eq!(p("Temperatures").unit, Unit::Other("celsius".into()));
    assert_eq!(
        p("Temperatures").field.mappings[0].on,
        MappingMatch::Range {
            from: Some(90.0),
            to: None
        }
    );
    // Overrides by regex, name and refId.
    let net = &p("Network traffic").field.overrides;
    assert_eq!(net.len(), 3, "{net:#?}");
    assert_eq!(net[0].matcher, SeriesMatcher::Regex("/.* out/".into()));
    assert_eq!(net[0].negative_y, Some(true));
    assert_eq!(net[1].matcher, SeriesMatcher::Name("eth0 in".into()));
    assert_eq!(net[1].color, Some(Color::Purple));
    assert_eq!(net[1].display_name.as_deref(), Some("Receive eth0"));
    assert_eq!(net[2].hidden, Some(true));
    let req = &p("Requests stacked").field;
    assert_eq!(req.stacking, Stacking::Normal);
    assert_eq!(req.overrides[0].matcher, SeriesMatcher::Query(1));
    assert_eq!(req.overrides[0].axis, Some(Axis::Right));
    assert_eq!(req.overrides[0].unit, Some(Unit::PercentUnit));
    assert_eq!(req.overrides[0].stacking, Some(Stacking::None));
    // The old graph: percentage stacking, seriesOverrides by name and /regex/.
    let old = &p("Old graph").field;
    assert_eq!(old.stacking, Stacking::Percent);
    assert_eq!(
        old.overrides[0].matcher,
        SeriesMatcher::Name("debug".into())
    );
    assert_eq!(old.overrides[0].hidden, Some(true));
    assert_eq!(
        old.overrides[1].matcher,
        SeriesMatcher::Regex("/^errors/".into())
    );
    assert_eq!(old.overrides[1].axis, Some(Axis::Right));
    assert_eq!(old.overrides[1].negative_y, Some(true));
    assert_eq!(old.overrides[1].stacking, Some(Stacking::None));
    assert_eq!(old.overrides[1].color, Some(Color::Rgb(0xe2, 0x4d, 0x42)));
    // The defaults' display name; an unknown unit: raw values, reported.
    let odd = p("Odd unit");
    assert_eq!(
        odd.field.display_name.as_deref(),
        Some("${__field.labels.job} answers")
    );
    assert_eq!(odd.unit, Unit::Other("none".into()));
    let w = im
        .warnings
        .iter()
        .find(|w| w.path == "panels[7].fieldConfig.defaults.unit")
        .expect("the unknown unit is reported");
    assert!(w.message.contains("furlongs"), "{w}");
    // The old mapping schema (type 1).
    assert_eq!(
        p("Disks").field.mappings[0].on,
        MappingMatch::Value("1".into())
    );
    // What is applied says nothing; the byNames matcher (a legend click) is named.
    assert_eq!(
        paths(&im),
        [
            "panels[4].fieldConfig.overrides[3].matcher",
            "panels[7].fieldConfig.defaults.unit"
        ],
        "{:#?}",
        im.warnings
    );
}

/// `import grafana -o` writes the field config, and the file reads back to the same
/// panels.
#[test]
fn field_config_round_trips_through_toml() {
    let im = import(FIELDS).expect("imports");
    let toml = to_toml(&im, "field-config.json");
    for want in [
        "mappings = [",
        "{ value = \"0\", text = \"DOWN\", color = \"red\" }",
        "{ special = \"null+nan\", text = \"N/A\", color = \"gray\" }",
        "{ from = 90.0, text = \"HOT\", color = \"red\" }",
        "no_value = \"no answer\"",
        "thresholds_mode = \"percentage\"",
        "base_color = \"green\"",
        "reduce = \"max\"",
        "stacking = \"percent\"",
        "[[panels.overrides]]\nregex = \"/.* out/\"\nnegative_y = true",
        "query = 2\nunit = \"percentunit\"\naxis = \"right\"",
        "display_name = \"${__field.labels.job} answers\"",
    ] {
        assert!(toml.contains(want), "{want:?} missing:\n{toml}");
    }
    let back = parse_dashboard(&toml, "converted.toml").unwrap_or_else(|e| panic!("{e}\n{toml}"));
    assert_eq!(back.panels, im.dashboard.panels);
}

/// Bad field config in a dashboard file: each problem at its line and column.
#[test]
fn field_config_errors_in_a_dashboard_file() {
    let text = r#"title = "t"
[[panels]]
title = "p"
kind = "stat"
query = "up"
mappings = [{ value = "1", from = 0.0, text = "x" }, { special = "empty", text = "e" }, { value = "2" }]
thresholds_mode = "relative"
reduce = "median"
stacking = "sideways"
[[panels.overrides]]
regex = "("
[[panels.overrides]]
query = 3
[[panels.overrides]]
name = "a"
axis = "top"
"#;
    let e = parse_dashboard(text, "d.toml")
        .expect_err("invalid")
        .to_string();
    for want in [
        "d.toml:6:13: a mapping matches one thing",
        "d.toml:6:66: unknown special value \"empty\"",
        "d.toml:6:89: a mapping without `text` or `color`",
        "d.toml:7:19: unknown thresholds mode \"relative\"",
        "d.toml:8:10: unknown reducer \"median\"",
        "d.toml:9:12: unknown stacking \"sideways\"",
        "d.toml:11:9: \"(\" is not a regex",
        "d.toml:13:9: query 3 is not one of the panel's",
        "d.toml:16:8: unknown axis \"top\"",
    ] {
        assert!(e.contains(want), "{want} missing:\n{e}");
    }
}
