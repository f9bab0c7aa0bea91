//! Terminal input, read on a thread of its own and forwarded to the event loop as
//! messages.
//!
//! crossterm cannot be asked to read once the terminal has gone away (the tmux session or
//! SSH connection closed): its read loop takes the end of input for "try again" and spins
//! at full speed without ever returning. So the thread first waits on the terminal itself
//! with `poll(2)`, which reports a hang-up as such, and only then lets crossterm read what
//! is there. Waiting costs no CPU and needs no timer: the dashboard wakes only for input.
//! (A hang-up landing in the microseconds between `poll` saying "input" and crossterm
//! reading it is not covered; the terminal is then noticed gone when drawing fails.)
//!
//! Resizes arrive as SIGWINCH, which the event loop listens for (see `run`): crossterm
//! only sees them when it is reading.

use std::sync::Arc;
use std::time::Duration;

use ratatui::crossterm::event::{self, Event, KeyEventKind};
use tokio::sync::Notify;
use tokio::sync::mpsc::UnboundedSender;

use crate::app::Msg;

/// Starts the input thread. When the terminal goes away `hangup` is notified and the
/// thread ends; it also ends when the dashboard stops listening.
pub fn spawn(tx: UnboundedSender<Msg>, hangup: Arc<Notify>) {
    let spawned = std::thread::Builder::new()
        .name("promdash-input".into())
        .spawn(move || {
            if let Err(e) = forward(&tx) {
                tracing::info!("the terminal went away: {e}");
                hangup.notify_one();
            }
        });
    if let Err(e) = spawned {
        tracing::error!("cannot start the input thread: {e}");
    }
}

/// Forwards keys and resizes until the receiver is gone (`Ok`) or the terminal is (`Err`).
fn forward(tx: &UnboundedSender<Msg>) -> std::io::Result<()> {
    let tty = Tty::open()?;
    loop {
        tty.wait_for_input()?;
        // One read may hold several events (a paste, a key with an escape sequence): take
        // every one crossterm has parsed before waiting on the terminal again.
        loop {
            let msg = match event::read()? {
                Event::Key(k) if k.kind != KeyEventKind::Release => Some(Msg::Key(k)),
                Event::Resize(w, h) => Some(Msg::Resize(w, h)),
                _ => None,
            };
            if let Some(msg) = msg
                && tx.send(msg).is_err()
            {
                return Ok(());
            }
            if !event::poll(Duration::ZERO)? {
                break;
            }
        }
    }
}

/// The terminal crossterm reads from: standard input when it is one, `/dev/tty` otherwise.
#[cfg(unix)]
enum Tty {
    Stdin(std::io::Stdin),
    Device(std::fs::File),
}

#[cfg(unix)]
impl Tty {
    fn open() -> std::io::Result<Self> {
        use std::io::IsTerminal as _;
        let stdin = std::io::stdin();
        if stdin.is_terminal() {
            Ok(Self::Stdin(stdin))
        } else {
            std::fs::File::open("/dev/tty").map(Self::Device)
        }
    }

    /// Blocks until there is input to read; an error once the terminal has hung up.
    fn wait_for_input(&self) -> std::io::Result<()> {
        use rustix::event::{PollFd, PollFlags, poll};
        use std::os::fd::AsFd as _;
        let fd = match self {
            Self::Stdin(s) => s.as_fd(),
            Self::Device(f) => f.as_fd(),
        };
        loop {
            let mut fds = [PollFd::new(&fd, PollFlags::IN)];
            match poll(&mut fds, None) {
                Ok(_) => {}
                Err(rustix::io::Errno::INTR) => continue,
                Err(e) => return Err(e.into()),
            }
            let got = fds[0].revents();
            if got.intersects(PollFlags::HUP | PollFlags::ERR | PollFlags::NVAL) {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::BrokenPipe,
                    "the terminal hung up",
                ));
            }
            if got.contains(PollFlags::IN) {
                return Ok(());
            }
        }
    }
}

/// Elsewhere crossterm's own blocking read is used as it is.
#[cfg(not(unix))]
struct Tty;

#[cfg(not(unix))]
impl Tty {
    fn open() -> std::io::Result<Self> {
        Ok(Self)
    }

    fn wait_for_input(&self) -> std::io::Result<()> {
        Ok(())
    }
}
