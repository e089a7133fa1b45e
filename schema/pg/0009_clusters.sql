-- crmtop on PostgreSQL, schema 9: behavioural clusters (`crmtop clusters`),
-- as a file keeps them (schema 8 there): the latest run's report and each
-- customer's cluster, which the customer screens filter by (:cluster N).
-- Rewritten whole by each run: no check per row.
CREATE TABLE cluster_runs (
    id         BIGSERIAL PRIMARY KEY,
    created_at BIGINT NOT NULL,
    agent      TEXT NOT NULL,
    k          BIGINT NOT NULL,
    report     TEXT NOT NULL
);
CREATE TABLE customer_clusters (
    cid     BIGINT PRIMARY KEY,
    cluster BIGINT NOT NULL
);
CREATE INDEX customer_clusters_cluster ON customer_clusters(cluster, cid);

CREATE TRIGGER customer_clusters_data_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON customer_clusters
    FOR EACH STATEMENT EXECUTE FUNCTION crmtop_bump_data_version();
