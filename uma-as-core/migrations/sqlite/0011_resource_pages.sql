-- The protection API lists a resource server's resources a page at a time, by id, for one
-- owner or for all: each page one index range.
CREATE INDEX resources_by_server_id ON resources (resource_server, id);
DROP INDEX resources_by_server_owner;
CREATE INDEX resources_by_server_owner ON resources (resource_server, owner, id);
