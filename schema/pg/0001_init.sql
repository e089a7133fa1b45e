-- crmtop on PostgreSQL, schema 1: the customers, their orders, events and
-- feedback, the feedback queue, the audit log, and each customer's active
-- churn probability and CLV (what the queue's priority reads). Integer keys
-- and times are BIGINT (Unix seconds), amounts DOUBLE PRECISION, as in the
-- SQLite file, so `crmtop migrate` copies values unchanged both ways.

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE customers (
    cid          BIGINT PRIMARY KEY,
    id           TEXT NOT NULL UNIQUE,
    name         TEXT,
    email        TEXT,
    phone        TEXT,
    signup_date  TEXT,
    birth_date   TEXT,
    age          BIGINT,
    income       DOUBLE PRECISION,
    region       TEXT,
    plan         TEXT,
    segment      TEXT,
    churned      BIGINT CHECK (churned IN (0, 1)),
    n_orders     BIGINT NOT NULL DEFAULT 0,
    revenue      DOUBLE PRECISION NOT NULL DEFAULT 0,
    first_order  BIGINT,
    last_order   BIGINT,
    since        BIGINT,
    cancelled_at TEXT
);

CREATE TABLE orders (
    oid       BIGINT PRIMARY KEY,
    order_key TEXT NOT NULL UNIQUE,
    cid       BIGINT NOT NULL REFERENCES customers(cid),
    ts        BIGINT NOT NULL,
    amount    DOUBLE PRECISION NOT NULL,
    quantity  BIGINT NOT NULL DEFAULT 1 CHECK (quantity >= 0),
    product   TEXT,
    category  TEXT
);
CREATE INDEX orders_cid_ts ON orders(cid, ts, amount);

CREATE TABLE events (
    eid       BIGINT PRIMARY KEY,
    event_key TEXT NOT NULL UNIQUE,
    cid       BIGINT NOT NULL REFERENCES customers(cid),
    ts        BIGINT NOT NULL,
    kind      TEXT NOT NULL,
    value     DOUBLE PRECISION NOT NULL DEFAULT 1
);
CREATE INDEX events_cid_ts ON events(cid, ts, kind, value);

CREATE TABLE feedback (
    fid               BIGINT PRIMARY KEY,
    id                TEXT NOT NULL UNIQUE,
    cid               BIGINT NOT NULL REFERENCES customers(cid),
    created_at        BIGINT NOT NULL,
    channel           TEXT,
    kind              TEXT NOT NULL CHECK (kind IN ('complaint','question','praise','nps','csat','other')),
    score             DOUBLE PRECISION,
    text              TEXT,
    sentiment         DOUBLE PRECISION,
    status            TEXT NOT NULL DEFAULT 'new'
                      CHECK (status IN ('new','open','pending','escalated','resolved','closed')),
    assignee          TEXT,
    version           BIGINT NOT NULL DEFAULT 1,
    resolution_note   TEXT,
    resolved_at       BIGINT,
    escalation_reason TEXT,
    first_response_at BIGINT,
    updated_at        BIGINT,
    updated_by        TEXT,
    sla_paused_secs   BIGINT NOT NULL DEFAULT 0,
    pending_since     BIGINT
);
CREATE INDEX feedback_cid ON feedback(cid, created_at);
CREATE INDEX feedback_assignee ON feedback(assignee, status);
CREATE INDEX feedback_resolved ON feedback(status, resolved_at);

-- The open items, narrow, with their time-independent priority.
CREATE TABLE queue (
    fid         BIGINT PRIMARY KEY REFERENCES feedback(fid) ON DELETE CASCADE,
    status      TEXT NOT NULL,
    kind        TEXT NOT NULL,
    channel     TEXT,
    created_at  BIGINT NOT NULL,
    assignee    TEXT,
    prio_static DOUBLE PRECISION NOT NULL DEFAULT 0
);
CREATE INDEX queue_prio     ON queue(prio_static DESC, fid);
CREATE INDEX queue_created  ON queue(created_at, fid);
CREATE INDEX queue_assignee ON queue(assignee);
CREATE INDEX queue_unassigned ON queue(prio_static DESC, fid) WHERE assignee IS NULL;

-- Append-only: a trigger refuses UPDATE and DELETE for everyone, the
-- table's owner included (see the README for a role agents cannot alter
-- it with).
CREATE TABLE audit_log (
    aid        BIGSERIAL PRIMARY KEY,
    at         BIGINT NOT NULL,
    agent      TEXT NOT NULL,
    action     TEXT NOT NULL,
    entity     TEXT NOT NULL,
    entity_id  TEXT NOT NULL,
    old_value  TEXT,
    new_value  TEXT,
    details    TEXT
);
CREATE INDEX audit_entity ON audit_log(entity, entity_id, aid);
CREATE INDEX audit_agent  ON audit_log(agent);

CREATE FUNCTION crmtop_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only: % refused', TG_OP;
END $$;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION crmtop_audit_append_only();
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION crmtop_audit_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION crmtop_audit_append_only();

-- Each customer's figures from the active churn model and CLV fit, as the
-- SQLite file's views of the same names show them.
CREATE TABLE active_churn (
    cid  BIGINT PRIMARY KEY REFERENCES customers(cid) ON DELETE CASCADE,
    prob DOUBLE PRECISION
);
CREATE TABLE active_clv (
    cid BIGINT PRIMARY KEY REFERENCES customers(cid) ON DELETE CASCADE,
    clv DOUBLE PRECISION
);
