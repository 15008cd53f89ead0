-- +goose Up
-- The key of the audit trail's openid hashes, stored sealed under the master
-- key instead of derived from it: a master key rotation re-seals it (one
-- more sealed column) and the hashes of records written before and after the
-- rotation stay comparable. Its first value is the key that was derived from
-- the master key, so the hashes already stored keep matching.
CREATE TABLE enduser_audit_keys (
    id          smallint    PRIMARY KEY CHECK (id = 1),
    key_enc     bytea       NOT NULL,         -- AES-256-GCM under the master key
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE enduser_audit_keys;
