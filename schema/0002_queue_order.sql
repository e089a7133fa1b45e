-- crmtop schema, version 2: the queue ordered and counted from indexes.
--
-- A page of the queue is the top of prio_static + age, where the age term
-- grows with time since creation (see src/analytics/priority.rs). The top is
-- found by walking two orders at once, prio_static descending and created_at
-- ascending, and stopping as soon as nothing unseen can beat the page
-- (Fagin's threshold algorithm): a few hundred rows instead of every open item.
CREATE INDEX queue_prio     ON queue(prio_static, fid);
CREATE INDEX queue_created  ON queue(created_at, fid);
-- Overdue counts: per kind and status, the items created before a cutoff.
CREATE INDEX queue_kind     ON queue(kind, status, created_at);
CREATE INDEX queue_status   ON queue(status);
CREATE INDEX queue_assignee ON queue(assignee);
CREATE INDEX queue_channel  ON queue(channel);
-- Agent names for completion.
CREATE INDEX audit_agent    ON audit_log(agent);
