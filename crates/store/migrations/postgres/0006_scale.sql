-- What a million users per organization needs (see docs/performance.md):
-- 1. eva's default order, newest first, served by an index like every other sort.
CREATE INDEX users_sort_created ON users (org_id, created_at, id);

-- 2. Members per organization and status, kept by statement-level triggers in the writing
--    transaction (one counter update per statement, however many rows a bulk insert has), so
--    that the totals eva and org-user-management show with every page are not a count.
CREATE TABLE user_counts (
    org_id  TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    status  TEXT NOT NULL,
    n       BIGINT NOT NULL,
    PRIMARY KEY (org_id, status)
);
INSERT INTO user_counts (org_id, status, n) SELECT org_id, status, COUNT(*) FROM users GROUP BY org_id, status;

CREATE FUNCTION users_count_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO user_counts (org_id, status, n)
        SELECT org_id, status, COUNT(*) FROM new_rows GROUP BY org_id, status
        ON CONFLICT (org_id, status) DO UPDATE SET n = user_counts.n + EXCLUDED.n;
    RETURN NULL;
END $$;
CREATE FUNCTION users_count_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE user_counts c SET n = c.n - d.k
        FROM (SELECT org_id, status, COUNT(*) AS k FROM old_rows GROUP BY org_id, status) d
        WHERE c.org_id = d.org_id AND c.status = d.status;
    RETURN NULL;
END $$;
CREATE FUNCTION users_count_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO user_counts (org_id, status, n)
        SELECT org_id, status, SUM(k) FROM (
            SELECT org_id, status, -1 AS k FROM old_rows
            UNION ALL
            SELECT org_id, status, 1 AS k FROM new_rows
        ) d GROUP BY org_id, status HAVING SUM(k) <> 0
        ON CONFLICT (org_id, status) DO UPDATE SET n = user_counts.n + EXCLUDED.n;
    RETURN NULL;
END $$;
CREATE TRIGGER users_count_insert AFTER INSERT ON users
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION users_count_insert();
CREATE TRIGGER users_count_delete AFTER DELETE ON users
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION users_count_delete();
CREATE TRIGGER users_count_update AFTER UPDATE ON users
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION users_count_update();

-- 3. eva's search also matches the company: a trigram index of its own lets the planner OR the
--    two index scans together.
CREATE INDEX users_company_trgm ON users USING gin (company_key gin_trgm_ops);
