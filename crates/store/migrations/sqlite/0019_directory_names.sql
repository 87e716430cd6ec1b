-- What a directory calls a person and a group (docs/scim.md). `user_name` is the directory's
-- name of a member when it is not the login email (scim2-tester and some directories send
-- UUIDs); it is NULL when the name is the login email. `user_name_key` is the folded name the
-- directory looks the member up by: `user_name` folded when there is one, else `email_lower`,
-- so that `userName eq` is one probe of `users_user_name` whichever form the name has, and two
-- members of an organization never answer to the same name. `roles.external_id` is the
-- directory's id of a group, written by the directory only.
ALTER TABLE users ADD COLUMN user_name TEXT;
ALTER TABLE users ADD COLUMN user_name_key TEXT;
UPDATE users SET user_name_key = email_lower;
CREATE UNIQUE INDEX users_user_name ON users (org_id, user_name_key);
ALTER TABLE roles ADD COLUMN external_id TEXT;
