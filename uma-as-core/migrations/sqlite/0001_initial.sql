-- The authorization server's state. Records are JSON in `body`; the columns beside it are what
-- lookups and purges select on. Tokens and tickets are keyed by the SHA-256 of their value.

CREATE TABLE resources (
    id              TEXT PRIMARY KEY NOT NULL,
    resource_server TEXT NOT NULL,
    owner           TEXT NOT NULL,
    body            TEXT NOT NULL
);
CREATE INDEX resources_by_server_owner ON resources (resource_server, owner);

CREATE TABLE policies (
    id          TEXT PRIMARY KEY NOT NULL,
    resource_id TEXT NOT NULL REFERENCES resources (id) ON DELETE CASCADE,
    body        TEXT NOT NULL
);
CREATE INDEX policies_by_resource ON policies (resource_id);

CREATE TABLE tickets (
    hash       BLOB PRIMARY KEY NOT NULL,
    expires_at INTEGER NOT NULL,
    body       TEXT NOT NULL
);
CREATE INDEX tickets_by_expiry ON tickets (expires_at);

CREATE TABLE tokens (
    hash       BLOB PRIMARY KEY NOT NULL,
    expires_at INTEGER NOT NULL,
    body       TEXT NOT NULL
);
CREATE INDEX tokens_by_expiry ON tokens (expires_at);

CREATE TABLE signing_keys (
    kid  TEXT PRIMARY KEY NOT NULL,
    body TEXT NOT NULL
);
