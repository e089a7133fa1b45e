-- crmtop schema, version 11: churn scores leave the customers table.
--
-- Before, every version's scores shared one churn_scores table, and
-- activating a version copied its scores into customers.churn_prob and
-- rebuilt that column's index: at a million customers 1.7 s of every
-- retrain, a rewrite of the widest table for one number, and pruning a
-- version deleted a million rows one by one.
--
-- Now each version has two tables of its own, both written in key order
-- (src/store/scores.rs): churn_scores_<id> (cid, prob, drivers) and
-- churn_rank_<id> (prob, cid), what the screens sort and band by. The
-- views active_churn and active_rank point at the active version's tables
-- and are re-created when another is activated; pruning drops tables.
--
-- The previous layout's scores move in the migration's second step
-- (migrate_from_shared), in the same transaction; churn_scores is dropped.
DROP INDEX customers_churn_prob;
ALTER TABLE customers DROP COLUMN churn_prob;
