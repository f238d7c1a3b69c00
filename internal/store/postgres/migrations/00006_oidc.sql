-- +goose Up
ALTER TABLE apps ADD COLUMN spa_redirect_uris TEXT NOT NULL DEFAULT '[]';
ALTER TABLE apps ADD COLUMN public_client_redirect_uris TEXT NOT NULL DEFAULT '[]';
ALTER TABLE apps ADD COLUMN password_credentials TEXT NOT NULL DEFAULT '[]';

-- Pending OpenID Connect authorization requests; code_hash is set once
-- the user signed in and a code was issued (only its hash is kept).
CREATE TABLE oidc_auth_requests (
    tenant_id  TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    id         TEXT NOT NULL,
    client_id  TEXT NOT NULL,
    data       TEXT NOT NULL,
    code_hash  TEXT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX oidc_auth_requests_code ON oidc_auth_requests (tenant_id, code_hash);
CREATE INDEX oidc_auth_requests_expiry ON oidc_auth_requests (expires_at);

-- Refresh tokens by the hash of their value; a rotation family shares
-- family_id.
CREATE TABLE oidc_refresh_tokens (
    tenant_id  TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    hash       TEXT NOT NULL,
    family_id  TEXT NOT NULL,
    client_id  TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    data       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT,
    revoked_at BIGINT,
    PRIMARY KEY (tenant_id, hash)
);
CREATE INDEX oidc_refresh_tokens_family ON oidc_refresh_tokens (tenant_id, family_id);
CREATE INDEX oidc_refresh_tokens_user ON oidc_refresh_tokens (tenant_id, user_id, client_id);
CREATE INDEX oidc_refresh_tokens_expiry ON oidc_refresh_tokens (expires_at);

-- +goose Down
DROP TABLE oidc_refresh_tokens;
DROP TABLE oidc_auth_requests;
ALTER TABLE apps DROP COLUMN password_credentials;
ALTER TABLE apps DROP COLUMN public_client_redirect_uris;
ALTER TABLE apps DROP COLUMN spa_redirect_uris;
