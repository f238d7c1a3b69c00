-- +goose Up
CREATE TABLE auth_methods (
    tenant_id    TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    id           TEXT NOT NULL,
    user_id      TEXT,
    kind         TEXT NOT NULL,
    state        TEXT NOT NULL,
    is_default   BOOLEAN NOT NULL DEFAULT FALSE,
    display_name TEXT NOT NULL DEFAULT '',
    props        TEXT NOT NULL DEFAULT '{}',
    secret       TEXT NOT NULL DEFAULT '',
    unique_key   TEXT,
    last_step    INTEGER NOT NULL DEFAULT 0,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER,
    expires_at   INTEGER,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, unique_key)
);
CREATE INDEX auth_methods_user ON auth_methods (tenant_id, user_id, created_at);
CREATE INDEX auth_methods_kind ON auth_methods (tenant_id, kind, id);
CREATE INDEX auth_methods_expiry ON auth_methods (expires_at) WHERE state = 'pending';

CREATE TABLE otp_challenges (
    tenant_id   TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    id          TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    method_id   TEXT NOT NULL DEFAULT '',
    channel     TEXT NOT NULL,
    purpose     TEXT NOT NULL,
    destination TEXT NOT NULL,
    code_hash   TEXT NOT NULL,
    outcome     TEXT NOT NULL DEFAULT '',
    attempts    INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    consumed_at INTEGER,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX otp_challenges_expiry ON otp_challenges (expires_at);

CREATE TABLE counters (
    tenant_id    TEXT NOT NULL,
    key          TEXT NOT NULL,
    window_start INTEGER NOT NULL,
    window_end   INTEGER NOT NULL,
    count        INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, key, window_start)
);
CREATE INDEX counters_expiry ON counters (window_end);

CREATE TABLE tenant_settings (
    tenant_id  TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    key        TEXT NOT NULL,
    value      TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, key)
);

-- +goose Down
DROP TABLE tenant_settings;
DROP TABLE counters;
DROP TABLE otp_challenges;
DROP TABLE auth_methods;
