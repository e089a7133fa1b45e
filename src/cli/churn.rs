//! train, model, score.

use super::{print_json, Ctx, OK};
use crate::analytics::churn::{self, Coef, ModelKind, TrainOptions, TrainReport};
use crate::error::{Error, Result};
use crate::jobs::Ctl;
use crate::store;
use clap::{Args, Subcommand, ValueEnum};

#[derive(Debug, Clone, Copy, ValueEnum)]
#[value(rename_all = "snake_case")]
pub enum KindArg {
    Logistic,
    #[value(alias = "random-forest")]
    RandomForest,
    #[value(alias = "naive-bayes")]
    NaiveBayes,
}

impl From<KindArg> for ModelKind {
    fn from(k: KindArg) -> ModelKind {
        match k {
            KindArg::Logistic => ModelKind::Logistic,
            KindArg::RandomForest => ModelKind::RandomForest,
            KindArg::NaiveBayes => ModelKind::NaiveBayes,
        }
    }
}

#[derive(Debug, Args, Clone)]
pub struct TrainArgs {
    /// Model kind
    #[arg(long, value_enum, default_value_t = KindArg::Logistic)]
    pub model: KindArg,
    /// As-of date [default: the day of the latest order]
    #[arg(long, value_name = "DATE", value_parser = super::data::parse_date_arg)]
    pub as_of: Option<chrono::NaiveDate>,
    /// Churn window in days (labels: no order in this many days after T0 = as-of minus the window)
    #[arg(long, default_value_t = 90)]
    pub window_days: i64,
    /// Fraction held out for the metrics (0: fit on every row, no holdout metrics)
    #[arg(long, default_value_t = 0.2)]
    pub holdout: f64,
    /// Also run K-fold cross-validation
    #[arg(long, value_name = "K")]
    pub cv: Option<usize>,
    /// L2 penalty λ of the logistic model: minimises -loglik + λ/2·Σβ² (intercept unpenalised; λ = 1/C of scikit-learn)
    #[arg(long, default_value_t = 1.0)]
    pub l2: f64,
    /// Seed of the split, folds and forest
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Make this version active whatever its AUC
    #[arg(long)]
    pub activate: bool,
    /// Print JSON instead of text
    #[arg(long)]
    pub json: bool,
}

impl TrainArgs {
    pub fn options(&self, agent: &str) -> TrainOptions {
        TrainOptions {
            kind: self.model.into(),
            as_of: self.as_of,
            window_days: self.window_days,
            holdout: self.holdout,
            cv: self.cv,
            l2: self.l2,
            seed: self.seed,
            activate: self.activate,
            agent: agent.to_string(),
            dashboard: None,
        }
    }
}

pub fn train(ctx: &Ctx, a: TrainArgs) -> Result<i32> {
    let opts = TrainOptions {
        dashboard: Some(ctx.config.thresholds),
        ..a.options(&ctx.agent)
    };
    let printer = super::progress_printer();
    let url = ctx.db_path();
    let result = match url.to_str().filter(|u| store::pg::is_url(u)) {
        // A server: the version, its scores and the activation in one
        // transaction there.
        Some(url) => match ctx.open_db_for_write("train")? {
            store::Db::Server(pg) => {
                let job = store::pg::jobs::start(&pg, "train", &ctx.agent)?;
                let r = churn::train_on_server(
                    &pg,
                    url,
                    &opts,
                    Ctl::new(&printer, crate::signals::cancel_flag()),
                );
                super::warm_server_dashboard(ctx, &pg, &r, &printer);
                super::finish_server_job(&pg, job, &r);
                r
            }
            store::Db::File(_) => Err(crate::error::Error::Other("a URL opened as a file".into())),
        },
        None => {
            let mut store = ctx.open_for_write("train")?;
            let job = store::jobs::start(&store.conn, "train", &ctx.agent)?;
            let result = churn::train(
                &mut store.conn,
                &opts,
                Ctl::new(&printer, crate::signals::cancel_flag()),
            );
            super::warm_dashboard(ctx, &store.conn, &result, &printer);
            super::finish_job(&store.conn, job, &result);
            result
        }
    };
    printer(crate::jobs::Progress {
        phase: "end".into(),
        done: 1,
        total: 1,
    });
    super::progress_done();
    let r = masked_report(ctx, result?)?;
    if a.json {
        print_json(&r)?;
    } else {
        print_report(&r);
    }
    Ok(OK)
}

/// A model report with `--mask-pii`: feature names and labels built from
/// personal attributes (a one-hot `email=...`) masked, through the one
/// masking function.
fn masked_report(ctx: &Ctx, mut r: TrainReport) -> Result<TrainReport> {
    if !ctx.mask_pii() {
        return Ok(r);
    }
    fn mask_feature(s: &str) -> String {
        match s.split_once(": ") {
            Some((attr, level)) => format!(
                "{attr}: {}",
                crate::pii::mask(crate::pii::Kind::Attribute(attr), level, None)
            ),
            None => crate::pii::mask(crate::pii::Kind::Feature, s, None),
        }
    }
    for f in r.features.iter_mut() {
        *f = mask_feature(f);
    }
    for d in r.dropped_features.iter_mut() {
        d.feature = mask_feature(&d.feature);
    }
    for c in r
        .coefficients
        .iter_mut()
        .chain(r.coefficients_raw.iter_mut())
        .flatten()
    {
        c.feature = mask_feature(&c.feature);
        c.label = mask_feature(&c.label);
    }
    Ok(r)
}

fn f3(x: f64) -> String {
    if x.is_finite() {
        format!("{x:.3}")
    } else {
        "n/a".into()
    }
}

pub fn print_report(r: &TrainReport) {
    crate::outln!(
        "model v{} ({}) trained on {} customers, {} held out; as of {}, {}-day window",
        r.model_id,
        r.kind,
        r.n_train,
        r.n_test,
        r.as_of,
        r.window_days
    );
    crate::outln!(
        "labels: {} (churn rate {:.1}%)",
        r.label_source,
        r.positive_rate * 100.0
    );
    if let Some(m) = &r.metrics {
        crate::outln!(
            "holdout: AUC {}  PR AUC {}  accuracy {}  precision {}  recall {}  F1 {}  log loss {}  Brier {}",
            f3(m.auc),
            f3(m.pr_auc),
            f3(m.accuracy),
            f3(m.precision),
            f3(m.recall),
            f3(m.f1),
            f3(m.log_loss),
            f3(m.brier)
        );
        crate::outln!(
            "         at threshold {} (base rate {:.3}): tp {}  fp {}  tn {}  fn {}",
            m.threshold,
            m.base_rate,
            m.confusion.tp,
            m.confusion.fp,
            m.confusion.tn,
            m.confusion.fn_
        );
    }
    if let Some(cv) = &r.cv {
        crate::outln!(
            "{}-fold CV: AUC {} ± {}, log loss {}",
            cv.folds,
            f3(cv.auc_mean),
            f3(cv.auc_std),
            f3(cv.log_loss_mean)
        );
    }
    crate::outln!("{}", r.activation);
    if !r.dropped_features.is_empty() {
        let d: Vec<String> = r
            .dropped_features
            .iter()
            .map(|d| format!("{} ({})", d.feature, d.reason))
            .collect();
        crate::outln!("dropped features: {}", d.join(", "));
    }
    for n in &r.notes {
        crate::outln!("note: {n}");
    }
    if let Some(c) = &r.coefficients {
        crate::outln!(
            "\ncoefficients, standardised units (per standard deviation; L2 {}):",
            r.l2
        );
        print_coefs(c);
    }
    if let Some(c) = &r.coefficients_raw {
        crate::outln!("\ncoefficients, the features' own units:");
        print_coefs(c);
    }
    crate::outln!(
        "\nscored {} customers in {:.1} s total",
        r.scored,
        r.duration_ms as f64 / 1000.0
    );
}

fn stars(p: f64) -> &'static str {
    if p < 0.001 {
        "***"
    } else if p < 0.01 {
        "**"
    } else if p < 0.05 {
        "*"
    } else if p < 0.1 {
        "."
    } else {
        ""
    }
}

/// A coefficient with four decimals, or in scientific notation when that
/// would show nothing of it (per unit of income, a coefficient is 1e-5).
fn coef_num(x: f64) -> String {
    if x != 0.0 && x.abs() < 0.0005 {
        format!("{x:.3e}")
    } else {
        format!("{x:.4}")
    }
}

pub fn print_coefs(c: &[Coef]) {
    let w = c
        .iter()
        .map(|c| c.feature.chars().count())
        .max()
        .unwrap_or(10)
        .clamp(12, 40);
    crate::outln!(
        "{:<w$} {:>10} {:>9} {:>8} {:>7} {:>10} {:>10} {:>9}",
        "",
        "coef",
        "std err",
        "z",
        "P>|z|",
        "[0.025",
        "0.975]",
        "odds"
    );
    for k in c {
        let name: String = k.feature.chars().take(w).collect();
        crate::outln!(
            "{:<w$} {:>10} {:>9} {:>8.3} {:>7.3} {:>10} {:>10} {:>9.4} {}",
            name,
            coef_num(k.coef),
            coef_num(k.std_err),
            k.z,
            k.p_value,
            coef_num(k.ci_low),
            coef_num(k.ci_high),
            k.odds_ratio,
            stars(k.p_value)
        );
    }
    crate::outln!("(significance: *** p<0.001, ** p<0.01, * p<0.05, . p<0.1)");
}

#[derive(Debug, Subcommand)]
pub enum ModelCmd {
    /// Every model version, newest first
    List {
        #[arg(long)]
        json: bool,
    },
    /// One version's full report [default: the active one]
    Show {
        id: Option<i64>,
        #[arg(long)]
        json: bool,
    },
    /// Make a version the active one (re-scored first if its scores were pruned)
    Activate { id: i64 },
}

pub fn model(ctx: &Ctx, cmd: ModelCmd) -> Result<i32> {
    match cmd {
        ModelCmd::List { json } => {
            let rows = match ctx.open_db_for_read()? {
                store::Db::Server(pg) => store::pg::models::list(&pg)?,
                store::Db::File(s) => store::models::list(&s.conn)?,
            };
            if json {
                let v: Vec<serde_json::Value> = rows
                    .iter()
                    .map(|m| {
                        serde_json::json!({
                            "id": m.id,
                            "kind": m.kind,
                            "active": m.active,
                            "created_at": crate::timeutil::ts_to_rfc3339(m.created_at),
                            "agent": m.agent,
                            "as_of": m.as_of,
                            "window_days": m.window_days,
                            "n_train": m.n_train,
                            "n_test": m.n_test,
                            "metrics": m.report.get("metrics").cloned().unwrap_or(serde_json::Value::Null),
                            "cv": m.report.get("cv").cloned().unwrap_or(serde_json::Value::Null),
                            "has_scores": m.has_scores,
                        })
                    })
                    .collect();
                print_json(&serde_json::json!({"total": v.len(), "offset": 0, "items": v}))?;
                return Ok(OK);
            }
            if rows.is_empty() {
                crate::outln!(
                    "no models yet: train one with `crmtop train` (or press R in the UI)"
                );
                return Ok(OK);
            }
            crate::outln!(
                "{:>4} {:<14} {:<16} {:<10} {:<10} {:>6} {:>8} {:>6} {:>8} active",
                "id",
                "kind",
                "trained at",
                "by",
                "as of",
                "AUC",
                "log loss",
                "Brier",
                "n"
            );
            for m in rows {
                let met = |k: &str| {
                    m.report
                        .get("metrics")
                        .and_then(|x| x.get(k))
                        .and_then(|x| x.as_f64())
                        .map(f3)
                        .unwrap_or_else(|| "-".into())
                };
                crate::outln!(
                    "{:>4} {:<14} {:<16} {:<10} {:<10} {:>6} {:>8} {:>6} {:>8} {}",
                    format!("v{}", m.id),
                    m.kind,
                    crate::timeutil::ts_to_minute_string(m.created_at),
                    m.agent.chars().take(10).collect::<String>(),
                    m.as_of,
                    met("auc"),
                    met("log_loss"),
                    met("brier"),
                    m.n_train + m.n_test,
                    if m.active { "*" } else { "" }
                );
            }
            Ok(OK)
        }
        ModelCmd::Show { id, json } => {
            let row = match (ctx.open_db_for_read()?, id) {
                (store::Db::Server(pg), id) => store::pg::models::get(&pg, id)?,
                (store::Db::File(s), Some(id)) => store::models::get(&s.conn, id)?,
                (store::Db::File(s), None) => store::models::active(&s.conn)?,
            }
            .ok_or_else(|| match id {
                Some(id) => Error::bad(format!("no model v{id}")),
                None => Error::bad("no active model; train one with `crmtop train`"),
            })?;
            let report: TrainReport = serde_json::from_value(row.report.clone()).map_err(|e| {
                Error::Other(format!("model v{} has an unreadable report: {e}", row.id))
            })?;
            let report = masked_report(ctx, report)?;
            if json {
                let mut v = serde_json::to_value(&report)?;
                v["active"] = serde_json::Value::Bool(row.active);
                print_json(&v)?;
            } else {
                let mut r = report;
                r.active = row.active;
                if row.active && r.activation.starts_with("kept inactive") {
                    // Training kept it inactive; it was activated since.
                    r.activation = format!(
                        "when trained: {} (activated since)",
                        r.activation.trim_end_matches('.')
                    );
                }
                print_report(&r);
                crate::outln!("status: {}", if row.active { "active" } else { "inactive" });
            }
            Ok(OK)
        }
        ModelCmd::Activate { id } => {
            match ctx.open_db_for_write("activating a model")? {
                store::Db::Server(pg) => store::pg::models::activate(&pg, id, &ctx.agent)?,
                store::Db::File(mut s) => churn::activate(
                    &mut s.conn,
                    id,
                    &ctx.agent,
                    Ctl::new(&|_| {}, crate::signals::cancel_flag()),
                )?,
            }
            crate::outln!("model v{id} is now active");
            Ok(OK)
        }
    }
}

#[derive(Debug, Args)]
pub struct ScoreArgs {
    /// Score as of this date [default: the day of the latest order]
    #[arg(long, value_name = "DATE", value_parser = super::data::parse_date_arg)]
    pub as_of: Option<chrono::NaiveDate>,
    /// Print JSON instead of text
    #[arg(long)]
    pub json: bool,
}

pub fn score(ctx: &Ctx, a: ScoreArgs) -> Result<i32> {
    let mut db = ctx.open_db_for_write("score")?;
    let active = store::export::active_model(&db)?
        .ok_or_else(|| Error::bad("no active model; train one with `crmtop train`"))?;
    let printer = super::progress_printer();
    let ctl = Ctl::new(&printer, crate::signals::cancel_flag());
    let n = match &mut db {
        store::Db::File(s) => {
            churn::rescore(&mut s.conn, active.id, a.as_of, false, &ctx.agent, ctl)
        }
        store::Db::Server(pg) => {
            let url = ctx.db_path().to_string_lossy().into_owned();
            churn::rescore_on_server(pg, &url, active.id, a.as_of, &ctx.agent, ctl)
        }
    };
    super::progress_done();
    let n = n?;
    if a.json {
        print_json(&serde_json::json!({"model_id": active.id, "scored": n}))?;
    } else {
        crate::outln!("scored {n} customers with model v{}", active.id);
        if let Some(d) = a.as_of {
            crate::outln!(
                "note: the active scores (every screen's, the queue's priorities, next best action) are now as of {d}; `crmtop score` without --as-of scores as of the latest order again"
            );
        }
    }
    Ok(OK)
}
