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
}
