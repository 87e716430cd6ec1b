-- The relying parties of each organization's OpenID Connect provider (docs/signin.md).
-- `secret_hash` is the SHA-256 of the client secret, NULL for a public client (PKCE instead);
-- `redirect_uris` a JSON array matched exactly.
CREATE TABLE oidc_clients (
    org_id         TEXT NOT NULL,
    client_id      TEXT NOT NULL,
    name           TEXT NOT NULL,
    secret_hash    TEXT,
    redirect_uris  TEXT NOT NULL,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    PRIMARY KEY (org_id, client_id)
);
