-- Decisions keep their id inside the record: no column and no unique index for it (37 bytes of
-- index per grant), since nothing looks a decision up by id.
CREATE TABLE decisions_compact (
    owner TEXT NOT NULL,
    at    INTEGER NOT NULL,
    body  TEXT NOT NULL
);
INSERT INTO decisions_compact (owner, at, body) SELECT owner, at, body FROM decisions ORDER BY rowid;
DROP TABLE decisions;
ALTER TABLE decisions_compact RENAME TO decisions;
CREATE INDEX decisions_by_owner ON decisions (owner, at);
CREATE INDEX decisions_by_time ON decisions (at);
