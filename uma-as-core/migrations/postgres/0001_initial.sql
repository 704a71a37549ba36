-- The authorization server's state on PostgreSQL. Records are JSON in `body`; the columns beside
-- it are what lookups, conditions and purges select on. Tokens and tickets are keyed by the
-- SHA-256 of their value. Several `uma-as` processes share these tables: every operation of the
-- `Store` trait is one statement or one transaction.

CREATE TABLE resources (
    id              TEXT PRIMARY KEY,
    resource_server TEXT NOT NULL,
    owner           TEXT NOT NULL,
    body            TEXT NOT NULL
);
CREATE INDEX resources_by_server_owner ON resources (resource_server, owner, id);

CREATE TABLE policies (
    id          TEXT PRIMARY KEY,
    resource_id TEXT NOT NULL REFERENCES resources (id) ON DELETE CASCADE,
    -- The revision an RPT relies on: issuing one locks the row (FOR SHARE) and compares.
    revision    BIGINT NOT NULL,
    body        TEXT NOT NULL
);
CREATE INDEX policies_by_resource ON policies (resource_id);

CREATE TABLE tickets (
    hash       BYTEA PRIMARY KEY,
    expires_at BIGINT NOT NULL,
    body       TEXT NOT NULL
);
CREATE INDEX tickets_by_expiry ON tickets (expires_at);

CREATE TABLE tokens (
    hash       BYTEA PRIMARY KEY,
    expires_at BIGINT NOT NULL,
    body       TEXT NOT NULL
);
CREATE INDEX tokens_by_expiry ON tokens (expires_at);

-- Which policies each RPT relies on; a link goes with its token.
CREATE TABLE token_policies (
    hash      BYTEA NOT NULL REFERENCES tokens (hash) ON DELETE CASCADE,
    policy_id TEXT NOT NULL,
    PRIMARY KEY (hash, policy_id)
);
CREATE INDEX token_policies_by_policy ON token_policies (policy_id);

CREATE TABLE signing_keys (
    kid        TEXT PRIMARY KEY,
    created_at BIGINT NOT NULL,
    body       TEXT NOT NULL
);

CREATE TABLE pending_requests (
    id          TEXT PRIMARY KEY,
    owner       TEXT NOT NULL,
    resource_id TEXT NOT NULL,
    party       TEXT NOT NULL,
    client_id   TEXT NOT NULL,
    scopes_key  TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    body        TEXT NOT NULL,
    UNIQUE (resource_id, party, client_id, scopes_key)
);
CREATE INDEX pending_requests_by_owner ON pending_requests (owner, created_at, id);
CREATE INDEX pending_requests_by_age ON pending_requests (created_at);

CREATE TABLE decisions (
    seq          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    owner        TEXT NOT NULL,
    at           BIGINT NOT NULL,
    -- The resources the ticket asked for, so that an owner's list by resource is filtered and
    -- limited in SQL.
    resource_ids TEXT[] NOT NULL,
    body         TEXT NOT NULL
);
CREATE INDEX decisions_by_owner ON decisions (owner, at, seq);
CREATE INDEX decisions_by_time ON decisions (at);
