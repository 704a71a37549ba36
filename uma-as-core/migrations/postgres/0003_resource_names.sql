-- Keycloak's clients name resources: a resource server's resources by name, through an index.
CREATE INDEX resources_by_name ON resources (resource_server, ((body::jsonb) -> 'description' ->> 'name'));
