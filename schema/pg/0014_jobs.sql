-- crmtop on PostgreSQL, schema 14: a record of the long jobs (imports,
-- retrains, CLV fits), as a file keeps one (its schema 1 and 3), so that
-- doctor can say which died and that nothing of them was written.
-- A job holds a session advisory lock on its id for its whole life: the
-- server releases it when the job's connection ends, however its process
-- ended and on whichever host it ran. A job still marked running whose
-- lock is free has died.
CREATE TABLE jobs (
    id          BIGSERIAL PRIMARY KEY,
    kind        TEXT NOT NULL,
    agent       TEXT NOT NULL,
    host        TEXT NOT NULL,
    pid         BIGINT NOT NULL,
    -- The job's connection on the server (pg_backend_pid), to tell a
    -- process gone from a transaction the server still runs for it.
    backend     INTEGER,
    started_at  BIGINT NOT NULL,
    finished_at BIGINT,
    status      TEXT NOT NULL CHECK (status IN ('running','done','failed','cancelled','died')),
    message     TEXT
);
CREATE INDEX jobs_running ON jobs (id) WHERE status = 'running';
