-- crmtop on PostgreSQL, schema 8: CLV fits made on the server (`crmtop
-- clv`), as a file makes them.
--
-- A fit's report is kept in clv_fits (the newest few, and the active one).
-- Its per-customer values are the active figures: active_clv gets every
-- column of a file's view of the same name. A fit is only ever activated
-- by the transaction that makes it (there is no command that re-activates
-- an older fit, on a file either), so the server keeps the active fit's
-- values only: written by COPY into a staging table, then swapped in with
-- one TRUNCATE and INSERT at the end of the transaction.
CREATE TABLE clv_fits (
    id          BIGSERIAL PRIMARY KEY,
    created_at  BIGINT NOT NULL,
    agent       TEXT NOT NULL,
    as_of       TEXT NOT NULL,
    time_unit   TEXT NOT NULL,
    customers   BIGINT NOT NULL,
    total_clv   DOUBLE PRECISION NOT NULL,
    duration_ms BIGINT NOT NULL,
    active      BOOLEAN NOT NULL DEFAULT FALSE,
    report      TEXT NOT NULL
);
CREATE UNIQUE INDEX clv_fits_one_active ON clv_fits(active) WHERE active;

-- Rewritten whole by each fit: no check per row (as active_churn, schema 4).
ALTER TABLE active_clv DROP CONSTRAINT active_clv_cid_fkey;
ALTER TABLE active_clv
    ADD COLUMN frequency DOUBLE PRECISION,
    ADD COLUMN recency   DOUBLE PRECISION,
    ADD COLUMN t         DOUBLE PRECISION,
    ADD COLUMN monetary  DOUBLE PRECISION,
    ADD COLUMN p_alive   DOUBLE PRECISION,
    ADD COLUMN exp_txn   DOUBLE PRECISION,
    ADD COLUMN exp_spend DOUBLE PRECISION,
    ADD COLUMN method    TEXT,
    ADD COLUMN r_score   BIGINT,
    ADD COLUMN f_score   BIGINT,
    ADD COLUMN m_score   BIGINT,
    ADD COLUMN segment   TEXT;

-- The CLV screen's rankings, walked as the churn ranking is (the values,
-- then the customers without one): by CLV, and by RFM segment (its filter).
CREATE INDEX active_clv_by_clv ON active_clv(clv, cid);
CREATE INDEX active_clv_by_segment ON active_clv((segment COLLATE "C"), cid);

CREATE TRIGGER clv_fits_data_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON clv_fits
    FOR EACH STATEMENT EXECUTE FUNCTION crmtop_bump_data_version();
