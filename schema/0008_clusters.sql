-- crmtop schema, version 8: behavioural clusters.
--
-- `crmtop clusters` assigns every customer to a k-means cluster of
-- standardised behaviour and profiles each cluster. The latest run is kept:
-- its report (k, silhouette, profiles and names) and each customer's
-- cluster, which the customer screens filter by (:cluster N).
CREATE TABLE cluster_runs (
    id         INTEGER PRIMARY KEY,
    created_at INTEGER NOT NULL,
    agent      TEXT NOT NULL,
    k          INTEGER NOT NULL,
    report     TEXT NOT NULL
);
CREATE TABLE customer_clusters (
    cid     INTEGER PRIMARY KEY REFERENCES customers(cid) ON DELETE CASCADE,
    cluster INTEGER NOT NULL
);
CREATE INDEX customer_clusters_cluster ON customer_clusters(cluster, cid);
