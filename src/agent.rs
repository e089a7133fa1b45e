//! Who is acting: `--agent` > `CRMTOP_AGENT` > the OS user.

/// Resolve the agent name from an explicit flag, the environment and the OS user.
pub fn resolve(flag: Option<&str>) -> String {
    if let Some(a) = flag.map(str::trim).filter(|a| !a.is_empty()) {
        return a.to_string();
    }
    if let Ok(a) = std::env::var("CRMTOP_AGENT") {
        let a = a.trim();
        if !a.is_empty() {
            return a.to_string();
        }
    }
    os_user()
}

/// The longest agent name accepted.
pub const MAX_NAME: usize = 64;

/// Check an agent name: printable, no whitespace but the plain space, at
/// most 64 characters. Agent names are shown to every other agent.
pub fn validate(name: &str) -> Result<(), String> {
    let n = name.chars().count();
    if n == 0 {
        return Err("an agent name cannot be empty".into());
    }
    if n > MAX_NAME {
        return Err(format!(
            "an agent name has at most {MAX_NAME} characters (this one has {n})"
        ));
    }
    if let Some(c) = name
        .chars()
        .find(|&c| crate::term::is_unsafe(c) || (c.is_whitespace() && c != ' ') || invisible(c))
    {
        return Err(format!(
            "an agent name must be printable, with no whitespace but spaces (found U+{:04X}): '{}'",
            c as u32,
            crate::term::safe(name)
        ));
    }
    Ok(())
}

/// Characters that take no room and show nothing (zero-width space and
/// joiners, word joiner, byte order mark, soft hyphen): `bo\u{200B}b` would
/// look like bob, and a name of only one like no one.
fn invisible(c: char) -> bool {
    matches!(
        c,
        '\u{AD}' | '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}'
    )
}

/// The known names closest to a mistyped one (by edit distance, at most
/// three, those within half the name's length).
pub fn closest<'a>(name: &str, known: &'a [String]) -> Vec<&'a str> {
    let lower = name.to_lowercase();
    let mut scored: Vec<(usize, &str)> = known
        .iter()
        .map(|k| {
            (
                strsim::damerau_levenshtein(&lower, &k.to_lowercase()),
                k.as_str(),
            )
        })
        .filter(|(d, k)| *d <= (name.chars().count().max(k.chars().count()) / 2).max(1))
        .collect();
    scored.sort();
    scored.into_iter().take(3).map(|(_, k)| k).collect()
}

/// Whether an assignee is known: it has acted (the queue, the audit log),
/// it is listed in the config's `[agents]`, or it is the one acting.
pub fn is_known(name: &str, known: &[String], listed: &[String], me: &str) -> bool {
    name == me || known.iter().any(|k| k == name) || listed.iter().any(|k| k == name)
}

/// The login name of the current OS user, or "unknown".
pub fn os_user() -> String {
    for var in ["USER", "LOGNAME", "USERNAME"] {
        if let Ok(u) = std::env::var(var) {
            if !u.trim().is_empty() {
                return u.trim().to_string();
            }
        }
    }
    // SAFETY: getpwuid returns a pointer into static storage or null; we copy the
    // name out immediately and do not keep the pointer.
    unsafe {
        let pw = libc::getpwuid(libc::geteuid());
        if !pw.is_null() && !(*pw).pw_name.is_null() {
            if let Ok(s) = std::ffi::CStr::from_ptr((*pw).pw_name).to_str() {
                return s.to_string();
            }
        }
    }
    "unknown".to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_wins_and_blank_flag_is_ignored() {
        assert_eq!(resolve(Some("alice")), "alice");
        assert!(!resolve(Some("  ")).is_empty());
    }

    #[test]
    fn a_typo_finds_the_names_it_was_meant_to_be() {
        let known: Vec<String> = ["alice", "bob", "carol", "alicia"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(closest("alcie", &known), vec!["alice", "alicia"]);
        assert!(closest("zzzzzz", &known).is_empty());
        assert!(is_known("bob", &known, &[], "me"));
        assert!(is_known("me", &known, &[], "me"));
        assert!(is_known("dan", &known, &["dan".into()], "me"));
        assert!(!is_known("bobb", &known, &[], "me"));
    }

    #[test]
    fn hostile_agent_names_are_refused() {
        assert!(validate("Ada Lovelace").is_ok());
        assert!(validate("王芳").is_ok());
        assert!(validate("José").is_ok());
        for bad in [
            "a\x1b]0;x\x07",
            "a\tb",
            "a\nb",
            "\u{202e}x",
            "a\u{9b}",
            "",
            "\u{200b}",
            "bo\u{200b}b",
            "\u{feff}ann",
        ] {
            assert!(validate(bad).is_err(), "{bad:?}");
        }
        assert!(validate(&"x".repeat(65)).is_err());
        assert!(validate(&"x".repeat(64)).is_ok());
    }
}
