//! crmtop: a keyboard-driven terminal dashboard for customer retention.
//!
//! The domain (`store`, `ingest`, `analytics`, `jobs`) knows nothing about the
//! terminal; `tui` and `cli` are thin layers on top of it.

pub mod agent;
pub mod analytics;
pub mod cid_index;
pub mod cli;
pub mod config;
pub mod error;
pub mod export;
pub mod ingest;
pub mod jobs;
pub mod outfile;
pub mod parallel;
pub mod pii;
pub mod signals;
pub mod store;
pub mod term;
pub mod timeutil;
pub mod tui;

pub use error::{Error, Result};
