//! The terminal rendering as text: what the dashboard shows at the state's size, drawn
//! into an off-screen buffer by the same view, as plain text (for chat and tickets) or
//! with ANSI colours (for `less -R` and terminals).

use std::fmt::Write as _;

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::style::{Color, Modifier};

use super::Target;
use crate::app::State;

/// The screen of `target` (a panel is shown full screen) as lines of text.
pub fn render(state: &State, target: Target, ansi: bool) -> String {
    let buf = screen(state, target);
    if ansi { to_ansi(&buf) } else { to_plain(&buf) }
}

/// The screen `state` draws at its size; a panel target full screen.
pub fn screen(state: &State, target: Target) -> Buffer {
    let mut state = state.clone();
    state.help = false;
    if let Target::Panel(i) = target {
        state.focus = i;
        state.fullscreen = true;
        state.relayout();
    }
    let (w, h) = state.size;
    let mut terminal = match Terminal::new(TestBackend::new(w.max(1), h.max(1))) {
        Ok(t) => t,
        // A test backend cannot fail to start.
        Err(_) => return Buffer::empty(ratatui::layout::Rect::new(0, 0, 0, 0)),
    };
    let _ = terminal.draw(|f| crate::ui::view(&state, f));
    terminal.backend().buffer().clone()
}

/// Rows of symbols, trailing spaces removed.
pub fn to_plain(buf: &Buffer) -> String {
    let mut out = String::new();
    let area = buf.area;
    for y in area.top()..area.bottom() {
        let mut line = String::new();
        for x in area.left()..area.right() {
            line.push_str(buf[(x, y)].symbol());
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// Rows of symbols with SGR sequences wherever the style changes, reset at each line end.
pub fn to_ansi(buf: &Buffer) -> String {
    let mut out = String::new();
    let area = buf.area;
    for y in area.top()..area.bottom() {
        let mut current: Option<(Color, Color, Modifier)> = None;
        // Up to the last cell that is not a plain space.
        let last = (area.left()..area.right())
            .rev()
            .find(|&x| {
                let c = &buf[(x, y)];
                c.symbol() != " " || c.bg != Color::Reset
            })
            .map_or(area.left(), |x| x + 1);
        for x in area.left()..last {
            let c = &buf[(x, y)];
            let style = (c.fg, c.bg, c.modifier);
            if current != Some(style) {
                out.push_str(&sgr(c.fg, c.bg, c.modifier));
                current = Some(style);
            }
            out.push_str(c.symbol());
        }
        if current.is_some() {
            out.push_str("\x1b[0m");
        }
        out.push('\n');
    }
    out
}

/// One SGR sequence setting exactly this style.
fn sgr(fg: Color, bg: Color, m: Modifier) -> String {
    let mut codes = vec!["0".to_owned()];
    if m.contains(Modifier::BOLD) {
        codes.push("1".into());
    }
    if m.contains(Modifier::DIM) {
        codes.push("2".into());
    }
    if m.contains(Modifier::ITALIC) {
        codes.push("3".into());
    }
    if m.contains(Modifier::UNDERLINED) {
        codes.push("4".into());
    }
    if m.contains(Modifier::REVERSED) {
        codes.push("7".into());
    }
    if let Some(c) = color_code(fg, false) {
        codes.push(c);
    }
    if let Some(c) = color_code(bg, true) {
        codes.push(c);
    }
    let mut s = String::from("\x1b[");
    let _ = write!(s, "{}m", codes.join(";"));
    s
}

fn color_code(c: Color, bg: bool) -> Option<String> {
    let base = |n: u8| Some(format!("{}", n + if bg { 10 } else { 0 }));
    match c {
        Color::Reset => None,
        Color::Black => base(30),
        Color::Red => base(31),
        Color::Green => base(32),
        Color::Yellow => base(33),
        Color::Blue => base(34),
        Color::Magenta => base(35),
        Color::Cyan => base(36),
        Color::Gray => base(37),
        Color::DarkGray => base(90),
        Color::LightRed => base(91),
        Color::LightGreen => base(92),
        Color::LightYellow => base(93),
        Color::LightBlue => base(94),
        Color::LightMagenta => base(95),
        Color::LightCyan => base(96),
        Color::White => base(97),
        Color::Indexed(i) => Some(format!("{};5;{i}", if bg { 48 } else { 38 })),
        Color::Rgb(r, g, b) => Some(format!("{};2;{r};{g};{b}", if bg { 48 } else { 38 })),
    }
}
