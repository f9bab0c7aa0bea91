//! A YAML document as a tree of nodes that remember where they start (1-based line and
//! column), read with `saphyr-parser`'s event API. Rule files and rule unit-test files are
//! decoded from this tree so every problem can name its file:line:col, as Prometheus's
//! `yaml.v3` decoding does.

use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle, Span};

/// One node of a document.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub kind: Kind,
    /// 1-based line of the node's first character.
    pub line: usize,
    /// 1-based column of the node's first character.
    pub col: usize,
}

/// What a node holds.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// A scalar as written; `plain` when unquoted (so `null`, `~` and `` mean null).
    Scalar {
        value: String,
        plain: bool,
        tag: Option<String>,
    },
    Seq(Vec<Node>),
    /// Keys and values in file order (duplicates are rejected while reading).
    Map(Vec<(Node, Node)>),
}

/// A document that is not well-formed YAML.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    pub line: usize,
    pub col: usize,
    pub message: String,
}

impl Node {
    /// Whether this node is YAML's null (`~`, `null`, or nothing at all).
    pub fn is_null(&self) -> bool {
        match &self.kind {
            Kind::Scalar { value, plain, tag } => {
                tag.as_deref() == Some("null")
                    || (*plain
                        && tag.is_none()
                        && matches!(value.as_str(), "" | "~" | "null" | "Null" | "NULL"))
            }
            _ => false,
        }
    }

    /// Go yaml's name of the node's kind, as its errors say it (`!!map`, `!!seq`, `!!str`…).
    pub fn tag_name(&self) -> &'static str {
        match &self.kind {
            Kind::Seq(_) => "!!seq",
            Kind::Map(_) => "!!map",
            Kind::Scalar { value, plain, tag } => {
                if let Some(t) = tag {
                    return match t.as_str() {
                        "int" => "!!int",
                        "float" => "!!float",
                        "bool" => "!!bool",
                        "null" => "!!null",
                        _ => "!!str",
                    };
                }
                if !plain {
                    return "!!str";
                }
                if self.is_null() {
                    "!!null"
                } else if matches!(
                    value.as_str(),
                    "true" | "True" | "TRUE" | "false" | "False" | "FALSE"
                ) {
                    "!!bool"
                } else if parse_int(value).is_some() {
                    "!!int"
                } else if parse_float(value).is_some() {
                    "!!float"
                } else {
                    "!!str"
                }
            }
        }
    }

    /// The scalar's text, `None` for a mapping or sequence.
    pub fn scalar(&self) -> Option<&str> {
        match &self.kind {
            Kind::Scalar { value, .. } => Some(value),
            _ => None,
        }
    }
}

/// An integer as YAML 1.1/1.2 (Go's yaml) reads a plain scalar: decimal, `0x`, `0o`, `_`.
pub fn parse_int(s: &str) -> Option<i64> {
    let t = s.replace('_', "");
    let (neg, body) = match t.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, t.strip_prefix('+').unwrap_or(&t)),
    };
    if body.is_empty() {
        return None;
    }
    let v = if let Some(h) = body.strip_prefix("0x") {
        i64::from_str_radix(h, 16).ok()?
    } else if let Some(o) = body.strip_prefix("0o") {
        i64::from_str_radix(o, 8).ok()?
    } else if body.bytes().all(|b| b.is_ascii_digit()) {
        body.parse().ok()?
    } else {
        return None;
    };
    Some(if neg { -v } else { v })
}

/// A float as YAML reads a plain scalar (`.inf`, `-.Inf`, `.nan` included).
pub fn parse_float(s: &str) -> Option<f64> {
    match s {
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => return Some(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => return Some(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Some(f64::NAN),
        _ => {}
    }
    let t = s.replace('_', "");
    let ok = !t.is_empty()
        && t.bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'))
        && t.bytes().any(|b| b.is_ascii_digit());
    if !ok {
        return None;
    }
    t.parse().ok()
}

/// Parses the first document of `text`; `Ok(None)` when there is none (an empty file).
pub fn parse(text: &str) -> Result<Option<Node>, YamlError> {
    let mut parser = Parser::new_from_str(text);
    let mut stack: Vec<Frame> = Vec::new();
    let mut anchors: HashMap<usize, Node> = HashMap::new();
    let mut root: Option<Node> = None;
    while let Some(next) = parser.next_event() {
        let (event, span) = next.map_err(|e| YamlError {
            line: e.marker().line(),
            col: e.marker().col() + 1,
            message: e.info().to_owned(),
        })?;
        let node = match event {
            Event::StreamStart | Event::DocumentStart(_) | Event::Nothing => continue,
            Event::DocumentEnd | Event::StreamEnd => {
                if root.is_some() {
                    break;
                }
                continue;
            }
            Event::Alias(id) => match anchors.get(&id) {
                Some(n) => n.clone(),
                None => {
                    return Err(at(span, "unknown anchor".into()));
                }
            },
            Event::Scalar(value, style, anchor, tag) => {
                let node = Node {
                    kind: Kind::Scalar {
                        value: value.into_owned(),
                        plain: style == ScalarStyle::Plain,
                        tag: tag.map(|t| t.suffix.clone()),
                    },
                    line: span.start.line(),
                    col: span.start.col() + 1,
                };
                if anchor > 0 {
                    anchors.insert(anchor, node.clone());
                }
                node
            }
            Event::SequenceStart(anchor, _) => {
                stack.push(Frame::new(span, anchor, false));
                continue;
            }
            Event::MappingStart(anchor, _) => {
                stack.push(Frame::new(span, anchor, true));
                continue;
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let Some(frame) = stack.pop() else {
                    return Err(at(span, "unbalanced collection".into()));
                };
                let node = Node {
                    kind: if frame.is_map {
                        let mut pairs = Vec::new();
                        let mut it = frame.items.into_iter();
                        while let Some(k) = it.next() {
                            let v = it.next().unwrap_or(Node {
                                kind: Kind::Scalar {
                                    value: String::new(),
                                    plain: true,
                                    tag: None,
                                },
                                line: k.line,
                                col: k.col,
                            });
                            pairs.push((k, v));
                        }
                        Kind::Map(pairs)
                    } else {
                        Kind::Seq(frame.items)
                    },
                    line: frame.line,
                    col: frame.col,
                };
                if frame.anchor > 0 {
                    anchors.insert(frame.anchor, node.clone());
                }
                node
            }
        };
        match stack.last_mut() {
            Some(frame) => {
                if frame.is_map && frame.items.len() % 2 == 0 {
                    // A key: reject one already defined, as Go's yaml does.
                    if let Some(k) = node.scalar() {
                        let earlier = frame
                            .items
                            .iter()
                            .step_by(2)
                            .find(|e| e.scalar() == Some(k));
                        if let Some(e) = earlier {
                            return Err(YamlError {
                                line: node.line,
                                col: node.col,
                                message: format!(
                                    "mapping key {k:?} already defined at line {}",
                                    e.line
                                ),
                            });
                        }
                    }
                }
                frame.items.push(node);
            }
            None => root = Some(node),
        }
    }
    Ok(root)
}

fn at(span: Span, message: String) -> YamlError {
    YamlError {
        line: span.start.line(),
        col: span.start.col() + 1,
        message,
    }
}

struct Frame {
    is_map: bool,
    anchor: usize,
    line: usize,
    col: usize,
    items: Vec<Node>,
}

impl Frame {
    fn new(span: Span, anchor: usize, is_map: bool) -> Self {
        Frame {
            is_map,
            anchor,
            line: span.start.line(),
            col: span.start.col() + 1,
            items: Vec::new(),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn positions_and_kinds() {
        let doc = parse("groups:\n  - name: a\n    rules: []\n")
            .unwrap()
            .unwrap();
        let Kind::Map(pairs) = &doc.kind else {
            panic!("not a map")
        };
        assert_eq!((pairs[0].0.line, pairs[0].0.col), (1, 1));
        let Kind::Seq(items) = &pairs[0].1.kind else {
            panic!("not a seq")
        };
        assert_eq!((items[0].line, items[0].col), (2, 5));
        assert_eq!(parse("").unwrap(), None);
        assert!(
            parse("a: 1\na: 2\n")
                .unwrap_err()
                .message
                .contains("already defined")
        );
        assert!(parse("a: [1\n").is_err());
        let n = parse("x: &a {b: 1}\ny: *a\n").unwrap().unwrap();
        let Kind::Map(p) = &n.kind else { panic!() };
        assert_eq!(p[0].1.kind, p[1].1.kind);
        assert_eq!(parse("5").unwrap().unwrap().tag_name(), "!!int");
        assert_eq!(parse("'5'").unwrap().unwrap().tag_name(), "!!str");
        assert!(parse("~").unwrap().unwrap().is_null());
    }
}
