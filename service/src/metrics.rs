//! The service's Prometheus metrics, owned by one [`Metrics`] value per app instance.
//!
//! Every metric lives in the instance's own [`Registry`]; nothing is registered in the
//! `prometheus` crate's global default registry, so two services (or two tests) in one
//! process never see each other's counts.

use std::time::Duration;

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
    TextEncoder,
};

/// The content type of the text exposition format 0.0.4 that `/metrics` answers with.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The `route` label given to requests whose path matched no route.
pub const UNMATCHED_ROUTE: &str = "unmatched";

/// Request metrics of one service instance, with the registry that exposes them.
///
/// Cloning is cheap: the clone shares the same counters and registry.
#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    errors: IntCounterVec,
    in_flight: IntGauge,
}

impl Metrics {
    /// Creates the metrics in a fresh registry: `app_request_count_total`,
    /// `app_request_latency_seconds`, `app_error_count_total`, `app_in_flight_requests`,
    /// `app_build_info` and, on Linux, the `process_*` collector.
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new();

        let requests = IntCounterVec::new(
            Opts::new(
                "app_request_count_total",
                "Total number of requests received",
            ),
            &["method", "route", "status"],
        )?;
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "app_request_latency_seconds",
                "Latency in seconds for each request",
            )
            .buckets(prometheus::DEFAULT_BUCKETS.to_vec()),
            &["method", "route"],
        )?;
        let errors = IntCounterVec::new(
            Opts::new(
                "app_error_count_total",
                "Total number of errors encountered (5xx answers and handler failures)",
            ),
            &["method", "route", "status"],
        )?;
        let in_flight = IntGauge::new(
            "app_in_flight_requests",
            "Number of requests being served right now",
        )?;
        let build_info = IntGaugeVec::new(
            Opts::new("app_build_info", "Build information; the value is always 1"),
            &["version"],
        )?;
        build_info
            .with_label_values(&[env!("CARGO_PKG_VERSION")])
            .set(1);

        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(latency.clone()))?;
        registry.register(Box::new(errors.clone()))?;
        registry.register(Box::new(in_flight.clone()))?;
        registry.register(Box::new(build_info))?;
        #[cfg(target_os = "linux")]
        registry.register(Box::new(
            prometheus::process_collector::ProcessCollector::for_self(),
        ))?;

        Ok(Self {
            registry,
            requests,
            latency,
            errors,
            in_flight,
        })
    }

    /// The registry holding this instance's metrics.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Records one finished request: counts it, observes its latency and, for a 5xx
    /// status, counts an error. `status` is the three-digit code (`StatusCode::as_str`).
    pub fn observe(&self, method: &str, route: &str, status: &str, elapsed: Duration) {
        self.requests
            .with_label_values(&[method, route, status])
            .inc();
        self.latency
            .with_label_values(&[method, route])
            .observe(elapsed.as_secs_f64());
        if status.starts_with('5') {
            self.errors
                .with_label_values(&[method, route, status])
                .inc();
        }
    }

    /// The `app_request_count_total` and `app_request_latency_seconds` children of one
    /// label set, for callers that cache them (see the metrics layer).
    pub(crate) fn handles(
        &self,
        method: &str,
        route: &str,
        status: &str,
    ) -> (prometheus::IntCounter, prometheus::Histogram) {
        (
            self.requests.with_label_values(&[method, route, status]),
            self.latency.with_label_values(&[method, route]),
        )
    }

    /// Marks one request as in flight until the returned guard is dropped.
    pub fn in_flight(&self) -> InFlightGuard {
        self.in_flight.inc();
        InFlightGuard(self.in_flight.clone())
    }

    /// Renders every metric of the registry in the text exposition format 0.0.4.
    pub fn render(&self) -> Result<String, prometheus::Error> {
        let families = self.registry.gather();
        let mut buf = Vec::with_capacity(16 * 1024);
        TextEncoder::new().encode(&families, &mut buf)?;
        String::from_utf8(buf).map_err(|e| prometheus::Error::Msg(e.to_string()))
    }
}

/// Decrements `app_in_flight_requests` when dropped, also when a request is abandoned.
pub struct InFlightGuard(IntGauge);

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        self.0.dec();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_instances_do_not_share_counts() {
        let a = Metrics::new().expect("metrics");
        let b = Metrics::new().expect("metrics");
        a.observe("GET", "/process", "200", Duration::from_millis(3));
        let text_a = a.render().expect("render");
        let text_b = b.render().expect("render");
        assert!(
            text_a.contains(
                r#"app_request_count_total{method="GET",route="/process",status="200"} 1"#
            )
        );
        assert!(!text_b.contains("app_request_count_total{"));
    }

    #[test]
    fn only_5xx_counts_as_error() {
        let m = Metrics::new().expect("metrics");
        m.observe("GET", "/process", "400", Duration::ZERO);
        m.observe("GET", "/process", "500", Duration::ZERO);
        m.observe("GET", "/process", "503", Duration::ZERO);
        let text = m.render().expect("render");
        assert!(
            !text.contains(r#"app_error_count_total{method="GET",route="/process",status="400"}"#)
        );
        assert!(
            text.contains(r#"app_error_count_total{method="GET",route="/process",status="500"} 1"#)
        );
        assert!(
            text.contains(r#"app_error_count_total{method="GET",route="/process",status="503"} 1"#)
        );
    }

    #[test]
    fn in_flight_guard_decrements() {
        let m = Metrics::new().expect("metrics");
        let g1 = m.in_flight();
        let g2 = m.in_flight();
        assert!(
            m.render()
                .expect("render")
                .contains("app_in_flight_requests 2")
        );
        drop(g1);
        drop(g2);
        assert!(
            m.render()
                .expect("render")
                .contains("app_in_flight_requests 0")
        );
    }

    #[test]
    fn build_info_and_buckets() {
        let m = Metrics::new().expect("metrics");
        m.observe("GET", "/healthz", "200", Duration::from_millis(1));
        let text = m.render().expect("render");
        assert!(text.contains(&format!(
            "app_build_info{{version=\"{}\"}} 1",
            env!("CARGO_PKG_VERSION")
        )));
        for le in [
            "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf",
        ] {
            assert!(
                text.contains(&format!(
                    "app_request_latency_seconds_bucket{{method=\"GET\",route=\"/healthz\",le=\"{le}\"}} 1"
                )),
                "bucket {le} missing in\n{text}"
            );
        }
    }
}
