-- The version of each organization's users as a search sees them. Statement-level triggers move
-- it in the writing transaction whenever a row a count could include changes (inserted,
-- deleted, or its status, name, email or company changed), once per organization and statement,
-- so a count remembered with the version it was read at is still exact while the version is
-- unchanged, whichever node or process wrote last.
CREATE TABLE user_versions (
    org_id   TEXT NOT NULL PRIMARY KEY REFERENCES organizations(id) ON DELETE CASCADE,
    version  BIGINT NOT NULL
);
-- Every organization that has users has a row, so that deletions and updates only move it.
INSERT INTO user_versions (org_id, version) SELECT DISTINCT org_id, 1 FROM users;

CREATE FUNCTION users_version_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO user_versions (org_id, version)
        SELECT DISTINCT org_id, 1 FROM new_rows
        ON CONFLICT (org_id) DO UPDATE SET version = user_versions.version + 1;
    RETURN NULL;
END $$;
-- An UPDATE, not an upsert: when the organization itself is being deleted, its users go by
-- cascade and there is nothing left to version (an insert would fail its foreign key).
CREATE FUNCTION users_version_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE user_versions v SET version = v.version + 1
        WHERE v.org_id IN (SELECT org_id FROM old_rows);
    RETURN NULL;
END $$;
-- Transition tables cannot go with a column list: the rows are compared here instead. A row
-- that changed organization is in the join on neither side: both organizations move.
CREATE FUNCTION users_version_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE user_versions v SET version = v.version + 1
        WHERE v.org_id IN (
            SELECT n.org_id FROM old_rows o JOIN new_rows n ON n.org_id = o.org_id AND n.id = o.id
                WHERE n.status IS DISTINCT FROM o.status
                   OR n.search_text IS DISTINCT FROM o.search_text
                   OR n.company_key IS DISTINCT FROM o.company_key
                   OR n.name_key IS DISTINCT FROM o.name_key
            UNION
            SELECT o.org_id FROM old_rows o WHERE NOT EXISTS
                (SELECT 1 FROM new_rows n WHERE n.org_id = o.org_id AND n.id = o.id)
            UNION
            SELECT n.org_id FROM new_rows n WHERE NOT EXISTS
                (SELECT 1 FROM old_rows o WHERE n.org_id = o.org_id AND n.id = o.id)
        );
    RETURN NULL;
END $$;
CREATE TRIGGER users_version_insert AFTER INSERT ON users
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION users_version_insert();
CREATE TRIGGER users_version_delete AFTER DELETE ON users
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION users_version_delete();
CREATE TRIGGER users_version_update AFTER UPDATE ON users
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION users_version_update();
