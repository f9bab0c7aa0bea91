//! The `promdash` binary for tests that run it: built with `cargo build -p promdash` into
//! the running test's target directory and profile (cargo does nothing when it is up to
//! date); `PROMDASH_BIN` names a binary to use instead.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use anyhow::{Context as _, bail};

/// The path of the `promdash` binary, built once per test process.
pub fn promdash_binary() -> anyhow::Result<PathBuf> {
    static BINARY: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    BINARY
        .get_or_init(|| build().map_err(|e| format!("{e:#}")))
        .clone()
        .map_err(anyhow::Error::msg)
}

fn build() -> anyhow::Result<PathBuf> {
    if let Some(path) = std::env::var_os("PROMDASH_BIN") {
        return Ok(PathBuf::from(path));
    }
    let exe = std::env::current_exe()?;
    let profile_dir = exe
        .parent()
        .filter(|d| d.ends_with("deps"))
        .and_then(Path::parent)
        .with_context(|| format!("cannot find the target dir from {}", exe.display()))?;
    let target_dir = profile_dir.parent().context("no target dir")?;
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.toml");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args(["build", "--quiet", "-p", "promdash", "--bin", "promdash"])
        .arg("--manifest-path")
        .arg(&manifest)
        .arg("--target-dir")
        .arg(target_dir);
    match profile_dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") => {}
        Some("release") => {
            cmd.arg("--release");
        }
        Some(other) => {
            cmd.args(["--profile", other]);
        }
        None => bail!("odd profile dir {}", profile_dir.display()),
    }
    let status = cmd.status().context("cannot run cargo")?;
    if !status.success() {
        bail!("`cargo build -p promdash` failed: {status}");
    }
    let binary = profile_dir.join(format!("promdash{}", std::env::consts::EXE_SUFFIX));
    if !binary.is_file() {
        bail!("cargo built promdash but {} is missing", binary.display());
    }
    Ok(binary)
}
