//! Editing a line of text where its cursor is: the `/` filter, the `:`
//! command line and the prompts share these keys (Left, Right, Home and
//! Ctrl-A, End and Ctrl-E, Backspace, Delete, Ctrl-W a word back, Ctrl-U
//! the whole line), so a typo at the start of a filter or a command is
//! fixed without retyping the rest.

use super::action::InputKey;

/// What an editing key did to the line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edit {
    /// The text changed.
    Changed,
    /// Only the cursor moved (or nothing could be done: Backspace at the
    /// start).
    Moved,
    /// Not an editing key: the caller's (Enter, Esc, Tab).
    Other,
}

/// The byte where character `cursor` starts (the end past the last).
pub fn byte_of(text: &str, cursor: usize) -> usize {
    text.char_indices()
        .nth(cursor)
        .map_or(text.len(), |(i, _)| i)
}

/// Apply `key` to `text`, with the cursor at character `cursor` (clamped
/// to the text first).
pub fn apply(text: &mut String, cursor: &mut usize, key: &InputKey) -> Edit {
    let len = text.chars().count();
    *cursor = (*cursor).min(len);
    match key {
        InputKey::Char(c) => {
            text.insert(byte_of(text, *cursor), *c);
            *cursor += 1;
            Edit::Changed
        }
        InputKey::Backspace if *cursor > 0 => {
            *cursor -= 1;
            text.remove(byte_of(text, *cursor));
            Edit::Changed
        }
        InputKey::Delete if *cursor < len => {
            text.remove(byte_of(text, *cursor));
            Edit::Changed
        }
        InputKey::Backspace | InputKey::Delete => Edit::Moved,
        InputKey::DeleteWord if *cursor > 0 => {
            // Back over spaces, then over the word before them.
            let chars: Vec<char> = text.chars().collect();
            let mut start = *cursor;
            while start > 0 && chars[start - 1].is_whitespace() {
                start -= 1;
            }
            while start > 0 && !chars[start - 1].is_whitespace() {
                start -= 1;
            }
            text.replace_range(byte_of(text, start)..byte_of(text, *cursor), "");
            *cursor = start;
            Edit::Changed
        }
        InputKey::DeleteWord => Edit::Moved,
        InputKey::Clear => {
            let changed = !text.is_empty();
            text.clear();
            *cursor = 0;
            if changed {
                Edit::Changed
            } else {
                Edit::Moved
            }
        }
        InputKey::Left => {
            *cursor = cursor.saturating_sub(1);
            Edit::Moved
        }
        InputKey::Right => {
            *cursor = (*cursor + 1).min(len);
            Edit::Moved
        }
        InputKey::Home => {
            *cursor = 0;
            Edit::Moved
        }
        InputKey::End => {
            *cursor = len;
            Edit::Moved
        }
        InputKey::Submit | InputKey::Cancel | InputKey::Complete => Edit::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(keys: &[InputKey]) -> (String, usize) {
        let (mut text, mut cursor) = (String::new(), 0);
        for k in keys {
            apply(&mut text, &mut cursor, k);
        }
        (text, cursor)
    }

    fn typed(s: &str) -> Vec<InputKey> {
        s.chars().map(InputKey::Char).collect()
    }

    #[test]
    fn a_typo_at_the_start_is_fixed_where_it_is() {
        use InputKey::*;
        let mut keys = typed("xlukasz");
        keys.extend([Home, Delete, End, Char('!')]);
        assert_eq!(run(&keys), ("lukasz!".into(), 7));
        let mut keys = typed("łukasz");
        keys.extend([Left, Left, Backspace, Char('A')]);
        assert_eq!(run(&keys), ("łukAsz".into(), 4));
        // Past either end nothing happens.
        let mut keys = typed("ab");
        keys.extend([Right, Delete, Home, Left, Backspace]);
        assert_eq!(run(&keys), ("ab".into(), 0));
    }

    #[test]
    fn ctrl_w_takes_the_word_before_the_cursor_and_ctrl_u_the_line() {
        use InputKey::*;
        let mut keys = typed("export churn  ");
        keys.push(DeleteWord);
        assert_eq!(run(&keys), ("export ".into(), 7));
        let mut keys = typed("søren hansen");
        keys.extend([Left, Left, Left, DeleteWord]);
        assert_eq!(run(&keys), ("søren sen".into(), 6));
        let mut keys = typed("søren");
        keys.extend([Home, DeleteWord, Clear]);
        assert_eq!(run(&keys), (String::new(), 0));
        let (mut t, mut c) = ("abc".to_string(), 99);
        assert_eq!(apply(&mut t, &mut c, &Submit), Edit::Other);
        assert_eq!(c, 3, "the cursor is clamped to the text");
    }
}
