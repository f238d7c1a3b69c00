-- +goose Up
ALTER TABLE users ADD COLUMN preferred_mfa TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN system_preferred_mfa BOOLEAN;
ALTER TABLE users ADD COLUMN mfa_grace_started_at INTEGER;
ALTER TABLE users ADD COLUMN registration_snoozed_until INTEGER;

CREATE TABLE sign_ins (
    tenant_id                 TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    id                        TEXT NOT NULL,
    created_at                INTEGER NOT NULL,
    user_id                   TEXT NOT NULL DEFAULT '',
    user_principal_name       TEXT NOT NULL DEFAULT '',
    upn_lower                 TEXT NOT NULL DEFAULT '',
    user_display_name         TEXT NOT NULL DEFAULT '',
    app_id                    TEXT NOT NULL DEFAULT '',
    app_display_name          TEXT NOT NULL DEFAULT '',
    ip_address                TEXT NOT NULL DEFAULT '',
    client_app_used           TEXT NOT NULL DEFAULT '',
    correlation_id            TEXT NOT NULL DEFAULT '',
    is_interactive            BOOLEAN NOT NULL DEFAULT TRUE,
    conditional_access_status TEXT NOT NULL DEFAULT '',
    error_code                INTEGER NOT NULL DEFAULT 0,
    risk_level                TEXT NOT NULL DEFAULT '',
    -- everything else of the Graph shape, as JSON
    details                   TEXT NOT NULL DEFAULT '{}',
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX sign_ins_time ON sign_ins (tenant_id, created_at, id);
CREATE INDEX sign_ins_user ON sign_ins (tenant_id, user_id, created_at);

CREATE TABLE signin_flows (
    tenant_id  TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    id         TEXT NOT NULL,
    state      TEXT NOT NULL,
    user_id    TEXT NOT NULL DEFAULT '',
    data       TEXT NOT NULL DEFAULT '{}',
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    version    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX signin_flows_expiry ON signin_flows (expires_at);

CREATE TABLE sessions (
    tenant_id    TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    id           TEXT NOT NULL,
    user_id      TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    auth_at      INTEGER NOT NULL,
    mfa_at       INTEGER,
    methods      TEXT NOT NULL DEFAULT '[]',
    persistent   BOOLEAN NOT NULL DEFAULT FALSE,
    revoked_at   INTEGER,
    data         TEXT NOT NULL DEFAULT '{}',
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX sessions_user ON sessions (tenant_id, user_id);
CREATE INDEX sessions_expiry ON sessions (expires_at);

CREATE TABLE lockouts (
    tenant_id    TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    user_id      TEXT NOT NULL,
    scope        TEXT NOT NULL,
    failures     INTEGER NOT NULL DEFAULT 0,
    consecutive  INTEGER NOT NULL DEFAULT 0,
    locks        INTEGER NOT NULL DEFAULT 0,
    locked_until INTEGER,
    hard_locked  BOOLEAN NOT NULL DEFAULT FALSE,
    updated_at   INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, user_id, scope)
);

-- +goose Down
DROP TABLE lockouts;
DROP TABLE sessions;
DROP TABLE signin_flows;
DROP TABLE sign_ins;
ALTER TABLE users DROP COLUMN registration_snoozed_until;
ALTER TABLE users DROP COLUMN mfa_grace_started_at;
ALTER TABLE users DROP COLUMN system_preferred_mfa;
ALTER TABLE users DROP COLUMN preferred_mfa;
