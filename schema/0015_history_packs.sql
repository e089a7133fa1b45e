-- crmtop schema, version 15: each customer's daily sums packed into one
-- BLOB, the form training reads.
--
-- Training read 14.6 million rows of daily sums at 1,000,000 demo
-- customers (order_days, event_days, feedback_days), and most of its
-- reading time went on stepping rows and taking their columns one by one,
-- not on the sums. `history_packs` holds, per customer, a copy of that
-- customer's rows of the three tables in one BLOB (store::packs: varints,
-- event kinds by number from `history_kinds`, reals exact): one row a
-- customer to read instead of about fifteen.
--
-- The daily sums stay the truth, kept by their triggers (schema 12). A
-- pack is a copy that can lag behind them, never a wrong one:
--   * a write to a customer's daily sums outside a bulk load marks the
--     customer in `history_stale` (the triggers below), and the readers
--     take a marked customer's days from the tables, not from its pack;
--   * a bulk load (an import, the demo, `doctor --fix`'s recomputation)
--     sets these triggers aside inside its transaction (store::packs::
--     pause_marks: evaluated for each of ten million daily rows, even a
--     trigger that does nothing cost an import of 10M orders 3-4 s) and puts
--     them back before its commit, having repacked or marked the customers
--     it touched itself; repacking clears the marks it covers;
--   * `doctor` compares every unmarked customer's pack with its rows.
-- A customer without any daily sums has no pack.
--
-- The marks are inserted when absent rather than with INSERT OR IGNORE: a
-- trigger's conflict clause gives way to the policy of the statement that
-- fired it (here often the daily sums' upsert, whose policy is ABORT).

CREATE TABLE history_kinds (
    id   INTEGER PRIMARY KEY,
    kind TEXT NOT NULL UNIQUE
);

CREATE TABLE history_packs (
    cid  INTEGER PRIMARY KEY,
    pack BLOB NOT NULL
);

CREATE TABLE history_stale (
    cid INTEGER PRIMARY KEY
) WITHOUT ROWID;

CREATE TRIGGER history_stale_order_days_insert AFTER INSERT ON order_days
BEGIN
    INSERT INTO history_stale(cid) SELECT new.cid WHERE NOT EXISTS (SELECT 1 FROM history_stale WHERE cid = new.cid);
END;
CREATE TRIGGER history_stale_order_days_update AFTER UPDATE ON order_days
BEGIN
    INSERT INTO history_stale(cid) SELECT old.cid WHERE NOT EXISTS (SELECT 1 FROM history_stale WHERE cid = old.cid);
    INSERT INTO history_stale(cid) SELECT new.cid WHERE NOT EXISTS (SELECT 1 FROM history_stale WHERE cid = new.cid);
END;
CREATE TRIGGER history_stale_order_days_delete AFTER DELETE ON order_days
BEGIN
    INSERT INTO history_stale(cid) SELECT old.cid WHERE NOT EXISTS (SELECT 1 FROM history_stale WHERE cid = old.cid);
END;

CREATE TRIGGER history_stale_event_days_insert AFTER INSERT ON event_days
BEGIN
    INSERT INTO history_stale(cid) SELECT new.cid WHERE NOT EXISTS (SELECT 1 FROM history_stale WHERE cid = new.cid);
END;
CREATE TRIGGER history_stale_event_days_update AFTER UPDATE ON event_days
BEGIN
    INSERT INTO history_stale(cid) SELECT old.cid WHERE NOT EXISTS (SELECT 1 FROM history_stale WHERE cid = old.cid);
    INSERT INTO history_stale(cid) SELECT new.cid WHERE NOT EXISTS (SELECT 1 FROM history_stale WHERE cid = new.cid);
END;
CREATE TRIGGER history_stale_event_days_delete AFTER DELETE ON event_days
BEGIN
    INSERT INTO history_stale(cid) SELECT old.cid WHERE NOT EXISTS (SELECT 1 FROM history_stale WHERE cid = old.cid);
END;

CREATE TRIGGER history_stale_feedback_days_insert AFTER INSERT ON feedback_days
BEGIN
    INSERT INTO history_stale(cid) SELECT new.cid WHERE NOT EXISTS (SELECT 1 FROM history_stale WHERE cid = new.cid);
END;
CREATE TRIGGER history_stale_feedback_days_update AFTER UPDATE ON feedback_days
BEGIN
    INSERT INTO history_stale(cid) SELECT old.cid WHERE NOT EXISTS (SELECT 1 FROM history_stale WHERE cid = old.cid);
    INSERT INTO history_stale(cid) SELECT new.cid WHERE NOT EXISTS (SELECT 1 FROM history_stale WHERE cid = new.cid);
END;
CREATE TRIGGER history_stale_feedback_days_delete AFTER DELETE ON feedback_days
BEGIN
    INSERT INTO history_stale(cid) SELECT old.cid WHERE NOT EXISTS (SELECT 1 FROM history_stale WHERE cid = old.cid);
END;
