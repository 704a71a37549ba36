-- The owner's console reads an owner's resources across resource servers, and the policies that
-- name a user or a group ("shared with me"), each as an index range rather than a scan.
CREATE INDEX resources_by_owner ON resources (owner, resource_server, id);

-- Who each policy names, 'u:' a user or 'g:' a group, kept by triggers from the policy's own
-- record so that no write path can forget it; a policy's rows go with it.
CREATE TABLE policy_grantees (
    grantee   TEXT NOT NULL,
    policy_id TEXT NOT NULL REFERENCES policies (id) ON DELETE CASCADE,
    PRIMARY KEY (grantee, policy_id)
) WITHOUT ROWID;
CREATE INDEX policy_grantees_by_policy ON policy_grantees (policy_id);

CREATE TRIGGER policy_grantees_on_insert AFTER INSERT ON policies BEGIN
    INSERT OR IGNORE INTO policy_grantees (grantee, policy_id)
        SELECT 'u:' || value, NEW.id FROM json_each(NEW.body, '$.users')
        UNION SELECT 'g:' || value, NEW.id FROM json_each(NEW.body, '$.groups');
END;

CREATE TRIGGER policy_grantees_on_update AFTER UPDATE OF body ON policies BEGIN
    DELETE FROM policy_grantees WHERE policy_id = NEW.id;
    INSERT OR IGNORE INTO policy_grantees (grantee, policy_id)
        SELECT 'u:' || value, NEW.id FROM json_each(NEW.body, '$.users')
        UNION SELECT 'g:' || value, NEW.id FROM json_each(NEW.body, '$.groups');
END;

INSERT OR IGNORE INTO policy_grantees (grantee, policy_id)
    SELECT 'u:' || value, policies.id FROM policies, json_each(policies.body, '$.users')
    UNION SELECT 'g:' || value, policies.id FROM policies, json_each(policies.body, '$.groups');
