//! What `crmtop migrate` carries: every table in the order it is copied
//! (parents before the rows that name them), what each is read from on a
//! file, the key both sides are read in for the checksum, and whether it
//! goes back into a file.

/// A table as it is copied: its name on PostgreSQL, its columns, what is
/// read from the SQLite file (a table, or the view of the active model),
/// its key (the order both sides are read in for the checksum), and
/// whether it goes back into a file (the active figures do not: a file's
/// are views of its own models and fits).
pub(super) struct Table {
    pub(super) name: &'static str,
    pub(super) cols: &'static str,
    pub(super) from: &'static str,
    pub(super) key: &'static str,
    pub(super) back: bool,
    /// Its last column holds bytes (`bytea` on the server).
    pub(super) bytes: bool,
}

pub(super) const TABLES: &[Table] = &[
    Table {
        name: "meta",
        cols: "key, value",
        from: "meta",
        key: "key",
        back: true,
        bytes: false,
    },
    Table {
        name: "customers",
        cols: "cid, id, name, email, phone, signup_date, birth_date, age, income, region, plan, segment, churned, n_orders, revenue, first_order, last_order, since, cancelled_at",
        from: "customers",
        key: "cid",
        back: true,
        bytes: false,
    },
    Table {
        name: "orders",
        cols: "oid, order_key, cid, ts, amount, quantity, product, category",
        from: "orders",
        key: "oid",
        back: true,
        bytes: false,
    },
    Table {
        name: "events",
        cols: "eid, event_key, cid, ts, kind, value",
        from: "events",
        key: "eid",
        back: true,
        bytes: false,
    },
    Table {
        name: "feedback",
        cols: "fid, id, cid, created_at, channel, kind, score, text, sentiment, status, assignee, version, resolution_note, resolved_at, escalation_reason, first_response_at, updated_at, updated_by, sla_paused_secs, pending_since",
        from: "feedback",
        key: "fid",
        back: true,
        bytes: false,
    },
    Table {
        name: "queue",
        cols: "fid, status, kind, channel, created_at, assignee, prio_static",
        from: "queue",
        key: "fid",
        back: true,
        bytes: false,
    },
    Table {
        name: "audit_log",
        cols: "aid, at, agent, action, entity, entity_id, old_value, new_value, details",
        from: "audit_log",
        key: "aid",
        back: true,
        bytes: false,
    },
    Table {
        name: "active_churn",
        cols: "cid, prob",
        from: "active_churn",
        key: "cid",
        back: false,
        bytes: false,
    },
    // The latest clusters (the customer screens filter by them).
    Table {
        name: "cluster_runs",
        cols: "id, created_at, agent, k, report",
        from: "cluster_runs",
        key: "id",
        back: true,
        bytes: false,
    },
    Table {
        name: "customer_clusters",
        cols: "cid, cluster",
        from: "customer_clusters",
        key: "cid",
        back: true,
        bytes: false,
    },
    // Campaigns with their assignments and the members agents worked.
    Table {
        name: "campaigns",
        cols: "id, name, action, channel, cost, cost_share, target, control_share, start_day, window_days, seed, model_id, status, created_at, created_by, closed_at, closed_by, claim_cursor",
        from: "campaigns",
        key: "id",
        back: true,
        bytes: false,
    },
    Table {
        name: "campaign_assignment",
        cols: "campaign_id, treatment, chunk, members, data",
        from: "campaign_assignment",
        key: "campaign_id, treatment, chunk",
        back: true,
        bytes: true,
    },
    Table {
        name: "campaign_work",
        cols: "campaign_id, cid, rank, pos, outcome, note, outcome_at, outcome_by, claimed_by, claimed_at, version",
        from: "campaign_work",
        key: "campaign_id, cid",
        back: true,
        bytes: false,
    },
    // The active CLV fit comes along with every customer's values (older
    // fits stay in the file).
    Table {
        name: "active_clv",
        cols: "cid, frequency, recency, t, monetary, p_alive, exp_txn, exp_spend, clv, method, r_score, f_score, m_score, segment",
        from: "active_clv",
        key: "cid",
        back: false,
        bytes: false,
    },
    Table {
        name: "clv_fits",
        cols: "id, created_at, agent, as_of, time_unit, customers, total_clv, duration_ms, active, report",
        from: "(SELECT * FROM clv_fits WHERE active = 1) f",
        key: "id",
        back: false,
        bytes: false,
    },
    // The active churn model comes along with every customer's score and
    // drivers, so that the server explains and re-ranks as the file did
    // (older versions stay in the file).
    Table {
        name: "models",
        cols: "id, kind, created_at, agent, as_of, window_days, label_source, n_train, n_test, positive_rate, duration_ms, active, report, params",
        from: "(SELECT * FROM models WHERE active = 1) m",
        key: "id",
        back: false,
        bytes: false,
    },
    Table {
        name: "churn_scores",
        cols: "model_id, cid, prob, drivers",
        from: "(SELECT (SELECT id FROM models WHERE active = 1) AS model_id, cid, prob, drivers
                  FROM active_churn WHERE EXISTS (SELECT 1 FROM models WHERE active = 1)) s",
        key: "cid",
        back: false,
        bytes: false,
    },
];
