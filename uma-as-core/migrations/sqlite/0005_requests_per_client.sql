-- Pending requests are kept per resource, party, client and scopes: an approval of what a party
-- asked through one client says nothing about another client (TM-12).
CREATE TABLE pending_requests_by_client (
    id          TEXT PRIMARY KEY NOT NULL,
    owner       TEXT NOT NULL,
    resource_id TEXT NOT NULL,
    party       TEXT NOT NULL,
    client_id   TEXT NOT NULL,
    scopes_key  TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    body        TEXT NOT NULL,
    UNIQUE (resource_id, party, client_id, scopes_key)
);
INSERT INTO pending_requests_by_client
    SELECT id, owner, resource_id, party, json_extract(body, '$.client_id'), scopes_key,
           created_at, body
    FROM pending_requests;
DROP TABLE pending_requests;
ALTER TABLE pending_requests_by_client RENAME TO pending_requests;
CREATE INDEX pending_requests_by_owner ON pending_requests (owner);
