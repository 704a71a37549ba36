-- Keycloak's clients name resources: a resource server's resources by name, through an index.
ALTER TABLE resources ADD COLUMN name TEXT
    GENERATED ALWAYS AS (json_extract(body, '$.description.name')) VIRTUAL;
CREATE INDEX resources_by_name ON resources (resource_server, name);
