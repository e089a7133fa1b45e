//! `crmtop clusters` on a server: the latest run replaced in one
//! transaction (its report, every customer's cluster, the audit entry).

use super::Pg;
use crate::analytics::clusters::Report;
use crate::error::Result;
use crate::store::sql::{self, Sql};

/// Replace the latest run with `report` and `labels[i]` for `cids[i]`.
pub fn save(pg: &Pg, report: &Report, cids: &[i64], labels: &[u32], agent: &str) -> Result<i64> {
    pg.begin("BEGIN")?;
    let r = (|| {
        pg.batch("TRUNCATE customer_clusters")?;
        pg.exec("DELETE FROM cluster_runs", &[])?;
        let id = pg.count(
            "INSERT INTO cluster_runs(created_at, agent, k, report) VALUES (?1, ?2, ?3, ?4) RETURNING id",
            &[
                sql::int(crate::timeutil::now()),
                sql::text(agent),
                sql::int(report.k as i64),
                sql::text(&serde_json::to_string(report)?),
            ],
        )?;
        let labels: Vec<i64> = labels.iter().map(|&l| i64::from(l)).collect();
        // Two arrays in one statement (a million single inserts take minutes).
        pg.client()
            .execute(
                "INSERT INTO customer_clusters(cid, cluster) SELECT * FROM unnest($1::bigint[], $2::bigint[])",
                &[&cids, &labels],
            )
            .map_err(|e| pg.error(e))?;
        crate::store::clusters::audit(pg, report, agent)?;
        Ok(id)
    })();
    pg.finish(r)
}
