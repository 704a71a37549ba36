-- Requests no policy granted, put to the resource owner (owner-managed access).
CREATE TABLE pending_requests (
    id          TEXT PRIMARY KEY NOT NULL,
    owner       TEXT NOT NULL,
    resource_id TEXT NOT NULL,
    party       TEXT NOT NULL,
    scopes_key  TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    body        TEXT NOT NULL,
    UNIQUE (resource_id, party, scopes_key)
);
CREATE INDEX pending_requests_by_owner ON pending_requests (owner);
