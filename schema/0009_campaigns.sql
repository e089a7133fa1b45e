-- crmtop schema, version 9: retention campaigns with control groups.
--
-- A campaign targets customers (a filter, ordered by value at risk) and
-- holds a random share out as a control group, stratified by risk band.
-- The assignment is immutable (triggers refuse to change or delete it);
-- agents record outcomes on treated members with optimistic locking
-- (version), and every change is in the audit log.
CREATE TABLE campaigns (
    id            INTEGER PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE,
    action        TEXT NOT NULL,
    channel       TEXT NOT NULL,
    cost          REAL NOT NULL,       -- per customer contacted
    cost_share    REAL NOT NULL,       -- share of spend, for accepted offers
    target        TEXT NOT NULL,       -- the filter as given ('' = everyone not lapsed)
    control_share REAL NOT NULL,
    start_day     INTEGER NOT NULL,    -- days since 1970
    window_days   INTEGER NOT NULL,
    seed          INTEGER NOT NULL,
    model_id      INTEGER,             -- the churn model whose scores ranked and stratified
    status        TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    created_at    INTEGER NOT NULL,
    created_by    TEXT NOT NULL,
    closed_at     INTEGER,
    closed_by     TEXT
);
CREATE TABLE campaign_members (
    campaign_id   INTEGER NOT NULL REFERENCES campaigns(id),
    cid           INTEGER NOT NULL REFERENCES customers(cid),
    grp           TEXT NOT NULL CHECK (grp IN ('treatment', 'control')),
    stratum       TEXT NOT NULL,       -- risk band at assignment
    churn_prob    REAL,                -- before the campaign
    clv           REAL,
    value_at_risk REAL NOT NULL,
    rank          INTEGER NOT NULL,    -- 1 = highest value at risk
    outcome       TEXT CHECK (outcome IN ('reached', 'no_answer', 'accepted', 'declined')),
    note          TEXT,
    outcome_at    INTEGER,
    outcome_by    TEXT,
    claimed_by    TEXT,
    claimed_at    INTEGER,
    version       INTEGER NOT NULL DEFAULT 1,
    -- Stored in customer order (written appended, read beside the
    -- customers and their orders); the work list walks the rank index.
    PRIMARY KEY (campaign_id, cid)
) WITHOUT ROWID;
CREATE UNIQUE INDEX campaign_members_rank ON campaign_members(campaign_id, rank);
CREATE TRIGGER campaign_members_assignment_is_immutable
BEFORE UPDATE OF campaign_id, cid, grp, stratum, churn_prob, clv, value_at_risk, rank ON campaign_members
BEGIN
    SELECT RAISE(ABORT, 'a campaign''s assignment cannot be changed');
END;
CREATE TRIGGER campaign_members_are_kept
BEFORE DELETE ON campaign_members
BEGIN
    SELECT RAISE(ABORT, 'a campaign''s members cannot be deleted');
END;
