//! `crmtop clusters`: behavioural k-means clusters, profiled and named;
//! every customer's cluster is stored for the screens' `:cluster N` filter.

use super::{print_json, Ctx, OK};
use crate::analytics::clusters::{self, Report, FEATURES};
use crate::error::Result;
use crate::store;
use crate::timeutil::DAY;
use clap::Args;

#[derive(Debug, Args, Clone)]
pub struct ClustersArgs {
    /// Number of clusters [default: the best silhouette in 3..8]
    #[arg(long)]
    pub k: Option<usize>,
    /// Seed of the k-means starts and the samples (same seed, same clusters)
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Print JSON (the profiles, k and how it was chosen)
    #[arg(long)]
    pub json: bool,
}

pub fn clusters(ctx: &Ctx, a: ClustersArgs) -> Result<i32> {
    let db = ctx.open_db_for_write("clusters")?;
    // As of the day after the latest order (or now, without orders).
    let as_of = store::customers::latest_order(&db)?
        .map(|t| (t.div_euclid(DAY) + 1) * DAY)
        .unwrap_or_else(crate::timeutil::now);
    let rows = store::clusters::rows(&db, as_of)?;
    let (report, labels) = clusters::cluster(&rows, a.k, a.seed)?;
    let cids: Vec<i64> = rows.iter().map(|r| r.cid).collect();
    let mut s = match db {
        store::Db::Server(pg) => {
            store::pg::clusters::save(&pg, &report, &cids, &labels, &ctx.agent)?;
            return print(&report, a.json);
        }
        store::Db::File(s) => s,
    };
    let tx = store::begin_immediate(&mut s.conn)?;
    store::clusters::save(&tx, &report, &cids, &labels, &ctx.agent)?;
    store::clusters::audit(&tx, &report, &ctx.agent)?;
    store::dashboard::bump_version(&tx)?;
    tx.commit()?;
    print(&report, a.json)
}

fn print(report: &Report, json: bool) -> Result<i32> {
    if json {
        print_json(report)?;
    } else {
        print_report(report);
    }
    Ok(OK)
}

fn print_report(r: &Report) {
    crate::outln!(
        "{} customers in {} behavioural clusters; {}",
        r.customers,
        r.k,
        r.chosen_by
    );
    if !r.dropped.is_empty() {
        crate::outln!("left out (the same for everyone): {}", r.dropped.join(", "));
    }
    let show = |v: Option<f64>, j: usize| match (v, j) {
        (None, _) => "-".to_string(),
        (Some(x), 2) => crate::analytics::priority::money(x),
        (Some(x), 6) => format!("{x:+.2}"),
        (Some(x), _) => format!("{x:.1}"),
    };
    for c in &r.clusters {
        crate::outln!(
            "\n{} {}: {} customers ({:.1}%), churn {}, mean CLV {}",
            c.cluster,
            crate::term::safe(&c.name),
            c.customers,
            100.0 * c.share,
            c.churn_rate
                .map(|p| format!("{:.1}%", 100.0 * p))
                .unwrap_or_else(|| "-".into()),
            c.mean_clv
                .map(crate::analytics::priority::money)
                .unwrap_or_else(|| "-".into()),
        );
        for (j, f) in FEATURES.iter().enumerate() {
            if r.dropped.iter().any(|d| d == f) {
                continue;
            }
            // The mean's own distance from everyone's (reports stored
            // before it was kept show the clustering's).
            let sd = match c.raw_z.get(j) {
                Some(Some(z)) => format!("({z:+.2} sd)"),
                Some(None) => String::new(),
                None => format!("({:+.2} sd)", c.z[j]),
            };
            crate::outln!("    {:<24} {:>10}  {sd}", f, show(c.means[j], j));
        }
    }
    crate::outln!("\nfilter a customer screen by cluster with :cluster N");
}
