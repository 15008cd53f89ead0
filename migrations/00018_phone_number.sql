-- +goose Up
-- The phone number from the mini program (issue 21 item 3, spec §7.3): on the
-- user row, sealed under the master key (AES-256-GCM, the row's uid as AAD;
-- the country code and the number together), with a keyed hash (HMAC-SHA-256
-- under the key of enduser_phone_hash_keys) for equality. One number is one
-- user per user domain: the partial unique index decides between concurrent
-- binds (one wins, the other answers 5002). Erasing the user deletes the row,
-- and so frees the number.
ALTER TABLE enduser_users
    ADD COLUMN phone_enc  bytea,
    ADD COLUMN phone_hash bytea,
    ADD CONSTRAINT enduser_users_phone_both CHECK ((phone_enc IS NULL) = (phone_hash IS NULL));

CREATE UNIQUE INDEX enduser_users_phone_hash_idx ON enduser_users (user_domain_id, phone_hash)
    WHERE phone_hash IS NOT NULL;

-- The key of the phone hashes, stored sealed under the master key (first
-- derived from it), so that a master key rotation re-seals it rather than
-- changing it: hashes written before and after stay comparable.
CREATE TABLE enduser_phone_hash_keys (
    id          smallint    PRIMARY KEY CHECK (id = 1),
    key_enc     bytea       NOT NULL,         -- AES-256-GCM under the master key
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- WeChat's forced access_token refreshes (stable_token force_refresh), at
-- most one per appId per 10 minutes across every instance: an instance
-- claims one with an atomic upsert conditioned on the last one's time.
CREATE TABLE enduser_wechat_forced_refreshes (
    app_id     text        PRIMARY KEY,
    forced_at  timestamptz NOT NULL
);

-- +goose Down
DROP TABLE enduser_wechat_forced_refreshes;
DROP TABLE enduser_phone_hash_keys;
DROP INDEX enduser_users_phone_hash_idx;
ALTER TABLE enduser_users
    DROP CONSTRAINT enduser_users_phone_both,
    DROP COLUMN phone_hash,
    DROP COLUMN phone_enc;
