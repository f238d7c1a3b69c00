-- +goose Up
-- Conditional access (P-7): each policy and named location is kept as its
-- Graph JSON document (doc) beside the columns lists filter and order by.
CREATE TABLE ca_named_locations (
    tenant_id          TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    id                 TEXT NOT NULL,
    display_name       TEXT NOT NULL,
    display_name_lower TEXT NOT NULL,
    kind               TEXT NOT NULL,
    created_at         INTEGER NOT NULL,
    modified_at        INTEGER NOT NULL,
    doc                TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX ca_named_locations_name ON ca_named_locations (tenant_id, display_name_lower, id);
CREATE INDEX ca_named_locations_created ON ca_named_locations (tenant_id, created_at, id);

CREATE TABLE ca_policies (
    tenant_id          TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    id                 TEXT NOT NULL,
    display_name       TEXT NOT NULL,
    display_name_lower TEXT NOT NULL,
    state              TEXT NOT NULL,
    created_at         INTEGER NOT NULL,
    modified_at        INTEGER NOT NULL,
    doc                TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX ca_policies_name ON ca_policies (tenant_id, display_name_lower, id);
CREATE INDEX ca_policies_created ON ca_policies (tenant_id, created_at, id);
CREATE INDEX ca_policies_state ON ca_policies (tenant_id, state);

-- The named locations each policy includes or excludes: a location in use
-- cannot be deleted, and a policy cannot name one that does not exist.
CREATE TABLE ca_policy_locations (
    tenant_id   TEXT NOT NULL,
    policy_id   TEXT NOT NULL,
    location_id TEXT NOT NULL,
    PRIMARY KEY (tenant_id, policy_id, location_id),
    FOREIGN KEY (tenant_id, policy_id) REFERENCES ca_policies (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, location_id) REFERENCES ca_named_locations (tenant_id, id)
);
CREATE INDEX ca_policy_locations_location ON ca_policy_locations (tenant_id, location_id, policy_id);

-- +goose Down
DROP TABLE ca_policy_locations;
DROP TABLE ca_policies;
DROP TABLE ca_named_locations;
