-- The version of each organization's users as a search sees them. Triggers move it in the
-- writing transaction whenever a row a count could include changes (inserted, deleted, or its
-- status, name, email or company changed), so a count remembered with the version it was read
-- at is still exact while the version is unchanged, whichever node or process wrote last.
CREATE TABLE user_versions (
    org_id   TEXT NOT NULL PRIMARY KEY REFERENCES organizations(id) ON DELETE CASCADE,
    version  INTEGER NOT NULL
);
-- Every organization that has users has a row, so that deletions and updates only move it (an
-- insert would fail its foreign key while the organization itself is deleted by cascade).
INSERT INTO user_versions (org_id, version) SELECT DISTINCT org_id, 1 FROM users;
CREATE TRIGGER users_version_insert AFTER INSERT ON users BEGIN
    INSERT INTO user_versions (org_id, version) VALUES (new.org_id, 1)
        ON CONFLICT (org_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER users_version_delete AFTER DELETE ON users BEGIN
    UPDATE user_versions SET version = version + 1 WHERE org_id = old.org_id;
END;
CREATE TRIGGER users_version_update
    AFTER UPDATE OF org_id, status, search_text, company_key, name_key ON users
    WHEN old.org_id IS NOT new.org_id OR old.status IS NOT new.status
        OR old.search_text IS NOT new.search_text OR old.company_key IS NOT new.company_key
        OR old.name_key IS NOT new.name_key
BEGIN
    UPDATE user_versions SET version = version + 1 WHERE org_id IN (old.org_id, new.org_id);
END;
