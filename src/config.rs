//! The config file (`$CRMTOP_CONFIG`, else `$XDG_CONFIG_HOME/crmtop/config.toml`,
//! else `~/.config/crmtop/config.toml`). Every setting has a default; a missing
//! file is not an error, a malformed one is (with the line and the field).

use crate::analytics::priority::SlaConfig;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Key remapping: action name -> list of keys (see `crmtop keys` / `?` help).
    pub keys: BTreeMap<String, Vec<String>>,
    /// Risk bands of churn probability.
    pub thresholds: Thresholds,
    /// Seconds between background refreshes (other agents' changes).
    pub refresh_secs: u64,
    /// `default` (16-colour palette on the terminal's background) or `mono`.
    pub theme: String,
    /// Service levels per feedback kind.
    pub sla: SlaConfig,
    /// Mask names, e-mails and phone numbers on screen and in exports.
    pub mask_pii: bool,
    /// Imported dates later than today plus this many days are rejected.
    pub future_margin_days: i64,
    /// Agents who may be assigned work before they have acted.
    pub agents: AgentsConfig,
    /// The currency of the amounts (shown beside CLV and revenue), e.g.
    /// "EUR"; none by default (the data say nothing about it).
    pub currency: Option<String>,
    /// The columns each list screen shows, in order (`:columns` saves here):
    /// `[columns] customers = ["id", "name", "churn"]`; screens: customers,
    /// churn, clv, queue.
    pub columns: BTreeMap<String, Vec<String>>,
    /// The retention actions campaigns use, by name:
    /// `[actions.call] channel = "phone", cost = 5.0`. Defaults: call,
    /// email, sms, discount_10 (see `default_actions`).
    pub actions: BTreeMap<String, Action>,
    /// Who gets what, first matching rule first: `[[playbook]] who =
    /// "risk=high clv>=500"`, `action = "call"`, `prior_uplift = 0.08`
    /// (optional: the action's own). A file's playbook replaces the
    /// default one (see `default_playbook`).
    pub playbook: Vec<PlaybookRule>,
}

/// One rule of the playbook: customers matching `who` (a campaign target:
/// risk band, lapsed, RFM segment, age, income, CLV, plan, ...) get
/// `action`, believed to add `prior_uplift` to their retention until a
/// campaign measures it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlaybookRule {
    pub who: String,
    pub action: String,
    #[serde(default)]
    pub prior_uplift: Option<f64>,
}

/// The playbook every installation starts with: a call for valuable
/// customers at high risk, a discount for the other high-risk ones and for
/// win-back, an e-mail at medium risk.
pub fn default_playbook() -> Vec<PlaybookRule> {
    let r = |who: &str, action: &str, prior: f64| PlaybookRule {
        who: who.into(),
        action: action.into(),
        prior_uplift: Some(prior),
    };
    vec![
        r("risk=high clv>=500", "call", 0.08),
        r("risk=high", "discount_10", 0.05),
        r("risk=medium", "email", 0.02),
        r("lapsed=yes", "discount_10", 0.03),
    ]
}

/// A retention action: how it reaches the customer and what it costs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Action {
    /// phone, email, sms, offer, ...
    pub channel: String,
    /// Cost per customer contacted (in the data's currency).
    #[serde(default)]
    pub cost: f64,
    /// Cost as a share of the customer's spend in the window (a discount:
    /// 0.10), charged on customers who accepted.
    #[serde(default)]
    pub cost_share: f64,
    /// What the action is believed to add to retention before any campaign
    /// has measured it, in points (0.03 = +3 pts): the prior of next best
    /// action.
    #[serde(default)]
    pub prior_uplift: f64,
}

/// The actions every installation starts with.
pub fn default_actions() -> BTreeMap<String, Action> {
    let a = |channel: &str, cost: f64, cost_share: f64, prior_uplift: f64| Action {
        channel: channel.into(),
        cost,
        cost_share,
        prior_uplift,
    };
    BTreeMap::from([
        ("call".to_string(), a("phone", 5.0, 0.0, 0.05)),
        ("email".to_string(), a("email", 0.10, 0.0, 0.01)),
        ("sms".to_string(), a("sms", 0.05, 0.0, 0.01)),
        ("discount_10".to_string(), a("offer", 0.0, 0.10, 0.04)),
    ])
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AgentsConfig {
    /// `[agents] names = ["ann", "bob"]`
    pub names: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Thresholds {
    /// Churn probability at or above which a customer is high risk.
    pub high: f64,
    /// Churn probability at or above which a customer is medium risk.
    pub medium: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            high: 0.6,
            medium: 0.3,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            keys: BTreeMap::new(),
            thresholds: Thresholds::default(),
            refresh_secs: 3,
            theme: "default".into(),
            sla: SlaConfig::default(),
            mask_pii: false,
            future_margin_days: 1,
            agents: AgentsConfig::default(),
            currency: None,
            columns: BTreeMap::new(),
            actions: default_actions(),
            playbook: default_playbook(),
        }
    }
}

/// Where the config file is looked for.
pub fn default_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("CRMTOP_CONFIG").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    if let Some(x) = std::env::var_os("XDG_CONFIG_HOME").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(x).join("crmtop").join("config.toml"));
    }
    std::env::var_os("HOME").filter(|p| !p.is_empty()).map(|h| {
        PathBuf::from(h)
            .join(".config")
            .join("crmtop")
            .join("config.toml")
    })
}

impl Config {
    /// Load from `path` (or the default location). A missing file gives defaults.
    pub fn load(path: Option<&Path>) -> Result<Config> {
        // A file named with --config must exist (a typo must not silently
        // mean "defaults"); the default locations may be absent.
        if let Some(p) = path {
            if !p.exists() {
                return Err(Error::File {
                    path: p.to_path_buf(),
                    message: "no such config file (named with --config)".into(),
                });
            }
        }
        let path = match path.map(Path::to_path_buf).or_else(default_path) {
            Some(p) => p,
            None => return Ok(Config::default()),
        };
        match std::fs::read_to_string(&path) {
            Ok(text) => Config::parse(&text).map_err(|m| Error::File {
                path: path.clone(),
                message: m,
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Config::default()),
            Err(e) => Err(Error::File {
                path,
                message: e.to_string(),
            }),
        }
    }

    pub fn parse(text: &str) -> std::result::Result<Config, String> {
        let mut cfg: Config = toml::from_str(text).map_err(|e| {
            // For an unknown key the parser points at its table; find the key itself.
            let key_line = e
                .message()
                .split('`')
                .nth(1)
                .filter(|_| e.message().starts_with("unknown field"))
                .and_then(|key| {
                    text.lines().position(|l| {
                        l.trim_start()
                            .strip_prefix(key)
                            .is_some_and(|rest| rest.trim_start().starts_with('='))
                    })
                })
                .map(|i| i + 1);
            let line = key_line.or_else(|| {
                e.span()
                    .map(|s| text[..s.start.min(text.len())].lines().count().max(1))
            });
            match line {
                Some(l) => format!("line {l}: {}", e.message()),
                None => e.message().to_string(),
            }
        })?;
        // A file's [actions] add to the defaults (or change them by name).
        for (name, a) in default_actions() {
            cfg.actions.entry(name).or_insert(a);
        }
        cfg.validate()?;
        Ok(cfg)
    }

    fn validate(&self) -> std::result::Result<(), String> {
        let t = self.thresholds;
        if !(0.0..=1.0).contains(&t.medium) || !(0.0..=1.0).contains(&t.high) || t.medium > t.high {
            return Err(format!(
                "thresholds: need 0 <= medium <= high <= 1 (got medium {}, high {})",
                t.medium, t.high
            ));
        }
        if let Some(c) = &self.currency {
            if c.trim().is_empty() || c.chars().count() > 8 || c.chars().any(crate::term::is_unsafe)
            {
                return Err(
                    "currency: a short printable code or symbol, such as \"EUR\" or \"$\"".into(),
                );
            }
        }
        for (name, a) in &self.actions {
            if name.is_empty()
                || name.len() > 32
                || !name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            {
                return Err(format!(
                    "actions: '{}' is not an action name (letters, digits, _ and -, at most 32)",
                    crate::term::safe(name)
                ));
            }
            let sane = a.cost.is_finite()
                && a.cost >= 0.0
                && (0.0..=1.0).contains(&a.cost_share)
                && (-1.0..=1.0).contains(&a.prior_uplift);
            if !sane {
                return Err(format!(
                    "actions.{name}: cost >= 0, cost_share in [0, 1], prior_uplift in [-1, 1]"
                ));
            }
            if a.channel.trim().is_empty() || a.channel.chars().any(crate::term::is_unsafe) {
                return Err(format!("actions.{name}: channel must be printable text"));
            }
        }
        for (i, r) in self.playbook.iter().enumerate() {
            let n = i + 1;
            if !self.actions.contains_key(&r.action) {
                return Err(format!(
                    "playbook rule {n}: no action '{}' in the catalogue ({})",
                    crate::term::safe(&r.action),
                    self.actions.keys().cloned().collect::<Vec<_>>().join(", ")
                ));
            }
            if r.prior_uplift.is_some_and(|p| !(-1.0..=1.0).contains(&p)) {
                return Err(format!("playbook rule {n}: prior_uplift in [-1, 1]"));
            }
            crate::analytics::campaign::Target::parse_as(&r.who, &format!("playbook rule {n} who"))
                .map_err(|e| e.to_string())?;
        }
        for a in &self.agents.names {
            crate::agent::validate(a).map_err(|e| format!("agents.names: {e}"))?;
        }
        if !(0..=3650).contains(&self.future_margin_days) {
            return Err("future_margin_days must be between 0 and 3650".into());
        }
        if self.refresh_secs == 0 || self.refresh_secs > 3600 {
            return Err("refresh_secs must be between 1 and 3600".into());
        }
        if !["default", "mono"].contains(&self.theme.as_str()) {
            return Err(format!(
                "theme '{}' is not one of default, mono",
                self.theme
            ));
        }
        for k in crate::analytics::priority::KINDS {
            let s = self.sla.for_kind(k);
            if !(s.first_response_hours > 0.0 && s.resolution_hours > 0.0) {
                return Err(format!("sla.{k}: hours must be positive"));
            }
        }
        Ok(())
    }
}

/// Save one screen's column choice (`None`: back to the defaults) into the
/// config file at `path` (or the default location), keeping the rest of the
/// file as it is, comments included. Returns the file written.
pub fn save_columns(
    path: Option<&Path>,
    screen: &str,
    columns: Option<&[String]>,
    protected: &[PathBuf],
) -> std::result::Result<PathBuf, String> {
    let path = path
        .map(Path::to_path_buf)
        .or_else(default_path)
        .ok_or("no config file location (set CRMTOP_CONFIG or HOME)")?;
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    let mut doc: toml_edit::DocumentMut = text
        .parse()
        .map_err(|e| format!("{}: {e}", path.display()))?;
    if !doc.contains_key("columns") {
        doc["columns"] = toml_edit::table();
    }
    let table = doc["columns"]
        .as_table_mut()
        .ok_or_else(|| format!("{}: `columns` is not a table", path.display()))?;
    match columns {
        Some(cols) => {
            let arr: toml_edit::Array = cols.iter().map(String::as_str).collect();
            table[screen] = toml_edit::value(arr);
        }
        None => {
            table.remove(screen);
        }
    }
    let out = doc.to_string();
    // The result must still be a config we can read.
    Config::parse(&out).map_err(|e| format!("{}: {e}", path.display()))?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let mut file = crate::outfile::OutFile::create(&path, protected).map_err(|e| e.to_string())?;
    std::io::Write::write_all(&mut file, out.as_bytes())
        .map_err(|e| format!("{}: {e}", path.display()))?;
    file.commit().map_err(|e| e.to_string())?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_overrides() {
        let c = Config::parse("").unwrap();
        assert_eq!(c, Config::default());
        assert_eq!(c.sla.complaint.first_response_hours, 24.0);
        assert_eq!(c.sla.other.resolution_hours, 72.0);
        let c = Config::parse(
            "refresh_secs = 2\nmask_pii = true\n[thresholds]\nhigh = 0.7\n[sla.complaint]\nfirst_response_hours = 4\n[keys]\nquit = [\"x\"]\n",
        )
        .unwrap();
        assert_eq!(c.refresh_secs, 2);
        assert!(c.mask_pii);
        assert_eq!(c.thresholds.high, 0.7);
        assert_eq!(c.thresholds.medium, 0.3);
        assert_eq!(c.sla.complaint.first_response_hours, 4.0);
        assert_eq!(c.sla.complaint.resolution_hours, 72.0);
        assert_eq!(c.keys["quit"], vec!["x".to_string()]);
    }

    #[test]
    fn errors_name_the_line() {
        let e = Config::parse("refresh_secs = 2\nbogus = 1\n").unwrap_err();
        assert!(e.starts_with("line 2"), "{e}");
        let e = Config::parse("[thresholds]\nhigh = 0.1\nmedium = 0.5\n").unwrap_err();
        assert!(e.contains("medium <= high"), "{e}");
    }

    #[test]
    fn a_playbook_replaces_the_default_and_is_checked() {
        let c = Config::parse(
            "[[playbook]]\nwho = \"risk=high age>=65\"\naction = \"call\"\n\n[[playbook]]\nwho = \"lapsed=yes\"\naction = \"sms\"\nprior_uplift = 0.02\n",
        )
        .unwrap();
        assert_eq!(c.playbook.len(), 2);
        assert_eq!(c.playbook[0].prior_uplift, None);
        let p = crate::analytics::nba::Policy::from_config(&c).unwrap();
        assert_eq!(p.playbook[0].prior_uplift, c.actions["call"].prior_uplift);
        assert_eq!(Config::default().playbook, default_playbook());
        let e = Config::parse("[[playbook]]\nwho = \"risk=high\"\naction = \"fax\"\n").unwrap_err();
        assert!(e.contains("playbook rule 1: no action 'fax'"), "{e}");
        let e = Config::parse("[[playbook]]\nwho = \"mood=sad\"\naction = \"call\"\n").unwrap_err();
        assert!(e.contains("playbook rule 1 who 'mood=sad'"), "{e}");
    }
}
