//! Store memory: bytes per sample of closed chunks, and the process's RSS for 1,100 series
//! × 6 h at 1 s. Prints its figures (`cargo bench -p promdash-engine --bench store_memory`).

mod workload;

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

fn report(name: &str, duration_ms: i64, interval_ms: i64) {
    let before = rss_kib();
    let t0 = std::time::Instant::now();
    let store = workload::build(duration_ms, interval_ms);
    let took = t0.elapsed();
    let after = rss_kib();
    let (closed, bytes) = store.closed_chunk_stats();
    println!(
        "{name}: {} series, {} samples ({} in closed chunks), {:.3} bytes/sample in closed chunks, RSS {:.1} MiB (+{:.1} MiB for the store), appended in {:.2?} ({:.0} samples/s)",
        store.series_count(),
        store.sample_count(),
        closed,
        bytes as f64 / closed.max(1) as f64,
        after as f64 / 1024.0,
        after.saturating_sub(before) as f64 / 1024.0,
        took,
        store.sample_count() as f64 / took.as_secs_f64(),
    );
    drop(store);
}

fn main() {
    // `cargo bench` passes `--bench`; nothing to parse.
    report("1,100 series x 6 h at 15 s", 6 * 3_600_000, 15_000);
    report("1,100 series x 6 h at 1 s", 6 * 3_600_000, 1_000);
}
