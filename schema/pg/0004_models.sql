-- crmtop on PostgreSQL, schema 4: churn model versions trained on the
-- server (`crmtop train`, `R` in the UI), each with every customer's
-- probability and drivers. The active version's probabilities are copied
-- into active_churn (what the queue's priority reads) when it is activated.
CREATE TABLE models (
    id            BIGSERIAL PRIMARY KEY,
    kind          TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    agent         TEXT NOT NULL,
    as_of         TEXT NOT NULL,
    window_days   BIGINT NOT NULL,
    label_source  TEXT NOT NULL,
    n_train       BIGINT NOT NULL,
    n_test        BIGINT NOT NULL,
    positive_rate DOUBLE PRECISION NOT NULL,
    duration_ms   BIGINT NOT NULL,
    active        BOOLEAN NOT NULL DEFAULT FALSE,
    report        TEXT NOT NULL,
    params        TEXT NOT NULL
);
CREATE UNIQUE INDEX models_one_active ON models(active) WHERE active;

-- No foreign keys: a check per copied row made writing a million scores
-- 10 s; training writes scores of customers it has just read, and pruning
-- deletes a version's scores with it.
CREATE TABLE churn_scores (
    model_id BIGINT NOT NULL,
    cid      BIGINT NOT NULL,
    prob     DOUBLE PRECISION NOT NULL,
    drivers  TEXT NOT NULL,
    PRIMARY KEY (model_id, cid)
);

-- The active figures are rewritten whole at an activation (likewise
-- without a check per row).
ALTER TABLE active_churn DROP CONSTRAINT active_churn_cid_fkey;

-- Opening a ticket asks for the latest order in the data (is the customer
-- already gone?): an index, not a scan of every customer.
CREATE INDEX customers_last_order ON customers(last_order);

-- The queue's kinds and channels (its filter bar) are read by a skip scan
-- that needs these: without them each step read the whole queue (86,000
-- open items: 143 ms a page, where the keys' budget is 80 ms).
CREATE INDEX queue_kind ON queue(kind);
CREATE INDEX queue_channel ON queue(channel);
