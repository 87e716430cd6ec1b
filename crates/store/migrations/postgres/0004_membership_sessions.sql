-- Per-membership session cut-off: tokens of a membership issued before this instant stop
-- working (deactivation), without touching the identity's other memberships.
ALTER TABLE users ADD COLUMN sessions_valid_after BIGINT NOT NULL DEFAULT 0;
