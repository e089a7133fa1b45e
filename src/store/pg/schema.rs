//! crmtop's schema on a server: the numbered migrations (`schema/pg/`),
//! recorded in `crmtop_schema`, applied in one transaction under a lock,
//! and the refusal of a schema written by a newer crmtop.

use super::Pg;
use crate::error::{Error, Result};
use crate::store::sql::Sql;
use rusqlite::types::Value;

/// The migrations, in order; the version of a database is how many it has.
const MIGRATIONS: &[(&str, &str)] = &[
    (
        "0001_init.sql",
        include_str!("../../../schema/pg/0001_init.sql"),
    ),
    (
        "0002_notify_changes.sql",
        include_str!("../../../schema/pg/0002_notify_changes.sql"),
    ),
    (
        "0003_queue_search.sql",
        include_str!("../../../schema/pg/0003_queue_search.sql"),
    ),
    (
        "0004_models.sql",
        include_str!("../../../schema/pg/0004_models.sql"),
    ),
    (
        "0005_customer_lists.sql",
        include_str!("../../../schema/pg/0005_customer_lists.sql"),
    ),
    (
        "0006_data_version.sql",
        include_str!("../../../schema/pg/0006_data_version.sql"),
    ),
    (
        "0007_customer_search.sql",
        include_str!("../../../schema/pg/0007_customer_search.sql"),
    ),
    (
        "0008_clv_fits.sql",
        include_str!("../../../schema/pg/0008_clv_fits.sql"),
    ),
    (
        "0009_clusters.sql",
        include_str!("../../../schema/pg/0009_clusters.sql"),
    ),
    (
        "0010_customer_attributes.sql",
        include_str!("../../../schema/pg/0010_customer_attributes.sql"),
    ),
    (
        "0011_campaigns.sql",
        include_str!("../../../schema/pg/0011_campaigns.sql"),
    ),
    (
        "0012_agents_role.sql",
        include_str!("../../../schema/pg/0012_agents_role.sql"),
    ),
    (
        "0013_churn_scores_partitioned.sql",
        include_str!("../../../schema/pg/0013_churn_scores_partitioned.sql"),
    ),
    (
        "0014_jobs.sql",
        include_str!("../../../schema/pg/0014_jobs.sql"),
    ),
    (
        "0015_customers_lapse.sql",
        include_str!("../../../schema/pg/0015_customers_lapse.sql"),
    ),
    (
        "0016_customer_search_folds.sql",
        include_str!("../../../schema/pg/0016_customer_search_folds.sql"),
    ),
];

/// The schema version this build writes on PostgreSQL.
pub fn latest_version() -> i64 {
    MIGRATIONS.len() as i64
}

impl Pg {
    /// The schema version of the database.
    pub fn schema_version(&self) -> Result<i64> {
        self.version()
    }

    pub(super) fn version(&self) -> Result<i64> {
        let exists = self.count("SELECT to_regclass('crmtop_schema') IS NOT NULL", &[])?;
        if exists == 0 {
            return Ok(0);
        }
        Ok(self
            .row("SELECT COALESCE(max(version), 0) FROM crmtop_schema", &[])?
            .map(|r| r.i64(0))
            .transpose()?
            .unwrap_or(0))
    }

    pub(super) fn check_not_newer(&self, v: i64) -> Result<()> {
        if v > latest_version() {
            return Err(Error::Schema(format!(
                "{}: written by a newer crmtop (schema version {v}; this crmtop knows up to {}). Upgrade crmtop to open it; it will not be downgraded.",
                self.shown,
                latest_version()
            )));
        }
        Ok(())
    }

    /// Apply the migrations the database lacks, in one transaction under an
    /// advisory lock (two agents starting at once do not race).
    pub(super) fn migrate(&self) -> Result<()> {
        // The common case, without a lock: already current.
        let v = self.version()?;
        self.check_not_newer(v)?;
        if v == latest_version() {
            return Ok(());
        }
        self.begin("BEGIN")?;
        let r = (|| {
            self.batch(
                "SELECT pg_advisory_xact_lock(7243001);
                 CREATE TABLE IF NOT EXISTS crmtop_schema (
                     version    BIGINT PRIMARY KEY,
                     name       TEXT NOT NULL,
                     applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
            )?;
            let v = self.version()?;
            self.check_not_newer(v)?;
            for (i, (name, sql)) in MIGRATIONS.iter().enumerate().skip(v as usize) {
                self.batch(sql)?;
                self.exec(
                    "INSERT INTO crmtop_schema(version, name) VALUES (?1, ?2)",
                    &[Value::Integer(i as i64 + 1), Value::Text(name.to_string())],
                )?;
            }
            Ok(())
        })();
        self.finish(r)
    }
}
