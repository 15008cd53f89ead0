-- +goose Up
-- Refresh master keys, shared by every instance. A version-2 refresh token's
-- HMAC key is HKDF-SHA-256(secret of the key it names, session id), so a
-- refresh checks the token in memory and spends it with one UPDATE. The
-- token carries the key's id: a key added later (a rotation) signs new
-- sessions while the older ones keep verifying the sessions they started.
-- Sessions of version 2 store no key of their own: their refresh_key_enc
-- holds the sealed empty value (so the column stays NOT NULL); version-1
-- sessions keep theirs until they expire.
CREATE TABLE enduser_refresh_keys (
    id          integer     PRIMARY KEY CHECK (id > 0),
    secret_enc  bytea       NOT NULL,            -- AES-256-GCM under the master key
    created_at  timestamptz NOT NULL
);

-- +goose Down
DROP TABLE enduser_refresh_keys;
