-- +goose Up
-- Revocations by scope: "every session of this user (or of this user domain)
-- that started at or before revoked_before has ended". One row per scope,
-- never one per session; the rows outlive the sessions they cover (an erasure
-- revokes before it deletes) and are purged once no session they cover can be
-- alive (revoked_before older than the absolute session lifetime). A user row
-- with disabled set also marks the user disabled (kept until enabled).
-- updated_at is what instances sync their revocation cache by.
CREATE TABLE enduser_revocations (
    kind            text        NOT NULL CHECK (kind IN ('user', 'user_domain')),
    subject         text        NOT NULL,        -- the uid, or the user domain's name
    revoked_before  timestamptz NOT NULL,
    disabled        boolean     NOT NULL DEFAULT false CHECK (kind = 'user' OR NOT disabled),
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    PRIMARY KEY (kind, subject)
);
CREATE INDEX enduser_revocations_updated_at_idx ON enduser_revocations (updated_at);

-- +goose Down
DROP TABLE enduser_revocations;
