-- eva-user: environments and bots (written by the conversation platform through ingestion),
-- per-environment roles with bots, per-user configurations, and a sort key for company.

CREATE TABLE environments (
    org_id                 TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    uuid                   TEXT NOT NULL,
    name                   TEXT NOT NULL,
    active                 INTEGER NOT NULL DEFAULT 1,
    created_at             INTEGER NOT NULL,
    updated_at             INTEGER NOT NULL,
    PRIMARY KEY (org_id, uuid)
);

CREATE TABLE bots (
    org_id                 TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    uuid                   TEXT NOT NULL,
    environment_uuid       TEXT NOT NULL,
    name                   TEXT NOT NULL,
    active                 INTEGER NOT NULL DEFAULT 1,
    created_at             INTEGER NOT NULL,
    updated_at             INTEGER NOT NULL,
    PRIMARY KEY (org_id, uuid)
);
CREATE INDEX bots_environment ON bots (org_id, environment_uuid);

CREATE TABLE user_environments (
    org_id                 TEXT NOT NULL,
    user_id                TEXT NOT NULL,
    environment_uuid       TEXT NOT NULL,
    role_name              TEXT NOT NULL,
    PRIMARY KEY (org_id, user_id, environment_uuid)
);

CREATE TABLE user_environment_bots (
    org_id                 TEXT NOT NULL,
    user_id                TEXT NOT NULL,
    environment_uuid       TEXT NOT NULL,
    bot_uuid               TEXT NOT NULL,
    PRIMARY KEY (org_id, user_id, environment_uuid, bot_uuid)
);

CREATE TABLE configurations (
    org_id                 TEXT NOT NULL,
    user_id                TEXT NOT NULL,
    bot_uuid               TEXT NOT NULL DEFAULT '',
    key                    TEXT NOT NULL,
    value                  TEXT NOT NULL,
    updated_at             INTEGER NOT NULL,
    PRIMARY KEY (org_id, user_id, bot_uuid, key)
);

ALTER TABLE users ADD COLUMN company_key TEXT NOT NULL DEFAULT '';
CREATE INDEX users_sort_company ON users (org_id, company_key, id);

