-- crmtop schema, version 13: CLV values leave the customers table.
--
-- Before, every fit's values shared one clv_values table, and activating a
-- fit copied each customer's CLV and RFM segment into customers.clv and
-- customers.rfm_segment and rebuilt those columns' indexes: at a million
-- customers 2.5 s of a 7.3 s `crmtop clv`, a rewrite of the widest table
-- for two values, and pruning a fit deleted a million rows one by one.
--
-- Now each fit has three tables of its own, all written in key order
-- (src/store/clv_values.rs): clv_values_<id> (cid primary key, the values),
-- clv_rank_<id> (clv, cid) and clv_segments_<id> (segment, cid), what the
-- screens sort by. The views active_clv, active_clv_rank and
-- active_segment_rank point at the active fit's tables and are re-created
-- when another becomes active; pruning drops tables. As for churn scores
-- (schema 11).
--
-- The previous layout's values move in the migration's second step
-- (clv_values::migrate_from_shared), in the same transaction; clv_values
-- is dropped there.
DROP INDEX customers_clv;
DROP INDEX customers_rfm_segment;
ALTER TABLE customers DROP COLUMN clv;
ALTER TABLE customers DROP COLUMN rfm_segment;

-- Until a fit is active the views are empty (re-created by the second step
-- and by every activation).
CREATE VIEW active_clv(cid, frequency, recency, t, monetary, p_alive, exp_txn, exp_spend, clv,
                       method, r_score, f_score, m_score, segment)
    AS SELECT NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL WHERE 0;
CREATE VIEW active_clv_rank(clv, cid) AS SELECT NULL, NULL WHERE 0;
CREATE VIEW active_segment_rank(segment, cid) AS SELECT NULL, NULL WHERE 0;
