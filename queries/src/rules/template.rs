//! Prometheus's alert templates: the subset of Go's `text/template` that rule labels and
//! annotations use, with Prometheus's functions (`template/template.go`): `$labels`,
//! `$value`, `$externalLabels`, `.Labels`, `.Value`, `if`/`else`/`range`/`with`,
//! pipelines, `printf`, the `humanize*` family, `reReplaceAll`, `match`, `query` with
//! `first`/`value`/`label`/`sortByLabel`. A template that fails renders as
//! `<error expanding template: …>`, as Prometheus does; missing map keys print as empty
//! (Prometheus sets `missingkey=zero`).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::gofmt::{format_e, format_f, format_g};

/// The labels of a series or an alert.
pub type LabelMap = BTreeMap<String, String>;

/// A template value (Go's dynamic values, as far as templates need them).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Nil,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Map(LabelMap),
    /// A query result: samples with labels and value.
    Samples(Vec<(LabelMap, f64)>),
    Sample(LabelMap, f64),
    /// A struct with named fields (the alert data).
    Struct(Vec<(String, Value)>),
    List(Vec<Value>),
}

/// A parse error: the 1-based line in the template and Go's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub line: usize,
    pub message: String,
}

/// Runs `query(expr)` for the template; answers samples or an error message.
pub type QueryFn<'a> = &'a dyn Fn(&str) -> Result<Vec<(LabelMap, f64)>, String>;

/// What an alert's templates see.
#[derive(Debug, Clone, Default)]
pub struct AlertData {
    pub labels: LabelMap,
    pub external_labels: LabelMap,
    pub external_url: String,
    pub value: f64,
}

impl AlertData {
    fn dot(&self) -> Value {
        Value::Struct(vec![
            ("Labels".into(), Value::Map(self.labels.clone())),
            (
                "ExternalLabels".into(),
                Value::Map(self.external_labels.clone()),
            ),
            ("ExternalURL".into(), Value::Str(self.external_url.clone())),
            ("Value".into(), Value::Float(self.value)),
        ])
    }
}

/// The variables Prometheus defines before an alert's template.
const PREDEFINED: [(&str, &str); 4] = [
    ("$labels", "Labels"),
    ("$externalLabels", "ExternalLabels"),
    ("$externalURL", "ExternalURL"),
    ("$value", "Value"),
];

/// Checks that `text` parses as an alert template (what `promtool check rules` checks).
pub fn check(text: &str) -> Result<(), ParseError> {
    parse(text).map(|_| ())
}

/// Expands an alert label or annotation template as Prometheus does:
/// `<error expanding template: …>` when it fails. `name` is the template's name
/// (`__alert_<alertname>`), `time` the evaluation time in ms (for `query`).
pub fn expand_alert(
    text: &str,
    name: &str,
    data: &AlertData,
    query: Option<QueryFn<'_>>,
) -> String {
    match expand(text, name, data, query) {
        Ok(s) => s,
        Err(e) => format!("<error expanding template: {e}>"),
    }
}

/// Expands a template; the error as Prometheus words it.
pub fn expand(
    text: &str,
    name: &str,
    data: &AlertData,
    query: Option<QueryFn<'_>>,
) -> Result<String, String> {
    let nodes = parse(text).map_err(|e| {
        format!(
            "error parsing template {name}: template: {name}:{}: {}",
            e.line, e.message
        )
    })?;
    let dot = data.dot();
    let mut ex = Exec {
        vars: PREDEFINED
            .iter()
            .map(|(v, f)| (v.to_string(), field_of(&dot, f).unwrap_or(Value::Nil)))
            .collect(),
        out: String::new(),
        query,
        name: name.to_owned(),
    };
    ex.vars.insert(0, ("$".into(), dot.clone()));
    ex.run(&nodes, &dot).map_err(|e| {
        if e.starts_with(&format!("{name}:")) {
            format!("error executing template {name}: template: {e}")
        } else {
            format!("error executing template {name}: template: {name}: {e}")
        }
    })?;
    Ok(ex.out)
}

// ---------------------------------------------------------------- lexing and parsing

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Field(String),
    Var(String),
    Ident(String),
    Str(String),
    Num(String),
    Char(char),
    Bool(bool),
    Nil,
    Pipe,
    LParen,
    RParen,
    Declare,
    Assign,
    Comma,
    Dot,
}

#[derive(Debug, Clone)]
enum Node {
    Text(String),
    Action(Pipe),
    If(Pipe, Vec<Node>, Vec<Node>),
    Range(Pipe, Vec<Node>, Vec<Node>),
    With(Pipe, Vec<Node>, Vec<Node>),
}

#[derive(Debug, Clone)]
struct Pipe {
    decl: Vec<String>,
    assign: bool,
    cmds: Vec<Cmd>,
}

/// One command of a pipeline, with where it is (Go's `name:line:col`) and how Go prints it
/// in an error (`<humanize "abc">`).
#[derive(Debug, Clone)]
struct Cmd {
    args: Vec<Arg>,
    at: String,
    context: String,
}

#[derive(Debug, Clone)]
enum Arg {
    /// `.A.B` (empty: the dot itself).
    Field(Vec<String>),
    Var(String, Vec<String>),
    Func(String),
    Lit(Value),
    Sub(Box<Pipe>, Vec<String>),
}

/// One `{{ … }}` or the text between them, with the line it starts on.
enum Piece {
    Text(String),
    /// Tokens, their byte spans in the template, and the line the action starts on.
    Action(Vec<Tok>, Vec<(usize, usize)>, usize),
}

fn lex(text: &str) -> Result<Vec<Piece>, ParseError> {
    let mut pieces = Vec::new();
    let mut rest = text;
    let mut line = 1;
    loop {
        let Some(open) = rest.find("{{") else {
            if !rest.is_empty() {
                pieces.push(Piece::Text(rest.to_owned()));
            }
            return Ok(pieces);
        };
        let mut before = &rest[..open];
        let mut inner = &rest[open + 2..];
        if inner.starts_with("- ") || inner.starts_with("-\t") || inner.starts_with("-\n") {
            before = before.trim_end_matches([' ', '\t', '\r', '\n']);
            inner = &inner[1..];
        }
        if !before.is_empty() {
            pieces.push(Piece::Text(before.to_owned()));
        }
        line += rest[..open].matches('\n').count();
        let start_line = line;
        let trimmed = inner.trim_start();
        if trimmed.starts_with("/*") {
            let Some(end) = trimmed.find("*/") else {
                return Err(perr(line, "unclosed comment"));
            };
            let after = trimmed[end + 2..].trim_start_matches([' ', '\t', '\r', '\n']);
            let (after, trim) = if let Some(a) = after.strip_prefix("-}}") {
                (a, true)
            } else if let Some(a) = after.strip_prefix("}}") {
                (a, false)
            } else {
                return Err(perr(line, "comment ends before closing delimiter"));
            };
            line += inner[..inner.len() - after.len()].matches('\n').count();
            rest = if trim {
                after.trim_start_matches([' ', '\t', '\r', '\n'])
            } else {
                after
            };
            continue;
        }
        let base = text.len() - inner.len();
        let (toks, spans, consumed, trim_right) = lex_action(inner, line, base)?;
        line += inner[..consumed].matches('\n').count();
        pieces.push(Piece::Action(toks, spans, start_line));
        rest = &inner[consumed..];
        if trim_right {
            let t = rest.trim_start_matches([' ', '\t', '\r', '\n']);
            line += rest[..rest.len() - t.len()].matches('\n').count();
            rest = t;
        }
    }
}

fn perr(line: usize, m: impl Into<String>) -> ParseError {
    ParseError {
        line,
        message: m.into(),
    }
}

fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Tokens of one action up to `}}`: (tokens, their spans, bytes consumed including the
/// delimiter, whether it was ` -}}`).
type LexedAction = (Vec<Tok>, Vec<(usize, usize)>, usize, bool);

fn lex_action(s: &str, line: usize, base: usize) -> Result<LexedAction, ParseError> {
    let b = s.as_bytes();
    let mut i = 0;
    let mut toks = Vec::new();
    let mut spans: Vec<(usize, usize)> = Vec::new();
    let mut token_start = 0;
    loop {
        // Every token pushed by the last round spans what that round read.
        while spans.len() < toks.len() {
            spans.push((base + token_start, base + i));
        }
        token_start = i;
        let Some(&c) = b.get(i) else {
            return Err(perr(line, "unclosed action"));
        };
        if s[i..].starts_with("}}") {
            return Ok((toks, spans, i + 2, false));
        }
        if matches!(c, b' ' | b'\t' | b'\r' | b'\n') {
            if s[i..]
                .trim_start_matches([' ', '\t', '\r', '\n'])
                .starts_with("-}}")
            {
                let j = s.len() - s[i..].trim_start_matches([' ', '\t', '\r', '\n']).len();
                return Ok((toks, spans, j + 3, true));
            }
            i += 1;
            continue;
        }
        match c {
            b'|' => {
                toks.push(Tok::Pipe);
                i += 1;
            }
            b'(' => {
                toks.push(Tok::LParen);
                i += 1;
            }
            b')' => {
                toks.push(Tok::RParen);
                i += 1;
            }
            b',' => {
                toks.push(Tok::Comma);
                i += 1;
            }
            b':' if b.get(i + 1) == Some(&b'=') => {
                toks.push(Tok::Declare);
                i += 2;
            }
            b'=' => {
                toks.push(Tok::Assign);
                i += 1;
            }
            b'"' => {
                let mut j = i + 1;
                let mut esc = false;
                loop {
                    match b.get(j) {
                        None | Some(b'\n') => return Err(perr(line, "unterminated quoted string")),
                        Some(b'\\') if !esc => esc = true,
                        Some(b'"') if !esc => break,
                        _ => esc = false,
                    }
                    j += 1;
                }
                let lit = unquote(&s[i + 1..j])
                    .ok_or_else(|| perr(line, format!("invalid syntax: {}", &s[i..=j])))?;
                toks.push(Tok::Str(lit));
                i = j + 1;
            }
            b'`' => {
                let Some(end) = s[i + 1..].find('`') else {
                    return Err(perr(line, "unterminated raw quoted string"));
                };
                toks.push(Tok::Str(s[i + 1..i + 1 + end].to_owned()));
                i += end + 2;
            }
            b'\'' => {
                let rest = &s[i + 1..];
                let mut chars = rest.char_indices();
                let ch = match chars.next() {
                    Some((_, '\\')) => match chars.next() {
                        Some((_, 'n')) => '\n',
                        Some((_, 't')) => '\t',
                        Some((_, c)) => c,
                        None => return Err(perr(line, "unterminated character constant")),
                    },
                    Some((_, c)) => c,
                    None => return Err(perr(line, "unterminated character constant")),
                };
                match chars.next() {
                    Some((k, '\'')) => {
                        toks.push(Tok::Char(ch));
                        i += 1 + k + 1;
                    }
                    _ => return Err(perr(line, "unterminated character constant")),
                }
            }
            b'$' => {
                let end = s[i + 1..]
                    .find(|c: char| !is_ident_char(c))
                    .map_or(s.len(), |e| i + 1 + e);
                toks.push(Tok::Var(s[i..end].to_owned()));
                i = end;
                i = lex_fields(s, i, &mut toks);
            }
            b'.' if !b.get(i + 1).is_some_and(u8::is_ascii_digit) => {
                if b.get(i + 1).is_some_and(|&c| is_ident_char(c as char)) {
                    i = lex_fields(s, i, &mut toks);
                } else {
                    toks.push(Tok::Dot);
                    i += 1;
                }
            }
            b'0'..=b'9' | b'+' | b'-' | b'.' => {
                let end = s[i + 1..]
                    .find(|c: char| {
                        !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '+' | '-'))
                    })
                    .map_or(s.len(), |e| i + 1 + e);
                let mut text = &s[i..end];
                // `1-}}`: the trim marker is not part of the number.
                if text.ends_with('-') && s[end..].starts_with("}}") {
                    text = &text[..text.len() - 1];
                }
                toks.push(Tok::Num(text.to_owned()));
                i += text.len();
            }
            _ if (c as char).is_alphabetic() || c == b'_' || c >= 0x80 => {
                let end = s[i..]
                    .find(|c: char| !is_ident_char(c))
                    .map_or(s.len(), |e| i + e);
                let word = &s[i..end];
                toks.push(match word {
                    "true" => Tok::Bool(true),
                    "false" => Tok::Bool(false),
                    "nil" => Tok::Nil,
                    _ => Tok::Ident(word.to_owned()),
                });
                i = end;
                i = lex_fields(s, i, &mut toks);
            }
            _ => {
                let ch = s[i..].chars().next().unwrap_or('?');
                return Err(perr(line, format!("unexpected {ch:?} in command")));
            }
        }
    }
}

/// `.a.b` right after an operand: one Field token per name.
fn lex_fields(s: &str, mut i: usize, toks: &mut Vec<Tok>) -> usize {
    while s[i..].starts_with('.') && s[i + 1..].starts_with(|c: char| is_ident_char(c)) {
        let end = s[i + 1..]
            .find(|c: char| !is_ident_char(c))
            .map_or(s.len(), |e| i + 1 + e);
        toks.push(Tok::Field(s[i + 1..end].to_owned()));
        i = end;
    }
    i
}

/// Go's `strconv.Unquote` of a double-quoted string's inside.
fn unquote(s: &str) -> Option<String> {
    let mut out = String::new();
    let mut it = s.chars();
    while let Some(c) = it.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match it.next()? {
            'n' => out.push('\n'),
            't' => out.push('\t'),
            'r' => out.push('\r'),
            'a' => out.push('\x07'),
            'b' => out.push('\x08'),
            'f' => out.push('\x0c'),
            'v' => out.push('\x0b'),
            '\\' => out.push('\\'),
            '"' => out.push('"'),
            '\'' => out.push('\''),
            'x' => {
                let h: String = it.by_ref().take(2).collect();
                out.push(char::from(u8::from_str_radix(&h, 16).ok()?));
            }
            'u' => {
                let h: String = it.by_ref().take(4).collect();
                out.push(char::from_u32(u32::from_str_radix(&h, 16).ok()?)?);
            }
            'U' => {
                let h: String = it.by_ref().take(8).collect();
                out.push(char::from_u32(u32::from_str_radix(&h, 16).ok()?)?);
            }
            _ => return None,
        }
    }
    Some(out)
}

/// The functions a Prometheus alert template may call.
const FUNCS: &[&str] = &[
    "and",
    "or",
    "not",
    "len",
    "index",
    "print",
    "printf",
    "println",
    "eq",
    "ne",
    "lt",
    "le",
    "gt",
    "ge",
    "html",
    "js",
    "urlquery",
    "slice",
    "call",
    "query",
    "first",
    "label",
    "value",
    "strvalue",
    "args",
    "reReplaceAll",
    "safeHtml",
    "match",
    "title",
    "toUpper",
    "toLower",
    "graphLink",
    "tableLink",
    "sortByLabel",
    "humanize",
    "humanize1024",
    "humanizeDuration",
    "humanizePercentage",
    "humanizeTimestamp",
    "toTime",
    "pathPrefix",
    "externalURL",
    "parseDuration",
];

/// What ended a list of nodes: `end`, `else` or `else-chain` and its line.
type Ending = (String, usize);

struct Parser {
    src: String,
    pieces: Vec<Piece>,
    pos: usize,
    /// Variables in scope, innermost last.
    vars: Vec<String>,
}

fn parse(text: &str) -> Result<Vec<Node>, ParseError> {
    let pieces = lex(text)?;
    let mut p = Parser {
        src: text.to_owned(),
        pieces,
        pos: 0,
        vars: PREDEFINED
            .iter()
            .map(|(v, _)| v.to_string())
            .chain(["$".into()])
            .collect(),
    };
    let (nodes, end) = p.list()?;
    match end {
        None => Ok(nodes),
        Some((kw, line)) => Err(perr(line, format!("unexpected {{{{{kw}}}}}"))),
    }
}

impl Parser {
    /// A command spanning `a..b` of the template.
    fn cmd(&self, args: Vec<Arg>, a: usize, b: usize) -> Cmd {
        let before = self.src.get(..a).unwrap_or_default();
        let line = 1 + before.matches('\n').count();
        let col = match before.rfind('\n') {
            Some(nl) => a - nl - 1,
            None => a,
        };
        let context = self
            .src
            .get(a..b)
            .unwrap_or_default()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        Cmd {
            args,
            at: format!("{line}:{col}"),
            context,
        }
    }

    /// Nodes up to `{{end}}`/`{{else}}` (returned with its line) or the end.
    fn list(&mut self) -> Result<(Vec<Node>, Option<Ending>), ParseError> {
        let mut nodes = Vec::new();
        while self.pos < self.pieces.len() {
            let i = self.pos;
            self.pos += 1;
            match &self.pieces[i] {
                Piece::Text(t) => nodes.push(Node::Text(t.clone())),
                Piece::Action(toks, spans, line) => {
                    let (toks, spans, line) = (toks.clone(), spans.clone(), *line);
                    match toks.first() {
                        None => return Err(perr(line, "missing value for command")),
                        Some(Tok::Ident(k)) if k == "end" => {
                            if toks.len() > 1 {
                                return Err(perr(line, "unexpected token in end"));
                            }
                            return Ok((nodes, Some(("end".into(), line))));
                        }
                        Some(Tok::Ident(k)) if k == "else" => {
                            return Ok((
                                nodes,
                                Some((
                                    if toks.len() > 1 {
                                        "else-chain".into()
                                    } else {
                                        "else".into()
                                    },
                                    line,
                                )),
                            ));
                        }
                        Some(Tok::Ident(k)) if matches!(k.as_str(), "if" | "range" | "with") => {
                            let kw = k.clone();
                            nodes.push(self.control(&kw, &toks[1..], &spans[1..], line)?);
                        }
                        Some(Tok::Ident(k))
                            if matches!(
                                k.as_str(),
                                "define" | "template" | "block" | "break" | "continue"
                            ) =>
                        {
                            return Err(perr(
                                line,
                                format!("{k} is not supported in alert templates"),
                            ));
                        }
                        _ => {
                            let pipe = self.pipeline(&toks, &spans, line, true)?;
                            nodes.push(Node::Action(pipe));
                        }
                    }
                }
            }
        }
        Ok((nodes, None))
    }

    fn control(
        &mut self,
        kw: &str,
        toks: &[Tok],
        spans: &[(usize, usize)],
        line: usize,
    ) -> Result<Node, ParseError> {
        let depth = self.vars.len();
        let pipe = self.pipeline(toks, spans, line, true)?;
        if pipe.cmds.is_empty() {
            return Err(perr(line, format!("missing value for {kw}")));
        }
        let (body, end) = self.list()?;
        let mut else_ = Vec::new();
        match end {
            None => return Err(perr(line, "unexpected EOF")),
            Some((e, _)) if e == "end" => {}
            Some((e, eline)) => {
                if e == "else-chain" {
                    // `{{else if …}}`: the rest of the chain is a nested control node,
                    // which shares this one's `{{end}}`.
                    let Piece::Action(toks, spans, _) = &self.pieces[self.pos - 1] else {
                        return Err(perr(eline, "unexpected else"));
                    };
                    let (toks, spans) = (toks.clone(), spans.clone());
                    match toks.get(1) {
                        Some(Tok::Ident(k)) if k == "if" || k == "with" => {
                            let k = k.clone();
                            else_.push(self.control(&k, &toks[2..], &spans[2..], eline)?);
                        }
                        _ => return Err(perr(eline, "unexpected token in else")),
                    }
                } else {
                    let (b, end2) = self.list()?;
                    else_ = b;
                    match end2 {
                        Some((e, _)) if e == "end" => {}
                        Some((e, l)) => {
                            return Err(perr(l, format!("expected end; found {{{{{e}}}}}")));
                        }
                        None => return Err(perr(line, "unexpected EOF")),
                    }
                }
            }
        }
        self.vars.truncate(depth);
        Ok(match kw {
            "if" => Node::If(pipe, body, else_),
            "range" => Node::Range(pipe, body, else_),
            _ => Node::With(pipe, body, else_),
        })
    }

    fn pipeline(
        &mut self,
        toks: &[Tok],
        spans: &[(usize, usize)],
        line: usize,
        top: bool,
    ) -> Result<Pipe, ParseError> {
        let mut decl = Vec::new();
        let mut assign = false;
        let mut rest = toks;
        let mut rest_spans = spans;
        // `$x :=`, `$k, $v :=`, `$x =`
        let mut j = 0;
        let mut names = Vec::new();
        while let Some(Tok::Var(v)) = rest.get(j) {
            names.push(v.clone());
            match rest.get(j + 1) {
                Some(Tok::Comma) => j += 2,
                Some(Tok::Declare) | Some(Tok::Assign) if top => {
                    assign = rest[j + 1] == Tok::Assign;
                    decl = names.clone();
                    rest = &rest[j + 2..];
                    rest_spans = &rest_spans[(j + 2).min(rest_spans.len())..];
                    break;
                }
                _ => break,
            }
        }
        let mut cmds: Vec<Cmd> = Vec::new();
        let mut cmd = Vec::new();
        let mut cmd_start = 0;
        let mut i = 0;
        let span_of = |from: usize, to: usize| -> (usize, usize) {
            let a = rest_spans.get(from).map_or(0, |s| s.0);
            let b = rest_spans.get(to.saturating_sub(1)).map_or(a, |s| s.1);
            (a, b.max(a))
        };
        while i < rest.len() {
            let t = &rest[i];
            if cmd.is_empty() {
                cmd_start = i;
            }
            i += 1;
            let arg = match t {
                Tok::Pipe => {
                    if cmd.is_empty() {
                        return Err(perr(line, "missing command"));
                    }
                    let (a, b) = span_of(cmd_start, i - 1);
                    cmds.push(self.cmd(std::mem::take(&mut cmd), a, b));
                    continue;
                }
                Tok::Field(f) => {
                    let mut path = vec![f.clone()];
                    while let Some(Tok::Field(f)) = rest.get(i) {
                        path.push(f.clone());
                        i += 1;
                    }
                    Arg::Field(path)
                }
                Tok::Dot => Arg::Field(Vec::new()),
                Tok::Var(v) => {
                    if !self.vars.contains(v) {
                        return Err(perr(line, format!("undefined variable {v:?}")));
                    }
                    let mut path = Vec::new();
                    while let Some(Tok::Field(f)) = rest.get(i) {
                        path.push(f.clone());
                        i += 1;
                    }
                    Arg::Var(v.clone(), path)
                }
                Tok::Ident(name) => {
                    if !FUNCS.contains(&name.as_str()) {
                        return Err(perr(line, format!("function {name:?} not defined")));
                    }
                    Arg::Func(name.clone())
                }
                Tok::Str(s) => Arg::Lit(Value::Str(s.clone())),
                Tok::Char(c) => Arg::Lit(Value::Int(*c as i64)),
                Tok::Bool(b) => Arg::Lit(Value::Bool(*b)),
                Tok::Nil => Arg::Lit(Value::Nil),
                Tok::Num(n) => Arg::Lit(
                    parse_number(n)
                        .ok_or_else(|| perr(line, format!("bad number syntax: {n:?}")))?,
                ),
                Tok::LParen => {
                    let mut depth = 1;
                    let start = i;
                    while i < rest.len() {
                        match rest[i] {
                            Tok::LParen => depth += 1,
                            Tok::RParen => {
                                depth -= 1;
                                if depth == 0 {
                                    break;
                                }
                            }
                            _ => {}
                        }
                        i += 1;
                    }
                    if depth != 0 {
                        return Err(perr(line, "unclosed left paren"));
                    }
                    let inner = self.pipeline(
                        &rest[start..i],
                        &rest_spans[start.min(rest_spans.len())..i.min(rest_spans.len())],
                        line,
                        false,
                    )?;
                    if inner.cmds.is_empty() {
                        return Err(perr(line, "missing value for parenthesized pipeline"));
                    }
                    i += 1;
                    let mut path = Vec::new();
                    while let Some(Tok::Field(f)) = rest.get(i) {
                        path.push(f.clone());
                        i += 1;
                    }
                    Arg::Sub(Box::new(inner), path)
                }
                Tok::RParen => return Err(perr(line, "unexpected right paren")),
                Tok::Comma | Tok::Declare | Tok::Assign => {
                    return Err(perr(line, "unexpected token in operand"));
                }
            };
            cmd.push(arg);
        }
        if !cmd.is_empty() {
            let (a, b) = span_of(cmd_start, i);
            cmds.push(self.cmd(cmd, a, b));
        } else if !cmds.is_empty() {
            return Err(perr(line, "missing command"));
        }
        if cmds.is_empty() && (top && !decl.is_empty()) {
            return Err(perr(line, "missing value for command"));
        }
        for c in cmds.iter() {
            if c.args.len() > 1 && !matches!(c.args[0], Arg::Func(_)) {
                return Err(perr(line, "can't give argument to non-function"));
            }
        }
        if !assign {
            for d in &decl {
                self.vars.push(d.clone());
            }
        } else {
            for d in &decl {
                if !self.vars.contains(d) {
                    return Err(perr(line, format!("undefined variable {d:?}")));
                }
            }
        }
        if decl.len() > 2 {
            return Err(perr(line, "too many declarations in command"));
        }
        Ok(Pipe { decl, assign, cmds })
    }
}

fn parse_number(n: &str) -> Option<Value> {
    if let Ok(i) = n.parse::<i64>() {
        return Some(Value::Int(i));
    }
    if let Some(h) = n.strip_prefix("0x") {
        return i64::from_str_radix(h, 16).ok().map(Value::Int);
    }
    n.parse::<f64>()
        .ok()
        .filter(|f| f.is_finite())
        .map(Value::Float)
}

// ---------------------------------------------------------------- execution

struct Exec<'q> {
    vars: Vec<(String, Value)>,
    out: String,
    query: Option<QueryFn<'q>>,
    /// The template's name, for errors.
    name: String,
}

fn field_of(v: &Value, name: &str) -> Result<Value, String> {
    match v {
        Value::Struct(fields) => fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .ok_or_else(|| format!("can't evaluate field {name}")),
        Value::Map(m) => Ok(Value::Str(m.get(name).cloned().unwrap_or_default())),
        Value::Sample(l, v) => match name {
            "Labels" => Ok(Value::Map(l.clone())),
            "Value" => Ok(Value::Float(*v)),
            _ => Err(format!(
                "can't evaluate field {name} in type *template.sample"
            )),
        },
        Value::Nil => Err(format!("nil pointer evaluating interface {{}}.{name}")),
        other => Err(format!(
            "can't evaluate field {name} in type {}",
            type_name(other)
        )),
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Nil => "<nil>",
        Value::Bool(_) => "bool",
        Value::Int(_) => "int",
        Value::Float(_) => "float64",
        Value::Str(_) => "string",
        Value::Map(_) => "map[string]string",
        Value::Samples(_) => "template.queryResult",
        Value::Sample(..) => "*template.sample",
        Value::Struct(_) => "template.tmplData",
        Value::List(_) => "[]interface {}",
    }
}

fn truth(v: &Value) -> bool {
    match v {
        Value::Nil => false,
        Value::Bool(b) => *b,
        Value::Int(i) => *i != 0,
        Value::Float(f) => *f != 0.0,
        Value::Str(s) => !s.is_empty(),
        Value::Map(m) => !m.is_empty(),
        Value::Samples(s) => !s.is_empty(),
        Value::List(l) => !l.is_empty(),
        Value::Sample(..) | Value::Struct(_) => true,
    }
}

/// `fmt.Sprint`-style printing of one value (`%v`).
pub fn print_value(v: &Value) -> String {
    match v {
        Value::Nil => "<nil>".into(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => format_g(*f, None),
        Value::Str(s) => s.clone(),
        Value::Map(m) => {
            let inner: Vec<String> = m.iter().map(|(k, v)| format!("{k}:{v}")).collect();
            format!("map[{}]", inner.join(" "))
        }
        Value::Sample(l, v) => format!(
            "{{{} {}}}",
            print_value(&Value::Map(l.clone())),
            format_g(*v, None)
        ),
        Value::Samples(s) => {
            let inner: Vec<String> = s
                .iter()
                .map(|(l, v)| {
                    format!(
                        "0x{{{} {}}}",
                        print_value(&Value::Map(l.clone())),
                        format_g(*v, None)
                    )
                })
                .collect();
            format!("[{}]", inner.join(" "))
        }
        Value::List(l) => format!(
            "[{}]",
            l.iter().map(print_value).collect::<Vec<_>>().join(" ")
        ),
        Value::Struct(f) => format!(
            "{{{}}}",
            f.iter()
                .map(|(_, v)| print_value(v))
                .collect::<Vec<_>>()
                .join(" ")
        ),
    }
}

/// Go's `convertToFloat` in Prometheus's template package.
fn to_float(v: &Value) -> Result<f64, String> {
    match v {
        Value::Float(f) => Ok(*f),
        Value::Int(i) => Ok(*i as f64),
        Value::Str(s) => go_parse_float(s)
            .ok_or_else(|| format!("strconv.ParseFloat: parsing {s:?}: invalid syntax")),
        other => Err(format!("can't convert {} to float", type_name(other))),
    }
}

fn go_parse_float(s: &str) -> Option<f64> {
    let t = s.to_ascii_lowercase();
    match t.trim_start_matches(['+', '-']) {
        "inf" | "infinity" => Some(if s.starts_with('-') {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        }),
        "nan" => Some(f64::NAN),
        _ => s.replace('_', "").parse().ok(),
    }
}

impl Exec<'_> {
    fn run(&mut self, nodes: &[Node], dot: &Value) -> Result<(), String> {
        for n in nodes {
            match n {
                Node::Text(t) => self.out.push_str(t),
                Node::Action(p) => {
                    let v = self.pipe(p, dot)?;
                    if p.decl.is_empty() {
                        let s = match &v {
                            Value::Nil => "<no value>".to_owned(),
                            v => print_value(v),
                        };
                        self.out.push_str(&s);
                    }
                }
                Node::If(p, body, else_) => {
                    let depth = self.vars.len();
                    let v = self.pipe(p, dot)?;
                    let r = if truth(&v) {
                        self.run(body, dot)
                    } else {
                        self.run(else_, dot)
                    };
                    self.vars.truncate(depth);
                    r?;
                }
                Node::With(p, body, else_) => {
                    let depth = self.vars.len();
                    let v = self.pipe(p, dot)?;
                    let r = if truth(&v) {
                        self.run(body, &v)
                    } else {
                        self.run(else_, dot)
                    };
                    self.vars.truncate(depth);
                    r?;
                }
                Node::Range(p, body, else_) => {
                    let depth = self.vars.len();
                    let decl = p.decl.clone();
                    let pipe = Pipe {
                        decl: Vec::new(),
                        assign: false,
                        cmds: p.cmds.clone(),
                    };
                    let v = self.pipe(&pipe, dot)?;
                    let items: Vec<(Value, Value)> = match v {
                        Value::Map(m) => m
                            .into_iter()
                            .map(|(k, v)| (Value::Str(k), Value::Str(v)))
                            .collect(),
                        Value::Samples(s) => s
                            .into_iter()
                            .enumerate()
                            .map(|(i, (l, v))| (Value::Int(i as i64), Value::Sample(l, v)))
                            .collect(),
                        Value::List(l) => l
                            .into_iter()
                            .enumerate()
                            .map(|(i, v)| (Value::Int(i as i64), v))
                            .collect(),
                        Value::Nil => Vec::new(),
                        Value::Int(n) => (0..n).map(|i| (Value::Int(i), Value::Int(i))).collect(),
                        other => {
                            return Err(format!(
                                "range can't iterate over {}",
                                print_value(&other)
                            ));
                        }
                    };
                    if items.is_empty() {
                        self.run(else_, dot)?;
                    }
                    for (k, v) in items {
                        let d = self.vars.len();
                        match decl.len() {
                            1 => self.vars.push((decl[0].clone(), v.clone())),
                            2 => {
                                self.vars.push((decl[0].clone(), k));
                                self.vars.push((decl[1].clone(), v.clone()));
                            }
                            _ => {}
                        }
                        self.run(body, &v)?;
                        self.vars.truncate(d);
                    }
                    self.vars.truncate(depth);
                }
            }
        }
        Ok(())
    }

    fn var(&self, name: &str) -> Result<Value, String> {
        self.vars
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .ok_or_else(|| format!("undefined variable: {name}"))
    }

    fn pipe(&mut self, p: &Pipe, dot: &Value) -> Result<Value, String> {
        let mut v: Option<Value> = None;
        for cmd in &p.cmds {
            v = Some(self.command(cmd, dot, v)?);
        }
        let v = v.unwrap_or(Value::Nil);
        if p.assign {
            for d in &p.decl {
                if let Some(slot) = self.vars.iter_mut().rev().find(|(n, _)| n == d) {
                    slot.1 = v.clone();
                }
            }
        } else {
            for d in &p.decl {
                self.vars.push((d.clone(), v.clone()));
            }
        }
        Ok(v)
    }

    fn operand(&mut self, a: &Arg, dot: &Value) -> Result<Value, String> {
        match a {
            Arg::Field(path) => path.iter().try_fold(dot.clone(), |v, f| field_of(&v, f)),
            Arg::Var(name, path) => {
                let v = self.var(name)?;
                path.iter().try_fold(v, |v, f| field_of(&v, f))
            }
            Arg::Lit(v) => Ok(v.clone()),
            Arg::Func(name) => self.call(name, Vec::new()),
            Arg::Sub(p, path) => {
                let v = self.pipe(p, dot)?;
                path.iter().try_fold(v, |v, f| field_of(&v, f))
            }
        }
    }

    /// Runs a command; an error names where, as Go's `text/template` does:
    /// `NAME:LINE:COL: executing "NAME" at <CMD>: MESSAGE`.
    fn command(&mut self, cmd: &Cmd, dot: &Value, prev: Option<Value>) -> Result<Value, String> {
        let located = format!("{}:", self.name);
        self.command_args(&cmd.args, dot, prev).map_err(|e| {
            if e.starts_with(&located) && e.contains(": executing \"") {
                e
            } else {
                format!(
                    "{}:{}: executing {:?} at <{}>: {e}",
                    self.name, cmd.at, self.name, cmd.context
                )
            }
        })
    }

    fn command_args(
        &mut self,
        cmd: &[Arg],
        dot: &Value,
        prev: Option<Value>,
    ) -> Result<Value, String> {
        match &cmd[0] {
            Arg::Func(name) => {
                let mut args = Vec::new();
                for a in &cmd[1..] {
                    args.push(self.operand(a, dot)?);
                }
                if let Some(p) = prev {
                    args.push(p);
                }
                self.call(name, args).map_err(|e| {
                    if e.starts_with("error calling") || e.starts_with("wrong number") {
                        e
                    } else {
                        format!("error calling {name}: {e}")
                    }
                })
            }
            a => {
                if prev.is_some() {
                    return Err("can't give argument to non-function".into());
                }
                self.operand(a, dot)
            }
        }
    }

    fn call(&mut self, name: &str, args: Vec<Value>) -> Result<Value, String> {
        let want = |n: usize| -> Result<(), String> {
            if args.len() == n {
                Ok(())
            } else {
                Err(format!(
                    "wrong number of args for {name}: want {n} got {}",
                    args.len()
                ))
            }
        };
        let s = |v: &Value| -> Result<String, String> {
            match v {
                Value::Str(s) => Ok(s.clone()),
                other => Err(format!(
                    "wrong type for value; expected string; got {}",
                    type_name(other)
                )),
            }
        };
        Ok(match name {
            "humanize" | "humanize1024" | "humanizeDuration" | "humanizePercentage"
            | "humanizeTimestamp" => {
                want(1)?;
                let v = to_float(&args[0])?;
                Value::Str(match name {
                    "humanize" => humanize(v),
                    "humanize1024" => humanize1024(v),
                    "humanizeDuration" => humanize_duration(v),
                    "humanizePercentage" => format!("{}%", format_g(v * 100.0, Some(4))),
                    _ => humanize_timestamp(v),
                })
            }
            "toUpper" => {
                want(1)?;
                Value::Str(s(&args[0])?.to_uppercase())
            }
            "toLower" => {
                want(1)?;
                Value::Str(s(&args[0])?.to_lowercase())
            }
            "title" => {
                want(1)?;
                Value::Str(title(&s(&args[0])?))
            }
            "safeHtml" | "html" | "js" | "urlquery" => {
                let joined: String = args.iter().map(print_value).collect();
                Value::Str(match name {
                    "html" => joined
                        .replace('&', "&amp;")
                        .replace('<', "&lt;")
                        .replace('>', "&gt;")
                        .replace('"', "&#34;")
                        .replace('\'', "&#39;"),
                    "urlquery" => url_query_escape(&joined),
                    _ => joined,
                })
            }
            "match" => {
                want(2)?;
                let re = regex::Regex::new(&s(&args[0])?).map_err(|e| e.to_string())?;
                Value::Bool(re.is_match(&s(&args[1])?))
            }
            "reReplaceAll" => {
                want(3)?;
                let re = regex::Regex::new(&s(&args[0])?).map_err(|e| e.to_string())?;
                Value::Str(
                    re.replace_all(&s(&args[2])?, s(&args[1])?.as_str())
                        .into_owned(),
                )
            }
            "query" => {
                want(1)?;
                let q = s(&args[0])?;
                let Some(f) = self.query else {
                    return Err("query is not available here".into());
                };
                Value::Samples(f(&q)?)
            }
            "first" => {
                want(1)?;
                match &args[0] {
                    Value::Samples(v) => match v.first() {
                        Some((l, x)) => Value::Sample(l.clone(), *x),
                        None => return Err("first() called on vector with no elements".into()),
                    },
                    other => {
                        return Err(format!(
                            "wrong type for value; expected template.queryResult; got {}",
                            type_name(other)
                        ));
                    }
                }
            }
            "label" => {
                want(2)?;
                let l = s(&args[0])?;
                match &args[1] {
                    Value::Sample(m, _) => Value::Str(m.get(&l).cloned().unwrap_or_default()),
                    Value::Nil => Value::Str(String::new()),
                    other => {
                        return Err(format!(
                            "wrong type for value; expected *template.sample; got {}",
                            type_name(other)
                        ));
                    }
                }
            }
            "value" => {
                want(1)?;
                match &args[0] {
                    Value::Sample(_, v) => Value::Float(*v),
                    other => {
                        return Err(format!(
                            "wrong type for value; expected *template.sample; got {}",
                            type_name(other)
                        ));
                    }
                }
            }
            "strvalue" => {
                want(1)?;
                match &args[0] {
                    Value::Sample(m, _) => {
                        Value::Str(m.get("__value__").cloned().unwrap_or_default())
                    }
                    other => {
                        return Err(format!(
                            "wrong type for value; expected *template.sample; got {}",
                            type_name(other)
                        ));
                    }
                }
            }
            "sortByLabel" => {
                want(2)?;
                let l = s(&args[0])?;
                match &args[1] {
                    Value::Samples(v) => {
                        let mut v = v.clone();
                        v.sort_by(|a, b| a.0.get(&l).cmp(&b.0.get(&l)));
                        Value::Samples(v)
                    }
                    other => {
                        return Err(format!(
                            "wrong type for value; expected template.queryResult; got {}",
                            type_name(other)
                        ));
                    }
                }
            }
            "args" => Value::Map(
                args.iter()
                    .enumerate()
                    .map(|(i, a)| (format!("arg{i}"), print_value(a)))
                    .collect(),
            ),
            "graphLink" | "tableLink" => {
                want(1)?;
                let e = s(&args[0])?;
                let tab = if name == "graphLink" { 0 } else { 1 };
                Value::Str(format!(
                    "/graph?g0.expr={}&g0.tab={tab}",
                    url_query_escape(&e)
                ))
            }
            "pathPrefix" | "externalURL" => Value::Str(String::new()),
            "toTime" => {
                want(1)?;
                let v = to_float(&args[0])?;
                Value::Str(humanize_timestamp(v))
            }
            "parseDuration" => {
                want(1)?;
                let d = super::duration::parse_model_duration(&s(&args[0])?).ok_or_else(|| {
                    format!("not a valid duration string: {:?}", print_value(&args[0]))
                })?;
                Value::Float(d.as_secs_f64())
            }
            "and" | "or" => {
                if args.is_empty() {
                    return Err(format!(
                        "wrong number of args for {name}: want at least 1 got 0"
                    ));
                }
                let mut it = args.into_iter();
                let mut last = it.next().unwrap_or(Value::Nil);
                for a in it {
                    if truth(&last) == (name == "or") {
                        break;
                    }
                    last = a;
                }
                last
            }
            "not" => {
                want(1)?;
                Value::Bool(!truth(&args[0]))
            }
            "len" => {
                want(1)?;
                Value::Int(match &args[0] {
                    Value::Str(s) => s.len(),
                    Value::Map(m) => m.len(),
                    Value::Samples(v) => v.len(),
                    Value::List(l) => l.len(),
                    other => return Err(format!("len of type {}", type_name(other))),
                } as i64)
            }
            "index" => {
                let mut it = args.into_iter();
                let mut v = it.next().unwrap_or(Value::Nil);
                for k in it {
                    v = match (&v, &k) {
                        (Value::Map(m), Value::Str(k)) => {
                            Value::Str(m.get(k).cloned().unwrap_or_default())
                        }
                        (Value::Samples(s), Value::Int(i)) => match s.get(*i as usize) {
                            Some((l, x)) if *i >= 0 => Value::Sample(l.clone(), *x),
                            _ => {
                                return Err(format!(
                                    "error calling index: index out of range: {i}"
                                ));
                            }
                        },
                        (Value::List(l), Value::Int(i)) => match l.get(*i as usize) {
                            Some(x) if *i >= 0 => x.clone(),
                            _ => {
                                return Err(format!(
                                    "error calling index: index out of range: {i}"
                                ));
                            }
                        },
                        _ => {
                            return Err(format!(
                                "error calling index: can't index item of type {}",
                                type_name(&v)
                            ));
                        }
                    };
                }
                v
            }
            "print" | "println" => {
                let mut out = String::new();
                for (i, a) in args.iter().enumerate() {
                    let is_str = matches!(a, Value::Str(_));
                    if i > 0
                        && (name == "println" || (!is_str && !matches!(args[i - 1], Value::Str(_))))
                    {
                        out.push(' ');
                    }
                    out.push_str(&print_value(a));
                }
                if name == "println" {
                    out.push('\n');
                }
                Value::Str(out)
            }
            "printf" => {
                let Some(Value::Str(f)) = args.first() else {
                    return Err("wrong type for value; expected string".into());
                };
                Value::Str(sprintf(f, &args[1..]))
            }
            "eq" | "ne" | "lt" | "le" | "gt" | "ge" => {
                if args.len() < 2 {
                    return Err(format!(
                        "wrong number of args for {name}: want 2 got {}",
                        args.len()
                    ));
                }
                if name == "eq" {
                    let mut any = false;
                    for b in &args[1..] {
                        any |= compare(&args[0], b)? == Some(std::cmp::Ordering::Equal);
                    }
                    Value::Bool(any)
                } else {
                    want(2)?;
                    let o = compare(&args[0], &args[1])?;
                    use std::cmp::Ordering::*;
                    Value::Bool(match name {
                        "ne" => o != Some(Equal),
                        "lt" => o == Some(Less),
                        "le" => matches!(o, Some(Less | Equal)),
                        "gt" => o == Some(Greater),
                        _ => matches!(o, Some(Greater | Equal)),
                    })
                }
            }
            other => return Err(format!("{other} is not supported in alert templates")),
        })
    }
}

fn compare(a: &Value, b: &Value) -> Result<Option<std::cmp::Ordering>, String> {
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => Ok(x.partial_cmp(y)),
        (Value::Float(x), Value::Float(y)) => Ok(x.partial_cmp(y)),
        (Value::Str(x), Value::Str(y)) => Ok(x.partial_cmp(y)),
        (Value::Bool(x), Value::Bool(y)) => Ok(x.partial_cmp(y)),
        _ => Err("incompatible types for comparison".into()),
    }
}

/// Go's `strings.Title`: the first letter of each word in upper case.
fn title(s: &str) -> String {
    let mut out = String::new();
    let mut prev_sep = true;
    for c in s.chars() {
        if prev_sep {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        prev_sep = (c.is_whitespace() || c.is_ascii()) && c != '_' && !c.is_alphanumeric();
    }
    out
}

fn url_query_escape(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => {
                let _ = write!(out, "%{b:02X}");
            }
        }
    }
    out
}

/// Prometheus's `humanize`: SI prefixes, 4 significant digits.
pub fn humanize(v: f64) -> String {
    if v == 0.0 || v.is_nan() || v.is_infinite() {
        return format_g(v, Some(4));
    }
    let mut v = v;
    if v.abs() >= 1.0 {
        let mut prefix = "";
        for p in ["k", "M", "G", "T", "P", "E", "Z", "Y"] {
            if v.abs() < 1000.0 {
                break;
            }
            prefix = p;
            v /= 1000.0;
        }
        return format!("{}{prefix}", format_g(v, Some(4)));
    }
    let mut prefix = "";
    for p in ["m", "u", "n", "p", "f", "a", "z", "y"] {
        if v.abs() >= 1.0 {
            break;
        }
        prefix = p;
        v *= 1000.0;
    }
    format!("{}{prefix}", format_g(v, Some(4)))
}

/// Prometheus's `humanize1024`: IEC prefixes.
pub fn humanize1024(v: f64) -> String {
    if v.abs() <= 1.0 || v.is_nan() || v.is_infinite() {
        return format_g(v, Some(4));
    }
    let mut v = v;
    let mut prefix = "";
    for p in ["ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"] {
        if v.abs() < 1024.0 {
            break;
        }
        prefix = p;
        v /= 1024.0;
    }
    format!("{}{prefix}", format_g(v, Some(4)))
}

/// Prometheus's `humanizeDuration` (seconds in): `1d 2h 3m 4s`, `1.5s`, `500ms`.
pub fn humanize_duration(v: f64) -> String {
    if v.is_nan() || v.is_infinite() {
        return format_g(v, Some(4));
    }
    if v == 0.0 {
        return format!("{}s", format_g(v, Some(4)));
    }
    if v.abs() >= 1.0 {
        let sign = if v < 0.0 { "-" } else { "" };
        let a = v.abs();
        let secs = a as i64;
        let (seconds, minutes, hours, days) =
            (secs % 60, secs / 60 % 60, secs / 3600 % 24, secs / 86400);
        if days != 0 {
            return format!("{sign}{days}d {hours}h {minutes}m {seconds}s");
        }
        if hours != 0 {
            return format!("{sign}{hours}h {minutes}m {seconds}s");
        }
        if minutes != 0 {
            return format!("{sign}{minutes}m {seconds}s");
        }
        return format!("{sign}{}s", format_g(a, Some(4)));
    }
    let mut v = v;
    let mut prefix = "";
    for p in ["m", "u", "n", "p", "f", "a", "z", "y"] {
        if v.abs() >= 1.0 {
            break;
        }
        prefix = p;
        v *= 1000.0;
    }
    format!("{}{prefix}s", format_g(v, Some(4)))
}

/// Prometheus's `humanizeTimestamp`: Go's `time.Time.String()` in UTC.
pub fn humanize_timestamp(v: f64) -> String {
    if v.is_nan() || v.is_infinite() {
        return format_g(v, Some(4));
    }
    let secs = v.floor() as i64;
    let nanos = ((v - v.floor()) * 1e9) as i64;
    let days = secs.div_euclid(86400);
    let rem = secs.rem_euclid(86400);
    let (y, m, d) = civil_from_days(days);
    let mut s = format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    );
    if nanos > 0 {
        let frac = format!("{nanos:09}");
        s.push('.');
        s.push_str(frac.trim_end_matches('0'));
    }
    s.push_str(" +0000 UTC");
    s
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Go's `fmt.Sprintf` for the verbs templates use: `%s %v %d %f %e %g %q %x %t %%`, with
/// flags `-+ 0`, width and precision. Missing and extra operands print as Go prints them.
pub fn sprintf(format: &str, args: &[Value]) -> String {
    let mut out = String::new();
    let mut chars = format.chars().peekable();
    let mut argi = 0;
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let (mut minus, mut plus, mut zero, mut space) = (false, false, false, false);
        while let Some(&f) = chars.peek() {
            match f {
                '-' => minus = true,
                '+' => plus = true,
                '0' => zero = true,
                ' ' => space = true,
                '#' => {}
                _ => break,
            }
            chars.next();
        }
        let mut width = None;
        while let Some(d) = chars.peek().and_then(|c| c.to_digit(10)) {
            width = Some(width.unwrap_or(0) * 10 + d as usize);
            chars.next();
        }
        let mut prec = None;
        if chars.peek() == Some(&'.') {
            chars.next();
            let mut p = 0;
            while let Some(d) = chars.peek().and_then(|c| c.to_digit(10)) {
                p = p * 10 + d as usize;
                chars.next();
            }
            prec = Some(p);
        }
        let Some(verb) = chars.next() else {
            out.push_str("%!(NOVERB)");
            break;
        };
        if verb == '%' {
            out.push('%');
            continue;
        }
        let Some(arg) = args.get(argi) else {
            let _ = write!(out, "%!{verb}(MISSING)");
            continue;
        };
        argi += 1;
        let num_sign = |s: String, neg: bool| -> String {
            if neg {
                s
            } else if plus {
                format!("+{s}")
            } else if space {
                format!(" {s}")
            } else {
                s
            }
        };
        let body = match (verb, arg) {
            ('v' | 's', Value::Str(s)) => match prec {
                Some(p) => s.chars().take(p).collect(),
                None => s.clone(),
            },
            ('v', Value::Float(f)) => num_sign(format_g(*f, prec), *f < 0.0),
            ('v' | 'd', Value::Int(i)) => num_sign(i.to_string(), *i < 0),
            ('v' | 's', other)
                if !matches!(other, Value::Float(_) | Value::Int(_)) || verb == 'v' =>
            {
                print_value(other)
            }
            ('f' | 'F', v @ (Value::Float(_) | Value::Int(_))) => {
                let f = num(v);
                num_sign(format_f(f, prec.unwrap_or(6)), f < 0.0)
            }
            ('e', v @ (Value::Float(_) | Value::Int(_))) => {
                let f = num(v);
                num_sign(format_e(f, prec.unwrap_or(6)), f < 0.0)
            }
            ('g', v @ (Value::Float(_) | Value::Int(_))) => {
                let f = num(v);
                num_sign(format_g(f, prec), f < 0.0)
            }
            ('x', Value::Int(i)) => format!("{i:x}"),
            ('x', Value::Str(s)) => s.bytes().map(|b| format!("{b:02x}")).collect(),
            ('q', Value::Str(s)) => format!("{s:?}"),
            ('t', Value::Bool(b)) => b.to_string(),
            // Go prints a wrong verb's operand with %v, the flags still applied.
            (_, Value::Str(s)) => format!(
                "%!{verb}(string={})",
                prec.map_or(s.clone(), |p| s.chars().take(p).collect())
            ),
            (_, other) => format!("%!{verb}({}={})", type_name(other), print_value(other)),
        };
        let len = body.chars().count();
        match width {
            Some(w) if w > len => {
                let pad = w - len;
                if minus {
                    out.push_str(&body);
                    out.extend(std::iter::repeat_n(' ', pad));
                } else if zero && !matches!(arg, Value::Str(_)) {
                    let (sign, digits) = match body.strip_prefix(['-', '+']) {
                        Some(d) => (&body[..1], d),
                        None => ("", body.as_str()),
                    };
                    out.push_str(sign);
                    out.extend(std::iter::repeat_n('0', pad));
                    out.push_str(digits);
                } else {
                    out.extend(std::iter::repeat_n(' ', pad));
                    out.push_str(&body);
                }
            }
            _ => out.push_str(&body),
        }
    }
    if argi < args.len() {
        out.push_str("%!(EXTRA ");
        let extra: Vec<String> = args[argi..]
            .iter()
            .map(|a| format!("{}={}", type_name(a), print_value(a)))
            .collect();
        out.push_str(&extra.join(", "));
        out.push(')');
    }
    out
}

fn num(v: &Value) -> f64 {
    match v {
        Value::Float(f) => *f,
        Value::Int(i) => *i as f64,
        _ => f64::NAN,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn data() -> AlertData {
        AlertData {
            labels: [
                ("instance".to_string(), "a:9090".to_string()),
                ("job".into(), "api".into()),
            ]
            .into_iter()
            .collect(),
            external_labels: [("site".to_string(), "x".to_string())]
                .into_iter()
                .collect(),
            external_url: "http://p".into(),
            value: 1234.5678,
        }
    }

    fn x(t: &str) -> String {
        expand_alert(t, "__alert_T", &data(), None)
    }

    #[test]
    fn renders_like_prometheus() {
        assert_eq!(x("{{ $labels.job }} at {{ $value }}"), "api at 1234.5678");
        assert_eq!(
            x("{{ .Labels.instance }} {{ .Value | humanize }}"),
            "a:9090 1.235k"
        );
        assert_eq!(x("{{ $labels }}"), "map[instance:a:9090 job:api]");
        assert_eq!(x("{{ $labels.nope }}|"), "|");
        assert_eq!(x("{{ $externalLabels.site }}"), "x");
        assert_eq!(x("{{ printf \"%.2f\" $value }}"), "1234.57");
        assert_eq!(
            x("{{ if gt $value 1000.0 }}big{{ else }}small{{ end }}"),
            "big"
        );
        assert_eq!(x("{{ if eq $labels.job \"api\" -}} yes {{- end }}"), "yes");
        assert_eq!(
            x("{{ range $k, $v := $labels }}{{ $k }}={{ $v }};{{ end }}"),
            "instance=a:9090;job=api;"
        );
        assert_eq!(
            x("{{ toUpper \"abc\" }} {{ title \"hello world\" }}"),
            "ABC Hello World"
        );
        assert_eq!(x("{{ reReplaceAll \":.*\" \"\" $labels.instance }}"), "a");
        assert_eq!(x("{{ humanizeDuration 3725 }}"), "1h 2m 5s");
        assert_eq!(x("{{ humanizeDuration 0.25 }}"), "250ms");
        assert_eq!(x("{{ humanize1024 2048 }}"), "2ki");
        assert_eq!(x("{{ humanizePercentage 0.1234 }}"), "12.34%");
        assert_eq!(
            x("{{ humanizeTimestamp 1435065584.5 }}"),
            "2015-06-23 13:19:44.5 +0000 UTC"
        );
        assert_eq!(x("{{ match \"^a\" $labels.instance }}"), "true");
        assert!(x("{{ humanize \"x\" }}").starts_with("<error expanding template: "));
        assert!(x("{{ first (query \"up\") }}").starts_with("<error expanding template: "));
    }

    #[test]
    fn parse_errors_as_go() {
        for (t, want) in [
            ("{{ .Foo ", "unclosed action"),
            ("{{ nosuch 1 }}", "function \"nosuch\" not defined"),
            ("{{ end }}", "unexpected {{end}}"),
            ("{{ if 1 }}x", "unexpected EOF"),
            ("{{ $nope }}", "undefined variable \"$nope\""),
        ] {
            let e = check(t).unwrap_err();
            assert!(e.message.contains(want), "{t}: {}", e.message);
        }
        assert!(check("{{/* c */}}{{ $value }}").is_ok());
    }

    #[test]
    fn query_functions() {
        let q = |e: &str| -> Result<Vec<(LabelMap, f64)>, String> {
            assert_eq!(e, "up");
            Ok(vec![
                (
                    [("job".to_string(), "b".to_string())].into_iter().collect(),
                    2.0,
                ),
                (
                    [("job".to_string(), "a".to_string())].into_iter().collect(),
                    1.0,
                ),
            ])
        };
        let t = "{{ range query \"up\" | sortByLabel \"job\" }}{{ .Labels.job }}={{ .Value }} {{ end }}|{{ with query \"up\" }}{{ . | first | value }} {{ . | first | label \"job\" }}{{ end }}";
        assert_eq!(expand_alert(t, "n", &data(), Some(&q)), "a=1 b=2 |2 b");
    }
}
