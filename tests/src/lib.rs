//! Test harness: real servers as child processes on loopback.
//!
//! Start Debian's Prometheus or VictoriaMetrics scraping loopback targets, start the
//! reference service in-process or as its built binary, and query them back:
//!
//! ```no_run
//! # async fn t() -> anyhow::Result<()> {
//! use promdash_tests::{Prometheus, ServiceConfig, start_service};
//!
//! let service = start_service(ServiceConfig::ephemeral()).await?;
//! let prom = Prometheus::start(&[service.addr()]).await?; // waits for up == 1
//! let samples = prom.query("sum(app_request_count_total)").await?;
//! println!("{} at {}", samples.len(), prom.url());
//! # Ok(()) }
//! ```
//!
//! Every server listens on 127.0.0.1 on a free port, keeps its config and data in a
//! temporary directory, and is killed (by its pid) when its handle is dropped. A missing
//! server binary is an error naming the Debian package to install, so a test fails
//! rather than passing silently.

pub mod alertmanager;
mod child;
pub mod connect;
pub mod engine_diff;
pub mod exporter;
pub mod exposition;
pub mod grafana_gen;
pub mod headless;
pub mod hostile;
pub mod node_exporter;
mod prometheus;
pub mod promtool;
pub mod queries_support;
mod query;
pub mod scrape_bench;
pub mod scrape_support;
pub mod scripted;
mod server;
mod service;
pub mod tmux;
mod victoria;
pub mod workspace_bin;

pub use alertmanager::{Alertmanager, Recorder};
pub use child::{ensure_loopback, find_binary, free_port};
pub use prometheus::Prometheus;
pub use query::{QuerySample, query_api, query_api_at, wait_for_value};
pub use service::{
    ServiceBinary, record_service, send_requests, service_binary, service_command,
    service_with_traffic, start_service,
};
pub use victoria::VictoriaMetrics;

pub use promdash_service::{Faults, RunningService, ServiceConfig};

/// A plain `reqwest::Client` for tests, with rustls's crypto provider installed first
/// (reqwest is built without one and would panic).
pub fn http_client() -> reqwest::Client {
    promdash_queries::tls::http_client_builder()
        .build()
        .expect("a default reqwest client builds once a crypto provider is installed")
}

/// `reqwest::get` through [`http_client`].
pub async fn http_get(url: impl reqwest::IntoUrl) -> reqwest::Result<reqwest::Response> {
    http_client().get(url).send().await
}

/// A Prometheus `prometheus.yml` scraping `targets` every second (evaluation every
/// second too), as job `promdash`, with `rule_files` if any. Targets must be loopback
/// `host:port` addresses.
pub fn scrape_config<T: ToString>(targets: &[T], rule_files: &[&str]) -> anyhow::Result<String> {
    let mut yaml = String::from("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n");
    if !rule_files.is_empty() {
        yaml.push_str("rule_files:\n");
        for f in rule_files {
            yaml.push_str(&format!("  - '{f}'\n"));
        }
    }
    yaml.push_str(
        "scrape_configs:\n  - job_name: promdash\n    static_configs:\n      - targets: [",
    );
    let targets: Vec<String> = targets.iter().map(ToString::to_string).collect();
    for (i, t) in targets.iter().enumerate() {
        ensure_loopback(t)?;
        if i > 0 {
            yaml.push_str(", ");
        }
        yaml.push_str(&format!("'{t}'"));
    }
    yaml.push_str("]\n");
    Ok(yaml)
}

/// The median of `values` (the mean of the two middle ones when their count is even), for
/// benchmark examples that take a handful of rounds. NaN sorts last; an empty list is NaN.
pub fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    match n {
        0 => f64::NAN,
        _ if n % 2 == 1 => values[n / 2],
        _ => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrape_config_lists_loopback_targets() {
        let yaml = scrape_config(&["127.0.0.1:1234", "localhost:5"], &["/tmp/r.yml"])
            .expect("loopback targets");
        assert!(yaml.contains("scrape_interval: 1s"));
        assert!(yaml.contains("evaluation_interval: 1s"));
        assert!(yaml.contains("targets: ['127.0.0.1:1234', 'localhost:5']"));
        assert!(yaml.contains("  - '/tmp/r.yml'"));
        assert!(scrape_config(&["10.0.0.1:80"], &[]).is_err());
        assert!(scrape_config(&["example.com:80"], &[]).is_err());
    }

    #[test]
    fn median_of_odd_and_even_counts() {
        assert!((median(vec![1.96, 1.28]) - 1.62).abs() < 1e-12);
        assert_eq!(median(vec![1.74, 1.50, 1.85, 1.64, 1.55]), 1.64);
        assert_eq!(median(vec![4.0, 1.0, 3.0, 2.0]), 2.5);
        assert!(median(Vec::new()).is_nan());
    }
}
