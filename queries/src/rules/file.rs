//! Prometheus rule files: the model and its validation, as strict as `promtool check rules`
//! (Prometheus 2.42, `model/rulefmt`), each problem at file:line:col.
//!
//! Reading happens in two passes like Prometheus's: first the YAML is decoded into the
//! model, every type error and unknown field collected; only a file that decodes is then
//! validated (group names, `alert`/`record`, expressions, label names, templates).

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::time::Duration;

use super::duration::parse_model_duration;
use super::template;
use super::yaml::{self, Kind, Node};

/// A rule file: its groups in file order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RuleFile {
    pub groups: Vec<RuleGroup>,
}

/// A group: rules evaluated in order, on the group's own interval.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleGroup {
    pub name: String,
    /// `None`: the global evaluation interval.
    pub interval: Option<Duration>,
    /// At most this many alerts or series per rule (0: no limit).
    pub limit: u64,
    pub rules: Vec<Rule>,
    pub line: usize,
    pub col: usize,
}

/// Whether a rule alerts or records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleKind {
    Alert(String),
    Record(String),
}

/// One alerting or recording rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub kind: RuleKind,
    pub expr: String,
    pub for_: Duration,
    pub keep_firing_for: Duration,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub line: usize,
    pub col: usize,
    /// Where `expr`'s value starts.
    pub expr_line: usize,
    pub expr_col: usize,
}

impl Rule {
    /// The alert or the recorded metric's name.
    pub fn name(&self) -> &str {
        match &self.kind {
            RuleKind::Alert(n) | RuleKind::Record(n) => n,
        }
    }

    pub fn is_alert(&self) -> bool {
        matches!(self.kind, RuleKind::Alert(_))
    }
}

/// One problem in a rule file, at a 1-based line and column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleProblem {
    pub line: usize,
    pub col: usize,
    pub message: String,
}

impl fmt::Display for RuleProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.line, self.col, self.message)
    }
}

/// Why a rule file was rejected: every problem found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleFileError {
    pub file: String,
    pub problems: Vec<RuleProblem>,
}

impl fmt::Display for RuleFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{}:{p}", self.file)?;
        }
        Ok(())
    }
}

impl std::error::Error for RuleFileError {}

/// Reads and validates the rule file at `path`.
pub fn load_rule_file(path: &Path) -> Result<RuleFile, RuleFileError> {
    let file = path.display().to_string();
    let text = std::fs::read(path).map_err(|e| RuleFileError {
        file: file.clone(),
        problems: vec![RuleProblem {
            line: 0,
            col: 0,
            message: format!("cannot read: {e}"),
        }],
    })?;
    let text = String::from_utf8(text).map_err(|e| RuleFileError {
        file: file.clone(),
        problems: vec![RuleProblem {
            line: 0,
            col: 0,
            message: format!("not UTF-8 text: {e}"),
        }],
    })?;
    parse_rule_file(&text).map_err(|problems| RuleFileError { file, problems })
}

/// Parses and validates a rule file's text.
pub fn parse_rule_file(text: &str) -> Result<RuleFile, Vec<RuleProblem>> {
    let root = yaml::parse(text).map_err(|e| {
        vec![RuleProblem {
            line: e.line,
            col: e.col,
            message: format!("yaml: {}", e.message),
        }]
    })?;
    let mut d = Decoder::default();
    let file = match &root {
        None => RuleFile::default(),
        Some(n) => d.file(n),
    };
    if !d.problems.is_empty() {
        return Err(d.problems);
    }
    let mut problems = validate_groups(&file);
    problems.append(&mut d.checks);
    problems.sort_by_key(|p| (p.line, p.col));
    if problems.is_empty() {
        Ok(file)
    } else {
        Err(problems)
    }
}

/// Collects decode errors as Go's yaml does ("cannot unmarshal …", "field … not found").
#[derive(Default)]
struct Decoder {
    /// Decode errors: the file is not the model.
    problems: Vec<RuleProblem>,
    /// Validation problems of rules, reported only when the file decoded.
    checks: Vec<RuleProblem>,
}

impl Decoder {
    fn err(&mut self, n: &Node, message: String) {
        self.problems.push(RuleProblem {
            line: n.line,
            col: n.col,
            message,
        });
    }

    fn cannot(&mut self, n: &Node, into: &str) {
        let what = match &n.kind {
            Kind::Scalar { value, .. } => format!("{} `{value}`", n.tag_name()),
            _ => n.tag_name().to_owned(),
        };
        self.err(n, format!("cannot unmarshal {what} into {into}"));
    }

    /// The pairs of a mapping (null: none), reporting anything else.
    fn map<'n>(&mut self, n: &'n Node, into: &str) -> &'n [(Node, Node)] {
        match &n.kind {
            Kind::Map(p) => p,
            _ if n.is_null() => &[],
            _ => {
                self.cannot(n, into);
                &[]
            }
        }
    }

    fn seq<'n>(&mut self, n: &'n Node, into: &str) -> &'n [Node] {
        match &n.kind {
            Kind::Seq(items) => items,
            _ if n.is_null() => &[],
            _ => {
                self.cannot(n, into);
                &[]
            }
        }
    }

    fn string(&mut self, n: &Node) -> String {
        if n.is_null() {
            return String::new();
        }
        match &n.kind {
            Kind::Scalar { value, .. } => value.clone(),
            _ => {
                self.cannot(n, "string");
                String::new()
            }
        }
    }

    fn duration(&mut self, n: &Node) -> Duration {
        if n.is_null() {
            return Duration::ZERO;
        }
        let s = self.string(n);
        match parse_model_duration(&s) {
            Some(d) => d,
            None => {
                self.err(n, format!("not a valid duration string: {s:?}"));
                Duration::ZERO
            }
        }
    }

    fn int(&mut self, n: &Node) -> u64 {
        if n.is_null() {
            return 0;
        }
        let tag = n.tag_name();
        let v = n.scalar().unwrap_or_default();
        let parsed = match tag {
            "!!int" => yaml::parse_int(v),
            // Go's yaml takes a float with no fraction for an int.
            "!!float" => yaml::parse_float(v)
                .filter(|f| f.fract() == 0.0 && f.abs() < 9.2e18)
                .map(|f| f as i64),
            _ => None,
        };
        match parsed {
            Some(i) if i >= 0 => i as u64,
            Some(i) => {
                self.err(n, format!("limit must not be negative: {i}"));
                0
            }
            None => {
                self.cannot(n, "int");
                0
            }
        }
    }

    fn string_map(&mut self, n: &Node) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        for (k, v) in self.map(n, "map[string]string") {
            let k = self.string(k);
            let v = self.string(v);
            out.insert(k, v);
        }
        out
    }

    fn file(&mut self, n: &Node) -> RuleFile {
        let mut file = RuleFile::default();
        for (k, v) in self.map(n, "rulefmt.RuleGroups") {
            match k.scalar() {
                Some("groups") => {
                    for g in self.seq(v, "[]rulefmt.RuleGroup") {
                        if g.is_null() {
                            continue;
                        }
                        file.groups.push(self.group(g));
                    }
                }
                _ => self.unknown(k, "rulefmt.RuleGroups"),
            }
        }
        file
    }

    fn unknown(&mut self, k: &Node, ty: &str) {
        let name = k.scalar().unwrap_or_default().to_owned();
        self.err(k, format!("field {name} not found in type {ty}"));
    }

    fn group(&mut self, n: &Node) -> RuleGroup {
        let mut g = RuleGroup {
            name: String::new(),
            interval: None,
            limit: 0,
            rules: Vec::new(),
            line: n.line,
            col: n.col,
        };
        let mut checks = Vec::new();
        for (k, v) in self.map(n, "rulefmt.RuleGroup") {
            match k.scalar() {
                Some("name") => g.name = self.string(v),
                Some("interval") => {
                    let d = self.duration(v);
                    g.interval = (!d.is_zero()).then_some(d);
                }
                Some("limit") => g.limit = self.int(v),
                Some("rules") => {
                    for r in self.seq(v, "[]rulefmt.RuleNode") {
                        let (rule, problems) = self.rule(r);
                        checks.push(problems);
                        g.rules.push(rule);
                    }
                }
                _ => self.unknown(k, "rulefmt.RuleGroup"),
            }
        }
        for (i, problems) in checks.into_iter().enumerate() {
            let name = g.rules[i].name().to_owned();
            for (line, col, message) in problems {
                self.checks.push(RuleProblem {
                    line,
                    col,
                    message: format!("group {:?}, rule {}, {name:?}: {message}", g.name, i + 1),
                });
            }
        }
        g
    }

    /// Decodes one rule; returns it with the problems validation finds in it.
    fn rule(&mut self, n: &Node) -> (Rule, Vec<(usize, usize, String)>) {
        let mut r = Rule {
            kind: RuleKind::Record(String::new()),
            expr: String::new(),
            for_: Duration::ZERO,
            keep_firing_for: Duration::ZERO,
            labels: BTreeMap::new(),
            annotations: BTreeMap::new(),
            line: n.line,
            col: n.col,
            expr_line: n.line,
            expr_col: n.col,
        };
        let mut problems = Vec::new();
        let mut alert: Option<(String, &Node)> = None;
        let mut record: Option<(String, &Node)> = None;
        let mut label_nodes: Vec<(&Node, &Node)> = Vec::new();
        let mut annotation_nodes: Vec<(&Node, &Node)> = Vec::new();
        for (k, v) in self.map(n, "rulefmt.RuleNode") {
            match k.scalar() {
                Some("alert") => alert = Some((self.string(v), v)),
                Some("record") => record = Some((self.string(v), v)),
                Some("expr") => {
                    r.expr = self.string(v);
                    (r.expr_line, r.expr_col) = (v.line, v.col);
                }
                Some("for") => r.for_ = self.duration(v),
                Some("keep_firing_for") => r.keep_firing_for = self.duration(v),
                Some("labels") => {
                    r.labels = self.string_map(v);
                    if let Kind::Map(p) = &v.kind {
                        label_nodes = p.iter().map(|(k, v)| (k, v)).collect();
                    }
                }
                Some("annotations") => {
                    r.annotations = self.string_map(v);
                    if let Kind::Map(p) = &v.kind {
                        annotation_nodes = p.iter().map(|(k, v)| (k, v)).collect();
                    }
                }
                _ => self.unknown(k, "rulefmt.RuleNode"),
            }
        }
        let alert = alert.filter(|(a, _)| !a.is_empty());
        let record = record.filter(|(a, _)| !a.is_empty());
        match (&alert, &record) {
            (Some((a, an)), Some((_, rn))) => {
                r.kind = RuleKind::Alert(a.clone());
                (r.line, r.col) = (rn.line, rn.col);
                problems.push((
                    rn.line,
                    rn.col,
                    format!(
                        "only one of 'record' and 'alert' must be set (alert at {}:{})",
                        an.line, an.col
                    ),
                ));
            }
            (Some((a, an)), None) => {
                r.kind = RuleKind::Alert(a.clone());
                (r.line, r.col) = (an.line, an.col);
            }
            (None, Some((rec, rn))) => {
                r.kind = RuleKind::Record(rec.clone());
                (r.line, r.col) = (rn.line, rn.col);
            }
            (None, None) => problems.push((
                n.line,
                n.col,
                "one of 'record' or 'alert' must be set".into(),
            )),
        }
        if r.expr.is_empty() {
            problems.push((
                r.expr_line,
                r.expr_col,
                "field 'expr' must be set in rule".into(),
            ));
        } else if let Err(e) = promql_parser::parser::parse(&r.expr) {
            problems.push((
                r.expr_line,
                r.expr_col,
                format!("could not parse expression: {}", e.trim()),
            ));
        }
        if record.is_some() && alert.is_none() {
            if !r.annotations.is_empty() {
                problems.push((
                    r.line,
                    r.col,
                    "invalid field 'annotations' in recording rule".into(),
                ));
            }
            if !r.for_.is_zero() {
                problems.push((
                    r.line,
                    r.col,
                    "invalid field 'for' in recording rule".into(),
                ));
            }
            if !r.keep_firing_for.is_zero() {
                problems.push((
                    r.line,
                    r.col,
                    "invalid field 'keep_firing_for' in recording rule".into(),
                ));
            }
            if !is_metric_name(r.name()) {
                problems.push((
                    r.line,
                    r.col,
                    format!("invalid recording rule name: {}", r.name()),
                ));
            }
        }
        for (k, _) in &label_nodes {
            let name = k.scalar().unwrap_or_default();
            if !is_label_name(name) || name == "__name__" {
                problems.push((k.line, k.col, format!("invalid label name: {name}")));
            }
        }
        for (k, _) in &annotation_nodes {
            let name = k.scalar().unwrap_or_default();
            if !is_label_name(name) {
                problems.push((k.line, k.col, format!("invalid annotation name: {name}")));
            }
        }
        if let RuleKind::Alert(name) = &r.kind {
            for (what, nodes) in [("label", &label_nodes), ("annotation", &annotation_nodes)] {
                for (k, v) in nodes.iter() {
                    let text = v.scalar().unwrap_or_default();
                    if let Err(e) = template::check(text) {
                        problems.push((
                            v.line,
                            v.col,
                            format!(
                                "{what} {:?}: template: __alert_{name}:{}: {}",
                                k.scalar().unwrap_or_default(),
                                e.line,
                                e.message
                            ),
                        ));
                    }
                }
            }
        }
        (r, problems)
    }
}

/// A legacy Prometheus label name: `[a-zA-Z_][a-zA-Z0-9_]*`.
pub fn is_label_name(s: &str) -> bool {
    let mut b = s.bytes();
    b.next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == b'_')
        && b.all(|c| c.is_ascii_alphanumeric() || c == b'_')
}

/// A legacy Prometheus metric name: `[a-zA-Z_:][a-zA-Z0-9_:]*`.
pub fn is_metric_name(s: &str) -> bool {
    let mut b = s.bytes();
    b.next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == b'_' || c == b':')
        && b.all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b':')
}

/// Group-level checks, run on a file that decoded: names present and unique.
fn validate_groups(file: &RuleFile) -> Vec<RuleProblem> {
    let mut problems = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for g in &file.groups {
        if g.name.is_empty() {
            problems.push(RuleProblem {
                line: g.line,
                col: g.col,
                message: "Groupname must not be empty".into(),
            });
        }
        if !seen.insert(g.name.as_str()) {
            problems.push(RuleProblem {
                line: g.line,
                col: g.col,
                message: format!("groupname: {:?} is repeated in the same file", g.name),
            });
        }
    }
    problems
}

/// Rules that record the same metric with the same labels in one file: Prometheus's
/// `promtool check rules` warns about them (and still accepts the file).
pub fn duplicate_rules(file: &RuleFile) -> Vec<(String, BTreeMap<String, String>)> {
    let mut seen = std::collections::HashMap::new();
    for g in &file.groups {
        for r in &g.rules {
            *seen
                .entry((r.name().to_owned(), r.labels.clone()))
                .or_insert(0) += 1;
        }
    }
    let mut dups: Vec<_> = seen
        .into_iter()
        .filter(|(_, n)| *n > 1)
        .map(|(k, _)| k)
        .collect();
    dups.sort();
    dups
}
