//! The differential test's data and expressions: a deterministic OpenMetrics file that
//! looks like three hours of scrapes of a few jobs, and the PromQL to ask of it.
//!
//! The file has what makes PromQL engines disagree: counters that reset when an instance
//! restarts, scrape timestamps jittered off the 15 s grid (and one target exactly on it),
//! a target missing for longer than the lookback, missed single scrapes, classic
//! histograms, a summary, NaN and ±Inf values, and label values with quotes, backslashes,
//! a newline and unicode.

use std::fmt::Write as _;

use promdash_engine::eval::Func;
use promdash_engine::exposition::write_openmetrics_sample;
use promdash_engine::value::Labels;

/// Start of the data: 2023-11-14T22:13:20Z.
pub const BASE_MS: i64 = 1_700_000_000_000;
/// Three hours of data.
pub const SPAN_MS: i64 = 3 * 3_600_000;
/// The scrape interval.
pub const INTERVAL_MS: i64 = 15_000;

/// A small deterministic generator (splitmix64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in [lo, hi].
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next() % (hi - lo + 1) as u64) as i64
    }
}

/// One scraped target.
struct Target {
    job: &'static str,
    instance: &'static str,
    /// Offset of its scrapes within the interval, ms.
    offset_ms: i64,
    /// Largest jitter of a scrape, ms (0: exactly on its grid).
    jitter_ms: i64,
    /// Restarts (counters start again from zero) at these offsets from [`BASE_MS`].
    restarts: &'static [i64],
    /// Not scraped at all in these [from, to) offsets from [`BASE_MS`].
    down: &'static [(i64, i64)],
}

const MIN: i64 = 60_000;

/// The counter functions asked of every counter; every other range function is asked of
/// the gauges.
const COUNTER_FUNCTIONS: [&str; 4] = ["rate", "irate", "increase", "resets"];

const TARGETS: [Target; 5] = [
    Target {
        job: "api",
        instance: "10.0.0.1:8080",
        offset_ms: 0,
        jitter_ms: 0,
        restarts: &[],
        down: &[],
    },
    Target {
        job: "api",
        instance: "10.0.0.2:8080",
        offset_ms: 4_321,
        jitter_ms: 250,
        restarts: &[80 * MIN + 7_000],
        down: &[],
    },
    Target {
        job: "worker",
        instance: "w1",
        offset_ms: 9_999,
        jitter_ms: 900,
        restarts: &[30 * MIN, 150 * MIN + 1_234],
        down: &[],
    },
    Target {
        job: "worker",
        instance: "w2",
        offset_ms: 7_500,
        jitter_ms: 40,
        restarts: &[],
        down: &[(60 * MIN, 75 * MIN + 500)],
    },
    Target {
        job: "prometheus",
        instance: "localhost:9090",
        offset_ms: 1_001,
        jitter_ms: 3,
        restarts: &[100 * MIN],
        down: &[(170 * MIN, 171 * MIN)],
    },
];

const ROUTES: [&str; 5] = [
    "/",
    "/api/items",
    "/q\"uote",
    "C:\\dir\\file",
    "/ünï/cødé\nline2",
];
const BUCKETS: [&str; 12] = [
    "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf",
];
const QUANTILES: [&str; 3] = ["0.5", "0.9", "0.99"];

/// The samples of one family: series (labels) and their points.
#[derive(Default)]
struct Family {
    series: Vec<(Labels, Vec<(i64, f64)>)>,
}

impl Family {
    fn push(&mut self, labels: &[(&str, &str)], t: i64, v: f64) {
        let labels: Labels = labels.iter().copied().collect();
        match self.series.iter_mut().find(|(l, _)| *l == labels) {
            Some((_, points)) => points.push((t, v)),
            None => self.series.push((labels, vec![(t, v)])),
        }
    }
}

/// The OpenMetrics file (ends with `# EOF`).
pub fn openmetrics() -> String {
    let mut rng = Rng(0x005E_ED0F_D1FF);
    // Family name, type, and its samples.
    let names: [(&str, &str); 14] = [
        ("up", "gauge"),
        ("app_request_count", "counter"),
        ("app_error_count", "counter"),
        ("app_in_flight_requests", "gauge"),
        ("app_request_latency_seconds", "histogram"),
        ("process_resident_memory_bytes", "gauge"),
        ("go_memstats_heap_inuse_bytes", "gauge"),
        ("scrape_duration_seconds", "gauge"),
        ("prometheus_tsdb_head_series", "gauge"),
        ("prometheus_tsdb_head_samples_appended", "counter"),
        ("prometheus_engine_query_duration_seconds", "summary"),
        ("weird_ratio", "gauge"),
        ("process_cpu_seconds", "counter"),
        ("temperature_celsius", "unknown"),
    ];
    let mut families: Vec<Family> = names.iter().map(|_| Family::default()).collect();
    let fam = |name: &str| names.iter().position(|(n, _)| *n == name).unwrap_or(0);

    for target in &TARGETS {
        let (job, instance) = (target.job, target.instance);
        // Counter state, reset at restarts.
        let mut requests = [[0.0f64; 2]; ROUTES.len()];
        let mut errors = [0.0f64; ROUTES.len()];
        let mut buckets = [0.0f64; BUCKETS.len()];
        let mut lat_sum = 0.0;
        let mut cpu = 0.0;
        let mut appended = 0.0;
        let mut restarts = target.restarts.iter().peekable();
        let mut in_flight = 3.0f64;
        let mut k = 0;
        loop {
            let grid = BASE_MS + k * INTERVAL_MS + target.offset_ms;
            k += 1;
            if grid >= BASE_MS + SPAN_MS {
                break;
            }
            let t = grid
                + if target.jitter_ms > 0 {
                    rng.range(-target.jitter_ms, target.jitter_ms)
                } else {
                    0
                };
            let rel = t - BASE_MS;
            if target.down.iter().any(|&(a, b)| (a..b).contains(&rel)) {
                continue;
            }
            // One scrape in a hundred is missed (not on the target exactly on the grid).
            if target.jitter_ms > 0 && rng.next().is_multiple_of(100) {
                continue;
            }
            if restarts.peek().is_some_and(|&&r| rel >= r) {
                restarts.next();
                requests = [[0.0; 2]; ROUTES.len()];
                errors = [0.0; ROUTES.len()];
                buckets = [0.0; BUCKETS.len()];
                lat_sum = 0.0;
                cpu = 0.0;
                appended = 0.0;
            }
            let base = [("job", job), ("instance", instance)];
            families[fam("up")].push(&base, t, 1.0);
            if job != "prometheus" {
                for (r, route) in ROUTES.iter().enumerate() {
                    for (s, status) in ["200", "500"].iter().enumerate() {
                        let rate = if s == 0 { 20.0 } else { 1.5 } * (r + 1) as f64;
                        requests[r][s] += (rate * rng.unit() * 2.0).floor();
                        families[fam("app_request_count")].push(
                            &[
                                ("__name__", "app_request_count_total"),
                                ("job", job),
                                ("instance", instance),
                                ("route", route),
                                ("status", status),
                            ],
                            t,
                            requests[r][s],
                        );
                    }
                    errors[r] += (rng.unit() * 3.0 * r as f64).floor();
                    families[fam("app_error_count")].push(
                        &[
                            ("__name__", "app_error_count_total"),
                            ("job", job),
                            ("instance", instance),
                            ("route", route),
                        ],
                        t,
                        errors[r],
                    );
                }
                in_flight = (in_flight + rng.range(-2, 2) as f64).clamp(0.0, 12.0);
                families[fam("app_in_flight_requests")].push(&base, t, in_flight);
                // Latencies: 40 observations a scrape, log-uniform between 1 ms and 20 s.
                for _ in 0..40 {
                    let v = 10f64.powf(-3.0 + rng.unit() * 4.3);
                    lat_sum += v;
                    for (b, le) in BUCKETS.iter().enumerate() {
                        let bound = if *le == "+Inf" {
                            f64::INFINITY
                        } else {
                            le.parse().unwrap_or(f64::INFINITY)
                        };
                        if v <= bound {
                            buckets[b] += 1.0;
                        }
                    }
                }
                for (b, le) in BUCKETS.iter().enumerate() {
                    families[fam("app_request_latency_seconds")].push(
                        &[
                            ("__name__", "app_request_latency_seconds_bucket"),
                            ("job", job),
                            ("instance", instance),
                            ("le", le),
                        ],
                        t,
                        buckets[b],
                    );
                }
                let f = fam("app_request_latency_seconds");
                let count = buckets[BUCKETS.len() - 1];
                families[f].push(
                    &[
                        ("__name__", "app_request_latency_seconds_count"),
                        ("job", job),
                        ("instance", instance),
                    ],
                    t,
                    count,
                );
                families[f].push(
                    &[
                        ("__name__", "app_request_latency_seconds_sum"),
                        ("job", job),
                        ("instance", instance),
                    ],
                    t,
                    lat_sum,
                );
            } else {
                let series = 1000.0 + (rel / MIN) as f64 * 3.0 + rng.range(0, 20) as f64;
                families[fam("prometheus_tsdb_head_series")].push(&base, t, series);
                appended += series;
                families[fam("prometheus_tsdb_head_samples_appended")].push(
                    &[
                        ("__name__", "prometheus_tsdb_head_samples_appended_total"),
                        ("job", job),
                        ("instance", instance),
                    ],
                    t,
                    appended,
                );
                for slice in ["inner_eval", "prepare_time", "queue_time"] {
                    for q in QUANTILES {
                        let v = if rng.next().is_multiple_of(50) {
                            f64::NAN
                        } else {
                            rng.unit() * 0.01 * q.parse::<f64>().unwrap_or(1.0)
                        };
                        families[fam("prometheus_engine_query_duration_seconds")].push(
                            &[
                                ("__name__", "prometheus_engine_query_duration_seconds"),
                                ("job", job),
                                ("instance", instance),
                                ("slice", slice),
                                ("quantile", q),
                            ],
                            t,
                            v,
                        );
                    }
                }
            }
            let mem = 5e7 + rng.range(0, 1_000_000) as f64 * 17.0;
            families[fam("process_resident_memory_bytes")].push(&base, t, mem);
            families[fam("go_memstats_heap_inuse_bytes")].push(&base, t, mem * 0.4);
            families[fam("scrape_duration_seconds")].push(&base, t, 0.001 + rng.unit() * 0.05);
            cpu += rng.unit() * 0.37;
            families[fam("process_cpu_seconds")].push(
                &[
                    ("__name__", "process_cpu_seconds_total"),
                    ("job", job),
                    ("instance", instance),
                ],
                t,
                cpu,
            );
            let weird = match rng.next() % 40 {
                0 => f64::NAN,
                1 => f64::INFINITY,
                2 => f64::NEG_INFINITY,
                3 => 0.0,
                _ => rng.unit() * 2.0 - 1.0,
            };
            families[fam("weird_ratio")].push(&base, t, weird);
            families[fam("temperature_celsius")].push(
                &[
                    ("job", job),
                    ("instance", instance),
                    ("room", "server \"A\" ☃"),
                ],
                t,
                20.0 + (rel as f64 / 3_600_000.0).sin() * 5.0,
            );
        }
    }

    let mut out = String::new();
    for ((name, kind), family) in names.iter().zip(&families) {
        let _ = writeln!(out, "# TYPE {name} {kind}");
        let _ = writeln!(out, "# HELP {name} Generated for the differential test.");
        for (labels, points) in &family.series {
            let labels = if labels.contains_key("__name__") {
                labels.clone()
            } else {
                let mut l = labels.clone();
                l.insert("__name__", name);
                l
            };
            for &(t, v) in points {
                write_openmetrics_sample(&mut out, &labels, t, v);
            }
        }
    }
    out.push_str("# EOF\n");
    out
}

/// PromQL for the differential test besides the dashboards' own: range functions,
/// aggregations, binary operators and matching, `histogram_quantile`, other functions,
/// `offset` and `@`. Deterministic and in a fixed order.
pub fn expressions() -> Vec<String> {
    let mut e: Vec<String> = Vec::new();
    let counters = [
        "app_request_count_total",
        "app_error_count_total",
        "prometheus_tsdb_head_samples_appended_total",
        "process_cpu_seconds_total",
        "app_request_count_total{route=~\"/api.*|C:.*\", status!=\"500\"}",
    ];
    for c in counters {
        for r in ["30s", "1m", "5m", "13m"] {
            for f in COUNTER_FUNCTIONS {
                e.push(format!("{f}({c}[{r}])"));
            }
            e.push(format!("sum by (job) (rate({c}[{r}]))"));
        }
    }
    let gauges = [
        "app_in_flight_requests",
        "process_resident_memory_bytes",
        "scrape_duration_seconds",
        "up",
        "weird_ratio",
    ];
    // Every other function over one range vector (delta, idelta, deriv, changes, the
    // *_over_time family but quantile_over_time and absent_over_time, asked below).
    let over_time: Vec<&str> = Func::ALL
        .iter()
        .filter(|f| {
            f.takes_range_vector()
                && !COUNTER_FUNCTIONS.contains(&f.name())
                && !matches!(
                    f,
                    Func::QuantileOverTime | Func::PredictLinear | Func::AbsentOverTime
                )
        })
        .map(|f| f.name())
        .collect();
    for g in gauges {
        for r in ["1m", "5m", "13m"] {
            for f in &over_time {
                e.push(format!("{f}({g}[{r}])"));
            }
        }
        e.push(format!("quantile_over_time(0.9, {g}[5m])"));
        e.push(format!("quantile_over_time(0, {g}[10m])"));
        e.push(format!("predict_linear({g}[10m], 600)"));
        e.push(format!("absent_over_time({g}[1m])"));
    }
    e.extend(
        [
            "absent_over_time(nonexistent_metric{job=\"x\"}[5m])",
            "absent_over_time(up{job=\"worker\", instance=\"w2\"}[2m])",
            "max_over_time(rate(app_request_count_total[1m])[10m:1m])",
            "avg_over_time(up[10m:30s])",
            "rate(app_request_count_total{route=\"/\"}[5m:15s])",
            "min_over_time(sum by (job) (app_in_flight_requests)[7m:45s])",
            "max_over_time(deriv(process_resident_memory_bytes[5m])[20m:2m])",
            "sum_over_time(up[5m:1m] offset 3m)",
            "count_over_time(weird_ratio[3m:20s])",
        ]
        .map(String::from),
    );
    let aggs = [
        "sum", "avg", "min", "max", "count", "group", "stddev", "stdvar",
    ];
    let groupings = [
        "",
        " by (job)",
        " without (instance)",
        " by (route, status)",
    ];
    for a in aggs {
        for g in groupings {
            e.push(format!("{a}{g} (app_request_count_total)"));
            e.push(format!("{a}{g} (rate(app_request_count_total[5m]))"));
        }
    }
    e.extend(
        [
            "topk(3, rate(app_request_count_total[5m]))",
            "bottomk(2, rate(app_request_count_total[5m]))",
            "topk by (job) (1, app_in_flight_requests)",
            "bottomk without (instance) (1, app_in_flight_requests)",
            "quantile(0.5, rate(app_request_count_total[5m]))",
            "quantile by (job) (0.9, app_in_flight_requests)",
            "quantile(0, app_in_flight_requests)",
            "quantile(1.5, app_in_flight_requests)",
            "count_values(\"value\", up)",
            "count_values by (job) (\"inflight\", app_in_flight_requests)",
            "sum(weird_ratio)",
            "max(weird_ratio)",
            "min by (job) (weird_ratio)",
            "avg(weird_ratio)",
            "sum by (slice) (prometheus_engine_query_duration_seconds)",
            "max by (quantile) (prometheus_engine_query_duration_seconds)",
            "count(temperature_celsius)",
            "avg by (room) (temperature_celsius)",
            // Binary operators and matching.
            "sum by (job) (rate(app_error_count_total[5m])) / sum by (job) (rate(app_request_count_total[5m]))",
            "rate(app_error_count_total[5m]) / on(job, instance, route) group_left sum by (job, instance, route) (rate(app_request_count_total[5m]))",
            "app_request_count_total * on(job, instance) group_left up",
            "up * on(job, instance) group_right app_request_count_total",
            "app_in_flight_requests * on(job, instance) group_left(room) temperature_celsius",
            "app_request_count_total + on(job) up",
            "app_request_count_total / ignoring(status) app_error_count_total",
            "app_request_count_total / ignoring(status) group_left app_error_count_total",
            "up == 0",
            "up != bool 1",
            "app_in_flight_requests > 5",
            "app_in_flight_requests > bool 5",
            "app_in_flight_requests <= on(job, instance) app_in_flight_requests offset 5m",
            "up and on(job) app_in_flight_requests",
            "up unless app_in_flight_requests",
            "up unless on(job) app_in_flight_requests",
            "app_in_flight_requests or up",
            "up or vector(0)",
            "sum(up{job=\"nope\"}) or vector(0)",
            "scalar(sum(up)) * up",
            "-up",
            "up / 0",
            "-up / 0",
            "(up - 1) / 0",
            "2 ^ app_in_flight_requests",
            "app_in_flight_requests % 3",
            "app_in_flight_requests atan2 up",
            "1 - app_in_flight_requests / 12",
            "weird_ratio * 2",
            "weird_ratio > 0",
            "weird_ratio == bool weird_ratio",
            "1 + 2 * 3",
            "0 / 0",
            "time() - timestamp(up)",
            // Other functions.
            "abs(delta(app_in_flight_requests[5m]))",
            "ceil(weird_ratio)",
            "floor(weird_ratio * 10)",
            "round(weird_ratio, 0.25)",
            "sqrt(app_in_flight_requests)",
            "exp(weird_ratio)",
            "ln(app_in_flight_requests)",
            "log2(process_resident_memory_bytes)",
            "log10(process_resident_memory_bytes)",
            "sgn(weird_ratio)",
            "clamp(app_in_flight_requests, 2, 8)",
            "clamp_min(app_in_flight_requests, 4)",
            "clamp_max(app_in_flight_requests, 4)",
            "sin(weird_ratio)",
            "cos(weird_ratio)",
            "tan(weird_ratio)",
            "asin(weird_ratio)",
            "acos(weird_ratio)",
            "atan(weird_ratio)",
            "sinh(weird_ratio)",
            "cosh(weird_ratio)",
            "tanh(weird_ratio)",
            "asinh(weird_ratio)",
            "acosh(app_in_flight_requests + 1)",
            "atanh(weird_ratio / 2)",
            "deg(weird_ratio)",
            "rad(app_in_flight_requests)",
            "pi()",
            "label_replace(up, \"host\", \"$1\", \"instance\", \"([^:]+):.*\")",
            "label_replace(app_request_count_total, \"r\", \"x$1\", \"route\", \"/(.*)\")",
            "label_join(up, \"id\", \"/\", \"job\", \"instance\")",
            "absent(up{job=\"nope\"})",
            "absent(up)",
            "absent(nonexistent_metric{job=\"a\", env=~\"p.*\"})",
            "scalar(sum(up))",
            "scalar(up)",
            "vector(1)",
            "vector(time())",
            "time()",
            "timestamp(up)",
            "timestamp(rate(app_request_count_total[5m]))",
            "sort(app_in_flight_requests)",
            "sort_desc(rate(app_request_count_total[5m]))",
            "minute()",
            "hour()",
            "day_of_month()",
            "day_of_week()",
            "days_in_month()",
            "month()",
            "year()",
            "minute(timestamp(up))",
            "hour(timestamp(up))",
            "day_of_week(timestamp(up))",
            "days_in_month(vector(1709164800))",
            // offset and @.
            "rate(app_request_count_total[5m] offset 10m)",
            "up offset 1h",
            "up offset 2h59m",
            "sum(rate(app_request_count_total[5m] @ 1700005400))",
            "app_in_flight_requests @ 1700003600.5",
            "up @ start()",
            "sum(rate(app_request_count_total[5m] @ end()))",
            "app_in_flight_requests offset -5m",
            "avg_over_time(app_in_flight_requests[10m] offset 30m)",
        ]
        .map(String::from),
    );
    let qs = [
        "0", "0.01", "0.25", "0.5", "0.9", "0.95", "0.99", "1", "1.5", "-1",
    ];
    for q in qs {
        e.push(format!(
            "histogram_quantile({q}, sum by (le) (rate(app_request_latency_seconds_bucket[5m])))"
        ));
        e.push(format!(
            "histogram_quantile({q}, sum by (job, le) (rate(app_request_latency_seconds_bucket[1m])))"
        ));
        e.push(format!(
            "histogram_quantile({q}, app_request_latency_seconds_bucket)"
        ));
    }
    e.extend(
        [
            "histogram_quantile(0.9, rate(app_request_latency_seconds_bucket{le!=\"+Inf\"}[5m]))",
            "histogram_quantile(0.5, rate(app_request_latency_seconds_bucket{le=~\"0.0.*|\\\\+Inf\"}[5m]))",
            "sum(rate(app_request_latency_seconds_sum[5m])) / sum(rate(app_request_latency_seconds_count[5m]))",
        ]
        .map(String::from),
    );
    e
}
