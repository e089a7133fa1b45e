//! A file's schema: the numbered migrations (embedded at build time) and
//! their application, each in a transaction of its own; a newer file is
//! refused.

use super::{activity, attributes, campaigns, clv_values, packs, scores};
use crate::error::{Error, Result};
use rusqlite::Connection;
use std::path::Path;

/// Numbered migrations, embedded at build time and applied in order.
/// `PRAGMA user_version` records how many have been applied.
pub const MIGRATIONS: &[(&str, &str)] = &[
    ("0001_init.sql", include_str!("../../schema/0001_init.sql")),
    (
        "0002_queue_order.sql",
        include_str!("../../schema/0002_queue_order.sql"),
    ),
    (
        "0003_jobs_died.sql",
        include_str!("../../schema/0003_jobs_died.sql"),
    ),
    (
        "0004_feedback_search.sql",
        include_str!("../../schema/0004_feedback_search.sql"),
    ),
    (
        "0005_sla_clock.sql",
        include_str!("../../schema/0005_sla_clock.sql"),
    ),
    (
        "0006_attribute_columns.sql",
        include_str!("../../schema/0006_attribute_columns.sql"),
    ),
    (
        "0007_cancelled_at.sql",
        include_str!("../../schema/0007_cancelled_at.sql"),
    ),
    (
        "0008_clusters.sql",
        include_str!("../../schema/0008_clusters.sql"),
    ),
    (
        "0009_campaigns.sql",
        include_str!("../../schema/0009_campaigns.sql"),
    ),
    (
        "0010_campaign_assignment.sql",
        include_str!("../../schema/0010_campaign_assignment.sql"),
    ),
    (
        "0011_churn_scores_per_version.sql",
        include_str!("../../schema/0011_churn_scores_per_version.sql"),
    ),
    (
        "0012_activity_by_day.sql",
        include_str!("../../schema/0012_activity_by_day.sql"),
    ),
    (
        "0013_clv_values_per_fit.sql",
        include_str!("../../schema/0013_clv_values_per_fit.sql"),
    ),
    (
        "0014_packed_drivers.sql",
        include_str!("../../schema/0014_packed_drivers.sql"),
    ),
    (
        "0015_history_packs.sql",
        include_str!("../../schema/0015_history_packs.sql"),
    ),
    (
        "0016_customers_labelled.sql",
        include_str!("../../schema/0016_customers_labelled.sql"),
    ),
    (
        "0017_feedback_search_folds.sql",
        include_str!("../../schema/0017_feedback_search_folds.sql"),
    ),
    (
        "0018_drop_customers_email_index.sql",
        include_str!("../../schema/0018_drop_customers_email_index.sql"),
    ),
];

/// The second step of a migration, in the same transaction, where SQL alone
/// cannot do it.
type PostStep = fn(&Connection) -> Result<()>;
const POST_STEPS: &[(&str, PostStep)] = &[
    ("0006_attribute_columns.sql", attributes::migrate_from_rows),
    ("0010_campaign_assignment.sql", campaigns::migrate_members),
    (
        "0011_churn_scores_per_version.sql",
        scores::migrate_from_shared,
    ),
    ("0012_activity_by_day.sql", activity::rebuild),
    (
        "0013_clv_values_per_fit.sql",
        clv_values::migrate_from_shared,
    ),
    ("0015_history_packs.sql", packs::migrate),
];

/// The schema version this build writes.
pub fn latest_version() -> i64 {
    MIGRATIONS.len() as i64
}

pub fn user_version(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row("PRAGMA user_version", [], |r| r.get(0))?)
}

pub(super) fn check_not_newer(v: i64, path: &Path) -> Result<()> {
    if v > latest_version() {
        return Err(Error::Schema(format!(
            "{}: written by a newer crmtop (schema version {v}; this crmtop knows up to {}). \
             Upgrade crmtop to open it; it will not be downgraded.",
            path.display(),
            latest_version()
        )));
    }
    Ok(())
}

/// Apply the migrations the file lacks, each in its own immediate transaction,
/// re-checking the version inside the lock so concurrent openers do not race.
pub fn migrate(conn: &Connection, path: &Path) -> Result<()> {
    loop {
        let v = user_version(conn)?;
        check_not_newer(v, path)?;
        if v >= latest_version() {
            return Ok(());
        }
        super::immediate_on(conn, || {
            let v = user_version(conn)?;
            check_not_newer(v, path)?;
            if v >= latest_version() {
                return Ok(());
            }
            let (name, sql) = MIGRATIONS[v as usize];
            conn.execute_batch(sql)
                .map_err(|e| Error::Schema(format!("migration {name} failed: {e}")))?;
            // Steps SQL alone cannot take (columns named after the data,
            // tables per version, sums filled from the rows).
            if let Some((_, step)) = POST_STEPS.iter().find(|(n, _)| *n == name) {
                step(conn).map_err(|e| Error::Schema(format!("migration {name} failed: {e}")))?;
            }
            // PRAGMA cannot take a bound parameter; the value is our own integer.
            conn.pragma_update(None, "user_version", v + 1)?;
            Ok(())
        })?;
    }
}
