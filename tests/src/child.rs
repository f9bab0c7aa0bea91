//! Child processes: finding binaries, free ports, spawning with logs to a file, killing
//! by pid.

use std::fs::File;
use std::net::{IpAddr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

/// A free TCP port on 127.0.0.1 (bound then released; the caller binds it next).
pub fn free_port() -> anyhow::Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("cannot bind 127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

/// Fails unless `target` (`host:port`) is on the loopback interface: `127.x.x.x`, `::1`
/// or `localhost`. Tests never scrape or load anything else.
pub fn ensure_loopback(target: &str) -> anyhow::Result<()> {
    let host = match target.parse::<SocketAddr>() {
        Ok(addr) => return check_ip(addr.ip(), target),
        Err(_) => target.rsplit_once(':').map_or(target, |(h, _)| h),
    };
    if host == "localhost" {
        return Ok(());
    }
    match host.trim_matches(['[', ']']).parse::<IpAddr>() {
        Ok(ip) => check_ip(ip, target),
        Err(_) => bail!("target {target:?} is not a loopback address (127.0.0.1, ::1, localhost)"),
    }
}

fn check_ip(ip: IpAddr, target: &str) -> anyhow::Result<()> {
    if ip.is_loopback() {
        Ok(())
    } else {
        bail!("target {target:?} is not a loopback address (127.0.0.1, ::1, localhost)")
    }
}

/// Finds `name` on `PATH` or in `/usr/bin`; the error says which Debian package provides
/// it (`apt-get install <package>`).
pub fn find_binary(name: &str, package: &str) -> anyhow::Result<PathBuf> {
    let dirs = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default();
    dirs.iter()
        .map(PathBuf::as_path)
        .chain([Path::new("/usr/bin"), Path::new("/usr/sbin")])
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .with_context(|| {
            format!(
                "`{name}` not found on PATH or in /usr/bin: install it with \
                 `apt-get install {package}` (scripts/test.sh does this)"
            )
        })
}

/// A running child process whose output goes to a log file; killed on Drop.
pub(crate) struct ChildProcess {
    child: Child,
    name: String,
    log: PathBuf,
}

impl ChildProcess {
    /// Spawns `program args`, stdout and stderr appended to `log`, without any
    /// `PROMDASH_SERVICE_*` environment variables.
    pub(crate) fn spawn(program: &Path, args: &[String], log: &Path) -> anyhow::Result<Self> {
        let out = File::options()
            .create(true)
            .append(true)
            .open(log)
            .with_context(|| format!("cannot open log file {}", log.display()))?;
        let err = out.try_clone()?;
        let mut cmd = Command::new(program);
        // An exported PROMDASH_SERVICE_* must not change what a test starts.
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("PROMDASH_SERVICE_") {
                cmd.env_remove(key);
            }
        }
        let child = cmd
            .args(args)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .with_context(|| format!("cannot start {}", program.display()))?;
        Ok(Self {
            child,
            name: program
                .file_name()
                .map_or_else(|| "child".into(), |n| n.to_string_lossy().into_owned()),
            log: log.to_owned(),
        })
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Fails with the end of the log if the process has exited.
    pub(crate) fn check_alive(&mut self) -> anyhow::Result<()> {
        if let Some(status) = self.child.try_wait()? {
            bail!(
                "{} exited early with {status}; end of its log ({}):\n{}",
                self.name,
                self.log.display(),
                self.log_tail()
            );
        }
        Ok(())
    }

    /// The last few kilobytes of the log, for error messages.
    pub(crate) fn log_tail(&self) -> String {
        log_tail(&self.log)
    }

    /// Waits up to `timeout` for the process to exit by itself.
    pub(crate) async fn wait_timeout(
        &mut self,
        timeout: Duration,
    ) -> anyhow::Result<Option<ExitStatus>> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Ok(Some(status));
            }
            if Instant::now() >= deadline {
                return Ok(None);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// SIGTERM (via `kill -TERM <pid>`), then SIGKILL if it has not exited in `grace`.
    pub(crate) async fn stop(&mut self, grace: Duration) -> anyhow::Result<ExitStatus> {
        if let Some(status) = self.child.try_wait()? {
            return Ok(status);
        }
        send_signal(self.pid(), "TERM")?;
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait()? {
                return Ok(status);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.child.kill()?;
        Ok(self.child.wait()?)
    }
}

impl Drop for ChildProcess {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Sends `signal` (`TERM`, `INT`, `KILL`, ...) to one process by pid with `kill(1)`.
pub(crate) fn send_signal(pid: u32, signal: &str) -> anyhow::Result<()> {
    let status = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .status()
        .context("cannot run kill(1)")?;
    if !status.success() {
        bail!("kill -{signal} {pid} failed: {status}");
    }
    Ok(())
}

pub(crate) fn log_tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let start = text.len().saturating_sub(4000);
    let start = (start..text.len())
        .find(|i| text.is_char_boundary(*i))
        .unwrap_or(text.len());
    text[start..].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_only() {
        for ok in [
            "127.0.0.1:80",
            "[::1]:9090",
            "localhost:8080",
            "127.1.2.3:1",
        ] {
            assert!(ensure_loopback(ok).is_ok(), "{ok}");
        }
        for bad in [
            "10.1.1.1:80",
            "example.com:80",
            "0.0.0.0:80",
            "[2001:db8::1]:1",
        ] {
            assert!(ensure_loopback(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn missing_binary_names_the_package() {
        let err = find_binary("no-such-binary-promdash", "some-package").expect_err("missing");
        assert!(
            err.to_string().contains("apt-get install some-package"),
            "{err}"
        );
    }

    #[test]
    fn free_ports_are_loopback_and_nonzero() {
        assert_ne!(free_port().expect("port"), 0);
    }
}
