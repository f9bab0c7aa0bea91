//! Go's number and value printing, as Prometheus's templates and promtool print:
//! `strconv.FormatFloat` with `'g'`/`'e'`/`'f'`, and `fmt`'s `%v` for the values a template
//! handles (maps print as `map[k:v …]`).

/// The decimal digits of `v` (no sign, trailing zeros removed) and the position of the
/// decimal point, rounded to `prec` significant digits or shortest when `None`.
fn digits(v: f64, prec: Option<usize>) -> (String, i32) {
    let s = match prec {
        Some(p) => format!("{:.*e}", p.max(1) - 1, v.abs()),
        None => format!("{:e}", v.abs()),
    };
    let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let mut d: String = mant.chars().filter(char::is_ascii_digit).collect();
    while d.len() > 1 && d.ends_with('0') {
        d.pop();
    }
    if d == "0" {
        return (d, 1);
    }
    (d, exp + 1)
}

fn special(v: f64) -> Option<String> {
    if v.is_nan() {
        Some("NaN".into())
    } else if v.is_infinite() {
        Some(if v > 0.0 { "+Inf" } else { "-Inf" }.into())
    } else {
        None
    }
}

fn fmt_e(neg: bool, d: &str, dp: i32, decimals: usize, out: &mut String) {
    if neg {
        out.push('-');
    }
    let b = d.as_bytes();
    out.push(b[0] as char);
    if decimals > 0 {
        out.push('.');
        for i in 1..=decimals {
            out.push(b.get(i).map_or('0', |&c| c as char));
        }
    }
    let exp = if d == "0" { 0 } else { dp - 1 };
    out.push('e');
    out.push(if exp < 0 { '-' } else { '+' });
    let e = exp.unsigned_abs();
    if e < 10 {
        out.push('0');
    }
    out.push_str(&e.to_string());
}

fn fmt_f(neg: bool, d: &str, dp: i32, decimals: usize, out: &mut String) {
    if neg {
        out.push('-');
    }
    let b = d.as_bytes();
    if dp > 0 {
        for i in 0..dp as usize {
            out.push(b.get(i).map_or('0', |&c| c as char));
        }
    } else {
        out.push('0');
    }
    if decimals > 0 {
        out.push('.');
        for i in 0..decimals as i32 {
            let j = dp + i;
            out.push(if j < 0 {
                '0'
            } else {
                b.get(j as usize).map_or('0', |&c| c as char)
            });
        }
    }
}

/// `strconv.FormatFloat(v, 'g', prec, 64)`; `prec` `None` is `-1` (shortest), as `%v`.
pub fn format_g(v: f64, prec: Option<usize>) -> String {
    if let Some(s) = special(v) {
        return s;
    }
    let neg = v.is_sign_negative() && v != 0.0 || (v == 0.0 && v.is_sign_negative());
    let (d, dp) = digits(v, prec);
    let nd = d.len() as i32;
    let mut p = prec.map_or(nd, |p| p.max(1) as i32);
    let mut eprec = p;
    if prec.is_some() && eprec > nd && nd >= dp {
        eprec = nd;
    }
    if prec.is_none() {
        eprec = 6;
    }
    let exp = dp - 1;
    let mut out = String::new();
    if exp < -4 || exp >= eprec {
        if p > nd {
            p = nd;
        }
        fmt_e(neg, &d, dp, (p - 1).max(0) as usize, &mut out);
        return out;
    }
    if p > dp {
        p = nd;
    }
    fmt_f(neg, &d, dp, (p - dp).max(0) as usize, &mut out);
    out
}

/// `strconv.FormatFloat(v, 'f', prec, 64)`.
pub fn format_f(v: f64, prec: usize) -> String {
    if let Some(s) = special(v) {
        return s;
    }
    let s = format!("{:.*}", prec, v);
    if s.starts_with("-")
        && s.trim_start_matches('-')
            .bytes()
            .all(|b| b == b'0' || b == b'.')
    {
        // Go keeps the sign of a negative number rounded to zero.
        return s;
    }
    s
}

/// `strconv.FormatFloat(v, 'e', prec, 64)`.
pub fn format_e(v: f64, prec: usize) -> String {
    if let Some(s) = special(v) {
        return s;
    }
    let (d, dp) = digits(v, Some(prec + 1));
    let mut out = String::new();
    fmt_e(v.is_sign_negative(), &d, dp, prec, &mut out);
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn like_go() {
        let cases = [
            (1e6, None, "1e+06"),
            (100000.0, None, "100000"),
            (0.5, None, "0.5"),
            (1234567.0, None, "1.234567e+06"),
            (0.0001, None, "0.0001"),
            (0.00001, None, "1e-05"),
            (100.0, Some(4), "100"),
            (100000.0, Some(4), "1e+05"),
            (1234.5678, Some(4), "1235"),
            (0.5, Some(4), "0.5"),
            (12345.678, Some(4), "1.235e+04"),
            (0.0, Some(4), "0"),
            (-2.5, None, "-2.5"),
            (f64::NAN, Some(4), "NaN"),
            (f64::INFINITY, None, "+Inf"),
            (1.0, None, "1"),
            (3.0, Some(4), "3"),
            (123.456, Some(4), "123.5"),
        ];
        for (v, p, want) in cases {
            assert_eq!(format_g(v, p), want, "{v} {p:?}");
        }
        assert_eq!(format_e(1234.0, 2), "1.23e+03");
        assert_eq!(format_f(1.005, 1), "1.0");
    }
}
