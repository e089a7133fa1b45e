//! Finding items from what an agent types: the full-text query on either
//! engine, and an item's key from its id or its number alone.

use crate::error::Result;
use crate::store::sql::{self, Sql};
use rusqlite::Connection;

/// The letters FTS5's unicode61 tokenizer keeps as they are (they do not
/// decompose: no accent to take off), spelled as PostgreSQL's `unaccent`
/// spells them. The search index holds names and texts with these spelled
/// plainly (the view `feedback_search_rows`, schema 17), and what is typed
/// is folded the same way, so `lukasz` finds Łukasz on a file as on a server.
pub const PLAIN_LETTERS: &[(char, &str)] = &[
    ('ß', "ss"),
    ('æ', "ae"),
    ('ð', "d"),
    ('ø', "o"),
    ('þ', "th"),
    ('đ', "d"),
    ('ħ', "h"),
    ('ı', "i"),
    ('ł', "l"),
    ('ŀ', "l"),
    ('ŋ', "n"),
    ('œ', "oe"),
    ('ŧ', "t"),
    ('Æ', "AE"),
    ('Ð', "D"),
    ('Ø', "O"),
    ('Þ', "TH"),
    ('Đ', "D"),
    ('Ħ', "H"),
    ('Ł', "L"),
    ('Ŀ', "L"),
    ('Ŋ', "N"),
    ('Œ', "OE"),
    ('Ŧ', "T"),
    ('ẞ', "SS"),
];

/// `text` with [`PLAIN_LETTERS`] spelled plainly (as the index holds it).
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match PLAIN_LETTERS.iter().find(|(l, _)| *l == c) {
            Some((_, plain)) => out.push_str(plain),
            None => out.push(c),
        }
    }
    out
}

/// A full-text query from what a user typed: each word quoted (so FTS5
/// syntax characters are only text) and matched as the start of a word;
/// all words must match. None when nothing searchable was typed.
pub fn fts_query(typed: &str) -> Option<String> {
    let words: Vec<String> = fold(typed)
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| format!("\"{}\"*", w.replace('"', "\"\"")))
        .collect();
    if words.is_empty() {
        None
    } else {
        Some(words.join(" "))
    }
}

/// What was typed as a PostgreSQL text query: every word (letters and
/// digits) as the start of a word, all of them required.
pub fn tsquery(typed: &str) -> String {
    typed
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| format!("{}:*", w.to_lowercase()))
        .collect::<Vec<_>>()
        .join(" & ")
}

/// The key of an item from its id (`F0005133`), or from its number
/// (`5133`, `F5133`, `f0005133`, as tickets are read out: see
/// [`number_ids_sql`]) when exactly one item has it.
pub fn fid_of(conn: &dyn Sql, id: &str) -> Result<Option<i64>> {
    let id = id.trim();
    if let Some(r) = conn.row("SELECT fid FROM feedback WHERE id = ?1", &[sql::text(id)])? {
        return Ok(Some(r.i64(0)?));
    }
    let Some(n) = item_number(id) else {
        return Ok(None);
    };
    // sql-format-ok: a constant subquery; the number and prefix are bound.
    let sql = format!(
        "SELECT fid FROM feedback WHERE id IN ({}) LIMIT 2",
        number_ids_sql(conn.engine())
    );
    let rows = conn.rows(&sql, &n.params())?;
    match rows.as_slice() {
        [one] => Ok(Some(one.i64(0)?)),
        _ => Ok(None),
    }
}

/// An item's number as typed: the digits (leading zeros dropped) and the
/// letters before them, if any (`F5133`, `f0005133`: compared with the
/// ids' prefix without regard to case).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemNumber {
    /// The letters typed before the number, upper case ("" when none).
    pub prefix: String,
    pub number: String,
}

impl ItemNumber {
    /// The values [`number_ids_sql`] binds, in its order.
    pub fn params(&self) -> [rusqlite::types::Value; 4] {
        [
            sql::text(&self.number),
            sql::text(&self.number),
            sql::text(&self.prefix),
            sql::text(&self.prefix),
        ]
    }
}

/// Typed text that is an item's number (digits, after ASCII letters if
/// any), to be looked up by [`number_ids_sql`].
pub fn item_number(typed: &str) -> Option<ItemNumber> {
    let t = typed.trim();
    let digits_at = t.find(|c: char| c.is_ascii_digit())?;
    let (prefix, digits) = t.split_at(digits_at);
    if digits.is_empty()
        || digits.len() > 18
        || prefix.len() > 8
        || !prefix.bytes().all(|b| b.is_ascii_alphabetic())
        || !digits.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let n = digits.trim_start_matches('0');
    Some(ItemNumber {
        prefix: prefix.to_ascii_uppercase(),
        number: if n.is_empty() {
            "0".into()
        } else {
            n.to_string()
        },
    })
}

/// The ids an item number can stand for (binds: the number twice, then the
/// typed prefix twice, see [`ItemNumber::params`]): ids are usually a fixed
/// prefix and a zero-padded number (`F0005133`), so the number is padded to
/// the digits that end the first and the last item's ids, after their
/// prefix, which must be the typed one when one was typed (any case). Two
/// index lookups, whatever the size.
pub fn number_ids_sql(engine: sql::Engine) -> &'static str {
    match engine {
        sql::Engine::Sqlite => {
            "SELECT rtrim(s.id, '0123456789') || substr('000000000000000000' || CAST(? AS TEXT), -(length(s.id) - length(rtrim(s.id, '0123456789'))))
             FROM (SELECT id FROM (SELECT id FROM feedback ORDER BY fid LIMIT 1)
                   UNION SELECT id FROM (SELECT id FROM feedback ORDER BY fid DESC LIMIT 1)) s
             WHERE length(CAST(? AS TEXT)) <= length(s.id) - length(rtrim(s.id, '0123456789'))
               AND (CAST(? AS TEXT) = '' OR upper(rtrim(s.id, '0123456789')) = CAST(? AS TEXT))"
        }
        sql::Engine::Postgres => {
            "SELECT rtrim(s.id, '0123456789') || right('000000000000000000' || CAST(? AS TEXT), length(s.id) - length(rtrim(s.id, '0123456789')))
             FROM (SELECT id FROM (SELECT id FROM feedback ORDER BY fid LIMIT 1) a
                   UNION SELECT id FROM (SELECT id FROM feedback ORDER BY fid DESC LIMIT 1) b) s
             WHERE length(CAST(? AS TEXT)) <= length(s.id) - length(rtrim(s.id, '0123456789'))
               AND (CAST(? AS TEXT) = '' OR upper(rtrim(s.id, '0123456789')) = CAST(? AS TEXT))"
        }
    }
}

/// Feedback items whose id, customer id, customer name or text match what
/// was typed, best match first (at most `limit`).
pub fn search(conn: &Connection, typed: &str, limit: i64) -> Result<Vec<i64>> {
    let Some(q) = fts_query(typed) else {
        return Ok(vec![]);
    };
    let mut st = conn.prepare_cached(
        "SELECT rowid FROM feedback_fts WHERE feedback_fts MATCH ?1 ORDER BY rank LIMIT ?2",
    )?;
    let rows = st.query_map(rusqlite::params![q, limit], |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The index's view spells every letter as `fold` does, in names and
    /// texts, and a folded query finds them.
    #[test]
    fn the_index_folds_as_fold_does() {
        let c = Connection::open_in_memory().unwrap();
        for (_, sql) in crate::store::MIGRATIONS {
            c.execute_batch(sql).unwrap();
        }
        let all: String = PLAIN_LETTERS
            .iter()
            .map(|(l, _)| format!("x{l}y "))
            .collect();
        c.execute(
            "INSERT INTO customers(cid, id, name) VALUES (1, 'K1', ?1)",
            [&all],
        )
        .unwrap();
        c.execute(
            "INSERT INTO feedback(cid, id, created_at, kind, text) VALUES (1, 'F1', 0, 'other', ?1)",
            [&all],
        )
        .unwrap();
        let (name, text): (String, String) = c
            .query_row("SELECT name, text FROM feedback_fts", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!(name, fold(&all));
        assert_eq!(text, fold(&all));
        for (l, plain) in PLAIN_LETTERS {
            for typed in [format!("x{plain}y"), format!("x{l}y")] {
                let hits = search(&c, &typed, 10).unwrap();
                assert_eq!(hits, vec![1], "{typed}");
            }
        }
    }
}
