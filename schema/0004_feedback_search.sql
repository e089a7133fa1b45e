-- crmtop schema, version 4: find any feedback item by its id, its
-- customer's id or name, or a word of its text.
--
-- A full-text index (FTS5, built into the bundled SQLite) with its own copy
-- of the four columns, rowid = feedback.fid, kept in step by triggers in the
-- same transaction as every write (imports, re-imports, the demo, workflow
-- changes, a customer renamed). `crmtop doctor` checks it against the rows
-- and `--fix` rebuilds it.
CREATE VIRTUAL TABLE feedback_fts USING fts5(
    id, customer_id, name, text,
    tokenize = 'unicode61 remove_diacritics 2'
);
INSERT INTO feedback_fts(rowid, id, customer_id, name, text)
    SELECT f.fid, f.id, c.id, c.name, f.text FROM feedback f JOIN customers c ON c.cid = f.cid;

CREATE TRIGGER feedback_fts_insert AFTER INSERT ON feedback BEGIN
    INSERT INTO feedback_fts(rowid, id, customer_id, name, text)
        VALUES (new.fid, new.id, (SELECT id FROM customers WHERE cid = new.cid),
                (SELECT name FROM customers WHERE cid = new.cid), new.text);
END;
CREATE TRIGGER feedback_fts_update AFTER UPDATE OF id, cid, text ON feedback
WHEN old.id IS NOT new.id OR old.cid IS NOT new.cid OR old.text IS NOT new.text BEGIN
    DELETE FROM feedback_fts WHERE rowid = old.fid;
    INSERT INTO feedback_fts(rowid, id, customer_id, name, text)
        VALUES (new.fid, new.id, (SELECT id FROM customers WHERE cid = new.cid),
                (SELECT name FROM customers WHERE cid = new.cid), new.text);
END;
CREATE TRIGGER feedback_fts_delete AFTER DELETE ON feedback BEGIN
    DELETE FROM feedback_fts WHERE rowid = old.fid;
END;
CREATE TRIGGER feedback_fts_customer AFTER UPDATE OF id, name ON customers
WHEN old.id IS NOT new.id OR old.name IS NOT new.name BEGIN
    DELETE FROM feedback_fts WHERE rowid IN (SELECT fid FROM feedback WHERE cid = new.cid);
    INSERT INTO feedback_fts(rowid, id, customer_id, name, text)
        SELECT f.fid, f.id, new.id, new.name, f.text FROM feedback f WHERE f.cid = new.cid;
END;
