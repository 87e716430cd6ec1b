-- Where each organization lives when several database clusters are configured. Only the home
-- cluster's table is read; an organization without a row lives on the home cluster (it was
-- created before clusters were configured).
CREATE TABLE org_placements (
    org_id TEXT PRIMARY KEY,
    org_uuid TEXT NOT NULL UNIQUE,
    cluster TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
