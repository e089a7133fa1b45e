-- crmtop schema, version 5: the SLA clock as helpdesks keep it.
--
-- Pending (waiting on the customer) pauses the clock: the time an item
-- spent pending is added up in sla_paused_secs (pending_since marks the
-- current pause). The queue's created_at is the clock's start: the item's
-- creation plus its paused time, so every overdue count and the priority's
-- age term run on the clock, from the same indexes. Items that need no
-- response (praise, an NPS promoter: score 9 or 10) have no clock: their
-- start is far in the future (never overdue, no age term).
ALTER TABLE feedback ADD COLUMN sla_paused_secs INTEGER NOT NULL DEFAULT 0;
ALTER TABLE feedback ADD COLUMN pending_since INTEGER;
UPDATE feedback SET pending_since = COALESCE(updated_at, created_at) WHERE status = 'pending';
UPDATE queue SET created_at = 1152921504606846976
 WHERE fid IN (SELECT fid FROM feedback WHERE kind = 'praise' OR (kind = 'nps' AND score >= 9));
