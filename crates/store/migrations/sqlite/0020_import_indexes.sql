-- One B-tree less for every user a bulk import writes. `users_sort_email (org_id, email_lower,
-- id)` repeats the unique `users_org_email (org_id, email_lower)`: the email is unique within an
-- organization, so SQLite's planner reads the sort by email and its keyset predicate
-- `(email_lower, id) > (?, ?)` from the unique index alone (`EXPLAIN QUERY PLAN`: `SEARCH users
-- USING INDEX users_org_email (org_id=? AND email_lower>?)`, no temporary B-tree), as it did
-- from this one. docs/performance.md, round four.
DROP INDEX users_sort_email;
