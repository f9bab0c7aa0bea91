//! Grafana's repeated panels and rows: `repeat: "var"` shows a panel (or a row with all
//! its panels) once per selected value of a variable, each copy with the variable fixed to
//! its one value (Grafana's `scopedVars`).
//!
//! The import keeps what repeats and how ([`Repeat`], read by [`panel`] and [`row`]); the
//! copies are made by [`expand`] from the values selected at the time, and made again
//! when the selection changes. This follows `DashboardModel.repeatPanel` and `repeatRow`
//! of Grafana's `public/app/features/dashboard/state/DashboardModel.ts`:
//!
//! - The values are the selected options, every option (never the custom all value) when
//!   "All" is selected. No value: the panel is shown once, as written.
//! - Horizontal (the default): copies side by side, each
//!   `max(24 / values, 24 / maxPerRow)` of Grafana's 24 columns wide (`maxPerRow` 4
//!   unless set), wrapping onto new lines; vertical: one below another at the panel's
//!   own size. The copies start a line of their own and what follows starts the next.
//! - A repeated row is copied with all its panels, each copy's panels scoped to its value;
//!   a panel inside repeating by another variable is repeated again inside each copy.

use serde_json::{Map, Value};

use crate::dashboard::{Dashboard, Panel, Row};

/// Grafana's default `maxPerRow`.
pub const DEFAULT_MAX_PER_ROW: u8 = 4;

/// What repeats, by which variable, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repeat {
    pub what: Repeated,
    /// The variable's name (without `$`).
    pub var: String,
    /// `repeatDirection: "v"`: copies one below another; else side by side.
    pub vertical: bool,
    /// Copies side by side on one line at most (`maxPerRow`).
    pub max_per_row: u8,
}

/// A repeated panel or row, by its index in [`Dashboard::panels`] / [`Dashboard::rows`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repeated {
    Panel(usize),
    Row(usize),
}

/// The variable a `repeat` field names: `"host"`, `"$host"` or `"${host}"`.
fn var_name(v: Option<&Value>) -> Option<String> {
    let s = v?.as_str()?.trim();
    let s = s
        .strip_prefix("${")
        .and_then(|s| s.strip_suffix('}'))
        .or_else(|| s.strip_prefix('$'))
        .unwrap_or(s);
    (!s.is_empty()).then(|| s.to_owned())
}

/// A panel object's repeat, for the panel that will be `index` among the imported ones.
/// Old panels give `minSpan` (of 12) instead of `maxPerRow`, as Grafana's migration reads
/// it.
pub fn panel(o: &Map<String, Value>, index: usize) -> Option<Repeat> {
    let var = var_name(o.get("repeat"))?;
    let vertical = o.get("repeatDirection").and_then(Value::as_str) == Some("v");
    let max_per_row = match o.get("maxPerRow").and_then(Value::as_f64) {
        Some(m) if m >= 1.0 => m.min(24.0) as u8,
        _ => match o.get("minSpan").and_then(Value::as_f64) {
            Some(s) if s >= 1.0 => (12.0 / s.min(12.0)).floor().max(1.0) as u8,
            _ => DEFAULT_MAX_PER_ROW,
        },
    };
    Some(Repeat {
        what: Repeated::Panel(index),
        var,
        vertical,
        max_per_row,
    })
}

/// A row object's repeat (both schemas), for the row that will be `index`.
pub fn row(o: &Map<String, Value>, index: usize) -> Option<Repeat> {
    Some(Repeat {
        what: Repeated::Row(index),
        var: var_name(o.get("repeat"))?,
        vertical: false,
        max_per_row: DEFAULT_MAX_PER_ROW,
    })
}

/// A copy Grafana made of a repeated panel or row and saved with the dashboard
/// (`repeatPanelId`, old rows' `repeatRowId`): Grafana drops them when it loads the
/// file and makes them again; so does the import.
pub fn is_copy(o: &Map<String, Value>) -> bool {
    ["repeatPanelId", "repeatRowId"]
        .iter()
        .any(|k| o.get(*k).is_some_and(|v| !v.is_null()))
}

/// A variable fixed to one value in a copy: (name, value).
pub type Scope = Vec<(String, String)>;

/// Where an expanded panel comes from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Origin {
    /// Index of the panel in the dashboard as imported.
    pub panel: usize,
    /// The variables fixed in this copy (empty: not a copy).
    pub scope: Scope,
    /// The panel starts a new line of the layout.
    pub newline: bool,
}

/// A dashboard with its repeats made.
#[derive(Debug, Clone, PartialEq)]
pub struct Expanded {
    pub panels: Vec<Panel>,
    /// Per panel of [`Expanded::panels`].
    pub origins: Vec<Origin>,
    pub rows: Vec<Row>,
    /// Per row: its index as imported and the variables fixed in it.
    pub row_origins: Vec<(usize, Scope)>,
}

/// The width (of 12) of `count` copies side by side: Grafana's
/// `max(24 / count, 24 / maxPerRow)` of 24 columns, so that at most `max_per_row` share a
/// line.
pub fn copy_width(count: usize, max_per_row: u8) -> u8 {
    let count = count.clamp(1, 12);
    let per_row = usize::from(max_per_row.clamp(1, 12));
    let by_count = 12 / count;
    let by_max = 12usize.div_ceil(per_row);
    by_count.max(by_max).clamp(1, 12) as u8
}

/// Makes the copies of `d`'s repeats. `values(var)` gives the values a variable repeats
/// over now (see the module's notes); a variable fixed by an enclosing row copy is not
/// repeated again.
pub fn expand(d: &Dashboard, repeats: &[Repeat], values: &dyn Fn(&str) -> Vec<String>) -> Expanded {
    let mut out = Expanded {
        panels: Vec::with_capacity(d.panels.len()),
        origins: Vec::with_capacity(d.panels.len()),
        rows: Vec::with_capacity(d.rows.len()),
        row_origins: Vec::with_capacity(d.rows.len()),
    };
    let panel_repeat = |i: usize| {
        repeats
            .iter()
            .find(|r| r.what == Repeated::Panel(i) && !r.var.is_empty())
    };
    let row_repeat = |r: usize| {
        repeats
            .iter()
            .find(|x| x.what == Repeated::Row(r) && !x.var.is_empty())
    };
    // The next panel starts a line (after copies).
    let mut break_next = false;
    let emit = |out: &mut Expanded, i: usize, scope: &Scope, break_next: &mut bool| {
        let Some(p) = d.panels.get(i) else { return };
        let rep = panel_repeat(i).filter(|r| !scope.iter().any(|(n, _)| *n == r.var));
        let vals = rep.map(|r| values(&r.var)).unwrap_or_default();
        match rep {
            Some(r) if !vals.is_empty() => {
                let width = copy_width(vals.len(), r.max_per_row);
                for (k, v) in vals.iter().enumerate() {
                    let mut copy = p.clone();
                    if !r.vertical {
                        copy.width = width;
                    }
                    let mut s = scope.clone();
                    s.push((r.var.clone(), v.clone()));
                    out.panels.push(copy);
                    out.origins.push(Origin {
                        panel: i,
                        scope: s,
                        newline: k == 0 || r.vertical || *break_next,
                    });
                    *break_next = false;
                }
                *break_next = true;
            }
            _ => {
                out.panels.push(p.clone());
                out.origins.push(Origin {
                    panel: i,
                    scope: scope.clone(),
                    newline: std::mem::take(break_next),
                });
            }
        }
    };
    let n = d.panels.len();
    let first = d.rows.first().map_or(n, |r| r.panels.start.min(n));
    for i in 0..first {
        emit(&mut out, i, &Vec::new(), &mut break_next);
    }
    for (r, row) in d.rows.iter().enumerate() {
        let vals = row_repeat(r).map(|x| values(&x.var)).unwrap_or_default();
        let scopes: Vec<Scope> = match row_repeat(r) {
            Some(x) if !vals.is_empty() => {
                vals.into_iter().map(|v| vec![(x.var.clone(), v)]).collect()
            }
            _ => vec![Vec::new()],
        };
        for scope in scopes {
            let start = out.panels.len();
            // A title bar ends the line before it.
            break_next = false;
            for i in row.panels.start.min(n)..row.panels.end.min(n) {
                emit(&mut out, i, &scope, &mut break_next);
            }
            out.rows.push(Row {
                title: row.title.clone(),
                collapsed: row.collapsed,
                panels: start..out.panels.len(),
            });
            out.row_origins.push((r, scope));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dashboard::parse_dashboard;

    fn dash(panels: usize, rows: &[(usize, usize)]) -> Dashboard {
        let mut toml = String::new();
        for i in 0..panels {
            toml.push_str(&format!(
                "[[panels]]\ntitle = \"P{i}\"\nkind = \"stat\"\nquery = \"up\"\nwidth = 6\n"
            ));
        }
        let mut d = parse_dashboard(&toml, "t.toml").expect("valid");
        d.rows = rows
            .iter()
            .enumerate()
            .map(|(k, (a, b))| Row {
                title: format!("R{k}"),
                collapsed: false,
                panels: *a..*b,
            })
            .collect();
        d
    }

    fn obj(json: &str) -> Map<String, Value> {
        serde_json::from_str(json).expect("json object")
    }

    #[test]
    fn reads_repeat_fields() {
        let r = panel(
            &obj(r#"{"repeat": "$host", "repeatDirection": "v", "maxPerRow": 6}"#),
            3,
        );
        assert_eq!(
            r,
            Some(Repeat {
                what: Repeated::Panel(3),
                var: "host".into(),
                vertical: true,
                max_per_row: 6,
            })
        );
        let r = panel(&obj(r#"{"repeat": "${host}", "minSpan": 3}"#), 0).expect("repeat");
        assert_eq!(
            (r.var.as_str(), r.vertical, r.max_per_row),
            ("host", false, 4)
        );
        let r = panel(&obj(r#"{"repeat": "host"}"#), 0).expect("repeat");
        assert_eq!(r.max_per_row, DEFAULT_MAX_PER_ROW);
        assert_eq!(panel(&obj(r#"{"repeat": ""}"#), 0), None);
        assert_eq!(panel(&obj(r#"{"repeat": null}"#), 0), None);
        assert_eq!(
            row(&obj(r#"{"repeat": "node"}"#), 2).map(|r| r.what),
            Some(Repeated::Row(2))
        );
        assert!(is_copy(&obj(
            r#"{"repeatPanelId": 4, "repeatIteration": 1}"#
        )));
        assert!(is_copy(&obj(r#"{"repeatRowId": 1}"#)));
        assert!(!is_copy(&obj(r#"{"repeat": "x", "repeatPanelId": null}"#)));
    }

    #[test]
    fn copy_widths_follow_grafana() {
        // 24 / n of 24 columns, but no more than maxPerRow on a line.
        assert_eq!(copy_width(1, 4), 12);
        assert_eq!(copy_width(2, 4), 6);
        assert_eq!(copy_width(3, 4), 4);
        assert_eq!(copy_width(4, 4), 3);
        assert_eq!(copy_width(6, 4), 3);
        assert_eq!(copy_width(6, 6), 2);
        assert_eq!(copy_width(5, 6), 2);
        assert_eq!(copy_width(12, 12), 1);
        assert_eq!(copy_width(30, 12), 1);
        assert_eq!(copy_width(3, 2), 6);
    }

    fn vals(name: &str) -> Vec<String> {
        match name {
            "host" => vec!["a".into(), "b".into(), "c".into()],
            "disk" => vec!["sda".into(), "sdb".into()],
            _ => Vec::new(),
        }
    }

    fn scope(s: &[(&str, &str)]) -> Scope {
        s.iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect()
    }

    #[test]
    fn panels_repeat_side_by_side_or_stacked() {
        let d = dash(3, &[]);
        let rep = |i, vertical| Repeat {
            what: Repeated::Panel(i),
            var: "host".into(),
            vertical,
            max_per_row: 4,
        };
        let e = expand(&d, &[rep(1, false)], &vals);
        let titles: Vec<&str> = e.panels.iter().map(|p| p.title.as_str()).collect();
        assert_eq!(titles, ["P0", "P1", "P1", "P1", "P2"]);
        let widths: Vec<u8> = e.panels.iter().map(|p| p.width).collect();
        assert_eq!(widths, [6, 4, 4, 4, 6]);
        let lines: Vec<bool> = e.origins.iter().map(|o| o.newline).collect();
        assert_eq!(lines, [false, true, false, false, true]);
        assert_eq!(e.origins[2].scope, scope(&[("host", "b")]));
        assert_eq!(e.origins[4].scope, Vec::new());
        assert_eq!(e.origins[4].panel, 2);
        // Vertical: the panel's own width, each copy on its own line.
        let e = expand(&d, &[rep(1, true)], &vals);
        let widths: Vec<u8> = e.panels.iter().map(|p| p.width).collect();
        assert_eq!(widths, [6, 6, 6, 6, 6]);
        let lines: Vec<bool> = e.origins.iter().map(|o| o.newline).collect();
        assert_eq!(lines, [false, true, true, true, true]);
        // No values: shown once, as written.
        let none = Repeat {
            var: "nothing".into(),
            ..rep(1, false)
        };
        let e = expand(&d, &[none], &vals);
        assert_eq!(e.panels, d.panels);
        assert!(e.origins.iter().all(|o| o.scope.is_empty() && !o.newline));
    }

    #[test]
    fn rows_repeat_with_their_panels() {
        // P0 before the rows; row 0 = P1, P2 (P2 repeats by disk); row 1 = P3.
        let d = dash(4, &[(1, 3), (3, 4)]);
        let repeats = [
            Repeat {
                what: Repeated::Row(0),
                var: "host".into(),
                vertical: false,
                max_per_row: 4,
            },
            Repeat {
                what: Repeated::Panel(2),
                var: "disk".into(),
                vertical: false,
                max_per_row: 4,
            },
            // Fixed by the row copy already: not repeated again.
            Repeat {
                what: Repeated::Panel(1),
                var: "host".into(),
                vertical: false,
                max_per_row: 4,
            },
        ];
        let e = expand(&d, &repeats, &vals);
        let origins: Vec<(usize, Scope)> = e
            .origins
            .iter()
            .map(|o| (o.panel, o.scope.clone()))
            .collect();
        let mut want = vec![(0, Vec::new())];
        for h in ["a", "b", "c"] {
            want.push((1, scope(&[("host", h)])));
            want.push((2, scope(&[("host", h), ("disk", "sda")])));
            want.push((2, scope(&[("host", h), ("disk", "sdb")])));
        }
        want.push((3, Vec::new()));
        assert_eq!(origins, want);
        let rows: Vec<(std::ops::Range<usize>, usize, Scope)> = e
            .rows
            .iter()
            .zip(&e.row_origins)
            .map(|(r, (o, s))| (r.panels.clone(), *o, s.clone()))
            .collect();
        assert_eq!(
            rows,
            [
                (1..4, 0, scope(&[("host", "a")])),
                (4..7, 0, scope(&[("host", "b")])),
                (7..10, 0, scope(&[("host", "c")])),
                (10..11, 1, Vec::new()),
            ]
        );
        assert_eq!(e.rows[1].title, "R0");
        // The panel after a row copy's repeated panel is in the next row: no break needed
        // (a title bar ends the line).
        assert!(!e.origins[4].newline);
        assert!(!e.origins[10].newline);
    }
}
