-- crmtop on PostgreSQL, schema 13: each model version's scores in a
-- partition of their own, as a file keeps a table per version (schema 11
-- there). Pruning an old version was a DELETE of a million rows (0.5 to
-- 2.3 s of every retrain at a million customers, and as many dead rows
-- for the vacuum); it is now a partition dropped. A new version's scores
-- are copied into a table of their own, indexed once, and attached
-- (checked by its CHECK constraint, not by a scan).
ALTER TABLE churn_scores RENAME TO churn_scores_before;
ALTER TABLE churn_scores_before RENAME CONSTRAINT churn_scores_pkey TO churn_scores_before_pkey;
CREATE TABLE churn_scores (
    model_id BIGINT NOT NULL,
    cid      BIGINT NOT NULL,
    prob     DOUBLE PRECISION NOT NULL,
    drivers  TEXT NOT NULL,
    PRIMARY KEY (model_id, cid)
) PARTITION BY LIST (model_id);
DO $$
DECLARE m BIGINT;
BEGIN
    FOR m IN SELECT DISTINCT model_id FROM churn_scores_before ORDER BY 1 LOOP
        EXECUTE format(
            'CREATE TABLE churn_scores_%s PARTITION OF churn_scores FOR VALUES IN (%s)', m, m);
        EXECUTE format(
            'INSERT INTO churn_scores_%s SELECT * FROM churn_scores_before WHERE model_id = %s ORDER BY cid', m, m);
    END LOOP;
END $$;
DROP TABLE churn_scores_before;
