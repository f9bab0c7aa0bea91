//! What Grafana does to a query variable's values: the `regex` filter (capture groups,
//! `value`/`text` named groups, `/.../flags`) and the `sort` codes.

use regex::Regex;

/// A variable's `regex`: `/pattern/flags` (flags `i`, `m`, `s`, `g`) or a bare pattern,
/// which Grafana anchors (`^pattern$`). Returns the regex and whether it is global (`g`).
pub fn variable_regex(s: &str) -> Result<(Regex, bool), String> {
    let (pattern, flags) = match s.strip_prefix('/').and_then(|r| r.rsplit_once('/')) {
        Some((p, f)) if f.chars().all(|c| c.is_ascii_alphabetic()) => (p.to_owned(), f),
        _ => (format!("^{s}$"), ""),
    };
    let mut inline = String::new();
    for f in flags.chars() {
        match f {
            'i' | 'm' | 's' => inline.push(f),
            'g' | 'u' | 'y' => {}
            other => return Err(format!("unknown flag {other:?}")),
        }
    }
    let full = if inline.is_empty() {
        pattern
    } else {
        format!("(?{inline}){pattern}")
    };
    Regex::new(&full)
        .map(|r| (r, flags.contains('g')))
        .map_err(|e| e.to_string())
}

/// The values a query returned, filtered and extracted by `regex` and ordered by `sort`
/// as Grafana does: a value the regex does not match is dropped; a group named `value`
/// (or `text`) or else the first capture group is the value; with the `g` flag every
/// match of a value counts; duplicates are dropped (first kept).
pub fn refine(values: Vec<String>, regex: Option<&str>, sort: u8) -> Result<Vec<String>, String> {
    let re = regex
        .filter(|r| !r.is_empty())
        .map(variable_regex)
        .transpose()?;
    let mut out: Vec<String> = Vec::with_capacity(values.len());
    for v in values {
        let Some((re, global)) = &re else {
            out.push(v);
            continue;
        };
        let caps: Vec<regex::Captures<'_>> = if *global {
            re.captures_iter(&v).collect()
        } else {
            re.captures(&v).into_iter().collect()
        };
        if caps.is_empty() {
            continue;
        }
        let named = caps
            .iter()
            .find_map(|c| c.name("value").or_else(|| c.name("text")));
        if let Some(m) = named {
            out.push(m.as_str().to_owned());
            continue;
        }
        let with_group: Vec<&regex::Captures<'_>> = caps.iter().filter(|c| c.len() > 1).collect();
        if with_group.is_empty() {
            out.push(v);
        } else if caps.len() > 1 {
            for c in with_group {
                out.push(c.get(1).map_or("", |m| m.as_str()).to_owned());
            }
        } else {
            out.push(with_group[0].get(1).map_or("", |m| m.as_str()).to_owned());
        }
    }
    let mut seen = std::collections::HashSet::new();
    out.retain(|v| seen.insert(v.clone()));
    sort_values(&mut out, sort);
    Ok(out)
}

/// Grafana's sort codes: 0 keep, 1/2 alphabetical, 3/4 by the first number in the text
/// (-1 without one), 5/6 alphabetical ignoring case, 7/8 natural; even codes descending.
pub fn sort_values(values: &mut [String], sort: u8) {
    if sort == 0 {
        return;
    }
    let first_number = |s: &str| -> i64 {
        let digits: String = s
            .chars()
            .skip_while(|c| !c.is_ascii_digit())
            .take_while(char::is_ascii_digit)
            .collect();
        digits.parse().unwrap_or(-1)
    };
    match sort.div_ceil(2) {
        1 => values.sort(),
        2 => values.sort_by_key(|v| first_number(v)),
        3 => values.sort_by_key(|v| v.to_lowercase()),
        _ => values.sort_by(|a, b| natural_cmp(a, b)),
    }
    if sort.is_multiple_of(2) {
        values.reverse();
    }
}

/// Natural order: runs of digits compare as numbers, the rest ignoring case.
fn natural_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    let (mut a, mut b) = (a, b);
    loop {
        match (a.chars().next(), b.chars().next()) {
            (None, None) => return std::cmp::Ordering::Equal,
            (None, _) => return std::cmp::Ordering::Less,
            (_, None) => return std::cmp::Ordering::Greater,
            (Some(x), Some(y)) if x.is_ascii_digit() && y.is_ascii_digit() => {
                let na = a.len() - a.trim_start_matches(|c: char| c.is_ascii_digit()).len();
                let nb = b.len() - b.trim_start_matches(|c: char| c.is_ascii_digit()).len();
                let (da, db) = (
                    a[..na].trim_start_matches('0'),
                    b[..nb].trim_start_matches('0'),
                );
                let ord = da.len().cmp(&db.len()).then_with(|| da.cmp(db));
                if ord != std::cmp::Ordering::Equal {
                    return ord;
                }
                a = &a[na..];
                b = &b[nb..];
            }
            (Some(x), Some(y)) => {
                let ord = x.to_lowercase().cmp(y.to_lowercase());
                if ord != std::cmp::Ordering::Equal {
                    return ord;
                }
                a = &a[x.len_utf8()..];
                b = &b[y.len_utf8()..];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| (*x).to_owned()).collect()
    }

    #[test]
    fn regex_filters_and_extracts_like_grafana() {
        let hosts = s(&[
            "web-1.example:9100",
            "db-2.example:9100",
            "web-1.example:9101",
        ]);
        // A capture group is the value; duplicates collapse.
        assert_eq!(
            refine(hosts.clone(), Some("/([^.:]*).*/"), 0).expect("valid regex"),
            ["web-1", "db-2"]
        );
        // A bare pattern is anchored: only whole matches pass.
        assert_eq!(
            refine(hosts.clone(), Some("web.*9100"), 0).expect("valid regex"),
            ["web-1.example:9100"]
        );
        assert!(
            refine(hosts.clone(), Some("web"), 0)
                .expect("valid regex")
                .is_empty()
        );
        // Named groups win; flags work.
        assert_eq!(
            refine(hosts.clone(), Some("/(?P<value>DB-\\d)/i"), 0).expect("valid regex"),
            ["db-2"]
        );
        // Global: every match of a value.
        assert_eq!(
            refine(s(&["a1b2"]), Some("/(\\d)/g"), 0).expect("valid regex"),
            ["1", "2"]
        );
        assert!(refine(hosts, Some("/(/"), 0).is_err());
    }

    #[test]
    fn sort_codes() {
        let v = s(&["b10", "B2", "a3", "c1"]);
        let sorted = |code| {
            let mut x = v.clone();
            sort_values(&mut x, code);
            x
        };
        assert_eq!(sorted(0), ["b10", "B2", "a3", "c1"]);
        assert_eq!(sorted(1), ["B2", "a3", "b10", "c1"]);
        assert_eq!(sorted(2), ["c1", "b10", "a3", "B2"]);
        assert_eq!(sorted(3), ["c1", "B2", "a3", "b10"]);
        assert_eq!(sorted(4), ["b10", "a3", "B2", "c1"]);
        assert_eq!(sorted(5), ["a3", "b10", "B2", "c1"]);
        assert_eq!(sorted(7), ["a3", "B2", "b10", "c1"]);
        assert_eq!(sorted(8), ["c1", "b10", "B2", "a3"]);
    }
}
