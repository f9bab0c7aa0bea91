//! Malformed exposition pages written for this project: each must fail to parse with
//! an error at line:col, and fail a scrape (`up` 0) without a panic. Shared by the
//! parser's unit tests and the scraper's end-to-end test (tests/tests/scrape_malformed.rs,
//! which includes this file with `#[path]`), so it depends on nothing.

/// `(is OpenMetrics, page)`: names and structure, bad escapes, bad numbers and
/// timestamps, duplicate series, OpenMetrics rules (a missing `# EOF` among them), huge
/// lines, invalid UTF-8.
pub fn malformed_pages() -> Vec<(bool, Vec<u8>)> {
    let mut cases: Vec<(bool, Vec<u8>)> = Vec::new();
    let mut add = |om: bool, page: &str| cases.push((om, page.as_bytes().to_vec()));
    const T: bool = false;
    const O: bool = true;
    // Names and structure.
    for f in [T, O] {
        add(f, "1metric 1\n");
        add(f, "-metric 1\n");
        add(f, "metric\n");
        add(f, "metric{\n");
        add(f, "metric{a 1\n");
        add(f, "metric{a=} 1\n");
        add(f, "metric{a=b} 1\n");
        add(f, "metric{a=\"b} 1\n");
        add(f, "metric{a=\"b\"\n");
        add(f, "metric{a=\"b\" c=\"d\"} 1\n");
        add(f, "metric{,} 1\n");
        add(f, "metric{1a=\"b\"} 1\n");
        add(f, "metric{a-b=\"c\"} 1\n");
        add(f, "metric{a:b=\"c\"} 1\n");
        add(f, "metric{a=\"b\",a=\"c\"} 1\n");
        add(f, "metric{__name__=\"other\"} 1\n");
        add(f, "metric{a=\"b\"}} 1\n");
        add(f, "metric}{ 1\n");
        add(f, "metric 1 2 3\n");
        add(f, "metric{a=\"b\"}1 2 3\n");
        add(f, "{a=\"b\"} 1\n");
        add(f, "\"metric\" 1\n");
        add(f, "métric 1\n");
        add(f, "metric{ä=\"b\"} 1\n");
        add(f, "# TYPE metric\n");
        add(f, "# TYPE metric bogus\n");
        add(f, "# TYPE 9metric counter\n");
        add(f, "# TYPE m gauge\n# TYPE m gauge\n");
        add(f, "# HELP m one\n# HELP m two\n");
    }
    // Bad escapes in label values.
    for esc in ["\\t", "\\x41", "\\u00e9", "\\'", "\\0", "\\r", "\\ ", "\\"] {
        add(T, &format!("m{{a=\"{esc}\"}} 1\n"));
        add(O, &format!("m{{a=\"{esc}\"}} 1\n# EOF\n"));
    }
    // Bad numbers.
    for num in [
        "", "1.2.3", "1e", "1e+", "--1", "+-1", "0x10", "1_000", "one", "NaNa", "Infinit", "+NaN",
        "1,5", ".", "e5", "∞", "1f", "0b1",
    ] {
        add(T, &format!("m {num}\n"));
        add(O, &format!("m {num}\n# EOF\n"));
    }
    // Bad timestamps.
    for ts in ["1.5", "1e3", "abc", "99999999999999999999", "NaN", "+Inf"] {
        add(T, &format!("m 1 {ts}\n"));
    }
    for ts in ["abc", "NaN", "Inf", "-Inf", "1e400", "1..2", "1 2"] {
        add(O, &format!("m 1 {ts}\n# EOF\n"));
    }
    // Duplicate series.
    add(T, "m 1\nm 2\n");
    add(T, "m{a=\"1\",b=\"2\"} 1\nm{b=\"2\",a=\"1\"} 2\n");
    add(T, "m 1 100\nm 2 100\n");
    add(T, "m 1 100\nm 2 50\n");
    add(O, "m 1\nm 2\n# EOF\n");
    add(O, "m 1 10\nm 2 9\n# EOF\n");
    // OpenMetrics-only rules.
    add(O, "m 1\n");
    add(O, "m 1\n\n# EOF\n");
    add(O, "m 1\n# EOF\n\n");
    add(O, "m 1\n# EOF\nm 2\n");
    add(O, "# a comment\nm 1\n# EOF\n");
    add(O, "#TYPE m gauge\n# EOF\n");
    add(O, "# TYPE m untyped\n# EOF\n");
    add(O, "# TYPE c counter\nc 1\n# EOF\n");
    add(O, "# TYPE h histogram\nh 1\n# EOF\n");
    add(O, "# TYPE m_seconds gauge\n# UNIT m_seconds bytes\n# EOF\n");
    add(O, "m  1\n# EOF\n");
    add(O, "m 1 \n# EOF\n");
    add(O, "m{a=\"b\", c=\"d\"} 1\n# EOF\n");
    add(O, "m 1 # {a=\"b\"}\n# EOF\n");
    add(O, "m 1 # a=\"b\" 1\n# EOF\n");
    add(O, "m 1 # {a=\"b\"} x\n# EOF\n");
    add(O, "# HELP m bad \\q escape\n# EOF\n");
    add(O, "# TYPE m gaugehistogram\nm_gcount 1\nm 1\n# EOF\n");
    add(O, "");
    add(O, "# TYPE\n# EOF\n");
    add(T, "# TYPE m gaugehistogram\n");
    add(T, "# TYPE m info\n");
    // Huge lines.
    add(T, &format!("m{{a=\"{}\"}} 1\n", "x".repeat(2 << 20)));
    add(O, &format!("{} 1\n# EOF\n", "m".repeat(2 << 20)));
    // Invalid UTF-8.
    for bytes in [
        &b"m{a=\"\xff\"} 1\n"[..],
        b"m 1\n\xc3\x28 2\n",
        b"# HELP m \xe2\x82\n",
        b"m{a=\"\xf0\x28\x8c\xbc\"} 1\n",
        b"\xed\xa0\x80 1\n",
    ] {
        cases.push((T, bytes.to_vec()));
        let mut o = bytes.to_vec();
        o.extend_from_slice(b"# EOF\n");
        cases.push((O, o));
    }
    cases
}
