-- Which policies each RPT relies on, so that changing or deleting a policy revokes its RPTs.
CREATE TABLE token_policies (
    policy_id TEXT NOT NULL,
    hash      BLOB NOT NULL
);
CREATE INDEX token_policies_by_policy ON token_policies (policy_id);
