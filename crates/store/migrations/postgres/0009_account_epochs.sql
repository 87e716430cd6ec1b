-- Accounts shared across organizations (docs/security.md, "Accounts shared across organizations").
-- An identity's epoch moves with every change to its memberships (joins) and credentials
-- (password, login email): a link sets a credential only while the identity is as it was when
-- the link was issued, which the token records.
ALTER TABLE identities ADD COLUMN epoch BIGINT NOT NULL DEFAULT 0;
ALTER TABLE one_time_tokens ADD COLUMN identity_epoch BIGINT;
-- Links issued before this migration are taken as issued at epoch 0, where every identity starts.
UPDATE one_time_tokens SET identity_epoch = 0 WHERE used_at IS NULL;
-- The connection each organization invited the person with: one organization's
-- `google-oauth2` does not take password sign-in away in another.
ALTER TABLE users ADD COLUMN connection TEXT NOT NULL DEFAULT 'password';
UPDATE users SET connection = i.connection FROM identities i
 WHERE i.id = users.identity_id AND i.connection <> 'password';
