-- The SQLite migration of this version drops `users_sort_email`. PostgreSQL keeps it: without it
-- the planner serves the sort by email from the unique `users_org_email (org_id, email_lower)`
-- with an incremental sort on `id` and the keyset predicate as a filter (`EXPLAIN ANALYZE` at
-- 100,000 users of an organization: 0.32 ms a page against 0.17 ms through this index), as
-- PostgreSQL does not infer that a unique column makes the `id` tie-break redundant.
-- docs/performance.md, round four. Nothing to change; the version exists so that both folders
-- list the same ones.
SELECT 1;
