//! Grafana dashboards people already have: the 13 real dashboards Debian ships in
//! `ceph-grafana-dashboards` import, convert to a dashboard file that loads, and every
//! imported expression (variables filled in as `validate` fills them) is accepted by a
//! real Prometheus.

use std::path::{Path, PathBuf};

use promdash::headless::validate::validate_file;
use promdash_queries::dashboard::{PanelKind, VariableSource, load_dashboard, parse_dashboard};
use promdash_queries::grafana::{import, to_toml};
use promdash_queries::{ClientConfig, PromClient};
use promdash_tests::Prometheus;

const CEPH: &str = "/etc/grafana/dashboards/ceph-dashboard";

fn ceph_dashboards() -> Vec<PathBuf> {
    let dir = Path::new(CEPH);
    assert!(
        dir.is_dir(),
        "{CEPH} is missing: install the Debian package ceph-grafana-dashboards \
         (apt-get install ceph-grafana-dashboards; scripts/test.sh does)"
    );
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("readable")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_ceph_dashboard_imports_and_converts() {
    let files = ceph_dashboards();
    assert_eq!(files.len(), 13, "{files:?}");
    for file in &files {
        let text = std::fs::read_to_string(file).expect("readable");
        let im = import(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let d = &im.dashboard;
        assert!(!d.panels.is_empty(), "{}: no panels", file.display());
        assert!(
            d.panels.iter().any(|p| !p.queries.is_empty()),
            "{}: no queries",
            file.display()
        );
        // --dashboard FILE.json takes the same path.
        let loaded = load_dashboard(file).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(loaded, im.dashboard);
        let toml = to_toml(&im, &file.display().to_string());
        let back = parse_dashboard(&toml, "converted.toml")
            .unwrap_or_else(|e| panic!("{}: {e}\n{toml}", file.display()));
        // A promdash file has no per-target step options: the TOML leaves them out with a
        // comment; everything else reads back the same.
        let mut want = d.panels.clone();
        for q in want.iter_mut().flat_map(|p| p.queries.iter_mut()) {
            q.step = Default::default();
        }
        assert_eq!(back.panels, want, "{}", file.display());
    }
    // One looked at closely: Host Details (schemaVersion 16, rows as panels, a variable
    // over all instances).
    let text = std::fs::read_to_string(Path::new(CEPH).join("host-details.json")).expect("file");
    let d = import(&text).expect("imports").dashboard;
    let names: Vec<&str> = d.variables.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(names, ["cluster", "job", "ceph_hosts"]);
    assert_eq!(
        d.variables[2].source,
        VariableSource::LabelValues {
            label: "instance".into(),
            matcher: None
        }
    );
    assert!(d.variables[0].multi && d.variables[0].all);
    assert_eq!(d.rows.len(), 2);
    assert!(d.rows.iter().all(|r| !r.collapsed));
    let cpu = d
        .panels
        .iter()
        .find(|p| p.title == "CPU Utilization")
        .expect("CPU panel");
    assert_eq!(cpu.kind, PanelKind::Graph);
    assert!(cpu.queries[0].expr.contains("$__rate_interval"));
}

#[tokio::test]
async fn prometheus_accepts_every_imported_query() {
    let files = ceph_dashboards();
    let prom = Prometheus::start::<&str>(&[])
        .await
        .expect("prometheus starts");
    let client = PromClient::new(ClientConfig::new(prom.url())).expect("client");
    let mut total = 0;
    for file in &files {
        let report = validate_file(Some(&client), file).await;
        let server = report
            .server
            .as_ref()
            .unwrap_or_else(|| panic!("{}: the queries were not run: {report:?}", file.display()));
        assert_eq!(server.unreachable, None, "{}", file.display());
        let rejected: Vec<&str> = report
            .problems
            .iter()
            .filter(|p| p.message.contains("rejected") || p.message.starts_with("PromQL"))
            .map(|p| p.message.as_str())
            .collect();
        assert!(rejected.is_empty(), "{}: {rejected:#?}", file.display());
        assert_eq!(server.accepted, report.queries, "{}", file.display());
        // Every problem left is a field not carried over, named by its JSON path.
        for p in &report.problems {
            assert!(p.path.is_some(), "{}: {p:?}", file.display());
        }
        total += server.accepted;
    }
    assert!(total > 150, "only {total} queries in 13 dashboards");
}
