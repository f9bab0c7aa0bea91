//! The query prompt's history, one expression per line, kept across runs.
//!
//! Location: `$PROMDASH_HISTORY_FILE` when set, else `$XDG_DATA_HOME/promdash/history`,
//! else `~/.local/share/promdash/history`. Reading and writing happen in the runtime
//! (at start and on [`crate::app::Effect::SaveHistory`]), never in `update`.

use std::io::Write as _;
use std::path::{Path, PathBuf};

/// Lines kept in memory and loaded at start.
pub const MAX_HISTORY: usize = 1000;

/// The environment variable that overrides the history file (tests use it).
pub const HISTORY_ENV: &str = "PROMDASH_HISTORY_FILE";

/// Where the history lives (None when there is no home directory).
pub fn path() -> Option<PathBuf> {
    path_from(|name| std::env::var_os(name))
}

/// [`path`] with the environment given by `env`.
pub fn path_from(env: impl Fn(&str) -> Option<std::ffi::OsString>) -> Option<PathBuf> {
    if let Some(p) = env(HISTORY_ENV).filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    let data = env("XDG_DATA_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| env("HOME").map(|h| Path::new(&h).join(".local/share")))?;
    Some(data.join("promdash").join("history"))
}

/// The last [`MAX_HISTORY`] lines of `file`, oldest first (empty when it does not exist).
pub fn load(file: &Path) -> Vec<String> {
    let Ok(text) = std::fs::read_to_string(file) else {
        return Vec::new();
    };
    // Escaped on reading too: the file may have been written by something else.
    let mut lines: Vec<String> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(promdash_queries::text::escaped)
        .collect();
    let extra = lines.len().saturating_sub(MAX_HISTORY);
    lines.drain(..extra);
    lines
}

/// Appends one expression (newlines folded to spaces, other control characters escaped
/// as in a PromQL string).
pub fn append(file: &Path, expr: &str) -> std::io::Result<()> {
    if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(file)?;
    let line = expr.replace(['\n', '\r'], " ");
    let line = promdash_queries::text::escape_control(&line);
    writeln!(f, "{line}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn location_follows_the_environment() {
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                vars.iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| std::ffi::OsString::from(v))
            }
        };
        assert_eq!(
            path_from(env(&[(HISTORY_ENV, "/t/h"), ("HOME", "/home/u")])),
            Some(PathBuf::from("/t/h"))
        );
        assert_eq!(
            path_from(env(&[("XDG_DATA_HOME", "/data"), ("HOME", "/home/u")])),
            Some(PathBuf::from("/data/promdash/history"))
        );
        assert_eq!(
            path_from(env(&[("XDG_DATA_HOME", "relative"), ("HOME", "/home/u")])),
            Some(PathBuf::from("/home/u/.local/share/promdash/history"))
        );
        assert_eq!(path_from(env(&[])), None);
    }

    #[test]
    fn append_then_load_round_trips() {
        let dir = std::env::temp_dir().join(format!("promdash-history-{}", std::process::id()));
        let file = dir.join("sub").join("history");
        let _ = std::fs::remove_dir_all(&dir);
        assert!(load(&file).is_empty());
        append(&file, "up").expect("append");
        append(&file, "sum(rate(x[1m]))\nby (le)").expect("append");
        assert_eq!(load(&file), vec!["up", "sum(rate(x[1m])) by (le)"]);
        // A value picked from a hostile server's completions: written escaped.
        append(&file, "x{a=\"\u{1b}]52;c;aGk=\u{7}\"}").expect("append");
        let text = std::fs::read_to_string(&file).expect("read");
        assert!(text.contains(r#"x{a="\x1b]52;c;aGk=\a"}"#), "{text:?}");
        // A file written by something else: escaped on reading.
        std::fs::write(&file, "up\u{1b}[2J\u{202e}\n").expect("write");
        assert_eq!(load(&file), vec![r"up\x1b[2J\u202e"]);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
