-- crmtop on PostgreSQL, schema 11: retention campaigns with control
-- groups, as a file keeps them (schemas 9 and 10 there): the campaign,
-- its assignment packed in chunks of up to 4,096 members per group in
-- rank order (the format is in src/store/campaigns/packed.rs), and a
-- work row for each treated member an agent has touched.
--
-- The assignment never changes and is never deleted (triggers refuse
-- both); outcomes carry a version for optimistic locking; claims lock the
-- campaign's row, so two agents never take the same member.
CREATE TABLE campaigns (
    id            BIGSERIAL PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE,
    action        TEXT NOT NULL,
    channel       TEXT NOT NULL,
    cost          DOUBLE PRECISION NOT NULL,
    cost_share    DOUBLE PRECISION NOT NULL,
    target        TEXT NOT NULL,
    control_share DOUBLE PRECISION NOT NULL,
    start_day     BIGINT NOT NULL,
    window_days   BIGINT NOT NULL,
    seed          BIGINT NOT NULL,
    model_id      BIGINT,
    status        TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    created_at    BIGINT NOT NULL,
    created_by    TEXT NOT NULL,
    closed_at     BIGINT,
    closed_by     TEXT,
    claim_cursor  BIGINT NOT NULL DEFAULT 0
);
CREATE TABLE campaign_assignment (
    campaign_id BIGINT NOT NULL REFERENCES campaigns(id),
    treatment   BIGINT NOT NULL CHECK (treatment IN (0, 1)),
    chunk       BIGINT NOT NULL,
    members     INTEGER NOT NULL,
    data        BYTEA NOT NULL,
    PRIMARY KEY (campaign_id, treatment, chunk)
);
CREATE TABLE campaign_work (
    campaign_id BIGINT NOT NULL REFERENCES campaigns(id),
    cid         BIGINT NOT NULL REFERENCES customers(cid),
    rank        BIGINT NOT NULL,
    pos         BIGINT NOT NULL,
    outcome     TEXT CHECK (outcome IN ('reached', 'no_answer', 'accepted', 'declined')),
    note        TEXT,
    outcome_at  BIGINT,
    outcome_by  TEXT,
    claimed_by  TEXT,
    claimed_at  BIGINT,
    version     BIGINT NOT NULL DEFAULT 1,
    PRIMARY KEY (campaign_id, cid)
);
CREATE INDEX campaign_work_rank ON campaign_work(campaign_id, rank);
CREATE INDEX campaign_work_cid ON campaign_work(cid);

CREATE FUNCTION crmtop_assignment_is_kept() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        RAISE EXCEPTION 'a campaign''s assignment cannot be changed';
    END IF;
    RAISE EXCEPTION 'a campaign''s members cannot be deleted';
END $$;
CREATE TRIGGER campaign_assignment_is_immutable BEFORE UPDATE OR DELETE ON campaign_assignment
    FOR EACH ROW EXECUTE FUNCTION crmtop_assignment_is_kept();
CREATE TRIGGER campaign_assignment_is_kept BEFORE TRUNCATE ON campaign_assignment
    FOR EACH STATEMENT EXECUTE FUNCTION crmtop_assignment_is_kept();
CREATE TRIGGER campaign_work_assignment_is_immutable
    BEFORE UPDATE OF campaign_id, cid, rank, pos ON campaign_work
    FOR EACH ROW WHEN (OLD.campaign_id IS DISTINCT FROM NEW.campaign_id OR OLD.cid IS DISTINCT FROM NEW.cid
                       OR OLD.rank IS DISTINCT FROM NEW.rank OR OLD.pos IS DISTINCT FROM NEW.pos)
    EXECUTE FUNCTION crmtop_assignment_is_kept();
CREATE TRIGGER campaign_work_is_kept BEFORE DELETE ON campaign_work
    FOR EACH ROW EXECUTE FUNCTION crmtop_assignment_is_kept();
CREATE TRIGGER campaign_work_is_kept_whole BEFORE TRUNCATE ON campaign_work
    FOR EACH STATEMENT EXECUTE FUNCTION crmtop_assignment_is_kept();

-- What next best action learns from (the open campaigns' control groups,
-- the closed ones' measurements) changes when a campaign is made or
-- closed: the data version counts it (the server's caches follow).
CREATE TRIGGER campaigns_data_version AFTER INSERT OR DELETE OR UPDATE OF status ON campaigns
    FOR EACH STATEMENT EXECUTE FUNCTION crmtop_bump_data_version();
-- Every open UI hears of another agent's claim or outcome at once.
CREATE TRIGGER campaigns_notify AFTER INSERT OR UPDATE OR DELETE ON campaigns
    FOR EACH STATEMENT EXECUTE FUNCTION crmtop_notify_change();
CREATE TRIGGER campaign_work_notify AFTER INSERT OR UPDATE OR DELETE ON campaign_work
    FOR EACH STATEMENT EXECUTE FUNCTION crmtop_notify_change();
