-- crmtop on PostgreSQL, schema 10: customer attributes (the extra columns
-- of a customers file), stored by column as a file stores them (schema 6
-- there): one row per customer in customer_attrs, columns added with
-- ALTER TABLE the first time a file brings an attribute, named after
-- their position in attribute_columns (never after the data).
--
-- A file's columns are untyped, so each value keeps the type it was
-- written with; PostgreSQL's are typed, so each attribute has two:
-- n<pos> (a number) and t<pos> (a text), at most one of them set.
-- A NULL costs a bit of the row's null map: the unused half is free.
--
-- As on a file there is no foreign key (doctor counts orphans): a large
-- customers load writes one row per customer, not one lookup more.
CREATE TABLE attribute_columns (
    pos  BIGINT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);
CREATE TABLE customer_attrs (
    cid BIGINT PRIMARY KEY
);

CREATE TRIGGER customer_attrs_data_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON customer_attrs
    FOR EACH STATEMENT EXECUTE FUNCTION crmtop_bump_data_version();
