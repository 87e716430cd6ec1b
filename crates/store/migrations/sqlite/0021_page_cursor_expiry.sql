-- The sweep of expired page cursors (`DELETE FROM page_cursors WHERE expires_at < $1`, run by
-- one cursor write in 64) reads this index instead of the whole table.
CREATE INDEX page_cursors_expires ON page_cursors (expires_at);
