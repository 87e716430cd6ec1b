-- The admin console's server-side sessions (docs/console.md). `id_hash` is the SHA-256 of the
-- cookie's secret; `csrf` the secret its forms' tokens are derived from. `issued_at` is a
-- session stamp (checked against the membership's sessions_valid_after like a token's);
-- `created_at` and `last_seen_at` are the core's clock, for the absolute and idle timeouts.
CREATE TABLE console_sessions (
    org_id        TEXT NOT NULL,
    id_hash       TEXT NOT NULL,
    user_id       TEXT NOT NULL,
    identity_id   TEXT NOT NULL,
    amr           TEXT NOT NULL,
    csrf          TEXT NOT NULL,
    issued_at     BIGINT NOT NULL,
    created_at    BIGINT NOT NULL,
    last_seen_at  BIGINT NOT NULL,
    PRIMARY KEY (org_id, id_hash)
);
CREATE INDEX console_sessions_user ON console_sessions (org_id, user_id);
