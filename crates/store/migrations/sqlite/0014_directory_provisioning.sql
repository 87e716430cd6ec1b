-- Provisioning from an organization's own directory (docs/scim.md). `external_id` is the
-- directory's id of the person, written by the directory and never by Roster, one person's
-- in the organization; looking a member up by it is one probe of a unique index (which the
-- planner prefers to walking the organization's users in id order). A directory token
-- authenticates one directory of one organization: only the hash of its secret is kept, and it
-- acts with the grants of `role_id`.
ALTER TABLE users ADD COLUMN external_id TEXT;
CREATE UNIQUE INDEX users_external_id ON users (org_id, external_id) WHERE external_id IS NOT NULL;
CREATE TABLE directory_tokens (
    org_id           TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    id               TEXT NOT NULL,
    name             TEXT NOT NULL,
    secret_hash      TEXT NOT NULL,
    role_id          TEXT NOT NULL,
    creator_user_id  TEXT NOT NULL,
    creator_org_id   TEXT NOT NULL,
    created_at       BIGINT NOT NULL,
    PRIMARY KEY (org_id, id)
);
CREATE UNIQUE INDEX directory_tokens_secret ON directory_tokens (org_id, secret_hash);
