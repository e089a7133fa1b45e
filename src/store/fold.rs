//! Text as the customers' search compares it: lower-cased, accents taken
//! off, and the letters that carry no separable accent spelled plainly,
//! so that `lukasz` finds Łukasz, `jose` José and `muller` Müller.
//!
//! The same folding runs in three places, which must agree: the in-memory
//! search (`store::search`, both engines: what the UI asks), and the
//! pages and counts asked by the text itself, without it (`list::count`,
//! the tests, which compare every way of asking): a file's `crmtop_fold`
//! (registered on every connection) and a server's (schema pg 16; a test
//! compares the two letter for letter). Each does: lower-case; canonical
//! decomposition; drop the combining diacritical marks (U+0300-U+036F);
//! spell [`PLAIN_LETTERS`](crate::store::feedback::PLAIN_LETTERS) plainly.
//!
//! Not for the queue's full-text search: FTS5 and `unaccent` fold on their
//! own, and neither decomposes Hangul as this does (store/feedback/find.rs
//! spells only the plain letters for them).

use crate::store::feedback::PLAIN_LETTERS;
use unicode_normalization::char::decompose_canonical;

/// Whether `c` is one of the combining diacritical marks a fold drops.
fn is_mark(c: char) -> bool {
    ('\u{300}'..='\u{36f}').contains(&c)
}

/// Append `c` folded; control characters become spaces (a search never
/// matches them, and they never reach a terminal from here).
fn push_char(out: &mut String, c: char) {
    if c.is_control() {
        out.push(' ');
        return;
    }
    for lower in c.to_lowercase() {
        decompose_canonical(lower, |d| {
            if is_mark(d) {
                return;
            }
            match PLAIN_LETTERS.iter().find(|(l, _)| *l == d) {
                Some((_, plain)) => out.push_str(&plain.to_lowercase()),
                None => out.push(d),
            }
        });
    }
}

/// `text` folded.
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    if text.is_ascii() {
        out.extend(text.chars().map(|c| {
            if c.is_ascii_control() {
                ' '
            } else {
                c.to_ascii_lowercase()
            }
        }));
        return out;
    }
    for c in text.chars() {
        push_char(&mut out, c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accents_and_plain_letters_fold_to_what_is_typed() {
        for (stored, typed) in [
            ("Łukasz Wiśniewski", "lukasz wisniewski"),
            ("José Müller", "jose muller"),
            ("SØREN ÆBLE", "soren aeble"),
            ("Straße", "strasse"),
            ("İpek", "ipek"),
            ("Đorđe", "dorde"),
            ("Ångström", "angstrom"),
            ("naïve café", "naive cafe"),
            ("a\u{1b}[31mb", "a [31mb"),
        ] {
            assert_eq!(fold(stored), typed, "{stored}");
        }
    }

    #[test]
    fn letters_outside_latin_are_kept_lower_cased() {
        assert_eq!(fold("ΣΟΦΙΑ"), "σοφια");
        // (A breve is a mark too: й is searched as и, as ё as е. A search
        // that finds a little more is the lesser fault.)
        assert_eq!(fold("Дмитрий Алёна"), "дмитрии алена");
        assert_eq!(fold("山田"), "山田");
    }

    #[test]
    fn folding_twice_changes_nothing() {
        for s in ["Łukasz", "ẞtraße", "İİ", "Æther", "x\u{301}y"] {
            assert_eq!(fold(&fold(s)), fold(s), "{s}");
        }
    }
}
