//! Dashboard variables put into `=~` matchers, against a real Prometheus 2.42: an IP
//! `instance` (dots) chosen alone, with another value, or as All must make a query
//! Prometheus accepts and that matches exactly that instance. Before escaping for the
//! string, `\.` inside `"..."` was "unknown escape sequence" (a rejected query).

use std::path::PathBuf;
use std::process::Command;

use promdash::variables::{Binding, expand};
use promdash_tests::{Prometheus, ServiceConfig, start_service};

fn promdash_binary() -> PathBuf {
    promdash_tests::connect::promdash_binary().unwrap_or_else(|e| panic!("{e:#}"))
}

#[tokio::test]
async fn ip_instances_in_regex_matchers_are_accepted_and_match_exactly() {
    let service = start_service(ServiceConfig::ephemeral())
        .await
        .expect("service");
    let prom = Prometheus::start(&[service.addr()])
        .await
        .expect("prometheus");
    let instance = service.addr().to_string();
    assert!(instance.contains('.'), "{instance}");
    // A value that differs only where `.` would match any character.
    let lookalike = instance.replace('.', "x");

    // The dashboard's own substitution, each binding the picker can produce.
    for binding in [
        Binding::Values(vec![instance.clone()]),
        Binding::Values(vec![instance.clone(), "10.0.0.1:9100".into()]),
        Binding::Values(vec![lookalike.clone(), instance.clone()]),
    ] {
        for template in [
            r#"up{instance=~"$instance"}"#,
            "up{instance=~'$instance'}",
            "up{instance=~`$instance`}",
        ] {
            let (expr, _) = expand(template, &|_| Some(binding.clone()));
            let got = prom
                .query(&expr)
                .await
                .unwrap_or_else(|e| panic!("{expr}: rejected: {e:#}"));
            assert_eq!(got.len(), 1, "{expr}: {got:?}");
            assert_eq!(got[0].labels.get("instance"), Some(&instance), "{expr}");
        }
    }
    // The escaped dots match only dots: the lookalike alone matches nothing.
    let (expr, _) = expand(r#"up{instance=~"$i"}"#, &|_| {
        Some(Binding::Values(vec![lookalike.clone()]))
    });
    assert!(
        prom.query(&expr).await.expect("accepted").is_empty(),
        "{expr}"
    );

    // Through the binary: `check` substitutes a multi/all variable (All by default) into
    // an alert's `=~` matcher; the rule (no threshold: any series returned fires) fires
    // for exactly the instance (exit 1), where a rejected query would exit 2.
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("vars.toml");
    std::fs::write(
        &file,
        format!(
            r#"[[variables]]
name = "instance"
values = ["{instance}", "10.0.0.1:9100"]
multi = true
all = true

[[alerts]]
name = "Up"
expr = 'up{{instance=~"$instance"}}'
summary = "{{{{ $labels.instance }}}}"
"#
        ),
    )
    .expect("write");
    let out = Command::new(promdash_binary())
        .args([
            "check",
            "--instant",
            "-o",
            "json",
            "--url",
            &prom.url(),
            "-d",
        ])
        .arg(&file)
        .env_remove("PROMDASH_URL")
        .env_remove("PROMDASH_DASHBOARD")
        .output()
        .expect("run promdash");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{stderr}{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(
        json["rules"][0]["instances"][0]["summary"],
        instance.as_str()
    );
    assert_eq!(json["firing"], 1);
}
