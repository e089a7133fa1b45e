-- crmtop schema, version 6: customer attributes stored by column.
--
-- Before, each attribute of each customer was a row of customer_attributes
-- (a million customers with twenty attributes: twenty million rows to read
-- for every training). Now a customer's attributes are one row of
-- customer_attrs, one column per attribute. attribute_columns names the
-- columns: attribute `income_2024` might be column a7. Columns are added by
-- ALTER TABLE when a file brings a new attribute; they have no declared
-- type, so a number stays a number and a text a text.
--
-- The rows of the old table are moved into the new one by the migration's
-- second step (src/store/attributes.rs, migrate_from_rows), in the same
-- transaction, and the old table is dropped.
CREATE TABLE attribute_columns (
    pos  INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);
CREATE TABLE customer_attrs (
    cid INTEGER PRIMARY KEY REFERENCES customers(cid) ON DELETE CASCADE
);

-- Resolved and closed items are listed most recently resolved first.
CREATE INDEX feedback_resolved ON feedback(status, resolved_at);
