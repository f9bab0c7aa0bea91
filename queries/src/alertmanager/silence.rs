//! Silences made from promdash: matchers taken from an alert's labels (and edited as
//! text), a duration, who made it and why, checked before Alertmanager sees them.

use std::fmt::Write as _;
use std::time::Duration;

use super::api::{LabelMap, Matcher, PostableSilence};
use super::time::format_ms;

/// A silence lasts an hour unless told otherwise.
pub const DEFAULT_SILENCE_DURATION: Duration = Duration::from_secs(60 * 60);

/// One equality matcher per label: the silence matches exactly this alert (and any alert
/// with these labels and more).
pub fn matchers_from_labels(labels: &LabelMap) -> Vec<Matcher> {
    labels
        .iter()
        .map(|(k, v)| Matcher {
            name: k.clone(),
            value: v.clone(),
            is_regex: false,
            is_equal: true,
        })
        .collect()
}

/// The operator of a matcher: `=`, `!=`, `=~`, `!~`.
pub fn operator(m: &Matcher) -> &'static str {
    match (m.is_equal, m.is_regex) {
        (true, false) => "=",
        (false, false) => "!=",
        (true, true) => "=~",
        (false, true) => "!~",
    }
}

/// Matchers as text for editing: `alertname="X", job="api"` (values quoted with Go's
/// escapes, as amtool prints them). [`parse_matchers`] reads it back.
pub fn format_matchers(matchers: &[Matcher]) -> String {
    let mut out = String::new();
    for (i, m) in matchers.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        let _ = write!(out, "{}{}{}", m.name, operator(m), quote(&m.value));
    }
    out
}

fn quote(v: &str) -> String {
    let mut out = String::with_capacity(v.len() + 2);
    out.push('"');
    for c in v.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Reads matchers written as `name="value"` (or `name=value` without quotes, up to the
/// next comma), with `=`, `!=`, `=~`, `!~`, separated by commas; braces around the whole
/// list are allowed. The error says what is wrong and at which character.
pub fn parse_matchers(text: &str) -> Result<Vec<Matcher>, String> {
    let trimmed = text.trim();
    let inner = trimmed
        .strip_prefix('{')
        .and_then(|t| t.strip_suffix('}'))
        .unwrap_or(trimmed);
    let chars: Vec<char> = inner.chars().collect();
    let mut i = 0;
    let mut out = Vec::new();
    let skip_ws = |i: &mut usize| {
        while *i < chars.len() && chars[*i].is_whitespace() {
            *i += 1;
        }
    };
    loop {
        skip_ws(&mut i);
        if i >= chars.len() {
            break;
        }
        let start = i;
        while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
            i += 1;
        }
        let name: String = chars[start..i].iter().collect();
        if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
            return Err(format!(
                "matcher {}: expected a label name at character {}",
                out.len() + 1,
                start + 1
            ));
        }
        skip_ws(&mut i);
        let op: String = chars[i..chars.len().min(i + 2)].iter().collect();
        let (is_equal, is_regex, len) = if op.starts_with("!=") {
            (false, false, 2)
        } else if op.starts_with("!~") {
            (false, true, 2)
        } else if op.starts_with("=~") {
            (true, true, 2)
        } else if op.starts_with('=') {
            (true, false, 1)
        } else {
            return Err(format!(
                "matcher {name}: expected =, !=, =~ or !~ at character {}",
                i + 1
            ));
        };
        i += len;
        skip_ws(&mut i);
        let value = if chars.get(i) == Some(&'"') {
            i += 1;
            let mut v = String::new();
            loop {
                match chars.get(i) {
                    None => {
                        return Err(format!("matcher {name}: the quoted value is not closed"));
                    }
                    Some('"') => {
                        i += 1;
                        break;
                    }
                    Some('\\') => {
                        match chars.get(i + 1) {
                            Some('n') => v.push('\n'),
                            Some('t') => v.push('\t'),
                            Some(c @ ('"' | '\\')) => v.push(*c),
                            Some(c) => {
                                v.push('\\');
                                v.push(*c);
                            }
                            None => {
                                return Err(format!(
                                    "matcher {name}: the quoted value is not closed"
                                ));
                            }
                        }
                        i += 2;
                    }
                    Some(c) => {
                        v.push(*c);
                        i += 1;
                    }
                }
            }
            v
        } else {
            let s = i;
            while i < chars.len() && chars[i] != ',' {
                i += 1;
            }
            chars[s..i].iter().collect::<String>().trim().to_owned()
        };
        if is_regex && let Err(e) = regex::Regex::new(&format!("^(?:{value})$")) {
            return Err(format!(
                "matcher {name}: {value:?} is not a regular expression: {e}"
            ));
        }
        out.push(Matcher {
            name,
            value,
            is_regex,
            is_equal,
        });
        skip_ws(&mut i);
        match chars.get(i) {
            None => break,
            Some(',') => i += 1,
            Some(c) => {
                return Err(format!(
                    "expected a comma between matchers at character {}, found {c:?}",
                    i + 1
                ));
            }
        }
    }
    Ok(out)
}

/// Whether a matcher matches a label that is absent (an empty value).
fn matches_empty(m: &Matcher) -> bool {
    let eq = if m.is_regex {
        regex::Regex::new(&format!("^(?:{})$", m.value)).is_ok_and(|r| r.is_match(""))
    } else {
        m.value.is_empty()
    };
    eq == m.is_equal
}

/// Who makes silences: `$USER`, else `$LOGNAME`, else `promdash`.
pub fn current_user() -> String {
    ["USER", "LOGNAME"]
        .iter()
        .filter_map(|k| std::env::var(k).ok())
        .find(|u| !u.trim().is_empty())
        .unwrap_or_else(|| "promdash".to_owned())
}

/// A silence to create: checked by [`SilenceRequest::build`] the way Alertmanager checks
/// it, so a mistake is named before anything is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SilenceRequest {
    pub matchers: Vec<Matcher>,
    pub duration: Duration,
    pub created_by: String,
    pub comment: String,
}

impl SilenceRequest {
    /// Matchers from `labels`, an hour, the current user, no comment yet.
    pub fn for_labels(labels: &LabelMap) -> Self {
        SilenceRequest {
            matchers: matchers_from_labels(labels),
            duration: DEFAULT_SILENCE_DURATION,
            created_by: current_user(),
            comment: String::new(),
        }
    }

    /// The silence, starting at `now_ms` and ending `duration` later; an error naming what
    /// is missing or wrong.
    pub fn build(&self, now_ms: i64) -> Result<PostableSilence, String> {
        if self.comment.trim().is_empty() {
            return Err("a silence needs a comment: say why it is silenced".into());
        }
        if self.created_by.trim().is_empty() {
            return Err("a silence needs its author (createdBy)".into());
        }
        if self.duration.is_zero() {
            return Err("a silence must last longer than 0s".into());
        }
        if self.matchers.is_empty() {
            return Err("a silence needs at least one matcher".into());
        }
        for m in &self.matchers {
            if m.name.is_empty() {
                return Err("a matcher has no label name".into());
            }
        }
        if self.matchers.iter().all(matches_empty) {
            return Err(
                "at least one matcher must not match an empty value (the silence would match \
                 every alert)"
                    .into(),
            );
        }
        Ok(PostableSilence {
            id: None,
            matchers: self.matchers.clone(),
            starts_at: format_ms(now_ms),
            ends_at: format_ms(now_ms + self.duration.as_millis() as i64),
            created_by: self.created_by.clone(),
            comment: self.comment.trim().to_owned(),
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> LabelMap {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn matchers_round_trip_through_text() {
        let l = labels(&[("alertname", "High \"p95\""), ("job", "a\\b"), ("x", "")]);
        let m = matchers_from_labels(&l);
        let text = format_matchers(&m);
        assert_eq!(text, r#"alertname="High \"p95\"", job="a\\b", x="""#);
        assert_eq!(parse_matchers(&text).unwrap(), m);
        let m = parse_matchers(r#"{job=~"api|web", env!="dev",team!~"x.*" , a = b c }"#).unwrap();
        let ops: Vec<_> = m.iter().map(operator).collect();
        assert_eq!(ops, ["=~", "!=", "!~", "="]);
        assert_eq!(m[3].value, "b c");
        assert_eq!(parse_matchers("").unwrap(), []);
    }

    #[test]
    fn bad_matchers_are_named() {
        for (text, want) in [
            ("=x", "expected a label name at character 1"),
            ("a>1", "expected =, !=, =~ or !~ at character 2"),
            (r#"a="x"#, "not closed"),
            (r#"a="x" b="y""#, "expected a comma"),
            ("a=~(", "not a regular expression"),
        ] {
            let e = parse_matchers(text).unwrap_err();
            assert!(e.contains(want), "{text}: {e}");
        }
    }

    #[test]
    fn a_silence_is_checked_before_it_is_sent() {
        let mut r = SilenceRequest::for_labels(&labels(&[("alertname", "A")]));
        r.created_by = "alice".into();
        assert!(r.build(0).unwrap_err().contains("comment"));
        r.comment = "  deploying  ".into();
        let s = r.build(1_000).unwrap();
        assert_eq!(s.starts_at, "1970-01-01T00:00:01.000Z");
        assert_eq!(s.ends_at, "1970-01-01T01:00:01.000Z");
        assert_eq!(s.comment, "deploying");
        assert_eq!(s.created_by, "alice");
        r.duration = Duration::ZERO;
        assert!(r.build(0).is_err());
        r.duration = Duration::from_secs(60);
        r.matchers = parse_matchers(r#"a=~".*", b="""#).unwrap();
        assert!(r.build(0).unwrap_err().contains("empty value"));
        r.matchers = parse_matchers(r#"a!="""#).unwrap();
        assert!(r.build(0).is_ok());
        r.matchers.clear();
        assert!(r.build(0).is_err());
    }
}
