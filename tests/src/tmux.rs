//! A program in a terminal for the tests: a tmux server of its own (`tmux -L <socket>`,
//! no user config) running one command in a detached session of a fixed size.
//!
//! The command runs directly as the pane's process (no shell in between), so
//! [`Tmux::pane_pid`] is its pid. The environment is the test's, minus every `PROMDASH_*`
//! variable, plus the ones given. The server is killed when the handle is dropped.

use std::ffi::OsStr;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

/// One tmux server with one session.
pub struct Tmux {
    socket: String,
}

impl Tmux {
    /// Starts `program args…` in a `width`×`height` terminal with `env` set.
    /// Fails naming the package when tmux is missing.
    pub fn start(
        name: &str,
        (width, height): (u16, u16),
        program: &Path,
        args: &[String],
        env: &[(&str, &str)],
    ) -> anyhow::Result<Self> {
        if Command::new("tmux").arg("-V").output().is_err() {
            bail!("tmux is not installed (Debian/Ubuntu: apt-get install tmux)");
        }
        let socket = format!("promdash-{name}-{}", std::process::id());
        let mut cmd = Command::new("tmux");
        cmd.args(["-L", &socket, "-f", "/dev/null", "new-session", "-d", "-x"])
            .arg(width.to_string())
            .arg("-y")
            .arg(height.to_string())
            .arg(program)
            .args(args)
            .env("TERM", "xterm-256color");
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("PROMDASH_") {
                cmd.env_remove(key);
            }
        }
        cmd.envs(env.iter().copied());
        let out = cmd.output().context("cannot run tmux")?;
        if !out.status.success() {
            bail!(
                "tmux new-session failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(Self { socket })
    }

    /// Runs `tmux -L <socket> args…`; its standard output.
    pub fn tmux(&self, args: &[&str]) -> anyhow::Result<String> {
        let out = Command::new("tmux")
            .args(["-L", &self.socket])
            .args(args)
            .output()?;
        if !out.status.success() {
            bail!(
                "tmux {args:?} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// The pid of the program in the pane.
    pub fn pane_pid(&self) -> anyhow::Result<u32> {
        let out = self.tmux(&["display-message", "-p", "-t", "0", "#{pane_pid}"])?;
        out.trim()
            .parse()
            .with_context(|| format!("tmux printed {out:?} for #{{pane_pid}}"))
    }

    /// What the terminal shows now, one line per row (empty once the session is gone).
    pub fn screen(&self) -> String {
        self.tmux(&["capture-pane", "-p", "-t", "0"])
            .unwrap_or_default()
    }

    /// Sends keys, in tmux's `send-keys` notation (`?`, `q`, `Enter`, `C-c`).
    pub fn keys(&self, keys: &[&str]) -> anyhow::Result<()> {
        let mut args = vec!["send-keys", "-t", "0"];
        args.extend_from_slice(keys);
        self.tmux(&args).map(drop)
    }

    /// Closes the session as a user would (`tmux kill-session`): the terminal goes away.
    pub fn kill_session(&self) -> anyhow::Result<()> {
        self.tmux(&["kill-session", "-t", "0"]).map(drop)
    }

    /// Polls the screen every 50 ms until `pred` holds; the screen then, or an error
    /// with the last screen after `limit`.
    pub async fn wait_for(
        &self,
        what: &str,
        limit: Duration,
        pred: impl Fn(&str) -> bool,
    ) -> anyhow::Result<String> {
        let deadline = Instant::now() + limit;
        loop {
            let s = self.screen();
            if pred(&s) {
                return Ok(s);
            }
            if Instant::now() >= deadline {
                bail!("timed out after {limit:?} waiting for {what}; screen:\n{s}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// `s` as one word for `sh -c`, in single quotes.
pub fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// `words` as one `sh -c` command line, each quoted.
pub fn shell_line(words: &[String]) -> String {
    words
        .iter()
        .map(|w| shell_quote(w))
        .collect::<Vec<_>>()
        .join(" ")
}

impl Tmux {
    /// Runs `program args…` through `sh` in a `width`×`height` terminal, which stays open
    /// when the program ends (`exited <status>` on its last line), so that its last screen
    /// can still be read.
    pub fn start_kept_open(
        name: &str,
        size: (u16, u16),
        program: &Path,
        args: &[String],
    ) -> anyhow::Result<Self> {
        let mut words = vec![program.display().to_string()];
        words.extend_from_slice(args);
        let line = shell_line(&words);
        Self::start(
            name,
            size,
            Path::new("sh"),
            &["-c".into(), format!("{line}; echo exited $?; sleep 600")],
            &[],
        )
    }
}

impl Tmux {
    /// This workspace's promdash with `args` in a 120×40 terminal, `TZ=UTC`, logging to
    /// `dir/promdash.log`.
    pub fn start_promdash(
        name: &str,
        dir: &Path,
        args: &[&dyn AsRef<OsStr>],
    ) -> anyhow::Result<Self> {
        let mut words: Vec<String> = args
            .iter()
            .map(|a| a.as_ref().to_string_lossy().into_owned())
            .collect();
        words.push("--log-file".into());
        words.push(dir.join("promdash.log").display().to_string());
        Self::start(
            name,
            (120, 40),
            &crate::connect::promdash_binary()?,
            &words,
            &[("TZ", "UTC")],
        )
    }
}

impl Tmux {
    /// promdash on the dashboard file `dashboard` against the server at `url`, no bell,
    /// logging to `dir/promdash.log`, `extra` arguments last; in a 120×40 terminal kept
    /// open when it ends (see [`start_kept_open`](Self::start_kept_open)).
    pub fn start_dashboard_kept_open(
        name: &str,
        dir: &Path,
        dashboard: &Path,
        url: &str,
        extra: &[&str],
    ) -> anyhow::Result<Self> {
        let mut args = vec![
            "--dashboard".to_owned(),
            dashboard.display().to_string(),
            "--url".to_owned(),
            url.to_owned(),
            "--no-bell".to_owned(),
            "--log-file".to_owned(),
            dir.join("promdash.log").display().to_string(),
        ];
        args.extend(extra.iter().map(|a| (*a).to_owned()));
        let binary = crate::connect::promdash_binary()?;
        Self::start_kept_open(name, (120, 40), &binary, &args)
    }
}

/// The number in the value row of the table panel titled `title` on `screen` (its
/// header row says `value`); `None` until the panel shows one.
pub fn table_value(screen: &str, title: &str) -> Option<f64> {
    let mut lines = screen.lines().skip_while(|l| !l.contains(title));
    lines.next()?;
    if !lines.next()?.contains("value") {
        return None;
    }
    lines.next()?.split(['│', '┃']).nth(1)?.trim().parse().ok()
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .output();
    }
}

/// CPU time a process has used so far (user + system), from `/proc/<pid>/stat`; `None`
/// once it is gone.
pub fn cpu_time(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces: count fields after its closing paren.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // Fields 14 and 15 of the whole line (utime, stime) are 12 and 13 after the name.
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // USER_HZ is 100 on every Linux this runs on.
    Some(Duration::from_millis(ticks * 10))
}

/// Whether `pid` still runs (a zombie counts as gone).
pub fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            let rest = &s[s.rfind(')')? + 1..];
            rest.split_whitespace()
                .next()
                .map(|st| st != "Z" && st != "X")
        })
        .unwrap_or(false)
}
