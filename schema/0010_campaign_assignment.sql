-- crmtop schema, version 10: a campaign's assignment packed, and rows only
-- for the members agents work.
--
-- Before, every member was a row of campaign_members with a rank index: a
-- campaign over a million customers wrote 765,000 rows (2.4 s of its 3.9 s
-- creation) and every report read them back. The assignment never
-- changes, so it is now packed: each row of campaign_assignment holds up to
-- 4,096 members of one group in rank order (cid, rank, risk band, scores
-- before the campaign; the format is in src/store/campaigns/packed.rs).
-- campaign_work has a row only for a treated member an agent has touched
-- (claimed, given back, given an outcome); a member without one is
-- untouched (version 1). campaigns.claim_cursor: every treated member
-- before that place (in rank order) has a work row, so `next` starts there.
--
-- The previous layout's rows move in the migration's second step
-- (src/store/campaigns/mod.rs, migrate_members), in the same transaction,
-- and campaign_members is dropped.
CREATE TABLE campaign_assignment (
    campaign_id INTEGER NOT NULL REFERENCES campaigns(id),
    treatment   INTEGER NOT NULL CHECK (treatment IN (0, 1)),
    chunk       INTEGER NOT NULL,     -- 0, 1, ... in rank order
    members     INTEGER NOT NULL,
    data        BLOB NOT NULL,
    PRIMARY KEY (campaign_id, treatment, chunk)
);
CREATE TRIGGER campaign_assignment_is_immutable
BEFORE UPDATE ON campaign_assignment
BEGIN
    SELECT RAISE(ABORT, 'a campaign''s assignment cannot be changed');
END;
CREATE TRIGGER campaign_assignment_is_kept
BEFORE DELETE ON campaign_assignment
BEGIN
    SELECT RAISE(ABORT, 'a campaign''s members cannot be deleted');
END;
CREATE TABLE campaign_work (
    campaign_id INTEGER NOT NULL REFERENCES campaigns(id),
    cid         INTEGER NOT NULL REFERENCES customers(cid),
    rank        INTEGER NOT NULL,     -- as assigned
    pos         INTEGER NOT NULL,     -- place among the treated, in rank order
    outcome     TEXT CHECK (outcome IN ('reached', 'no_answer', 'accepted', 'declined')),
    note        TEXT,
    outcome_at  INTEGER,
    outcome_by  TEXT,
    claimed_by  TEXT,
    claimed_at  INTEGER,
    version     INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (campaign_id, cid)
) WITHOUT ROWID;
CREATE INDEX campaign_work_rank ON campaign_work(campaign_id, rank);
CREATE INDEX campaign_work_cid ON campaign_work(cid);
CREATE TRIGGER campaign_work_assignment_is_immutable
BEFORE UPDATE OF campaign_id, cid, rank, pos ON campaign_work
BEGIN
    SELECT RAISE(ABORT, 'a campaign''s assignment cannot be changed');
END;
CREATE TRIGGER campaign_work_is_kept
BEFORE DELETE ON campaign_work
BEGIN
    SELECT RAISE(ABORT, 'a campaign''s members cannot be deleted');
END;
ALTER TABLE campaigns ADD COLUMN claim_cursor INTEGER NOT NULL DEFAULT 0;
