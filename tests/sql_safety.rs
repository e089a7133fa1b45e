//! SQL is parameterised, always: this test fails when SQL text is built
//! with `format!` anywhere in `src/` without a `// sql-format-ok: <why>`
//! comment just above it saying why no input can reach it (placeholders,
//! a column chosen by an enum, a table name from a constant list...).

use std::path::Path;

/// Words that make a `format!` string SQL (as they are written in SQL).
const SQL_WORDS: &[&str] = &[
    "SELECT ",
    "INSERT ",
    "UPDATE ",
    "DELETE ",
    "CREATE ",
    "DROP ",
    "PRAGMA ",
    "WITH ",
    "ALTER ",
    " WHERE ",
    " FROM ",
    " VALUES",
    " ORDER BY",
    " JOIN ",
    " AND ",
    " SET ",
    " LIMIT ",
    "ON CONFLICT",
];

/// Methods that run SQL text.
const RUNNERS: &[&str] = &[
    "prepare(&format!",
    "prepare_cached(&format!",
    "execute(&format!",
    "execute_batch(&format!",
    "query_row(&format!",
    "query(&format!",
];

/// The `format!` calls of `source` that build SQL without the comment:
/// (line number, the line).
fn unmarked(source: &str) -> Vec<(usize, String)> {
    let lines: Vec<&str> = source.lines().collect();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let Some(at) = line.find("format!(") else {
            continue;
        };
        // The call and a few lines after it (multi-line calls).
        let call: String = std::iter::once(&line[at..])
            .chain(lines.iter().skip(i + 1).take(6).copied())
            .collect::<Vec<_>>()
            .join("\n");
        // Its first string literal.
        let literal = call
            .split_once('"')
            .and_then(|(_, rest)| rest.split_once('"'))
            .map(|(lit, _)| lit.to_string())
            .unwrap_or_default();
        let squeezed = line.replace(' ', "");
        let runs_sql = RUNNERS.iter().any(|r| squeezed.contains(r));
        let is_sql = SQL_WORDS.iter().any(|w| literal.contains(w));
        if !(runs_sql || is_sql) {
            continue;
        }
        // The comment: up to three lines above, or inside the call.
        let near = &lines[i.saturating_sub(3)..(i + 3).min(lines.len())];
        let marked = near.iter().any(|l| {
            l.split_once("sql-format-ok:")
                .is_some_and(|(_, why)| why.trim().len() >= 3)
        });
        if !marked {
            out.push((i + 1, line.trim().to_string()));
        }
    }
    out
}

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).expect("read src").flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn no_sql_is_built_with_format_from_input() {
    let mut files = Vec::new();
    rust_files(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut files,
    );
    assert!(files.len() > 20, "the scan found the sources");
    let mut problems = Vec::new();
    let mut checked = 0;
    for f in files {
        let text = std::fs::read_to_string(&f).expect("read source");
        checked += text.matches("sql-format-ok:").count();
        for (n, line) in unmarked(&text) {
            problems.push(format!("{}:{n}: {line}", f.display()));
        }
    }
    assert!(
        problems.is_empty(),
        "SQL built with format! (bind the values as parameters, or say why no input reaches it \
         with `// sql-format-ok: <why>` just above):\n{}",
        problems.join("\n")
    );
    // The justified ones exist (the scan is looking at the right thing).
    assert!(checked > 10, "{checked}");
}

#[test]
fn the_scan_catches_what_it_must() {
    let bad = r#"
        let sql = format!("SELECT * FROM customers WHERE name = '{name}'");
        conn.execute(&format!("{base} x = {v}"), [])?;
        let q = format!(
            "UPDATE t SET a = {value}"
        );
    "#;
    assert_eq!(unmarked(bad).len(), 3, "{:?}", unmarked(bad));
    let good = r#"
        // sql-format-ok: the column is chosen by an enum, never by input.
        let sql = format!("SELECT {col} FROM customers");
        let msg = format!("customer {id} has {n} orders");
        // sql-format-ok:
        let lazy = format!("DELETE FROM t WHERE x = {x}");
    "#;
    // The second carries no reason, so it still counts.
    assert_eq!(unmarked(good).len(), 1, "{:?}", unmarked(good));
}
