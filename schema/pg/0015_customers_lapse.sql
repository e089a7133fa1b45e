-- crmtop on PostgreSQL, schema 15: whether a customer has lapsed (churned,
-- or no order since a cutoff) beside the key, so that the churn list's
-- walk by risk, which leaves lapsed customers out, reads this index and
-- not the customers' rows: the riskiest customers are mostly lapsed, and
-- the first page of a million customers' list passed over 17,000 of them
-- (1.2 s from a cold cache, 0.4 s with this index).
CREATE INDEX customers_lapse ON customers (cid) INCLUDE (churned, last_order);
