-- crmtop schema, version 12: orders, events and feedback summed by
-- customer and calendar day (UTC), kept up to date by triggers.
--
-- Training read every order, event and feedback row (the events twice:
-- once to choose the kinds, once to sum them; the feedback with its
-- texts) for features that only ever ask "how many, how much, first and
-- last, in a window of whole days before a cutoff". Cutoffs are whole
-- days, so per-day sums answer every such question exactly, for any
-- as-of date. The CLV summary is per day by definition (orders on one
-- day are one transaction).
--
-- The triggers run inside whatever transaction writes the raw rows
-- (import, the demo, the queue, a re-import that moves a row), so the
-- sums can never be behind the rows they sum. An insert adds to its
-- day; an update or delete recomputes the days it touched from the raw
-- rows (a maximum cannot be decremented). `doctor` compares every day
-- with a recomputation and `--fix` rebuilds them (src/store/activity.rs,
-- which also fills them in this migration's second step).
--
-- A bulk load (an import, the demo) sums its rows at its end instead,
-- one grouped statement per table rather than one upsert per row (three
-- times slower at two million orders): while it runs, activity_bulk
-- holds the table's largest rowid before it and the table's triggers
-- stand aside; at its end the days of every customer whose existing rows
-- it changed are recomputed and the new rows of the others added
-- (activity::end_bulk). The row exists only inside the load's transaction.
--
-- day = floor(ts / 86400), written so that it also holds before 1970.

CREATE TABLE activity_bulk (
    tbl  TEXT PRIMARY KEY,
    mark INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE order_days (
    cid      INTEGER NOT NULL,
    day      INTEGER NOT NULL,
    n        INTEGER NOT NULL,
    spend    REAL NOT NULL,
    first_ts INTEGER NOT NULL,
    last_ts  INTEGER NOT NULL,
    PRIMARY KEY (cid, day)
) WITHOUT ROWID;

CREATE TABLE event_days (
    cid   INTEGER NOT NULL,
    day   INTEGER NOT NULL,
    kind  TEXT NOT NULL,
    n     INTEGER NOT NULL,
    value REAL NOT NULL,
    PRIMARY KEY (cid, day, kind)
) WITHOUT ROWID;

-- Events per day and kind over all customers: which kinds become
-- features is decided from these few rows.
CREATE TABLE event_kind_days (
    day  INTEGER NOT NULL,
    kind TEXT NOT NULL,
    n    INTEGER NOT NULL,
    PRIMARY KEY (day, kind)
) WITHOUT ROWID;

-- Scores on one scale: NPS 0-10 -> 0..1, CSAT 1-5 -> 0..1.
CREATE TABLE feedback_days (
    cid           INTEGER NOT NULL,
    day           INTEGER NOT NULL,
    n             INTEGER NOT NULL,
    complaints    INTEGER NOT NULL,
    score_sum     REAL NOT NULL,
    score_n       INTEGER NOT NULL,
    sentiment_sum REAL NOT NULL,
    sentiment_n   INTEGER NOT NULL,
    last_ts       INTEGER NOT NULL,
    PRIMARY KEY (cid, day)
) WITHOUT ROWID;

-- Orders.
CREATE TRIGGER order_days_insert AFTER INSERT ON orders
WHEN NOT EXISTS (SELECT 1 FROM activity_bulk WHERE tbl = 'orders') BEGIN
    INSERT INTO order_days(cid, day, n, spend, first_ts, last_ts)
    VALUES (new.cid, (new.ts - ((new.ts % 86400) + 86400) % 86400) / 86400, 1, new.amount, new.ts, new.ts)
    ON CONFLICT(cid, day) DO UPDATE SET
        n = n + 1, spend = spend + excluded.spend,
        first_ts = min(first_ts, excluded.first_ts), last_ts = max(last_ts, excluded.last_ts);
END;

CREATE TRIGGER order_days_delete AFTER DELETE ON orders
WHEN NOT EXISTS (SELECT 1 FROM activity_bulk WHERE tbl = 'orders') BEGIN
    DELETE FROM order_days
     WHERE cid = old.cid AND day = (old.ts - ((old.ts % 86400) + 86400) % 86400) / 86400;
    INSERT INTO order_days(cid, day, n, spend, first_ts, last_ts)
    SELECT cid, (old.ts - ((old.ts % 86400) + 86400) % 86400) / 86400, count(*), sum(amount), min(ts), max(ts)
      FROM orders
     WHERE cid = old.cid
       AND ts >= old.ts - ((old.ts % 86400) + 86400) % 86400
       AND ts < old.ts - ((old.ts % 86400) + 86400) % 86400 + 86400
     GROUP BY cid;
END;

CREATE TRIGGER order_days_update AFTER UPDATE OF cid, ts, amount ON orders
WHEN NOT EXISTS (SELECT 1 FROM activity_bulk WHERE tbl = 'orders') BEGIN
    DELETE FROM order_days
     WHERE cid = old.cid AND day = (old.ts - ((old.ts % 86400) + 86400) % 86400) / 86400;
    INSERT INTO order_days(cid, day, n, spend, first_ts, last_ts)
    SELECT cid, (old.ts - ((old.ts % 86400) + 86400) % 86400) / 86400, count(*), sum(amount), min(ts), max(ts)
      FROM orders
     WHERE cid = old.cid
       AND ts >= old.ts - ((old.ts % 86400) + 86400) % 86400
       AND ts < old.ts - ((old.ts % 86400) + 86400) % 86400 + 86400
     GROUP BY cid;
    DELETE FROM order_days
     WHERE cid = new.cid AND day = (new.ts - ((new.ts % 86400) + 86400) % 86400) / 86400;
    INSERT INTO order_days(cid, day, n, spend, first_ts, last_ts)
    SELECT cid, (new.ts - ((new.ts % 86400) + 86400) % 86400) / 86400, count(*), sum(amount), min(ts), max(ts)
      FROM orders
     WHERE cid = new.cid
       AND ts >= new.ts - ((new.ts % 86400) + 86400) % 86400
       AND ts < new.ts - ((new.ts % 86400) + 86400) % 86400 + 86400
     GROUP BY cid;
END;

-- Events.
CREATE TRIGGER event_days_insert AFTER INSERT ON events
WHEN NOT EXISTS (SELECT 1 FROM activity_bulk WHERE tbl = 'events') BEGIN
    INSERT INTO event_days(cid, day, kind, n, value)
    VALUES (new.cid, (new.ts - ((new.ts % 86400) + 86400) % 86400) / 86400, new.kind, 1, new.value)
    ON CONFLICT(cid, day, kind) DO UPDATE SET n = n + 1, value = value + excluded.value;
    INSERT INTO event_kind_days(day, kind, n)
    VALUES ((new.ts - ((new.ts % 86400) + 86400) % 86400) / 86400, new.kind, 1)
    ON CONFLICT(day, kind) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER event_days_delete AFTER DELETE ON events
WHEN NOT EXISTS (SELECT 1 FROM activity_bulk WHERE tbl = 'events') BEGIN
    DELETE FROM event_days
     WHERE cid = old.cid AND day = (old.ts - ((old.ts % 86400) + 86400) % 86400) / 86400 AND kind = old.kind;
    INSERT INTO event_days(cid, day, kind, n, value)
    SELECT cid, (old.ts - ((old.ts % 86400) + 86400) % 86400) / 86400, kind, count(*), sum(value)
      FROM events
     WHERE cid = old.cid
       AND ts >= old.ts - ((old.ts % 86400) + 86400) % 86400
       AND ts < old.ts - ((old.ts % 86400) + 86400) % 86400 + 86400
       AND kind = old.kind
     GROUP BY cid;
    UPDATE event_kind_days SET n = n - 1
     WHERE day = (old.ts - ((old.ts % 86400) + 86400) % 86400) / 86400 AND kind = old.kind;
    DELETE FROM event_kind_days
     WHERE day = (old.ts - ((old.ts % 86400) + 86400) % 86400) / 86400 AND kind = old.kind AND n <= 0;
END;

CREATE TRIGGER event_days_update AFTER UPDATE OF cid, ts, kind, value ON events
WHEN NOT EXISTS (SELECT 1 FROM activity_bulk WHERE tbl = 'events') BEGIN
    DELETE FROM event_days
     WHERE cid = old.cid AND day = (old.ts - ((old.ts % 86400) + 86400) % 86400) / 86400 AND kind = old.kind;
    INSERT INTO event_days(cid, day, kind, n, value)
    SELECT cid, (old.ts - ((old.ts % 86400) + 86400) % 86400) / 86400, kind, count(*), sum(value)
      FROM events
     WHERE cid = old.cid
       AND ts >= old.ts - ((old.ts % 86400) + 86400) % 86400
       AND ts < old.ts - ((old.ts % 86400) + 86400) % 86400 + 86400
       AND kind = old.kind
     GROUP BY cid;
    DELETE FROM event_days
     WHERE cid = new.cid AND day = (new.ts - ((new.ts % 86400) + 86400) % 86400) / 86400 AND kind = new.kind;
    INSERT INTO event_days(cid, day, kind, n, value)
    SELECT cid, (new.ts - ((new.ts % 86400) + 86400) % 86400) / 86400, kind, count(*), sum(value)
      FROM events
     WHERE cid = new.cid
       AND ts >= new.ts - ((new.ts % 86400) + 86400) % 86400
       AND ts < new.ts - ((new.ts % 86400) + 86400) % 86400 + 86400
       AND kind = new.kind
     GROUP BY cid;
    UPDATE event_kind_days SET n = n - 1
     WHERE day = (old.ts - ((old.ts % 86400) + 86400) % 86400) / 86400 AND kind = old.kind;
    DELETE FROM event_kind_days
     WHERE day = (old.ts - ((old.ts % 86400) + 86400) % 86400) / 86400 AND kind = old.kind AND n <= 0;
    INSERT INTO event_kind_days(day, kind, n)
    VALUES ((new.ts - ((new.ts % 86400) + 86400) % 86400) / 86400, new.kind, 1)
    ON CONFLICT(day, kind) DO UPDATE SET n = n + 1;
END;

-- Feedback (only the columns summed; the queue's status changes leave it alone).
CREATE TRIGGER feedback_days_insert AFTER INSERT ON feedback
WHEN NOT EXISTS (SELECT 1 FROM activity_bulk WHERE tbl = 'feedback') BEGIN
    INSERT INTO feedback_days(cid, day, n, complaints, score_sum, score_n, sentiment_sum, sentiment_n, last_ts)
    VALUES (new.cid, (new.created_at - ((new.created_at % 86400) + 86400) % 86400) / 86400, 1,
            new.kind = 'complaint',
            COALESCE(CASE new.kind WHEN 'nps' THEN new.score / 10.0 WHEN 'csat' THEN (new.score - 1.0) / 4.0 END, 0.0),
            new.score IS NOT NULL AND new.kind IN ('nps', 'csat'),
            COALESCE(new.sentiment, 0.0), new.sentiment IS NOT NULL, new.created_at)
    ON CONFLICT(cid, day) DO UPDATE SET
        n = n + 1, complaints = complaints + excluded.complaints,
        score_sum = score_sum + excluded.score_sum, score_n = score_n + excluded.score_n,
        sentiment_sum = sentiment_sum + excluded.sentiment_sum, sentiment_n = sentiment_n + excluded.sentiment_n,
        last_ts = max(last_ts, excluded.last_ts);
END;

CREATE TRIGGER feedback_days_delete AFTER DELETE ON feedback
WHEN NOT EXISTS (SELECT 1 FROM activity_bulk WHERE tbl = 'feedback') BEGIN
    DELETE FROM feedback_days
     WHERE cid = old.cid AND day = (old.created_at - ((old.created_at % 86400) + 86400) % 86400) / 86400;
    INSERT INTO feedback_days(cid, day, n, complaints, score_sum, score_n, sentiment_sum, sentiment_n, last_ts)
    SELECT cid, (old.created_at - ((old.created_at % 86400) + 86400) % 86400) / 86400, count(*),
           sum(kind = 'complaint'),
           COALESCE(sum(CASE kind WHEN 'nps' THEN score / 10.0 WHEN 'csat' THEN (score - 1.0) / 4.0 END), 0.0),
           sum(score IS NOT NULL AND kind IN ('nps', 'csat')),
           COALESCE(sum(sentiment), 0.0), count(sentiment), max(created_at)
      FROM feedback
     WHERE cid = old.cid
       AND created_at >= old.created_at - ((old.created_at % 86400) + 86400) % 86400
       AND created_at < old.created_at - ((old.created_at % 86400) + 86400) % 86400 + 86400
     GROUP BY cid;
END;

CREATE TRIGGER feedback_days_update AFTER UPDATE OF cid, created_at, kind, score, sentiment ON feedback
WHEN NOT EXISTS (SELECT 1 FROM activity_bulk WHERE tbl = 'feedback') BEGIN
    DELETE FROM feedback_days
     WHERE cid = old.cid AND day = (old.created_at - ((old.created_at % 86400) + 86400) % 86400) / 86400;
    INSERT INTO feedback_days(cid, day, n, complaints, score_sum, score_n, sentiment_sum, sentiment_n, last_ts)
    SELECT cid, (old.created_at - ((old.created_at % 86400) + 86400) % 86400) / 86400, count(*),
           sum(kind = 'complaint'),
           COALESCE(sum(CASE kind WHEN 'nps' THEN score / 10.0 WHEN 'csat' THEN (score - 1.0) / 4.0 END), 0.0),
           sum(score IS NOT NULL AND kind IN ('nps', 'csat')),
           COALESCE(sum(sentiment), 0.0), count(sentiment), max(created_at)
      FROM feedback
     WHERE cid = old.cid
       AND created_at >= old.created_at - ((old.created_at % 86400) + 86400) % 86400
       AND created_at < old.created_at - ((old.created_at % 86400) + 86400) % 86400 + 86400
     GROUP BY cid;
    DELETE FROM feedback_days
     WHERE cid = new.cid AND day = (new.created_at - ((new.created_at % 86400) + 86400) % 86400) / 86400;
    INSERT INTO feedback_days(cid, day, n, complaints, score_sum, score_n, sentiment_sum, sentiment_n, last_ts)
    SELECT cid, (new.created_at - ((new.created_at % 86400) + 86400) % 86400) / 86400, count(*),
           sum(kind = 'complaint'),
           COALESCE(sum(CASE kind WHEN 'nps' THEN score / 10.0 WHEN 'csat' THEN (score - 1.0) / 4.0 END), 0.0),
           sum(score IS NOT NULL AND kind IN ('nps', 'csat')),
           COALESCE(sum(sentiment), 0.0), count(sentiment), max(created_at)
      FROM feedback
     WHERE cid = new.cid
       AND created_at >= new.created_at - ((new.created_at % 86400) + 86400) % 86400
       AND created_at < new.created_at - ((new.created_at % 86400) + 86400) % 86400 + 86400
     GROUP BY cid;
END;
