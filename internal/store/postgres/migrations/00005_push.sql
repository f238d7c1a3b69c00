-- +goose Up
CREATE TABLE push_enrolments (
    tenant_id    TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    id           TEXT NOT NULL,
    user_id      TEXT NOT NULL,
    token_hash   TEXT NOT NULL,
    flow_id      TEXT NOT NULL DEFAULT '',
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    used_at      BIGINT,
    method_id    TEXT NOT NULL DEFAULT '',
    device_id    TEXT NOT NULL DEFAULT '',
    challenge_id TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, token_hash)
);
CREATE INDEX push_enrolments_expiry ON push_enrolments (expires_at);

-- A device belongs to its method row: deleting the method (Graph, the
-- security-info page) deletes the device and so revokes its key at once.
CREATE TABLE push_devices (
    tenant_id    TEXT NOT NULL,
    id           TEXT NOT NULL,
    user_id      TEXT NOT NULL,
    method_id    TEXT NOT NULL,
    public_key   TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    last_seen_at BIGINT,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, method_id) REFERENCES auth_methods (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX push_devices_method ON push_devices (tenant_id, method_id);

CREATE TABLE push_nonces (
    tenant_id  TEXT NOT NULL,
    device_id  TEXT NOT NULL,
    nonce      TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, device_id, nonce)
);
CREATE INDEX push_nonces_expiry ON push_nonces (expires_at);

CREATE TABLE push_challenges (
    tenant_id   TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    id          TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    purpose     TEXT NOT NULL,
    flow_id     TEXT NOT NULL DEFAULT '',
    method_id   TEXT NOT NULL DEFAULT '',
    nonce       TEXT NOT NULL,
    number      INTEGER NOT NULL,
    app_name    TEXT NOT NULL DEFAULT '',
    location    TEXT NOT NULL DEFAULT '',
    ip_address  TEXT NOT NULL DEFAULT '',
    correlation_id TEXT NOT NULL DEFAULT '',
    status      TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    answered_at BIGINT,
    device_id   TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (tenant_id, id)
);
-- At most one pending challenge per user; expired ones are moved out of
-- 'pending' before a new one is added.
CREATE UNIQUE INDEX push_challenges_one_pending ON push_challenges (tenant_id, user_id) WHERE status = 'pending';
CREATE INDEX push_challenges_expiry ON push_challenges (expires_at);

CREATE TABLE risk_detections (
    tenant_id      TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    id             TEXT NOT NULL,
    user_id        TEXT NOT NULL,
    event_type     TEXT NOT NULL,
    source         TEXT NOT NULL DEFAULT '',
    ip_address     TEXT NOT NULL DEFAULT '',
    correlation_id TEXT NOT NULL DEFAULT '',
    detected_at    BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX risk_detections_user ON risk_detections (tenant_id, user_id, detected_at);

-- +goose Down
DROP TABLE risk_detections;
DROP TABLE push_challenges;
DROP TABLE push_nonces;
DROP TABLE push_devices;
DROP TABLE push_enrolments;
