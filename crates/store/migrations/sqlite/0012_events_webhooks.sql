-- Events (issue 19): one row per committed change a product should hear of, written in the
-- change's transaction. `seq` orders one organization's events in commit order: it comes from
-- the organization's row in event_counters, updated in the same transaction, whose row lock
-- makes a later commit always take a larger number (the feed's cursor never skips a late commit).
CREATE TABLE event_counters (
    org_id                 TEXT PRIMARY KEY,
    seq                    INTEGER NOT NULL
);

CREATE TABLE events (
    org_id                 TEXT NOT NULL,
    seq                    INTEGER NOT NULL,
    id                     TEXT NOT NULL,
    type                   TEXT NOT NULL,
    data                   TEXT NOT NULL,
    occurred_at            INTEGER NOT NULL,
    PRIMARY KEY (org_id, seq)
);
CREATE INDEX events_age ON events (occurred_at);

-- Webhook endpoints of an organization. `types` is the type filter as ',a,b,' ('' = every
-- type), so one LIKE selects the endpoints of an event on both backends. The signing secret is
-- kept as given (HMAC needs it); during a rotation the previous one signs too until
-- previous_secret_until.
CREATE TABLE webhook_endpoints (
    org_id                 TEXT NOT NULL,
    id                     TEXT NOT NULL,
    url                    TEXT NOT NULL,
    description            TEXT NOT NULL,
    types                  TEXT NOT NULL,
    enabled                INTEGER NOT NULL,
    disabled_reason        TEXT,
    secret                 TEXT NOT NULL,
    previous_secret        TEXT,
    previous_secret_until  INTEGER,
    failure_run            INTEGER NOT NULL DEFAULT 0,
    created_at             INTEGER NOT NULL,
    updated_at             INTEGER NOT NULL,
    PRIMARY KEY (org_id, id)
);

-- One message per (endpoint, event), queued in the event's transaction: the webhook outbox.
-- Leased like the email outbox (status 'sending', lease_owner, next_attempt_at = end of lease).
CREATE TABLE webhook_messages (
    org_id                 TEXT NOT NULL,
    endpoint_id            TEXT NOT NULL,
    event_seq              INTEGER NOT NULL,
    status                 TEXT NOT NULL,
    attempts               INTEGER NOT NULL DEFAULT 0,
    next_attempt_at        INTEGER NOT NULL,
    lease_owner            TEXT,
    created_at             INTEGER NOT NULL,
    PRIMARY KEY (org_id, endpoint_id, event_seq)
);
CREATE INDEX webhook_messages_due ON webhook_messages (next_attempt_at) WHERE status IN ('pending', 'sending');

-- The delivery log: one row per attempt.
CREATE TABLE webhook_attempts (
    org_id                 TEXT NOT NULL,
    endpoint_id            TEXT NOT NULL,
    event_seq              INTEGER NOT NULL,
    attempt                INTEGER NOT NULL,
    started_at             INTEGER NOT NULL,
    status_code            INTEGER,
    error                  TEXT,
    latency_ms             INTEGER NOT NULL,
    response_excerpt       TEXT NOT NULL,
    PRIMARY KEY (org_id, endpoint_id, event_seq, attempt)
);
CREATE INDEX webhook_attempts_recent ON webhook_attempts (org_id, endpoint_id, started_at);
