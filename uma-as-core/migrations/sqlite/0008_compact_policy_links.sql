-- Policy links as one B-tree keyed (policy_id, hash): the revocation of a policy's tokens reads
-- a key range, and no rowid table or second index is kept beside it. The purge finds a token's
-- links through the policies named in the token's own record.
CREATE TABLE token_policies_compact (
    policy_id TEXT NOT NULL,
    hash      BLOB NOT NULL,
    PRIMARY KEY (policy_id, hash)
) WITHOUT ROWID;
INSERT OR IGNORE INTO token_policies_compact (policy_id, hash)
    SELECT policy_id, hash FROM token_policies WHERE hash IN (SELECT hash FROM tokens);
DROP TABLE token_policies;
ALTER TABLE token_policies_compact RENAME TO token_policies;
