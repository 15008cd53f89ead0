-- +goose Up
-- Tables of the enduser-auth module. Every name carries the enduser_ prefix so
-- the module shares a database with the monolith's other modules.

CREATE TABLE enduser_user_domains (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        text        NOT NULL UNIQUE,
    secret_enc  bytea       NOT NULL,            -- AES-256-GCM under the master key
    enabled     boolean     NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE enduser_official_accounts (
    user_domain_id  bigint      NOT NULL REFERENCES enduser_user_domains (id) ON DELETE CASCADE,
    app_id          text        NOT NULL,
    app_secret_enc  bytea       NOT NULL,        -- AES-256-GCM under the master key
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_domain_id, app_id)
);

CREATE TABLE enduser_data_centers (
    code        text        PRIMARY KEY,
    api_url     text        NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- One MCC is served by exactly one data center.
CREATE TABLE enduser_data_center_mccs (
    mcc               integer PRIMARY KEY CHECK (mcc BETWEEN 0 AND 999),
    data_center_code  text    NOT NULL REFERENCES enduser_data_centers (code) ON DELETE CASCADE
);

CREATE TABLE enduser_users (
    id              text        PRIMARY KEY,     -- the opaque uid
    user_domain_id  bigint      NOT NULL REFERENCES enduser_user_domains (id),
    status          smallint    NOT NULL DEFAULT 1,
    registered_at   timestamptz NOT NULL,
    last_login_at   timestamptz NOT NULL
);

-- A person under one official account: unique per (user domain, appId, openid).
CREATE TABLE enduser_wechat_identities (
    user_domain_id  bigint      NOT NULL REFERENCES enduser_user_domains (id),
    app_id          text        NOT NULL,
    open_id         text        NOT NULL,
    union_id        text,
    user_id         text        NOT NULL REFERENCES enduser_users (id) ON DELETE CASCADE,
    created_at      timestamptz NOT NULL,
    PRIMARY KEY (user_domain_id, app_id, open_id)
);
CREATE INDEX enduser_wechat_identities_user_id_idx ON enduser_wechat_identities (user_id);

-- A person across the official accounts of one Open Platform account: one
-- user per (user domain, unionid).
CREATE TABLE enduser_wechat_unions (
    user_domain_id  bigint      NOT NULL REFERENCES enduser_user_domains (id),
    union_id        text        NOT NULL,
    user_id         text        NOT NULL REFERENCES enduser_users (id) ON DELETE CASCADE,
    created_at      timestamptz NOT NULL,
    PRIMARY KEY (user_domain_id, union_id)
);

-- A login session: one refresh-token family. Token n is derived from
-- refresh_key and n; refresh_counter is the current (unspent) n.
CREATE TABLE enduser_sessions (
    id                  uuid        PRIMARY KEY,
    user_id             text        NOT NULL REFERENCES enduser_users (id) ON DELETE CASCADE,
    user_domain_id      bigint      NOT NULL REFERENCES enduser_user_domains (id),
    app_id              text        NOT NULL,
    refresh_key_enc     bytea       NOT NULL,    -- AES-256-GCM under the master key
    refresh_counter     bigint      NOT NULL CHECK (refresh_counter > 0),
    created_at          timestamptz NOT NULL,
    expires_at          timestamptz NOT NULL,    -- absolute, never extended
    refresh_expires_at  timestamptz NOT NULL,    -- sliding, capped by expires_at
    rotated_at          timestamptz,
    revoked_at          timestamptz,
    revoke_reason       text
);
CREATE INDEX enduser_sessions_user_id_idx ON enduser_sessions (user_id);
CREATE INDEX enduser_sessions_revoked_at_idx ON enduser_sessions (revoked_at) WHERE revoked_at IS NOT NULL;

-- Access-token signing keys, shared by every instance.
CREATE TABLE enduser_signing_keys (
    kid              text        PRIMARY KEY,
    algorithm        text        NOT NULL,
    public_key       bytea       NOT NULL,
    private_key_enc  bytea       NOT NULL,       -- AES-256-GCM under the master key
    created_at       timestamptz NOT NULL,
    retired_at       timestamptz
);
-- At most one key signs at a time.
CREATE UNIQUE INDEX enduser_signing_keys_one_active_idx ON enduser_signing_keys ((retired_at IS NULL)) WHERE retired_at IS NULL;

-- +goose Down
DROP TABLE enduser_signing_keys;
DROP TABLE enduser_sessions;
DROP TABLE enduser_wechat_unions;
DROP TABLE enduser_wechat_identities;
DROP TABLE enduser_users;
DROP TABLE enduser_data_center_mccs;
DROP TABLE enduser_data_centers;
DROP TABLE enduser_official_accounts;
DROP TABLE enduser_user_domains;
