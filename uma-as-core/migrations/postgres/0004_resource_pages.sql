-- The protection API lists a resource server's resources a page at a time, by id, for all
-- owners: each page one index range (one owner's pages use resources_by_server_owner).
CREATE INDEX resources_by_server_id ON resources (resource_server, id);
