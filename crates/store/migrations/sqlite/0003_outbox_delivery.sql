-- Delivery of the outbox. A worker leases a due message: status 'sending', lease_owner set, and
-- next_attempt_at moved to the end of the lease, so a message whose worker died becomes due again
-- when the lease runs out. Outcomes: 'sent' (sent_at), back to 'pending' with a later
-- next_attempt_at (retry), or 'failed' (last_error).
ALTER TABLE outbox ADD COLUMN lease_owner TEXT;

DROP INDEX outbox_due;
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE status IN ('pending', 'sending');
