-- +goose Up
-- Times are microseconds since the Unix epoch (INTEGER); x_lower columns
-- hold Go-lowered copies for case-insensitive lookups and ordering.
CREATE TABLE tenants (
    id           TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    banned_passwords TEXT NOT NULL DEFAULT '[]',
    created_at   BIGINT NOT NULL
);

CREATE TABLE tenant_domains (
    domain    TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    position  INTEGER NOT NULL
);
CREATE INDEX tenant_domains_tenant ON tenant_domains (tenant_id);

CREATE TABLE users (
    tenant_id             TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    id                    TEXT NOT NULL,
    upn                   TEXT NOT NULL,
    upn_lower             TEXT NOT NULL,
    display_name          TEXT NOT NULL,
    display_name_lower    TEXT NOT NULL,
    mail                  TEXT NOT NULL DEFAULT '',
    mobile_phone          TEXT NOT NULL DEFAULT '',
    account_enabled       BOOLEAN NOT NULL,
    password_hash         TEXT NOT NULL DEFAULT '',
    force_change_password BOOLEAN NOT NULL DEFAULT FALSE,
    per_user_mfa          TEXT NOT NULL DEFAULT 'disabled',
    user_type             TEXT NOT NULL DEFAULT 'member',
    created_at            BIGINT NOT NULL,
    updated_at            BIGINT NOT NULL,
    last_sign_in_at       BIGINT,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, upn_lower)
);
CREATE INDEX users_display_name ON users (tenant_id, display_name_lower, id);

CREATE TABLE groups (
    tenant_id          TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    id                 TEXT NOT NULL,
    display_name       TEXT NOT NULL,
    display_name_lower TEXT NOT NULL,
    description        TEXT NOT NULL DEFAULT '',
    mail_nickname      TEXT NOT NULL DEFAULT '',
    created_at         BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX groups_display_name ON groups (tenant_id, display_name_lower, id);

CREATE TABLE group_members (
    tenant_id   TEXT NOT NULL,
    group_id    TEXT NOT NULL,
    member_id   TEXT NOT NULL,
    member_kind TEXT NOT NULL,
    PRIMARY KEY (tenant_id, group_id, member_id),
    FOREIGN KEY (tenant_id, group_id) REFERENCES groups (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX group_members_up ON group_members (tenant_id, member_id, group_id);

CREATE TABLE role_assignments (
    tenant_id          TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    id                 TEXT NOT NULL,
    principal_id       TEXT NOT NULL,
    role_definition_id TEXT NOT NULL,
    directory_scope_id TEXT NOT NULL,
    created_at         BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, principal_id, role_definition_id, directory_scope_id)
);

CREATE TABLE apps (
    tenant_id     TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    id            TEXT NOT NULL,
    app_id        TEXT NOT NULL UNIQUE,
    display_name  TEXT NOT NULL,
    secret_hash   TEXT NOT NULL,
    redirect_uris TEXT NOT NULL,
    permissions   TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

CREATE TABLE signing_keys (
    tenant_id      TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    key_id         TEXT NOT NULL,
    algorithm      TEXT NOT NULL,
    private_sealed TEXT NOT NULL,
    public_jwk     TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    not_after      BIGINT,
    PRIMARY KEY (tenant_id, key_id)
);

CREATE TABLE audit_entries (
    tenant_id         TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    id                TEXT NOT NULL,
    activity_at       BIGINT NOT NULL,
    activity          TEXT NOT NULL,
    category          TEXT NOT NULL,
    operation_type    TEXT NOT NULL,
    result            TEXT NOT NULL,
    result_reason     TEXT NOT NULL,
    correlation_id    TEXT NOT NULL,
    logged_by_service TEXT NOT NULL,
    initiated_by      TEXT NOT NULL,
    targets           TEXT NOT NULL,
    details           TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX audit_entries_time ON audit_entries (tenant_id, activity_at, id);

-- +goose Down
DROP TABLE audit_entries;
DROP TABLE signing_keys;
DROP TABLE apps;
DROP TABLE role_assignments;
DROP TABLE group_members;
DROP TABLE groups;
DROP TABLE users;
DROP TABLE tenant_domains;
DROP TABLE tenants;
