//! Server-controlled text made safe for a terminal.
//!
//! Label values, warnings, error messages and annotations come from servers and from the
//! exporters they scrape: anyone who runs an exporter can put an escape sequence in a
//! label value. Written to a terminal as they are, `ESC ] 52 ;` writes the clipboard,
//! `ESC ] 0 ;` sets the window title, `ESC [ 2 J` clears the screen, a carriage return
//! moves what follows over the start of the line and a bidi override shows text in an
//! order other than the one it has. [`escape_control`] is the one function every output
//! of promdash passes such text through, in the table, CSV and the dashboard alike.
//!
//! What it escapes, visibly and as Go's `strconv.Quote` (and so promtool) writes it:
//! - `\n`, `\r`, `\t`, `\a`, `\b`, `\f`, `\v` as those two characters; other C0 controls,
//!   DEL and ESC as `\xHH`;
//! - C1 controls (U+0080–U+009F; U+009B alone is a CSI on many terminals) as `\u0085`;
//! - bidi controls (U+061C, U+200E–U+200F, U+202A–U+202E, U+2066–U+2069) and the line
//!   and paragraph separators U+2028/U+2029 as `\u202e`.
//!
//! Everything else, backslashes included, is written as it is, so ordinary text prints
//! unchanged and costs no copy.

use std::borrow::Cow;
use std::fmt::Write as _;

/// Whether `c` would act on the terminal (or reorder the line) instead of printing.
pub fn is_unsafe_char(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{1f}'
        | '\u{7f}'..='\u{9f}'
        | '\u{61c}'
        | '\u{200e}'
        | '\u{200f}'
        | '\u{2028}'..='\u{202e}'
        | '\u{2066}'..='\u{2069}')
}

/// `s` with every control character, ESC, DEL, C1 control and bidi control written as a
/// visible escape (`\x1b`, `\n`, `\u202e`); `s` itself when there is none.
///
/// ```
/// use promdash_queries::text::escape_control;
/// assert_eq!(escape_control("a\x1b]52;c;aGk=\x07b"), r"a\x1b]52;c;aGk=\ab");
/// assert_eq!(escape_control("line\nbreak"), r"line\nbreak");
/// assert_eq!(escape_control("plain \\ text"), "plain \\ text");
/// ```
pub fn escape_control(s: &str) -> Cow<'_, str> {
    let Some(first) = s.find(is_unsafe_char) else {
        return Cow::Borrowed(s);
    };
    let mut out = String::with_capacity(s.len() + 8);
    out.push_str(&s[..first]);
    for c in s[first..].chars() {
        push_escaped(&mut out, c);
    }
    Cow::Owned(out)
}

/// [`escape_control`] into an owned string.
pub fn escaped(s: &str) -> String {
    escape_control(s).into_owned()
}

/// [`escape_control`] for a message of several lines: line breaks (`\n`) are kept, every
/// other control character is escaped.
pub fn escape_lines(s: &str) -> Cow<'_, str> {
    if !s.chars().any(|c| c != '\n' && is_unsafe_char(c)) {
        return Cow::Borrowed(s);
    }
    let lines: Vec<Cow<'_, str>> = s.split('\n').map(escape_control).collect();
    Cow::Owned(lines.join("\n"))
}

fn push_escaped(out: &mut String, c: char) {
    if !is_unsafe_char(c) {
        out.push(c);
        return;
    }
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\u{7}' => out.push_str("\\a"),
        '\u{8}' => out.push_str("\\b"),
        '\u{c}' => out.push_str("\\f"),
        '\u{b}' => out.push_str("\\v"),
        c if (c as u32) < 0x80 => {
            // Cannot fail: writing into a String.
            let _ = write!(out, "\\x{:02x}", c as u32);
        }
        c => {
            let _ = write!(out, "\\u{:04x}", c as u32);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_sequences_are_visible() {
        // OSC 52 (clipboard), OSC 0 (title), CSI 2J (clear), a C1 CSI and a bidi override.
        let hostile =
            "x\u{1b}]52;c;cHduZWQ=\u{7}\u{1b}]0;owned\u{1b}\\\u{1b}[2J\u{9b}31m\u{202e}gnp.exe";
        let out = escape_control(hostile);
        assert!(!out.chars().any(is_unsafe_char), "{out}");
        assert_eq!(
            out,
            r"x\x1b]52;c;cHduZWQ=\a\x1b]0;owned\x1b\\x1b[2J\u009b31m\u202egnp.exe"
        );
        assert_eq!(escape_control("a\rb\tc\u{7f}\u{0}"), r"a\rb\tc\x7f\x00");
        assert_eq!(
            escape_control("\u{2066}\u{2069}\u{200f}\u{61c}\u{2028}"),
            r"\u2066\u2069\u200f\u061c\u2028"
        );
    }

    #[test]
    fn messages_keep_their_lines() {
        assert_eq!(escape_lines("a\x1b[2J\nb\r"), "a\\x1b[2J\nb\\r");
        assert!(matches!(escape_lines("a\nb"), Cow::Borrowed(_)));
    }

    #[test]
    fn ordinary_text_is_borrowed() {
        for s in ["", "plain", "µs ≤ 5 ✓ 日本語", r"C:\path", "emoji 🚀"] {
            assert!(matches!(escape_control(s), Cow::Borrowed(_)), "{s}");
        }
    }

    #[test]
    fn every_char_is_either_kept_or_escaped_visibly() {
        for cp in (0u32..0x3000).chain(0xfff0..0x10000) {
            let Some(c) = char::from_u32(cp) else {
                continue;
            };
            let s = c.to_string();
            let out = escape_control(&s);
            assert!(!out.chars().any(is_unsafe_char), "U+{cp:04X}");
            if is_unsafe_char(c) {
                assert!(out.starts_with('\\'), "U+{cp:04X} -> {out}");
            } else {
                assert_eq!(out, s);
            }
        }
    }
}
