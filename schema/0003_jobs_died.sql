-- crmtop schema, version 3: a job whose process died is history, not a problem.
--
-- 'died' joins the job statuses: the next crmtop that opens the file for
-- writing marks a running job whose process is gone as died. pid_start is
-- the process's start time (clock ticks since boot, from /proc), so a pid
-- reused by another process is not mistaken for the job.
CREATE TABLE jobs_new (
    id          INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL,
    agent       TEXT NOT NULL,
    pid         INTEGER NOT NULL,
    started_at  INTEGER NOT NULL,
    finished_at INTEGER,
    status      TEXT NOT NULL CHECK (status IN ('running','done','failed','cancelled','died')),
    message     TEXT,
    pid_start   INTEGER
);
INSERT INTO jobs_new(id, kind, agent, pid, started_at, finished_at, status, message)
    SELECT id, kind, agent, pid, started_at, finished_at, status, message FROM jobs;
DROP TABLE jobs;
ALTER TABLE jobs_new RENAME TO jobs;
CREATE INDEX jobs_running ON jobs(status) WHERE status = 'running';
