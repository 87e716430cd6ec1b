-- Roster schema, PostgreSQL dialect. Keep in step with ../sqlite/0001_init.sql (same version numbers).
-- Timestamps are integer microseconds since the Unix epoch on both backends.
-- Every tenant table leads with org_id so that a sharded PostgreSQL fits without a schema change.

CREATE TABLE organizations (
    id                     TEXT PRIMARY KEY,
    uuid                   TEXT NOT NULL UNIQUE,
    name                   TEXT NOT NULL,
    short_name             TEXT NOT NULL,
    is_platform            BOOLEAN NOT NULL DEFAULT FALSE,
    tenant_id              TEXT NOT NULL,
    default_preferences    TEXT NOT NULL,
    user_dimensions        TEXT NOT NULL DEFAULT '[]',
    branding               TEXT NOT NULL DEFAULT '{}',
    created_at             BIGINT NOT NULL,
    updated_at             BIGINT NOT NULL
);

CREATE TABLE identities (
    id                     TEXT PRIMARY KEY,
    email                  TEXT NOT NULL,
    email_lower            TEXT COLLATE "C" NOT NULL UNIQUE,
    name                   TEXT NOT NULL,
    password_hash          TEXT,
    connection             TEXT NOT NULL DEFAULT 'password',
    email_verified         BOOLEAN NOT NULL DEFAULT FALSE,
    sessions_valid_after   BIGINT NOT NULL DEFAULT 0,
    created_at             BIGINT NOT NULL,
    updated_at             BIGINT NOT NULL
);

CREATE TABLE roles (
    org_id                 TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    id                     TEXT COLLATE "C" NOT NULL,
    name                   TEXT NOT NULL,
    description            TEXT NOT NULL,
    frontend_view          TEXT NOT NULL,
    grants                 TEXT NOT NULL,
    is_admin               BOOLEAN NOT NULL DEFAULT FALSE,
    builtin                BOOLEAN NOT NULL DEFAULT FALSE,
    created_at             BIGINT NOT NULL,
    updated_at             BIGINT NOT NULL,
    PRIMARY KEY (org_id, id),
    UNIQUE (org_id, name)
);

CREATE TABLE users (
    org_id                 TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    id                     TEXT COLLATE "C" NOT NULL,
    identity_id            TEXT NOT NULL REFERENCES identities(id),
    email                  TEXT NOT NULL,
    email_lower            TEXT COLLATE "C" NOT NULL,
    first_name             TEXT NOT NULL,
    last_name              TEXT NOT NULL,
    first_key              TEXT COLLATE "C" NOT NULL,
    last_key               TEXT COLLATE "C" NOT NULL,
    name_key               TEXT COLLATE "C" NOT NULL,
    search_text            TEXT COLLATE "C" NOT NULL,
    status                 TEXT NOT NULL,
    is_admin               BOOLEAN NOT NULL DEFAULT FALSE,
    preferences            TEXT NOT NULL,
    additional_context     TEXT NOT NULL DEFAULT '[]',
    nonsensitive_variables TEXT NOT NULL DEFAULT '{}',
    sensitive_names        TEXT NOT NULL DEFAULT '[]',
    company                TEXT,
    image                  TEXT,
    enable_actions_access  BOOLEAN NOT NULL DEFAULT FALSE,
    num_conversations      BIGINT NOT NULL DEFAULT 0,
    num_messages           BIGINT NOT NULL DEFAULT 0,
    last_message_at        BIGINT NOT NULL DEFAULT 0,
    created_at             BIGINT NOT NULL,
    updated_at             BIGINT NOT NULL
);
ALTER TABLE users ADD PRIMARY KEY (org_id, id);
CREATE UNIQUE INDEX users_org_email ON users (org_id, email_lower);
CREATE INDEX users_identity ON users (identity_id);
CREATE INDEX users_sort_email ON users (org_id, email_lower, id);
CREATE INDEX users_sort_first ON users (org_id, first_key, id);
CREATE INDEX users_sort_last ON users (org_id, last_key, id);
CREATE INDEX users_sort_name ON users (org_id, name_key, id);
CREATE INDEX users_sort_convs ON users (org_id, num_conversations, id);
CREATE INDEX users_sort_msgs ON users (org_id, num_messages, id);
CREATE INDEX users_sort_last_msg ON users (org_id, last_message_at, id);
CREATE INDEX users_admins ON users (org_id, is_admin) WHERE is_admin;

-- Substring search: a trigram GIN index over "name email".
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX users_search_trgm ON users USING gin (search_text gin_trgm_ops);

-- Users removed with a soft delete: kept for the conversation records that still point at them.
CREATE TABLE deleted_users (
    org_id                 TEXT NOT NULL,
    id                     TEXT NOT NULL,
    identity_id            TEXT NOT NULL,
    email                  TEXT NOT NULL,
    snapshot               TEXT NOT NULL,
    not_deletable_reasons  TEXT NOT NULL,
    deleted_at             BIGINT NOT NULL,
    PRIMARY KEY (org_id, id)
);

CREATE TABLE user_roles (
    org_id                 TEXT NOT NULL,
    user_id                TEXT NOT NULL,
    role_id                TEXT NOT NULL,
    PRIMARY KEY (org_id, user_id, role_id)
);
CREATE INDEX user_roles_role ON user_roles (org_id, role_id);

CREATE TABLE user_secrets (
    org_id                 TEXT NOT NULL,
    user_id                TEXT NOT NULL,
    name                   TEXT NOT NULL,
    value                  TEXT NOT NULL,
    PRIMARY KEY (org_id, user_id, name)
);

CREATE TABLE api_keys (
    org_id                 TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    key_id                 TEXT NOT NULL,
    doc_id                 TEXT NOT NULL,
    name                   TEXT,
    secret_hash            TEXT NOT NULL,
    role_id                TEXT NOT NULL,
    creator_user_id        TEXT NOT NULL,
    creator_org_id         TEXT NOT NULL,
    expires_at             BIGINT NOT NULL,
    created_at             BIGINT NOT NULL,
    updated_at             BIGINT NOT NULL,
    PRIMARY KEY (org_id, key_id)
);

CREATE TABLE temporary_grants (
    org_id                 TEXT NOT NULL,
    id                     TEXT COLLATE "C" NOT NULL,
    user_id                TEXT COLLATE "C" NOT NULL,
    permission_name        TEXT COLLATE "C" NOT NULL,
    conditions             TEXT NOT NULL,
    justification          TEXT NOT NULL,
    tags                   TEXT NOT NULL,
    creator_user_id        TEXT NOT NULL,
    creator_org_id         TEXT NOT NULL,
    expires_at             BIGINT NOT NULL,
    created_at             BIGINT NOT NULL,
    updated_at             BIGINT NOT NULL,
    PRIMARY KEY (org_id, id)
);
CREATE INDEX temporary_grants_user ON temporary_grants (org_id, user_id, expires_at);

CREATE TABLE user_models (
    org_id                 TEXT NOT NULL,
    user_id                TEXT NOT NULL,
    id                     TEXT NOT NULL,
    content                TEXT NOT NULL,
    insight_ids            TEXT NOT NULL,
    dimensions             TEXT NOT NULL,
    created_at             BIGINT NOT NULL,
    PRIMARY KEY (org_id, user_id, id)
);

CREATE TABLE memories (
    org_id                 TEXT NOT NULL,
    user_id                TEXT NOT NULL,
    id                     TEXT COLLATE "C" NOT NULL,
    conversation_id        TEXT COLLATE "C" NOT NULL,
    refs                   TEXT NOT NULL,
    content                TEXT NOT NULL,
    context                TEXT NOT NULL,
    created_at             BIGINT NOT NULL,
    PRIMARY KEY (org_id, id)
);
CREATE INDEX memories_user_created ON memories (org_id, user_id, created_at, id);
CREATE INDEX memories_user_conv ON memories (org_id, user_id, conversation_id, id);

CREATE TABLE audit_events (
    org_id                 TEXT NOT NULL,
    id                     TEXT COLLATE "C" NOT NULL,
    action                 TEXT NOT NULL,
    actor_kind             TEXT NOT NULL,
    actor_user_id          TEXT,
    actor_org_id           TEXT,
    target_user_id         TEXT,
    request_id             TEXT,
    details                TEXT NOT NULL,
    created_at             BIGINT NOT NULL,
    PRIMARY KEY (org_id, id)
);
CREATE INDEX audit_events_target ON audit_events (org_id, target_user_id, id);

CREATE TABLE outbox (
    org_id                 TEXT NOT NULL,
    id                     TEXT COLLATE "C" NOT NULL,
    kind                   TEXT NOT NULL,
    recipient              TEXT NOT NULL,
    language               TEXT NOT NULL,
    payload                TEXT NOT NULL,
    status                 TEXT NOT NULL DEFAULT 'pending',
    attempts               BIGINT NOT NULL DEFAULT 0,
    next_attempt_at        BIGINT NOT NULL,
    last_error             TEXT,
    created_at             BIGINT NOT NULL,
    sent_at                BIGINT,
    PRIMARY KEY (org_id, id)
);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);

CREATE TABLE one_time_tokens (
    token_hash             TEXT PRIMARY KEY,
    org_id                 TEXT NOT NULL,
    user_id                TEXT NOT NULL,
    identity_id            TEXT NOT NULL,
    purpose                TEXT NOT NULL,
    payload                TEXT NOT NULL DEFAULT '{}',
    expires_at             BIGINT NOT NULL,
    used_at                BIGINT,
    created_at             BIGINT NOT NULL
);
CREATE INDEX one_time_tokens_user ON one_time_tokens (org_id, user_id);

CREATE UNLOGGED TABLE page_cursors (
    org_id                 TEXT NOT NULL,
    id                     BIGINT NOT NULL,
    position               TEXT NOT NULL,
    expires_at             BIGINT NOT NULL,
    PRIMARY KEY (org_id, id)
);

CREATE TABLE signing_keys (
    kid                    TEXT PRIMARY KEY,
    alg                    TEXT NOT NULL,
    private_pkcs8          TEXT NOT NULL,
    public_x               TEXT NOT NULL,
    created_at             BIGINT NOT NULL,
    retire_at              BIGINT
);

CREATE TABLE settings (
    key                    TEXT PRIMARY KEY,
    value                  TEXT NOT NULL,
    updated_at             BIGINT NOT NULL
);
