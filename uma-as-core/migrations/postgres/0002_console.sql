-- The owner's console reads an owner's resources across resource servers, and the policies that
-- name a user or a group ("shared with me"), each through an index rather than a scan.
CREATE INDEX resources_by_owner ON resources (owner, resource_server, id);
CREATE INDEX policies_by_user ON policies USING GIN (((body::jsonb) -> 'users'));
CREATE INDEX policies_by_group ON policies USING GIN (((body::jsonb) -> 'groups'));
