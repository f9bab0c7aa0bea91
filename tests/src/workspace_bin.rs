//! Binaries of this workspace for tests that run them as child processes.
//!
//! `env!("CARGO_BIN_EXE_...")` only exists in a crate's own tests, and a binary merely
//! found in `target/` could be stale, so [`workspace_binary`] runs `cargo build -p NAME`
//! into the running test's target directory and profile (a no-op when up to date) and
//! returns the path of the result. An environment variable can name a binary instead.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, bail};

/// Builds the binary `name` of the workspace package of the same name, or takes the path
/// in the environment variable `override_var` when it is set.
pub fn workspace_binary(name: &str, override_var: &str) -> anyhow::Result<PathBuf> {
    if let Some(path) = std::env::var_os(override_var) {
        let path = PathBuf::from(path);
        if !path.is_file() {
            bail!("{override_var}={} is not a file", path.display());
        }
        return Ok(path);
    }
    // The test executable lives in <target>/<profile dir>/deps/.
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
    cmd.args(["build", "--quiet", "-p", name, "--bin", name])
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
    let status = cmd
        .status()
        .with_context(|| format!("cannot run cargo to build {name}"))?;
    if !status.success() {
        bail!("`cargo build -p {name}` failed: {status}");
    }
    let binary = profile_dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    if !binary.is_file() {
        bail!("cargo built {name} but {} is missing", binary.display());
    }
    Ok(binary)
}
