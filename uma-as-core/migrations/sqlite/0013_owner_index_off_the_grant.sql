-- The owner's index of decisions leaves the grant's commit (see src/store/sqlite/owner_index.rs):
-- decisions are numbered (AUTOINCREMENT: a number is never reused, so "indexed up to" is a mark),
-- keep only their time index, and the owner's index becomes a table the upkeep fills in batches.
CREATE TABLE decisions_numbered (
    id    INTEGER PRIMARY KEY AUTOINCREMENT,
    owner TEXT NOT NULL,
    at    INTEGER NOT NULL,
    body  TEXT NOT NULL
);
INSERT INTO decisions_numbered (owner, at, body) SELECT owner, at, body FROM decisions ORDER BY rowid;
DROP TABLE decisions;
ALTER TABLE decisions_numbered RENAME TO decisions;
CREATE INDEX decisions_by_time ON decisions (at);

CREATE TABLE decisions_by_owner (
    owner TEXT NOT NULL,
    at    INTEGER NOT NULL,
    id    INTEGER NOT NULL,
    PRIMARY KEY (owner, at, id)
) WITHOUT ROWID;
INSERT INTO decisions_by_owner (owner, at, id) SELECT owner, at, id FROM decisions;

-- A decision deleted (by the purge, or anything else) takes its index row with it.
CREATE TRIGGER decisions_leave_the_owners_index AFTER DELETE ON decisions BEGIN
    DELETE FROM decisions_by_owner WHERE owner = old.owner AND at = old.at AND id = old.id;
END;

-- Every decision numbered up to here is in decisions_by_owner.
CREATE TABLE decisions_indexed (up_to INTEGER NOT NULL);
INSERT INTO decisions_indexed (up_to) SELECT COALESCE(MAX(id), 0) FROM decisions;
