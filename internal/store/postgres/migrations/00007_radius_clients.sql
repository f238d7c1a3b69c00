-- +goose Up
-- RADIUS clients (VPN gateways): the source address range picks the
-- client, its tenant and its shared secret (sealed with the master key).
CREATE TABLE radius_clients (
    tenant_id     TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    id            TEXT NOT NULL,
    name          TEXT NOT NULL,
    name_lower    TEXT NOT NULL,
    address       TEXT NOT NULL,
    secret_sealed TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
-- One client per address range across all tenants: a packet's source
-- must lead to exactly one secret.
CREATE UNIQUE INDEX radius_clients_address ON radius_clients (address);
CREATE UNIQUE INDEX radius_clients_name ON radius_clients (tenant_id, name_lower);

-- +goose Down
DROP TABLE radius_clients;
