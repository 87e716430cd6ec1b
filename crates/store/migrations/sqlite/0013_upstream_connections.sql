-- Upstream connections (docs/signin.md, "Upstream connections"): each organization's own
-- OpenID Connect providers. `client_secret` authenticates Roster at the provider and is never
-- returned by the API; `domains` is a JSON array of the lower-case email domains it admits.
CREATE TABLE upstream_connections (
    org_id                  TEXT NOT NULL,
    name                    TEXT NOT NULL,
    issuer                  TEXT NOT NULL,
    client_id               TEXT NOT NULL,
    client_secret           TEXT NOT NULL,
    domains                 TEXT NOT NULL,
    link_password_accounts  INTEGER NOT NULL,
    created_at              INTEGER NOT NULL,
    updated_at              INTEGER NOT NULL,
    PRIMARY KEY (org_id, name)
);
-- Which upstream account (issuer and subject of its ID tokens) signs in as which membership,
-- through which connection (`google-oauth2` or an organization's connection): written at the
-- first upstream sign-in, after which only that account signs in as that member there.
CREATE TABLE upstream_links (
    org_id      TEXT NOT NULL,
    connection  TEXT NOT NULL,
    issuer      TEXT NOT NULL,
    subject     TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (org_id, connection, subject)
);
CREATE UNIQUE INDEX upstream_links_user ON upstream_links (org_id, connection, user_id);
