//! Logs go to a file, never to the terminal the dashboard draws on.

use std::path::{Path, PathBuf};

use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::EnvFilter;

/// Where logs go when `--log-file` is not given.
pub fn default_log_file() -> PathBuf {
    let state = std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".local/state")));
    let dir = state
        .map(|s| s.join("promdash"))
        .filter(|d| std::fs::create_dir_all(d).is_ok());
    dir.unwrap_or_else(std::env::temp_dir).join("promdash.log")
}

/// Lines waiting for the log writer thread.
const LOG_QUEUE_LINES: usize = 1024;

/// Starts logging to `file` at the level of `RUST_LOG` (default `info`). Keep the guard
/// alive until exit so the last lines are written.
pub fn init(file: &Path) -> std::io::Result<WorkerGuard> {
    let dir = file
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let name = file
        .file_name()
        .unwrap_or(std::ffi::OsStr::new("promdash.log"));
    // Open once here so a bad path is reported before the terminal is taken over.
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join(name))?;
    let appender = tracing_appender::rolling::never(dir, name);
    // The default queue holds 128,000 lines and is allocated (and touched) up front: 4 MiB
    // of resident memory for a dashboard that logs a few lines a minute. Lines beyond the
    // limit are dropped rather than blocking the event loop.
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .buffered_lines_limit(LOG_QUEUE_LINES)
        .finish(appender);
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_writer(writer)
        .with_ansi(false)
        .with_env_filter(filter)
        .try_init();
    Ok(guard)
}
