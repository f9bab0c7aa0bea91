//! An imported dashboard written as a promdash dashboard file (TOML), with a comment for
//! each thing that was not carried over next to the panel it concerns.

use std::fmt::Write as _;

use super::fields::{FieldConfig, MappingMatch, SeriesMatcher, Stacking, ThresholdsMode};
use super::repeat::Repeated;
use super::{Import, Warning};
use crate::dashboard::{Color, Panel, Unit, VariableSource};

/// A TOML string literal.
fn q(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}

fn duration(d: std::time::Duration) -> String {
    q(&humantime::format_duration(d).to_string().replace(' ', ""))
}

fn unit_name(u: &Unit) -> String {
    match u {
        Unit::Short => "short".into(),
        Unit::Percent => "percent".into(),
        Unit::PercentUnit => "percentunit".into(),
        Unit::Seconds => "s".into(),
        Unit::Milliseconds => "ms".into(),
        Unit::Bytes => "bytes".into(),
        Unit::ReqPerSec => "reqps".into(),
        Unit::Other(s) => s.clone(),
    }
}

fn color_name(c: Color) -> String {
    match c {
        Color::Green => "green".into(),
        Color::Yellow => "yellow".into(),
        Color::Orange => "orange".into(),
        Color::Red => "red".into(),
        Color::Blue => "blue".into(),
        Color::Purple => "purple".into(),
        Color::Cyan => "cyan".into(),
        Color::Gray => "gray".into(),
        Color::White => "white".into(),
        Color::Rgb(r, g, b) => format!("#{r:02x}{g:02x}{b:02x}"),
    }
}

fn comment(out: &mut String, w: &Warning) {
    // A comment ends at the line's end: a message cannot break out of it.
    let text = w.to_string().replace(['\n', '\r'], " ");
    let _ = writeln!(out, "# not carried over: {text}");
}

/// The dashboard file for `import`. Rows become comments (the TOML format has no rows).
pub fn to_toml(im: &Import, source: &str) -> String {
    let d = &im.dashboard;
    let mut out = String::new();
    let _ = writeln!(out, "# Imported from the Grafana dashboard {source}");
    let _ = writeln!(
        out,
        "# Variables here follow promdash's escaping: one value of a variable that is neither\n\
         # multi nor all is regex-escaped inside =~ (Grafana puts it in as it is)."
    );
    for w in im.warnings.iter().filter(|w| w.panel.is_none()) {
        comment(&mut out, w);
    }
    let _ = writeln!(out, "title = {}", q(&d.title));
    let _ = writeln!(out, "refresh = {}", duration(d.refresh));
    let _ = writeln!(out, "range = {}", duration(d.range));
    for v in &d.variables {
        let _ = writeln!(out, "\n[[variables]]");
        let _ = writeln!(out, "name = {}", q(&v.name));
        match &v.source {
            VariableSource::LabelValues { label, matcher } => {
                let query = match matcher {
                    Some(m) => format!("label_values({m}, {label})"),
                    None => format!("label_values({label})"),
                };
                let _ = writeln!(out, "query = {}", q(&query));
            }
            VariableSource::Values(vals) => {
                // A promdash file has no auto interval: its fixed choices only.
                let auto = v.auto_interval.is_some();
                if auto {
                    let _ = writeln!(
                        out,
                        "# not carried over: the interval variable's `auto` choice"
                    );
                }
                let list: Vec<String> = vals
                    .iter()
                    .filter(|x| !(auto && *x == super::AUTO))
                    .map(|v| q(v))
                    .collect();
                let _ = writeln!(out, "values = [{}]", list.join(", "));
            }
            VariableSource::QueryResult(e) => {
                let _ = writeln!(out, "query = {}", q(&format!("query_result({e})")));
            }
            VariableSource::Metrics(r) => {
                let _ = writeln!(out, "query = {}", q(&format!("metrics({r})")));
            }
        }
        if let Some(r) = &v.regex {
            let _ = writeln!(out, "regex = {}", q(r));
        }
        if v.sort != 0 {
            let _ = writeln!(out, "sort = {}", v.sort);
        }
        if let Some(a) = &v.all_value {
            let _ = writeln!(out, "all_value = {}", q(a));
        }
        if v.multi {
            let _ = writeln!(out, "multi = true");
        }
        if v.all {
            let _ = writeln!(out, "all = true");
        }
        let default: Vec<&String> = v
            .default
            .iter()
            .filter(|d| !(v.auto_interval.is_some() && *d == super::AUTO))
            .collect();
        match default.as_slice() {
            [] => {}
            [one] => {
                let _ = writeln!(out, "default = {}", q(one));
            }
            many => {
                let list: Vec<String> = many.iter().map(|v| q(v)).collect();
                let _ = writeln!(out, "default = [{}]", list.join(", "));
            }
        }
    }
    for (i, p) in d.panels.iter().enumerate() {
        out.push('\n');
        if let Some(row) = d
            .rows
            .iter()
            .find(|r| r.panels.start == i && !r.panels.is_empty())
        {
            let state = if row.collapsed { " (collapsed)" } else { "" };
            let _ = writeln!(out, "# Row {}{state}", q(&row.title));
            let r = d.rows.iter().position(|x| std::ptr::eq(x, row));
            for rep in d
                .repeats
                .iter()
                .filter(|x| r.is_some_and(|r| x.what == Repeated::Row(r)))
            {
                let _ = writeln!(
                    out,
                    "# not carried over: the row repeats by ${} (promdash files do not repeat)",
                    rep.var.replace(['\n', '\r'], " ")
                );
            }
        }
        for rep in d.repeats.iter().filter(|x| x.what == Repeated::Panel(i)) {
            let _ = writeln!(
                out,
                "# not carried over: the panel repeats by ${} (promdash files do not repeat)",
                rep.var.replace(['\n', '\r'], " ")
            );
        }
        for w in im.warnings.iter().filter(|w| w.panel == Some(i)) {
            comment(&mut out, w);
        }
        for (k, query) in p.queries.iter().enumerate() {
            let o = &query.step;
            if o.is_default() {
                continue;
            }
            let mut parts = Vec::new();
            if let Some(m) = &o.panel_min {
                parts.push(format!("panel min interval {m}"));
            }
            if let Some(m) = &o.min {
                parts.push(format!("min step {m}"));
            }
            if o.factor > 1 {
                parts.push(format!("intervalFactor {}", o.factor));
            }
            let _ = writeln!(
                out,
                "# not carried over: query {}'s {} (a promdash file chooses the step from \
                 the width)",
                k + 1,
                parts.join(", ").replace(['\n', '\r'], " ")
            );
        }
        panel(&mut out, p);
    }
    out
}

fn panel(out: &mut String, p: &Panel) {
    let _ = writeln!(out, "[[panels]]");
    let _ = writeln!(out, "title = {}", q(&p.title));
    let _ = writeln!(out, "kind = {}", q(p.kind.as_str()));
    if let Some(t) = &p.text {
        let _ = writeln!(out, "text = {}", q(t));
    }
    match p.queries.as_slice() {
        [] => {}
        [one] => {
            let _ = writeln!(out, "query = {}", q(&one.expr));
            if let Some(l) = &one.legend {
                let _ = writeln!(out, "legend = {}", q(l));
            }
        }
        many => {
            let _ = writeln!(out, "queries = [");
            for query in many {
                match &query.legend {
                    Some(l) => {
                        let _ =
                            writeln!(out, "  {{ expr = {}, legend = {} }},", q(&query.expr), q(l));
                    }
                    None => {
                        let _ = writeln!(out, "  {{ expr = {} }},", q(&query.expr));
                    }
                }
            }
            let _ = writeln!(out, "]");
        }
    }
    if p.unit != Unit::Short {
        let _ = writeln!(out, "unit = {}", q(&unit_name(&p.unit)));
    }
    let _ = writeln!(out, "width = {}", p.width);
    if let Some(h) = p.height {
        let _ = writeln!(out, "height = {h}");
    }
    if !p.thresholds.is_empty() {
        let list: Vec<String> = p
            .thresholds
            .iter()
            .map(|t| {
                format!(
                    "{{ value = {:?}, color = {} }}",
                    t.value,
                    q(&color_name(t.color))
                )
            })
            .collect();
        let _ = writeln!(out, "thresholds = [{}]", list.join(", "));
    }
    if let Some(m) = p.min {
        let _ = writeln!(out, "min = {m:?}");
    }
    if let Some(m) = p.max {
        let _ = writeln!(out, "max = {m:?}");
    }
    if let Some(d) = p.decimals {
        let _ = writeln!(out, "decimals = {d}");
    }
    if !p.legend_calcs.is_empty() {
        let list: Vec<String> = p.legend_calcs.iter().map(|c| q(c.id())).collect();
        let _ = writeln!(out, "legend_calcs = [{}]", list.join(", "));
    }
    field(out, &p.field);
}

fn opt_f64(v: Option<f64>) -> String {
    v.map_or(String::new(), |v| format!("{v:?}"))
}

/// The field config's keys, then its overrides as `[[panels.overrides]]` tables (last:
/// after a sub-table no key of the panel may follow).
fn field(out: &mut String, f: &FieldConfig) {
    if !f.mappings.is_empty() {
        let _ = writeln!(out, "mappings = [");
        for m in &f.mappings {
            let mut keys: Vec<String> = Vec::new();
            match &m.on {
                MappingMatch::Value(v) => keys.push(format!("value = {}", q(v))),
                MappingMatch::Range { from, to } => {
                    if from.is_some() {
                        keys.push(format!("from = {}", opt_f64(*from)));
                    }
                    if to.is_some() {
                        keys.push(format!("to = {}", opt_f64(*to)));
                    }
                }
                MappingMatch::Null => keys.push("special = \"null\"".into()),
                MappingMatch::NaN => keys.push("special = \"nan\"".into()),
                MappingMatch::NullNaN => keys.push("special = \"null+nan\"".into()),
                MappingMatch::Regex(r) => keys.push(format!("regex = {}", q(r))),
            }
            if let Some(t) = &m.text {
                keys.push(format!("text = {}", q(t)));
            }
            if let Some(c) = m.color {
                keys.push(format!("color = {}", q(&color_name(c))));
            }
            let _ = writeln!(out, "  {{ {} }},", keys.join(", "));
        }
        let _ = writeln!(out, "]");
    }
    if let Some(n) = &f.no_value {
        let _ = writeln!(out, "no_value = {}", q(n));
    }
    if f.thresholds_mode == ThresholdsMode::Percentage {
        let _ = writeln!(out, "thresholds_mode = \"percentage\"");
    }
    if let Some(c) = f.base_color {
        let _ = writeln!(out, "base_color = {}", q(&color_name(c)));
    }
    if let Some(r) = f.reduce {
        let _ = writeln!(out, "reduce = {}", q(r.id()));
    }
    if f.stacking != Stacking::None {
        let _ = writeln!(out, "stacking = {}", q(f.stacking.as_str()));
    }
    if let Some(d) = &f.display_name {
        let _ = writeln!(out, "display_name = {}", q(d));
    }
    for o in &f.overrides {
        let _ = writeln!(out, "[[panels.overrides]]");
        match &o.matcher {
            SeriesMatcher::All => {}
            SeriesMatcher::Name(n) => {
                let _ = writeln!(out, "name = {}", q(n));
            }
            SeriesMatcher::Regex(r) => {
                let _ = writeln!(out, "regex = {}", q(r));
            }
            SeriesMatcher::Query(i) => {
                let _ = writeln!(out, "query = {}", i + 1);
            }
        }
        if let Some(d) = &o.display_name {
            let _ = writeln!(out, "display_name = {}", q(d));
        }
        if let Some(c) = o.color {
            let _ = writeln!(out, "color = {}", q(&color_name(c)));
        }
        if let Some(u) = &o.unit {
            let _ = writeln!(out, "unit = {}", q(&unit_name(u)));
        }
        if let Some(n) = o.negative_y {
            let _ = writeln!(out, "negative_y = {n}");
        }
        if let Some(a) = o.axis {
            let _ = writeln!(out, "axis = {}", q(a.as_str()));
        }
        if let Some(h) = o.hidden {
            let _ = writeln!(out, "hidden = {h}");
        }
        if let Some(s) = o.stacking {
            let _ = writeln!(out, "stacking = {}", q(s.as_str()));
        }
    }
}
