-- crmtop on PostgreSQL, version 6: a data version, as a file keeps one.
--
-- The dashboard's aggregates are cached (in meta) under the version they
-- were computed at. Every statement that changes the customers, their
-- orders, the active figures or the models bumps it: statement-level
-- triggers, so a COPY of a million rows bumps it once.
CREATE TABLE data_version (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    v  BIGINT NOT NULL
);
INSERT INTO data_version(id, v) VALUES (1, 0);

CREATE FUNCTION crmtop_bump_data_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE data_version SET v = v + 1 WHERE id = 1;
    RETURN NULL;
END $$;

CREATE TRIGGER customers_data_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON customers
    FOR EACH STATEMENT EXECUTE FUNCTION crmtop_bump_data_version();
CREATE TRIGGER orders_data_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON orders
    FOR EACH STATEMENT EXECUTE FUNCTION crmtop_bump_data_version();
CREATE TRIGGER active_churn_data_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON active_churn
    FOR EACH STATEMENT EXECUTE FUNCTION crmtop_bump_data_version();
CREATE TRIGGER active_clv_data_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON active_clv
    FOR EACH STATEMENT EXECUTE FUNCTION crmtop_bump_data_version();
CREATE TRIGGER models_data_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON models
    FOR EACH STATEMENT EXECUTE FUNCTION crmtop_bump_data_version();
