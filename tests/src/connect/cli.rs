//! The `promdash` binary for tests that run it: built with `cargo build -p promdash` into
//! the running test's target directory and profile (cargo does nothing when it is up to
//! date); `PROMDASH_BIN` names a binary to use instead.

use std::path::PathBuf;
use std::sync::OnceLock;

/// The path of the `promdash` binary, built once per test process.
pub fn promdash_binary() -> anyhow::Result<PathBuf> {
    static BINARY: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    BINARY
        .get_or_init(|| build().map_err(|e| format!("{e:#}")))
        .clone()
        .map_err(anyhow::Error::msg)
}

fn build() -> anyhow::Result<PathBuf> {
    crate::workspace_bin::workspace_binary("promdash", "PROMDASH_BIN")
}
