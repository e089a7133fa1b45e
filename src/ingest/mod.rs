//! Data in: CSV import with validation and a reject report, and the demo
//! data generator.

mod batches;
pub mod demo;
pub mod fields;
mod import;
pub mod input;
pub(crate) mod parse;
mod rejects;

pub use import::{
    import, import_into, import_prepared, prepare, ImportOptions, ImportSummary, Prepared, Target,
};

use std::fmt;
use std::str::FromStr;

/// What a CSV file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Customers,
    Orders,
    Feedback,
    Events,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Customers => "customers",
            Kind::Orders => "orders",
            Kind::Feedback => "feedback",
            Kind::Events => "events",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Kind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "customers" => Ok(Kind::Customers),
            "orders" => Ok(Kind::Orders),
            "feedback" => Ok(Kind::Feedback),
            "events" => Ok(Kind::Events),
            _ => Err(format!(
                "unknown kind '{s}' (expected customers, orders, feedback or events)"
            )),
        }
    }
}
