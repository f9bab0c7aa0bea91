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

/// Opens `path` for appending, creating it readable by its owner only (0600). The log
/// may live in a shared directory such as `/tmp`: a symbolic link there, which promdash
/// never creates, is refused rather than followed (it could point anywhere the user can
/// write), and so is a path swapped for one between the check and the open.
pub fn open_log(path: &Path) -> std::io::Result<std::fs::File> {
    let refuse = || {
        std::io::Error::other(format!(
            "{} is a symbolic link, which promdash does not follow for its log; remove it \
             or choose another --log-file",
            path.display()
        ))
    };
    if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
        return Err(refuse());
    }
    let mut options = std::fs::OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let file = options.open(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt as _;
        let opened = file.metadata()?;
        let now = std::fs::symlink_metadata(path)?;
        if now.file_type().is_symlink() || (now.dev(), now.ino()) != (opened.dev(), opened.ino()) {
            return Err(refuse());
        }
    }
    Ok(file)
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
    // Opened once, here, so a bad path is reported before the terminal is taken over;
    // the writer thread writes to this very file, never reopening the path.
    let appender = open_log(&dir.join(name))?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_is_private_and_never_a_symlink() {
        let dir = tempfile::tempdir().expect("temp dir");
        let log = dir.path().join("promdash.log");
        drop(open_log(&log).expect("created"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&log)
                .expect("exists")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "precious").expect("write");
        let link = dir.path().join("link.log");
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(&victim, &link).expect("symlink");
            let e = open_log(&link).expect_err("a symlink is refused");
            assert!(e.to_string().contains("symbolic link"), "{e}");
            assert_eq!(std::fs::read_to_string(&victim).expect("read"), "precious");
        }
    }
}
