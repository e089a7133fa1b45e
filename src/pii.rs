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
}
