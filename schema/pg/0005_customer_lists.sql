-- crmtop on PostgreSQL, version 5: the Customers and Churn screens.
--
-- Each list is walked by keyset in the order of one shown column, as on a
-- file: an index on exactly the expression the page query orders by, with
-- the key last. Texts compare by bytes (COLLATE "C", as SQLite's BINARY)
-- and names without regard to ASCII case (SQLite's NOCASE); a nullable
-- column is walked as (present, value, key) so that a missing value sorts
-- before every value, as on a file (src/store/pg/list.rs).
CREATE INDEX customers_by_id       ON customers ((id COLLATE "C"), cid);
CREATE INDEX customers_by_name     ON customers ((name IS NOT NULL), (lower(COALESCE(name, '') COLLATE "C")), cid);
CREATE INDEX customers_by_segment  ON customers ((segment IS NOT NULL), (COALESCE(segment, '') COLLATE "C"), cid);
CREATE INDEX customers_by_plan     ON customers ((plan IS NOT NULL), (COALESCE(plan, '') COLLATE "C"), cid);
CREATE INDEX customers_by_since    ON customers ((since IS NOT NULL), (COALESCE(since, 0)), cid);
CREATE INDEX customers_by_last     ON customers ((last_order IS NOT NULL), (COALESCE(last_order, 0)), cid);
CREATE INDEX customers_by_orders   ON customers (n_orders, cid);
CREATE INDEX customers_by_revenue  ON customers (revenue, cid);
-- The churn screen walks the active scores, riskiest first.
CREATE INDEX active_churn_by_prob  ON active_churn (prob, cid);
