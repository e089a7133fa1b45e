//! Masking of personal data (names, e-mails, phone numbers) for `--mask-pii`.

/// "Ada Lovelace" -> "A** L*******"; keeps the first character of each word.
pub fn name(s: &str) -> String {
    s.split(' ')
        .map(|w| {
            let mut out = String::new();
            for (i, c) in w.chars().enumerate() {
                out.push(if i == 0 { c } else { '*' });
            }
            out
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// "ada.lovelace@example.com" -> "a***@e***.com".
pub fn email(s: &str) -> String {
    let Some((user, domain)) = s.split_once('@') else {
        return "***".into();
    };
    let first = |x: &str| x.chars().next().map(String::from).unwrap_or_default();
    let (host, tld) = domain.rsplit_once('.').unwrap_or((domain, ""));
    let tld = if tld.is_empty() {
        String::new()
    } else {
        format!(".{tld}")
    };
    format!("{}***@{}***{tld}", first(user), first(host))
}

/// "+1-555-123-4567" -> "***-4567" (last four digits kept).
pub fn phone(s: &str) -> String {
    let digits: Vec<char> = s.chars().filter(char::is_ascii_digit).collect();
    let tail: String = digits[digits.len().saturating_sub(4)..].iter().collect();
    format!("***-{tail}")
}

/// Free text (a feedback message) with the e-mail addresses and phone
/// numbers in it masked: "call me on +44 20 7946 0958 or ada@x.org" ->
/// "call me on ***-0958 or a***@x***.org".
pub fn text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for (i, word) in s.split(' ').enumerate() {
        if i > 0 {
            out.push(' ');
        }
        // Keep punctuation around a word: "(ada@x.org)," -> "(" + masked + "),".
        let core_start = word
            .find(|c: char| c.is_alphanumeric() || c == '+')
            .unwrap_or(word.len());
        let core_end = word
            .rfind(|c: char| c.is_alphanumeric())
            .map_or(core_start, |e| {
                e + word[e..].chars().next().map_or(1, char::len_utf8)
            });
        let (pre, core, post) = if core_start < core_end {
            (
                &word[..core_start],
                &word[core_start..core_end],
                &word[core_end..],
            )
        } else {
            (word, "", "")
        };
        out.push_str(pre);
        if core.contains('@') && core.contains('.') {
            out.push_str(&email(core));
        } else {
            out.push_str(core);
        }
        out.push_str(post);
    }
    mask_phone_numbers(&out)
}

/// Runs of 7 or more digits (spaces, dashes, dots, brackets and a leading
/// plus allowed between them) become "***-" and their last four digits.
fn mask_phone_numbers(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < chars.len() {
        let starts = chars[i].is_ascii_digit()
            || (chars[i] == '+' && chars.get(i + 1).is_some_and(char::is_ascii_digit))
            || (chars[i] == '(' && chars.get(i + 1).is_some_and(char::is_ascii_digit));
        if starts {
            let mut j = i;
            let mut digits = 0;
            let mut last_digit = i;
            while j < chars.len() {
                let c = chars[j];
                if c.is_ascii_digit() {
                    digits += 1;
                    last_digit = j;
                } else if !(matches!(c, ' ' | '-' | '.' | '(' | ')') || (c == '+' && j == i)) {
                    break;
                }
                j += 1;
            }
            let run: String = chars[i..=last_digit].iter().collect();
            // A date (2026-03-01) is not a phone number.
            let is_date = run.len() == 10
                && run.char_indices().all(|(k, c)| {
                    if k == 4 || k == 7 {
                        c == '-'
                    } else {
                        c.is_ascii_digit()
                    }
                });
            if digits >= 7 && !is_date {
                out.push_str(&phone(&run));
            } else {
                out.push_str(&run);
            }
            i = last_digit + 1;
            continue;
        }
        out.push(chars[i]);
        i += 1;
    }
    out
}

/// What a value is, for [`mask`].
#[derive(Debug, Clone, Copy)]
pub enum Kind<'a> {
    /// A person's name.
    Name,
    Email,
    Phone,
    /// A customer attribute of this name (imported extra column).
    Attribute(&'a str),
    /// Free text (feedback, notes, reasons), possibly naming its customer.
    Text,
    /// A model feature name: an attribute, or `attribute=value` for a
    /// one-hot column.
    Feature,
}

/// Attribute names that say their values are personal.
pub fn is_personal_attribute(name: &str) -> bool {
    let n = name.to_lowercase();
    const WORDS: &[&str] = &[
        "email",
        "e-mail",
        "mail",
        "phone",
        "mobile",
        "cell",
        "tel",
        "fax",
        "whatsapp",
        "sms",
        "note",
        "comment",
        "address",
        "street",
        "postcode",
        "zip",
        "ssn",
        "passport",
        "iban",
        "card",
        "contact",
        "name",
        "birth",
        "dob",
        "ip",
        "twitter",
        "handle",
        "linkedin",
        "facebook",
        "instagram",
        "username",
        "login",
        "user",
        "skype",
        "telegram",
        "social",
        "website",
        "url",
        "password",
        "token",
        "secret",
        "tax",
        "vat",
        "ssn",
        "nin",
    ];
    n.split(|c: char| !c.is_alphanumeric() && c != '-')
        .any(|w| {
            WORDS
                .iter()
                .any(|k| w == *k || (k.len() > 3 && w.starts_with(k)))
        })
        || WORDS.iter().any(|k| k.len() > 4 && n.contains(k))
}

/// Whether a value looks like an e-mail address.
pub fn looks_like_email(v: &str) -> bool {
    let v = v.trim();
    v.split_once('@')
        .is_some_and(|(u, d)| !u.is_empty() && d.contains('.') && !v.contains(' '))
}

/// Whether a value looks like a phone number (7 or more digits, and only
/// the characters phone numbers are written with).
pub fn looks_like_phone(v: &str) -> bool {
    let digits = v.chars().filter(char::is_ascii_digit).count();
    digits >= 7
        && v.chars()
            .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '-' | '.' | '(' | ')' | '+' | '/'))
        && !(v.len() == 10
            && v.as_bytes().get(4) == Some(&b'-')
            && v.as_bytes().get(7) == Some(&b'-'))
}

/// The one masking function for `--mask-pii`, applied where a value is
/// printed, drawn or exported. `owner` is the name of the customer the
/// value belongs to: free text loses that name too ("Ada wrote..." ->
/// "A** wrote...").
pub fn mask(kind: Kind, value: &str, owner: Option<&str>) -> String {
    match kind {
        Kind::Name => name(value),
        Kind::Email => email(value),
        Kind::Phone => phone(value),
        Kind::Attribute(attr) => {
            if looks_like_email(value) {
                email(value)
            } else if looks_like_phone(value) {
                phone(value)
            } else if is_personal_attribute(attr) {
                if value.is_empty() {
                    String::new()
                } else {
                    "***".into()
                }
            } else {
                without_names(&text(value), owner)
            }
        }
        Kind::Text => without_names(&text(value), owner),
        Kind::Feature => match value.split_once('=') {
            Some((attr, v)) => format!("{attr}={}", mask(Kind::Attribute(attr), v, owner)),
            None => value.to_string(),
        },
    }
}

/// `mask` when masking is on, the value itself otherwise.
pub fn show(on: bool, kind: Kind, value: &str, owner: Option<&str>) -> String {
    if on {
        mask(kind, value, owner)
    } else {
        value.to_string()
    }
}

/// The words of `owner`'s name (two letters or more) masked wherever they
/// stand as words in `s`, in any case.
fn without_names(s: &str, owner: Option<&str>) -> String {
    let Some(owner) = owner else {
        return s.to_string();
    };
    let words: Vec<String> = owner
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|w| w.chars().count() >= 2)
        .map(str::to_lowercase)
        .collect();
    if words.is_empty() {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        if !word.is_empty() {
            if words.iter().any(|w| *w == word.to_lowercase()) {
                out.push_str(&name(word));
            } else {
                out.push_str(word);
            }
            word.clear();
        }
    };
    for c in s.chars() {
        if c.is_alphanumeric() || c == '\'' || c == '-' {
            word.push(c);
        } else {
            flush(&mut word, &mut out);
            out.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

/// Apply a masker when masking is on.
pub fn maybe(on: bool, v: Option<&str>, f: fn(&str) -> String) -> Option<String> {
    v.map(|s| if on { f(s) } else { s.to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_keep_no_personal_detail() {
        assert_eq!(name("Ada Lovelace"), "A** L*******");
        assert_eq!(name("王芳"), "王*");
        assert_eq!(email("ada.lovelace@example.com"), "a***@e***.com");
        assert_eq!(email("nonsense"), "***");
        assert_eq!(phone("+1-555-123-4567"), "***-4567");
        assert_eq!(phone("12"), "***-12");
    }

    #[test]
    fn one_function_masks_every_kind() {
        let owner = Some("Ada Lovelace");
        assert_eq!(
            mask(Kind::Text, "Ada here, call ada@x.org", owner),
            "A** here, call a***@x***.org"
        );
        assert_eq!(
            mask(Kind::Text, "LOVELACE complained", owner),
            "L******* complained"
        );
        assert_eq!(
            mask(Kind::Attribute("work_email"), "ada@x.org", None),
            "a***@x***.org"
        );
        assert_eq!(
            mask(Kind::Attribute("mobile"), "+44 20 7946 0958", None),
            "***-0958"
        );
        assert_eq!(mask(Kind::Attribute("notes"), "likes tea", None), "***");
        assert_eq!(mask(Kind::Attribute("contact"), "x", None), "***");
        assert_eq!(mask(Kind::Attribute("plan"), "gold", None), "gold");
        assert_eq!(
            mask(Kind::Attribute("backup"), "ada@x.org", None),
            "a***@x***.org"
        );
        assert_eq!(
            mask(Kind::Feature, "email=ada@x.org", None),
            "email=a***@x***.org"
        );
        assert_eq!(mask(Kind::Feature, "region=West", None), "region=West");
        assert_eq!(mask(Kind::Feature, "tenure_days", None), "tenure_days");
        assert!(!is_personal_attribute("region"));
        assert!(!is_personal_attribute("plan"));
        assert!(!is_personal_attribute("income"));
        assert!(is_personal_attribute("Phone Number"));
    }

    #[test]
    fn free_text_loses_addresses_and_numbers_but_keeps_the_rest() {
        assert_eq!(
            text("call me on +44 20 7946 0958 or (ada@x.org), thanks"),
            "call me on ***-0958 or (a***@x***.org), thanks"
        );
        // Short numbers (order counts, amounts, dates) stay.
        assert_eq!(
            text("3 orders, 49.90 on 2026-03-01"),
            "3 orders, 49.90 on 2026-03-01"
        );
        assert_eq!(text("order 12345678 is late"), "order ***-5678 is late");
        assert_eq!(text(""), "");
    }
}
