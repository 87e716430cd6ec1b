-- Jobs (docs/jobs.md): an organization's long work, an import or an export, with its progress.
-- A running job's counters move in the transactions of the rows they count; `updated_at` is its
-- last sign of life, so a job whose server stopped can be told from one still at work.
CREATE TABLE jobs (
    org_id        TEXT NOT NULL,
    id            TEXT NOT NULL,
    kind          TEXT NOT NULL,
    format        TEXT NOT NULL,
    state         TEXT NOT NULL,
    params        TEXT NOT NULL,
    created_by    TEXT,
    rows_done     BIGINT NOT NULL DEFAULT 0,
    rows_applied  BIGINT NOT NULL DEFAULT 0,
    rows_total    BIGINT,
    error_count   BIGINT NOT NULL DEFAULT 0,
    bytes_done    BIGINT NOT NULL DEFAULT 0,
    bytes_total   BIGINT,
    message       TEXT,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    finished_at   BIGINT,
    PRIMARY KEY (org_id, id)
);
CREATE INDEX jobs_newest ON jobs (org_id, created_at);
CREATE INDEX jobs_running ON jobs (org_id, state, updated_at);
-- The rows a job could not apply, numbered in the order they were met.
CREATE TABLE job_errors (
    org_id  TEXT NOT NULL,
    job_id  TEXT NOT NULL,
    seq     BIGINT NOT NULL,
    line    BIGINT NOT NULL,
    row_key TEXT NOT NULL,
    reason  TEXT NOT NULL,
    PRIMARY KEY (org_id, job_id, seq)
);
