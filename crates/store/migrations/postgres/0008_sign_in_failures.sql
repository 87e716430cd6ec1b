-- Failed password sign-ins per account (`account:EMAIL`) and per client (`client:ADDRESS`), in
-- the database so that every node counts against the same limit (see docs/security.md). A key
-- is global, not an organization's: a login email is one identity across organizations.
CREATE TABLE sign_in_failures (
    key            TEXT PRIMARY KEY,
    failures       BIGINT NOT NULL,
    blocked_until  BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL
);
CREATE INDEX sign_in_failures_updated ON sign_in_failures (updated_at);
