-- crmtop schema, version 1.
-- Times are INTEGER seconds since 1970-01-01 UTC; calendar dates are TEXT 'YYYY-MM-DD'.

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

-- One row per customer. `cid` is the internal key used by every other table;
-- `id` is the customer's own identifier from the source system.
CREATE TABLE customers (
    cid          INTEGER PRIMARY KEY,
    id           TEXT NOT NULL,
    name         TEXT,
    email        TEXT,
    phone        TEXT,
    signup_date  TEXT,
    birth_date   TEXT,
    age          INTEGER,
    income       REAL,
    region       TEXT,
    plan         TEXT,
    segment      TEXT,
    churned      INTEGER CHECK (churned IN (0, 1)),
    -- Denormalised aggregates, kept current by import, training and CLV fits
    -- so that a screen can page through a million customers sorted by any of them.
    n_orders     INTEGER NOT NULL DEFAULT 0,
    revenue      REAL NOT NULL DEFAULT 0,
    first_order  INTEGER,
    last_order   INTEGER,
    -- Start of the relationship: the signup date, else the first order.
    since        INTEGER,
    churn_prob   REAL,
    clv          REAL,
    rfm_segment  TEXT
);
CREATE UNIQUE INDEX customers_id ON customers(id);
CREATE INDEX customers_name        ON customers(name COLLATE NOCASE, cid);
CREATE INDEX customers_email       ON customers(email COLLATE NOCASE);
CREATE INDEX customers_segment     ON customers(segment, cid);
CREATE INDEX customers_plan        ON customers(plan, cid);
CREATE INDEX customers_since       ON customers(since, cid);
CREATE INDEX customers_last_order  ON customers(last_order, cid);
CREATE INDEX customers_n_orders    ON customers(n_orders, cid);
CREATE INDEX customers_revenue     ON customers(revenue, cid);
CREATE INDEX customers_churn_prob  ON customers(churn_prob, cid);
CREATE INDEX customers_clv         ON customers(clv, cid);
CREATE INDEX customers_rfm_segment ON customers(rfm_segment, cid);

-- Extra columns of a customers file. Exactly one of num/txt is set.
CREATE TABLE customer_attributes (
    cid   INTEGER NOT NULL REFERENCES customers(cid) ON DELETE CASCADE,
    name  TEXT NOT NULL,
    num   REAL,
    txt   TEXT,
    PRIMARY KEY (cid, name)
) WITHOUT ROWID;
CREATE INDEX customer_attributes_name ON customer_attributes(name);

-- `order_key` is the order's own id, or for files without ids a digest of the
-- row's content plus its occurrence number in the file (so re-import is idempotent
-- and two identical purchases in one file are both kept).
CREATE TABLE orders (
    oid       INTEGER PRIMARY KEY,
    order_key TEXT NOT NULL,
    cid       INTEGER NOT NULL REFERENCES customers(cid),
    ts        INTEGER NOT NULL,
    amount    REAL NOT NULL,
    quantity  INTEGER NOT NULL DEFAULT 1 CHECK (quantity >= 0),
    product   TEXT,
    category  TEXT
);
CREATE UNIQUE INDEX orders_key ON orders(order_key);
CREATE INDEX orders_cid_ts ON orders(cid, ts, amount);

-- Revenue per calendar month (UTC), kept current by import.
CREATE TABLE monthly_revenue (
    month    TEXT PRIMARY KEY,          -- 'YYYY-MM'
    revenue  REAL NOT NULL,
    orders   INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE events (
    eid       INTEGER PRIMARY KEY,
    event_key TEXT NOT NULL,
    cid       INTEGER NOT NULL REFERENCES customers(cid),
    ts        INTEGER NOT NULL,
    kind      TEXT NOT NULL,
    value     REAL NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX events_key ON events(event_key);
CREATE INDEX events_cid_ts ON events(cid, ts, kind, value);

CREATE TABLE feedback (
    fid               INTEGER PRIMARY KEY,
    id                TEXT NOT NULL,
    cid               INTEGER NOT NULL REFERENCES customers(cid),
    created_at        INTEGER NOT NULL,
    channel           TEXT,
    kind              TEXT NOT NULL CHECK (kind IN ('complaint','question','praise','nps','csat','other')),
    score             REAL,
    text              TEXT,
    sentiment         REAL,
    status            TEXT NOT NULL DEFAULT 'new'
                      CHECK (status IN ('new','open','pending','escalated','resolved','closed')),
    assignee          TEXT,
    version           INTEGER NOT NULL DEFAULT 1,
    resolution_note   TEXT,
    resolved_at       INTEGER,
    escalation_reason TEXT,
    first_response_at INTEGER,
    updated_at        INTEGER,
    updated_by        TEXT
);
CREATE UNIQUE INDEX feedback_id ON feedback(id);
CREATE INDEX feedback_cid ON feedback(cid, created_at);
CREATE INDEX feedback_queue ON feedback(status, kind, created_at);
CREATE INDEX feedback_assignee ON feedback(assignee, status);

-- The queue: one narrow row per open item (new, open, pending, escalated),
-- kept in step with `feedback` in the same transactions. A page of the queue
-- is ordered by priority now = prio_static + the age-against-SLA term, which
-- no index can serve; SQLite answers ORDER BY ... LIMIT with one pass and a
-- bounded sorter, so the scan is kept to these few columns.
-- prio_static is the time-independent part (value at risk, sentiment, kind,
-- NPS detractor): see src/analytics/priority.rs.
CREATE TABLE queue (
    fid         INTEGER PRIMARY KEY REFERENCES feedback(fid) ON DELETE CASCADE,
    status      TEXT NOT NULL,
    kind        TEXT NOT NULL,
    channel     TEXT,
    created_at  INTEGER NOT NULL,
    assignee    TEXT,
    prio_static REAL NOT NULL DEFAULT 0
);

CREATE TABLE audit_log (
    aid        INTEGER PRIMARY KEY,
    at         INTEGER NOT NULL,
    agent      TEXT NOT NULL,
    action     TEXT NOT NULL,
    entity     TEXT NOT NULL,
    entity_id  TEXT NOT NULL,
    old_value  TEXT,
    new_value  TEXT,
    details    TEXT
);
CREATE INDEX audit_entity ON audit_log(entity, entity_id, aid);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only: UPDATE refused'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only: DELETE refused'); END;

-- Churn model versions.
CREATE TABLE models (
    id            INTEGER PRIMARY KEY,
    kind          TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    agent         TEXT NOT NULL,
    as_of         TEXT NOT NULL,
    window_days   INTEGER NOT NULL,
    label_source  TEXT NOT NULL,
    n_train       INTEGER NOT NULL,
    n_test        INTEGER NOT NULL,
    positive_rate REAL NOT NULL,
    duration_ms   INTEGER NOT NULL,
    active        INTEGER NOT NULL DEFAULT 0,
    report        TEXT NOT NULL,   -- JSON: features, dropped, metrics, cv, coefficients, curves
    params        TEXT NOT NULL    -- JSON: what scoring needs (standardisation, coefficients or trees)
);
CREATE UNIQUE INDEX models_one_active ON models(active) WHERE active = 1;

CREATE TABLE churn_scores (
    model_id INTEGER NOT NULL REFERENCES models(id) ON DELETE CASCADE,
    cid      INTEGER NOT NULL REFERENCES customers(cid) ON DELETE CASCADE,
    prob     REAL NOT NULL,
    drivers  TEXT NOT NULL,        -- JSON array of {feature, value, contribution}
    PRIMARY KEY (model_id, cid)
) WITHOUT ROWID;

-- CLV fits.
CREATE TABLE clv_fits (
    id          INTEGER PRIMARY KEY,
    created_at  INTEGER NOT NULL,
    agent       TEXT NOT NULL,
    as_of       TEXT NOT NULL,
    time_unit   TEXT NOT NULL,
    customers   INTEGER NOT NULL,
    total_clv   REAL NOT NULL,
    duration_ms INTEGER NOT NULL,
    active      INTEGER NOT NULL DEFAULT 0,
    report      TEXT NOT NULL     -- JSON: settings, parameters, std errors, log-likelihoods
);
CREATE UNIQUE INDEX clv_fits_one_active ON clv_fits(active) WHERE active = 1;

CREATE TABLE clv_values (
    fit_id      INTEGER NOT NULL REFERENCES clv_fits(id) ON DELETE CASCADE,
    cid         INTEGER NOT NULL REFERENCES customers(cid) ON DELETE CASCADE,
    frequency   REAL,
    recency     REAL,
    t           REAL,
    monetary    REAL,
    p_alive     REAL,
    exp_txn     REAL,
    exp_spend   REAL,
    clv         REAL,
    method      TEXT NOT NULL,
    r_score     INTEGER,
    f_score     INTEGER,
    m_score     INTEGER,
    segment     TEXT,
    PRIMARY KEY (fit_id, cid)
) WITHOUT ROWID;

-- Long-running work, so that `crmtop doctor` can find jobs that died.
CREATE TABLE jobs (
    id          INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL,
    agent       TEXT NOT NULL,
    pid         INTEGER NOT NULL,
    started_at  INTEGER NOT NULL,
    finished_at INTEGER,
    status      TEXT NOT NULL CHECK (status IN ('running','done','failed','cancelled')),
    message     TEXT
);
