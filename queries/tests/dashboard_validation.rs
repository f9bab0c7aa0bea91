//! Every validation error of a dashboard file, with its line:col.

use promdash_queries::dashboard::{
    Color, CompareOp, PanelKind, Severity, Unit, VariableSource, parse_dashboard,
};
use std::time::Duration;

/// Parses `text` and returns the single problem as `line:col: message; expected ...`.
fn one_error(text: &str) -> String {
    let err = parse_dashboard(text, "d.toml").expect_err("the file should be rejected");
    assert_eq!(err.problems.len(), 1, "expected one problem, got: {err}");
    let s = err.to_string();
    s.strip_prefix("d.toml:")
        .expect("file name first")
        .to_owned()
}

fn assert_error(text: &str, pos: &str, message_part: &str, expected_part: &str) {
    let e = one_error(text);
    assert!(
        e.starts_with(&format!("{pos}: ")),
        "wrong position in {e:?}, want {pos}"
    );
    assert!(
        e.contains(message_part),
        "{e:?} does not say {message_part:?}"
    );
    let expected = e.split("; expected ").nth(1).unwrap_or("");
    assert!(
        expected.contains(expected_part),
        "{e:?}: expected-part {expected:?} lacks {expected_part:?}"
    );
}

const PANEL: &str = "[[panels]]\ntitle = \"A\"\n";

#[test]
fn minimal_file_gets_defaults() {
    let d = parse_dashboard("[[panels]]\nquery = \"up\"\n", "d.toml").expect("valid");
    assert_eq!(d.refresh, Duration::from_secs(5));
    assert_eq!(d.range, Duration::from_secs(900));
    assert_eq!(d.panels[0].kind, PanelKind::Graph);
    assert_eq!(d.panels[0].width, 12);
    assert_eq!(d.panels[0].unit, Unit::Short);
    assert_eq!(d.panels[0].queries[0].expr, "up");
    assert!(d.alerts.is_empty() && d.variables.is_empty() && d.connection.is_none());
}

#[test]
fn full_file_reads_every_field() {
    let text = r##"
title = "T"
refresh = "10s"
range = "1h"
[[panels]]
title = "S"
kind = "stat"
query = "sum(x)"
legend = "{{route}}"
unit = "percentunit"
height = 8
decimals = 2
min = 0
max = 1
thresholds = [ { value = 0.5, color = "yellow" }, { value = 0.9, color = "#ff0000" } ]
[[panels]]
title = "G"
queries = [ { expr = "a", legend = "x" }, { expr = "b" } ]
[[alerts]]
name = "A1"
expr = "x"
op = "<="
threshold = 3
for = "1m30s"
keep_firing_for = "10s"
severity = "critical"
summary = "s"
panel = "S"
[[alerts]]
name = "A2"
expr = "absent(up)"
[[alerts]]
name = "A3"
expr = "y"
threshold = 1
[[variables]]
name = "route"
query = 'label_values(app_request_count_total{job="svc"}, route)'
multi = true
all = true
[[variables]]
name = "env"
values = ["a", "b"]
[connection]
url = "https://host/prometheus"
headers = { "X-Scope-OrgID" = "t1" }
bearer_token_file = "/tok"
ca_cert = "/ca.pem"
client_cert = "/c.pem"
client_key = "/k.pem"
timeout = "20s"
"##;
    let d = parse_dashboard(text, "d.toml").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(d.title, "T");
    assert_eq!(d.refresh, Duration::from_secs(10));
    let s = &d.panels[0];
    assert_eq!(s.kind, PanelKind::Stat);
    assert_eq!(s.width, 4);
    assert_eq!(s.unit, Unit::PercentUnit);
    assert_eq!(s.queries[0].legend.as_deref(), Some("{{route}}"));
    assert_eq!(s.thresholds[1].color, Color::Rgb(255, 0, 0));
    assert_eq!(s.gauge_bounds(), (0.0, 1.0));
    assert_eq!(s.height, Some(8));
    assert_eq!(s.decimals, Some(2));
    assert_eq!(d.panels[1].queries.len(), 2);
    assert_eq!(d.panels[1].queries[1].legend, None);
    let a = &d.alerts[0];
    assert_eq!(a.op, Some(CompareOp::Le));
    assert_eq!(a.threshold, Some(3.0));
    assert_eq!(a.for_, Duration::from_secs(90));
    assert_eq!(a.keep_firing_for, Duration::from_secs(10));
    assert_eq!(a.severity, Severity::Critical);
    assert_eq!(a.panel.as_deref(), Some("S"));
    assert_eq!(d.alerts[1].op, None);
    assert_eq!(d.alerts[1].severity, Severity::Warning);
    assert_eq!(
        d.alerts[2].op,
        Some(CompareOp::Gt),
        "threshold alone means >"
    );
    assert_eq!(
        d.variables[0].source,
        VariableSource::LabelValues {
            label: "route".into(),
            matcher: Some("app_request_count_total{job=\"svc\"}".into())
        }
    );
    assert!(d.variables[0].multi && d.variables[0].all);
    assert_eq!(
        d.variables[1].source,
        VariableSource::Values(vec!["a".into(), "b".into()])
    );
    let c = d.connection.expect("connection");
    assert_eq!(c.headers["X-Scope-OrgID"], "t1");
    assert_eq!(c.timeout, Some(Duration::from_secs(20)));
}

#[test]
fn toml_syntax_error() {
    assert_error("title = \"x\"\nrefresh = \n", "2:11", "", "");
}

#[test]
fn unknown_top_level_key() {
    assert_error(
        "title = \"x\"\nrefrseh = \"5s\"\n",
        "2:1",
        "unknown field `refrseh`",
        "refresh",
    );
}

#[test]
fn unknown_panel_key() {
    assert_error(
        &format!("{PANEL}query = \"up\"\nwidht = 3\n"),
        "4:1",
        "unknown field `widht`",
        "width",
    );
}

#[test]
fn unknown_panel_kind() {
    assert_error(
        &format!("{PANEL}kind = \"pie\"\nquery = \"up\"\n"),
        "3:8",
        "unknown panel kind \"pie\"",
        "graph, stat, gauge, table, heatmap or text",
    );
}

#[test]
fn bad_duration() {
    assert_error("refresh = \"5 parsecs\"\n", "1:11", "not a duration", "30s");
    assert_error(
        "range = \"0s\"\n",
        "1:9",
        "longer than zero",
        "positive duration",
    );
    assert_error(
        "[[alerts]]\nname = \"a\"\nexpr = \"up\"\nfor = \"soon\"\n",
        "4:7",
        "for: \"soon\" is not a duration",
        "duration",
    );
    assert_error(
        "[[alerts]]\nname = \"a\"\nexpr = \"up\"\nkeep_firing_for = \"-1s\"\n",
        "4:19",
        "not a duration",
        "duration",
    );
}

#[test]
fn empty_query() {
    assert_error(
        &format!("{PANEL}query = \"  \"\n"),
        "3:9",
        "query is empty",
        "PromQL",
    );
    assert_error(
        &format!("{PANEL}queries = [ {{ expr = \"\" }} ]\n"),
        "3:22",
        "expr is empty",
        "PromQL",
    );
}

#[test]
fn missing_query() {
    assert_error(
        &format!("{PANEL}kind = \"stat\"\n"),
        "1:1",
        "panel has no query",
        "query = ",
    );
    assert_error(
        &format!("{PANEL}queries = []\n"),
        "3:11",
        "`queries` is empty",
        "expr",
    );
    assert_error(
        &format!("{PANEL}queries = [ {{ legend = \"x\" }} ]\n"),
        "3:13",
        "query without `expr`",
        "expr",
    );
    assert_error(
        &format!("{PANEL}query = \"up\"\nqueries = [ {{ expr = \"up\" }} ]\n"),
        "4:11",
        "not both",
        "only one",
    );
}

#[test]
fn threshold_order() {
    assert_error(
        &format!(
            "{PANEL}query = \"up\"\nthresholds = [\n  {{ value = 0.5, color = \"red\" }},\n  {{ value = 0.25, color = \"yellow\" }},\n]\n"
        ),
        "6:13",
        "threshold 0.25 is not above the previous one (0.5)",
        "ascending",
    );
}

#[test]
fn unknown_colour() {
    assert_error(
        &format!("{PANEL}query = \"up\"\nthresholds = [ {{ value = 1, color = \"mauve\" }} ]\n"),
        "4:37",
        "unknown colour \"mauve\"",
        "green",
    );
}

#[test]
fn width_out_of_range() {
    assert_error(
        &format!("{PANEL}query = \"up\"\nwidth = 13\n"),
        "4:9",
        "width 13 is out of range",
        "1 to 12",
    );
    assert_error(
        &format!("{PANEL}query = \"up\"\nwidth = 0\n"),
        "4:9",
        "width 0",
        "1 to 12",
    );
    assert_error(
        &format!("{PANEL}query = \"up\"\nwidth = -3\n"),
        "4:9",
        "width -3",
        "1 to 12",
    );
}

#[test]
fn wrong_type() {
    assert_error(
        &format!("{PANEL}query = \"up\"\nwidth = \"wide\"\n"),
        "4:9",
        "invalid type",
        "i64",
    );
}

#[test]
fn gauge_min_max() {
    assert_error(
        &format!("{PANEL}kind = \"gauge\"\nquery = \"up\"\nmin = 5\nmax = 1\n"),
        "6:7",
        "max 1 is not above min 5",
        "greater",
    );
}

#[test]
fn alert_without_name() {
    assert_error(
        "[[alerts]]\nexpr = \"up\"\n",
        "1:1",
        "alert without a name",
        "name = ",
    );
    assert_error(
        "[[alerts]]\nname = \" \"\nexpr = \"up\"\n",
        "2:8",
        "alert name is empty",
        "name",
    );
}

#[test]
fn alert_without_expr() {
    assert_error(
        "[[alerts]]\nname = \"a\"\n",
        "1:1",
        "alert without `expr`",
        "PromQL",
    );
}

#[test]
fn duplicate_alert_names() {
    assert_error(
        "[[alerts]]\nname = \"a\"\nexpr = \"up\"\n\n[[alerts]]\nname = \"a\"\nexpr = \"up\"\n",
        "6:8",
        "duplicate alert name \"a\"",
        "no other alert",
    );
}

#[test]
fn op_without_threshold() {
    assert_error(
        "[[alerts]]\nname = \"a\"\nexpr = \"up\"\nop = \">\"\n",
        "4:6",
        "`op` without `threshold`",
        "threshold = ",
    );
}

#[test]
fn unknown_op_and_severity() {
    assert_error(
        "[[alerts]]\nname = \"a\"\nexpr = \"up\"\nop = \"=>\"\nthreshold = 1\n",
        "4:6",
        "unknown comparison",
        ">=",
    );
    assert_error(
        "[[alerts]]\nname = \"a\"\nexpr = \"up\"\nseverity = \"page\"\n",
        "4:12",
        "unknown severity \"page\"",
        "critical, warning or info",
    );
}

#[test]
fn alert_panel_must_exist() {
    assert_error(
        &format!("{PANEL}query = \"up\"\n[[alerts]]\nname = \"a\"\nexpr = \"up\"\npanel = \"B\"\n"),
        "7:9",
        "no panel titled \"B\"",
        "\"A\"",
    );
}

#[test]
fn variable_errors() {
    assert_error(
        "[[variables]]\nquery = \"label_values(job)\"\n",
        "1:1",
        "variable without a name",
        "name",
    );
    assert_error(
        "[[variables]]\nname = \"1x\"\nvalues = [\"a\"]\n",
        "2:8",
        "cannot be a variable name",
        "letters",
    );
    assert_error(
        "[[variables]]\nname = \"__interval\"\nvalues = [\"a\"]\n",
        "2:8",
        "cannot be a variable name",
        "__",
    );
    assert_error(
        "[[variables]]\nname = \"x\"\n",
        "1:1",
        "without `query` or `values`",
        "label_values",
    );
    assert_error(
        "[[variables]]\nname = \"x\"\nquery = \"up\"\n",
        "3:9",
        "cannot read variable query",
        "label_values(label)",
    );
    assert_error(
        "[[variables]]\nname = \"x\"\nvalues = [\"a\"]\n[[variables]]\nname = \"x\"\nvalues = [\"b\"]\n",
        "5:8",
        "duplicate variable name",
        "no other variable",
    );
}

#[test]
fn connection_errors() {
    assert_error(
        "[connection]\nurl = \"localhost:9090\"\n",
        "2:7",
        "not an http(s) URL",
        "http://localhost:9090",
    );
    assert_error(
        "[connection]\nclient_cert = \"/c\"\n",
        "2:15",
        "client_cert without client_key",
        "both",
    );
    assert_error(
        "[connection]\ntimeout = \"0s\"\n",
        "2:11",
        "timeout must be longer than zero",
        "positive",
    );
    assert_error(
        "[connection]\nheaders = { \"Bad Name\" = \"v\" }\n",
        "2:26",
        "not a valid header name",
        "X-Scope-OrgID",
    );
    assert_error(
        "[connection]\npassword = \"x\"\n",
        "2:1",
        "unknown field `password`",
        "basic_auth_password_file",
    );
}

#[test]
fn several_problems_are_all_reported_in_order() {
    let text =
        format!("{PANEL}kind = \"pie\"\nquery = \"up\"\nwidth = 20\n[[alerts]]\nexpr = \"up\"\n");
    let err = parse_dashboard(&text, "x.toml").expect_err("invalid");
    let lines: Vec<String> = err.to_string().lines().map(str::to_owned).collect();
    assert_eq!(lines.len(), 3, "{err}");
    assert!(lines[0].starts_with("x.toml:3:8: unknown panel kind"));
    assert!(lines[1].starts_with("x.toml:5:9: width 20"));
    assert!(lines[2].starts_with("x.toml:6:1: alert without a name"));
}

#[test]
fn columns_count_characters_not_bytes() {
    assert_error(
        "title = \"é\"\nrefresh = \"x\"\n",
        "2:11",
        "not a duration",
        "",
    );
    assert_error(
        "title = \"éé\" # ü\nrange = 5\n",
        "2:9",
        "invalid type",
        "string",
    );
}

/// Relative file paths in a file's `[connection]` are taken next to that file, not in the
/// directory promdash happens to run from; absolute paths are kept.
#[test]
fn connection_paths_are_relative_to_their_file() -> Result<(), Box<dyn std::error::Error>> {
    use promdash_queries::dashboard::{load_config, load_dashboard};
    let dir = tempfile::tempdir()?;
    let sub = dir.path().join("conf");
    std::fs::create_dir(&sub)?;
    let table = "[connection]\nurl = \"http://127.0.0.1:9090\"\n\
                 bearer_token_file = \"secrets/token\"\n\
                 basic_auth_user = \"u\"\nbasic_auth_password_file = \"../pw\"\n\
                 ca_cert = \"/etc/ssl/ca.pem\"\nclient_cert = \"c.pem\"\nclient_key = \"./k.pem\"\n";

    let config = sub.join("config.toml");
    std::fs::write(&config, table)?;
    let c = load_config(&config)?.ok_or("no [connection] read")?;
    assert_eq!(c.bearer_token_file, Some(sub.join("secrets/token")));
    assert_eq!(c.basic_auth_password_file, Some(sub.join("../pw")));
    assert_eq!(c.ca_cert, Some("/etc/ssl/ca.pem".into()));
    assert_eq!(c.client_cert, Some(sub.join("c.pem")));
    assert_eq!(c.client_key, Some(sub.join("./k.pem")));

    let dashboard = sub.join("board.toml");
    std::fs::write(
        &dashboard,
        format!(
            "title = \"t\"\n{table}\n[[panels]]\ntitle = \"p\"\nkind = \"stat\"\nquery = \"up\"\n"
        ),
    )?;
    let d = load_dashboard(&dashboard)?;
    let c = d.connection.ok_or("no [connection] read")?;
    assert_eq!(c.bearer_token_file, Some(sub.join("secrets/token")));
    assert_eq!(c.ca_cert, Some("/etc/ssl/ca.pem".into()));
    Ok(())
}
