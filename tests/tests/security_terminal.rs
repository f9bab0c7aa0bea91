//! Issue 18, item 1 (and issue 17 item 6): no server-controlled byte reaches the terminal
//! as a control sequence. A hostile exporter puts OSC 52 (clipboard), OSC 0 (title),
//! CSI 2J (clear), a carriage return, a C1 CSI, a bidi override and a line break in its
//! label values; a real Prometheus 2.42 scrapes it; the `promdash` binary's `query`
//! (table and CSV) and `check` print what Prometheus answers. A hostile API server sends
//! the same bytes in warnings and error messages, which reach stderr.

use std::process::{Command, Output};

use promdash_queries::text::is_unsafe_char;
use promdash_tests::Prometheus;
use promdash_tests::connect::promdash_binary;
use promdash_tests::hostile::{HostileServer, Response};

/// Everything a hostile exporter would like to write to a terminal.
const HOSTILE: &str =
    "pwn\u{1b}]52;c;cHduZWQ=\u{7}\u{1b}]0;owned\u{7}\u{1b}[2J\r\u{9b}1m\u{202e}gnp.exe";

/// The exposition: the hostile value, and a label value with a line break (`\n` escaped
/// in the exposition format, a real newline once scraped).
fn exposition() -> String {
    format!(
        "# TYPE hostile gauge\nhostile{{evil=\"{HOSTILE}\",multi=\"line1\\nline2\"}} 1\n\
         hostile{{evil=\"calm\",multi=\"one line\"}} 2\n"
    )
}

/// Whether `text` holds any character that acts on a terminal, line breaks aside.
fn raw_controls(text: &str) -> Vec<char> {
    text.chars()
        .filter(|&c| c != '\n' && is_unsafe_char(c))
        .collect()
}

fn run(args: &[&str]) -> Output {
    let bin = promdash_binary().expect("the promdash binary builds");
    Command::new(bin)
        .args(args)
        .env_remove("PROMDASH_URL")
        .env("PROMDASH_CONFIG", "/nonexistent/promdash-config.toml")
        .output()
        .expect("promdash runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).expect("utf-8 output")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exporter_label_values_are_escaped_in_query_and_check() {
    let exporter = HostileServer::start(|_| Response::text(exposition()))
        .await
        .expect("exporter starts");
    let prom = Prometheus::start(&[exporter.addr()])
        .await
        .expect("Prometheus 2.42 starts and scrapes the exporter");
    // Prometheus kept the bytes as they are: the attack reaches its API.
    let raw = prom.query("hostile").await.expect("query");
    assert!(
        raw.iter()
            .any(|s| s.labels.get("evil").map(String::as_str) == Some(HOSTILE)),
        "Prometheus should store the hostile value unchanged: {raw:?}"
    );

    for format in ["table", "csv"] {
        let out = run(&["--url", &prom.url(), "query", "-o", format, "sort(hostile)"]);
        let stdout = text(&out.stdout);
        assert!(
            out.status.success(),
            "{format}: {stdout} {}",
            text(&out.stderr)
        );
        assert_eq!(
            raw_controls(&stdout),
            Vec::<char>::new(),
            "{format}: {stdout:?}"
        );
        // Header + two rows: the line break in `multi` did not split a row.
        assert_eq!(stdout.lines().count(), 3, "{format}: {stdout}");
        assert!(
            stdout.contains(r"pwn\x1b]52;c;cHduZWQ=\a\x1b]0;owned\a\x1b[2J\r\u009b1m\u202egnp.exe"),
            "{format}: the escapes are visible: {stdout}"
        );
        assert!(stdout.contains(r"line1\nline2"), "{format}: {stdout}");
    }

    // `check`: a rule whose summary quotes the label.
    let dir = tempfile::tempdir().expect("temp dir");
    let dashboard = dir.path().join("d.toml");
    std::fs::write(
        &dashboard,
        "title = \"t\"\n[[panels]]\ntitle = \"p\"\nquery = \"hostile\"\n\
         [[alerts]]\nname = \"Hostile\"\nexpr = \"hostile\"\nop = \">\"\nthreshold = 0\n\
         severity = \"warning\"\nsummary = \"evil is {{ $labels.evil }} / {{ $labels.multi }}\"\n",
    )
    .expect("write the dashboard");
    let out = run(&[
        "--url",
        &prom.url(),
        "check",
        "--instant",
        "--dashboard",
        dashboard.to_str().expect("utf-8 path"),
    ]);
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "firing: {stdout} {}",
        text(&out.stderr)
    );
    assert_eq!(raw_controls(&stdout), Vec::<char>::new(), "{stdout:?}");
    assert!(stdout.contains(r"evil is pwn\x1b]52;"), "{stdout}");
    // Two firing instances and the summary line: no line was split by a label value.
    let firing: Vec<&str> = stdout.lines().filter(|l| l.starts_with("FIRING")).collect();
    assert_eq!(firing.len(), 2, "{stdout}");
    assert!(
        firing.iter().any(|l| l.contains(r"line1\nline2")),
        "{stdout}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_warnings_and_errors_are_escaped_on_stderr() {
    let hostile_json = serde_json::to_string(HOSTILE).expect("a JSON string");
    let server = HostileServer::start(move |req| {
        if req.target.contains("bad") {
            Response::json(format!(
                r#"{{"status":"error","errorType":{hostile_json},"error":{hostile_json}}}"#
            ))
            .with_status(400)
        } else if req.target.contains("html") {
            Response::text(HOSTILE.as_bytes().to_vec()).with_status(502)
        } else {
            Response::json(format!(
                r#"{{"status":"success","warnings":[{hostile_json}],"infos":[{hostile_json}],
                    "data":{{"resultType":"vector","result":[]}}}}"#
            ))
        }
    })
    .await
    .expect("server starts");
    for expr in ["up", "bad", "html"] {
        let out = run(&["--url", &server.url(), "query", expr]);
        let stderr = text(&out.stderr);
        assert_eq!(
            raw_controls(&stderr),
            Vec::<char>::new(),
            "{expr}: {stderr:?}"
        );
        assert!(
            stderr.contains(r"\x1b]52;"),
            "{expr}: the message is still shown: {stderr}"
        );
    }
    // `validate` runs the dashboard's queries and prints the server's rejection.
    let dir = tempfile::tempdir().expect("temp dir");
    let dashboard = dir.path().join("d.toml");
    std::fs::write(
        &dashboard,
        "title = \"t\"\n[[panels]]\ntitle = \"p\"\nquery = \"bad\"\n",
    )
    .expect("write");
    let out = run(&[
        "--url",
        &server.url(),
        "validate",
        dashboard.to_str().expect("utf-8 path"),
    ]);
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert_ne!(out.status.code(), Some(0), "{all}");
    assert_eq!(raw_controls(&all), Vec::<char>::new(), "{all:?}");
    assert!(all.contains(r"\x1b]52;"), "{all}");
}
