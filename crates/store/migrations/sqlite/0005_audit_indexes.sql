-- The audit log API lists one organization's events newest first (created_at, then id), filtered
-- by acting user, target user or time; retention deletes the oldest events of every organization.
DROP INDEX audit_events_target;
CREATE INDEX audit_events_time ON audit_events (org_id, created_at, id);
CREATE INDEX audit_events_actor ON audit_events (org_id, actor_user_id, created_at, id);
CREATE INDEX audit_events_target ON audit_events (org_id, target_user_id, created_at, id);
CREATE INDEX audit_events_age ON audit_events (created_at);
