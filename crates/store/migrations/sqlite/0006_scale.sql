-- What a million users per organization needs (see docs/performance.md):
-- 1. eva's default order, newest first, served by an index like every other sort.
CREATE INDEX users_sort_created ON users (org_id, created_at, id);

-- 2. Members per organization and status, kept by triggers in the writing transaction, so that
--    the totals eva and org-user-management show with every page are not a count of the index.
CREATE TABLE user_counts (
    org_id  TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    status  TEXT NOT NULL,
    n       INTEGER NOT NULL,
    PRIMARY KEY (org_id, status)
);
INSERT INTO user_counts (org_id, status, n) SELECT org_id, status, COUNT(*) FROM users GROUP BY org_id, status;
CREATE TRIGGER users_count_insert AFTER INSERT ON users BEGIN
    INSERT INTO user_counts (org_id, status, n) VALUES (new.org_id, new.status, 1)
        ON CONFLICT (org_id, status) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER users_count_delete AFTER DELETE ON users BEGIN
    UPDATE user_counts SET n = n - 1 WHERE org_id = old.org_id AND status = old.status;
END;
CREATE TRIGGER users_count_status AFTER UPDATE OF status ON users WHEN old.status <> new.status BEGIN
    UPDATE user_counts SET n = n - 1 WHERE org_id = old.org_id AND status = old.status;
    INSERT INTO user_counts (org_id, status, n) VALUES (new.org_id, new.status, 1)
        ON CONFLICT (org_id, status) DO UPDATE SET n = n + 1;
END;

-- 3. The trigram index also covers the company, as its own column: Amigo's search matches name
--    and email (`{search_text}:`), eva's matches company too, and neither needs an OR that
--    would defeat the index.
DROP TRIGGER users_fts_insert;
DROP TRIGGER users_fts_delete;
DROP TRIGGER users_fts_update;
DROP TABLE users_fts;
CREATE VIRTUAL TABLE users_fts USING fts5 (
    search_text, company_key, content = 'users', content_rowid = 'seq', tokenize = 'trigram'
);
INSERT INTO users_fts (users_fts) VALUES ('rebuild');
CREATE TRIGGER users_fts_insert AFTER INSERT ON users BEGIN
    INSERT INTO users_fts (rowid, search_text, company_key) VALUES (new.seq, new.search_text, new.company_key);
END;
CREATE TRIGGER users_fts_delete AFTER DELETE ON users BEGIN
    INSERT INTO users_fts (users_fts, rowid, search_text, company_key)
        VALUES ('delete', old.seq, old.search_text, old.company_key);
END;
CREATE TRIGGER users_fts_update AFTER UPDATE OF search_text, company_key ON users BEGIN
    INSERT INTO users_fts (users_fts, rowid, search_text, company_key)
        VALUES ('delete', old.seq, old.search_text, old.company_key);
    INSERT INTO users_fts (rowid, search_text, company_key) VALUES (new.seq, new.search_text, new.company_key);
END;
