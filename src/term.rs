//! Untrusted text on its way to a terminal.
//!
//! A customer's feedback, an imported name or header, an agent's note, an id
//! echoed in an error: any of them can carry ESC, CSI, OSC (window titles,
//! OSC 52 clipboard writes), DCS, C1 controls, BEL, BS, NUL or bidi
//! overrides. Printed raw they drive the terminal. Every string that is drawn
//! or printed for a terminal passes through [`safe`] (or a writer built on it)
//! once, at that boundary: the TUI sanitises every cell of a frame before it
//! is flushed, the CLI's text output goes through [`print_line`], CSV to a
//! terminal through [`SanitizingWriter`]. JSON stays exact (serde escapes
//! controls), and CSV to a pipe or file stays byte for byte.
//!
//! What a control becomes: C0 controls and DEL their Unicode "control
//! picture" (ESC is shown as `␛`, NUL as `␀`), each one column wide, so a
//! hostile value is visible rather than hidden; C1 controls (U+0080..U+009F)
//! and bidi embedding, override and isolate controls U+FFFD. Tab becomes a
//! space.

use std::borrow::Cow;
use std::io::{self, Write};

/// Bidi controls that reorder what follows them (embeddings, overrides,
/// isolates, and the marks): shown as U+FFFD so text cannot masquerade.
pub fn is_bidi_control(c: char) -> bool {
    matches!(
        c,
        '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
    )
}

/// Whether a character must not reach a terminal as it is.
pub fn is_unsafe(c: char) -> bool {
    c.is_control() || is_bidi_control(c)
}

/// The visible, one-column stand-in for an unsafe character.
pub fn visible(c: char) -> char {
    match c {
        '\t' => ' ',
        '\u{0}'..='\u{1F}' => char::from_u32(0x2400 + c as u32).unwrap_or('\u{FFFD}'),
        '\u{7F}' => '\u{2421}',
        _ => '\u{FFFD}',
    }
}

/// `s` with every control and bidi control made visible and harmless
/// (line ends included: for one line of a list or a status message).
pub fn safe(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_unsafe) {
        return Cow::Borrowed(s);
    }
    Cow::Owned(
        s.chars()
            .map(|c| if is_unsafe(c) { visible(c) } else { c })
            .collect(),
    )
}

/// As [`safe`], but line ends (`\n`, and `\r\n` as one) are kept, for text
/// printed over several lines.
pub fn safe_multiline(s: &str) -> Cow<'_, str> {
    if !s.chars().any(|c| c != '\n' && is_unsafe(c)) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut it = s.chars().peekable();
    while let Some(c) = it.next() {
        if c == '\n' {
            out.push('\n');
        } else if c == '\r' && it.peek() == Some(&'\n') {
            // "\r\n": the "\n" comes next.
        } else if is_unsafe(c) {
            out.push(visible(c));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Whether `s` is safe to print as it is (no control other than a line end).
pub fn is_clean(s: &str) -> bool {
    !s.chars().any(|c| c != '\n' && is_unsafe(c))
}

/// Print one line of human-readable output on stdout, sanitised. The CLI's
/// text output goes through here (the `outln!` macro), JSON does not.
pub fn print_line(s: &str) {
    let mut out = io::stdout().lock();
    // A closed pipe (`| head`) ends the output quietly (SIGPIPE is default
    // for the CLI, so this is a fallback).
    let _ = writeln!(out, "{}", safe_multiline(s));
}

/// Print one line on stderr, sanitised (errors and warnings).
pub fn eprint_line(s: &str) {
    let _ = writeln!(io::stderr().lock(), "{}", safe_multiline(s));
}

/// `println!` for text that may hold data: formatted, then sanitised.
#[macro_export]
macro_rules! outln {
    () => { $crate::term::print_line("") };
    ($($arg:tt)*) => { $crate::term::print_line(&format!($($arg)*)) };
}

/// `eprintln!` for text that may hold data: formatted, then sanitised.
#[macro_export]
macro_rules! errln {
    ($($arg:tt)*) => { $crate::term::eprint_line(&format!($($arg)*)) };
}

/// JSON text with the characters serde leaves raw but a terminal obeys (C1
/// controls, DEL, bidi controls) written as `\uXXXX` escapes: the same
/// JSON value, exact, and harmless on a terminal. (serde escapes C0.)
/// These characters can only occur inside JSON strings, where an escape
/// means the same character.
pub fn json_escape_controls(json: String) -> String {
    // C0 controls in serde's output are its own layout (pretty printing's
    // line ends and indentation); inside strings serde escaped them.
    let raw = |c: char| c as u32 >= 0x7F && is_unsafe(c);
    if !json.chars().any(raw) {
        return json;
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        if raw(c) {
            out.push_str(&format!("\\u{:04x}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

/// A writer that sanitises a byte stream for a terminal: controls other than
/// line ends become visible, invalid UTF-8 becomes U+FFFD. Used when CSV is
/// written to a terminal. A character split across two writes is held back
/// until its end arrives.
pub struct SanitizingWriter<W: Write> {
    inner: W,
    pending: Vec<u8>,
}

impl<W: Write> SanitizingWriter<W> {
    pub fn new(inner: W) -> Self {
        SanitizingWriter {
            inner,
            pending: Vec::new(),
        }
    }

    fn emit(&mut self, bytes: &[u8]) -> io::Result<()> {
        let text = String::from_utf8_lossy(bytes);
        self.inner.write_all(safe_multiline(&text).as_bytes())
    }
}

impl<W: Write> Write for SanitizingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.pending.extend_from_slice(buf);
        // Keep back an incomplete UTF-8 sequence at the end (at most 3 bytes).
        let mut cut = self.pending.len();
        let start = cut.saturating_sub(3);
        for i in (start..self.pending.len()).rev() {
            let b = self.pending[i];
            if b & 0xC0 == 0x80 {
                continue;
            }
            let need = if b >= 0xF0 {
                4
            } else if b >= 0xE0 {
                3
            } else if b >= 0xC0 {
                2
            } else {
                1
            };
            if self.pending.len() - i < need {
                cut = i;
            }
            break;
        }
        let rest = self.pending.split_off(cut);
        let ready = std::mem::replace(&mut self.pending, rest);
        self.emit(&ready)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if !self.pending.is_empty() {
            let rest = std::mem::take(&mut self.pending);
            self.emit(&rest)?;
        }
        self.inner.flush()
    }
}

impl<W: Write> Drop for SanitizingWriter<W> {
    fn drop(&mut self) {
        let _ = self.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_control_class_is_made_visible() {
        let hostile = "a\x1b[31mred\x1b]0;title\x07\x1b]52;c;aGk=\x1b\\\x1bPdcs\x1b\\\u{9b}2J\u{85}\x08\x00\u{202e}evil\u{2066}x\x7f";
        let s = safe(hostile);
        assert!(is_clean(&s), "{s:?}");
        assert!(s.contains('␛'));
        assert!(s.contains("red"));
        assert!(!s.contains('\u{202e}'));
        assert_eq!(safe("plain 王芳 😀"), "plain 王芳 😀");
        assert!(matches!(safe("plain"), Cow::Borrowed(_)));
        // One column per stand-in: the layout does not move.
        use unicode_width::UnicodeWidthStr;
        assert_eq!(safe("\x1b\x07\u{9b}").width(), 3);
    }

    #[test]
    fn json_stays_the_same_value() {
        let v = serde_json::json!({"t": "a\u{9b}b\u{202e}c\x1bd\x7f"});
        let s = json_escape_controls(serde_json::to_string(&v).unwrap());
        assert!(s.is_ascii(), "{s}");
        let back: serde_json::Value = serde_json::from_str(&s).unwrap();
        assert_eq!(back, v);
        let pretty = json_escape_controls(serde_json::to_string_pretty(&v).unwrap());
        assert!(pretty.contains('\n'), "the layout stays: {pretty}");
        assert!(is_clean(&pretty.replace("  ", "")), "{pretty:?}");
        let back: serde_json::Value = serde_json::from_str(&pretty).unwrap();
        assert_eq!(back, v);
    }

    #[test]
    fn multiline_keeps_line_ends_only() {
        assert_eq!(safe_multiline("a\r\nb\nc\rd"), "a\nb\nc␍d");
        assert_eq!(safe("a\nb"), "a␊b");
    }

    #[test]
    fn the_writer_sanitises_across_split_characters() {
        let mut out = Vec::new();
        {
            let mut w = SanitizingWriter::new(&mut out);
            let bytes = "é\u{9b}x\x1by\n王".as_bytes();
            for b in bytes {
                w.write_all(&[*b]).unwrap();
            }
            w.flush().unwrap();
        }
        assert_eq!(String::from_utf8(out).unwrap(), "é\u{FFFD}x␛y\n王");
    }
}
