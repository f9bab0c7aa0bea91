//! Issue 3: the catalog queries give the same answers on a real Prometheus 2.42, on a
//! real VictoriaMetrics 1.79 holding the same samples, and through `promtool query`.
//!
//! Prometheus scrapes promdash-service every second and remote-writes every sample to
//! VictoriaMetrics, so both hold exactly the same data. The load is deterministic (a
//! request every 20 ms, every fifth one failing, latencies cycling through a fixed
//! pattern), so that PromQL's and MetricsQL's slightly different `rate()` windows see the
//! same mix of requests. Queries run at a fixed time some seconds in the past, inside the
//! steady part of the load.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, bail, ensure};
use promdash_queries::catalog;
use promdash_queries::model::{Labels, QueryData, QueryResult};
use promdash_queries::{ClientConfig, PromClient};
use promdash_tests::queries_support::{
    VictoriaReceiver, promtool_instant_json, promtool_range_json, remote_write_yaml,
};
use promdash_tests::{Prometheus, ServiceConfig, scrape_config, start_service};

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// Series by labels (without `__name__`), each a list of (time, value).
type Points = BTreeMap<Labels, Vec<(f64, f64)>>;

fn points(r: &QueryResult) -> Points {
    let mut out = Points::new();
    let strip = |l: &Labels| {
        let mut l = l.clone();
        l.remove("__name__");
        l
    };
    match &r.data {
        QueryData::Vector(v) => {
            for s in v {
                out.insert(strip(&s.labels), vec![(s.sample.t, s.sample.v)]);
            }
        }
        QueryData::Matrix(m) => {
            for s in m {
                out.insert(
                    strip(&s.labels),
                    s.samples.iter().map(|p| (p.t, p.v)).collect(),
                );
            }
        }
        QueryData::Scalar(s) => {
            out.insert(Labels::new(), vec![(s.t, s.v)]);
        }
        QueryData::String { .. } => {}
    }
    out
}

/// promtool's `-o json` output: a vector or matrix as the API writes it.
fn promtool_points(json: &str) -> anyhow::Result<Points> {
    let v: serde_json::Value = serde_json::from_str(json).context("promtool JSON")?;
    let mut out = Points::new();
    for s in v.as_array().context("an array")? {
        let mut labels = Labels::new();
        for (k, val) in s["metric"].as_object().context("metric")? {
            if k != "__name__" {
                labels.insert(k, val.as_str().unwrap_or_default());
            }
        }
        let pair = |p: &serde_json::Value| -> anyhow::Result<(f64, f64)> {
            let t = p[0].as_f64().context("time")?;
            let v = promdash_queries::model::parse_value(p[1].as_str().context("value")?)
                .context("number")?;
            Ok((t, v))
        };
        let pts = if s.get("values").is_some() {
            s["values"]
                .as_array()
                .context("values")?
                .iter()
                .map(pair)
                .collect::<anyhow::Result<Vec<_>>>()?
        } else {
            vec![pair(&s["value"])?]
        };
        out.insert(labels, pts);
    }
    Ok(out)
}

fn close(a: f64, b: f64, rel: f64) -> bool {
    (a.is_nan() && b.is_nan()) || a == b || (a - b).abs() <= rel * a.abs().max(b.abs())
}

/// Every series of `want` is in `got` with the same values at the same times (within
/// `rel`); at least `min_share` of each series' points must exist in both.
fn compare(
    what: &str,
    want: &Points,
    got: &Points,
    rel: f64,
    min_share: f64,
) -> anyhow::Result<()> {
    ensure!(!want.is_empty(), "{what}: no series at all");
    ensure!(
        want.keys().eq(got.keys()),
        "{what}: different series:\n  {:?}\n  {:?}",
        want.keys().collect::<Vec<_>>(),
        got.keys().collect::<Vec<_>>()
    );
    for (labels, wp) in want {
        let gp: BTreeMap<i64, f64> = got[labels]
            .iter()
            .map(|(t, v)| ((t * 1000.0).round() as i64, *v))
            .collect();
        let mut matched = 0;
        for (t, v) in wp {
            if let Some(g) = gp.get(&((t * 1000.0).round() as i64)) {
                matched += 1;
                ensure!(
                    close(*v, *g, rel),
                    "{what} {labels:?} at {t}: {v} vs {g} (more than {}% apart)",
                    rel * 100.0
                );
            }
        }
        ensure!(
            matched as f64 >= min_share * wp.len() as f64 && matched > 0,
            "{what} {labels:?}: only {matched} of {} points at the same times",
            wp.len()
        );
    }
    Ok(())
}

/// Deterministic load: a request every 20 ms for `total` requests; every fifth fails;
/// latencies cycle through ten values spread over the histogram's buckets.
async fn steady_load(base: String, total: u32) {
    const DELAYS_MS: [u32; 10] = [3, 8, 12, 18, 22, 30, 35, 45, 60, 120];
    let http = promdash_tests::http_client();
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    for i in 0..total {
        tick.tick().await;
        let fail = if i % 5 == 0 { "&fail=1" } else { "" };
        let url = format!(
            "{base}/process?delay_ms={}{fail}",
            DELAYS_MS[i as usize % 10]
        );
        let http = http.clone();
        tokio::spawn(async move {
            let _ = http.get(url).send().await;
        });
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn catalog_queries_agree_on_prometheus_victoria_metrics_and_promtool() -> anyhow::Result<()> {
    let service = start_service(ServiceConfig::ephemeral()).await?;
    let vm = VictoriaReceiver::start().await?;
    let yaml = scrape_config(&[service.addr()], &[])? + &remote_write_yaml(&vm.write_url());
    let mut prom = Prometheus::start_with_config(&yaml).await?;
    prom.wait_for_targets(1).await?;

    let load_start = now();
    // 110 s of load; the comparisons below use [30s] windows over the minute after the
    // first 35 s.
    let load = tokio::spawn(steady_load(service.url(), 5500));

    let window = Duration::from_secs(30);
    let step = 5.0;
    // Evaluation time: 95 s into the load, on a step boundary; queried ≥ 10 s later so
    // both backends hold every sample up to it.
    let t = ((load_start + 95.0) / step).floor() * step;
    let range_start = t - 60.0;
    let wait = t + 10.0 - now();
    tokio::time::sleep(Duration::from_secs_f64(wait.max(0.0))).await;

    let prom_client = PromClient::new(ClientConfig::new(prom.url()))?;
    let vm_client = PromClient::new(ClientConfig::new(vm.url()))?;

    // Both have the same samples: the request total at `t` is equal (bounded wait for
    // the last remote-write batch).
    let total = catalog::request_total(&[]);
    let mut tries = 0;
    loop {
        let p = points(&prom_client.query(&total, Some(t)).await?);
        let v = points(&vm_client.query(&total, Some(t)).await?);
        if !p.is_empty() && p.keys().eq(v.keys()) && compare("total", &p, &v, 0.0, 1.0).is_ok() {
            break;
        }
        tries += 1;
        if tries > 30 {
            bail!(
                "VictoriaMetrics never caught up with Prometheus at {t}: {p:?} vs {v:?}\n{}",
                vm.log()
            );
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }

    for q in catalog::catalog(window) {
        let name = q.name;
        // Instant, Prometheus vs VictoriaMetrics.
        let p = prom_client
            .query(&q.expr, Some(t))
            .await
            .with_context(|| format!("{name} on Prometheus"))?;
        let v = vm_client
            .query(&q.expr, Some(t))
            .await
            .with_context(|| format!("{name} on VictoriaMetrics"))?;
        let (p, v) = (points(&p), points(&v));
        compare(
            &format!("{name} instant (Prometheus vs VictoriaMetrics)"),
            &p,
            &v,
            0.01,
            1.0,
        )?;

        // Instant, our client vs promtool on the same Prometheus: the same numbers.
        let pt = promtool_points(&promtool_instant_json(&prom.url(), &q.expr, t)?)?;
        compare(
            &format!("{name} instant (promdash vs promtool)"),
            &pt,
            &p,
            1e-12,
            1.0,
        )?;

        // Range over the steady minute, Prometheus vs VictoriaMetrics vs promtool.
        let pr = prom_client
            .query_range(&q.expr, range_start, t, Duration::from_secs_f64(step))
            .await
            .with_context(|| format!("{name} range on Prometheus"))?;
        let vr = vm_client
            .query_range(&q.expr, range_start, t, Duration::from_secs_f64(step))
            .await
            .with_context(|| format!("{name} range on VictoriaMetrics"))?;
        let (pr, vr) = (points(&pr), points(&vr));
        ensure!(
            pr.values().all(|s| s.len() == 13),
            "{name}: 60 s every 5 s is 13 points on Prometheus: {pr:?}"
        );
        compare(
            &format!("{name} range (Prometheus vs VictoriaMetrics)"),
            &pr,
            &vr,
            0.01,
            0.9,
        )?;
        let ptr = promtool_points(&promtool_range_json(
            &prom.url(),
            &q.expr,
            range_start,
            t,
            step,
        )?)?;
        compare(
            &format!("{name} range (promdash vs promtool)"),
            &ptr,
            &pr,
            1e-12,
            1.0,
        )?;
    }

    // The numbers are the ones the load implies: 50 requests/s, a fifth failing.
    let rate = points(
        &prom_client
            .query(&catalog::request_rate(window, &[]), Some(t))
            .await?,
    );
    let r = rate.values().next().context("a rate")?[0].1;
    ensure!(
        (45.0..=55.0).contains(&r),
        "request rate {r}, expected about 50/s"
    );
    let ratio = points(
        &prom_client
            .query(&catalog::error_ratio(window, &[]), Some(t))
            .await?,
    );
    let e = ratio.values().next().context("a ratio")?[0].1;
    ensure!(
        (0.18..=0.22).contains(&e),
        "error ratio {e}, expected about 0.2"
    );
    // p99: the top tenth of requests take 120 ms, in the (0.1, 0.25] bucket.
    let p99 = points(
        &prom_client
            .query(&catalog::latency_quantile(0.99, window, &[]), Some(t))
            .await?,
    );
    let q99 = p99.values().next().context("a p99")?[0].1;
    ensure!(
        (0.1..=0.25).contains(&q99),
        "p99 {q99}, expected in (0.1, 0.25]"
    );

    load.abort();
    Ok(())
}
