-- Every decision of the token endpoint on a ticket, for the resource owner to read.
CREATE TABLE decisions (
    id    TEXT PRIMARY KEY NOT NULL,
    owner TEXT NOT NULL,
    at    INTEGER NOT NULL,
    body  TEXT NOT NULL
);
CREATE INDEX decisions_by_owner ON decisions (owner, at);
