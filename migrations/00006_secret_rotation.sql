-- +goose Up
-- A user domain's secret rotation (`enduser userdomain rotate-secret`): the
-- secret the last rotation replaced, encrypted like secret_enc (AES-256-GCM
-- under the master key, the same AAD: "user_domain:" || name), and the instant
-- it stops being accepted. Both are NULL when there is none; only the
-- immediately previous secret is kept.
ALTER TABLE enduser_user_domains
    ADD COLUMN previous_secret_enc bytea,
    ADD COLUMN previous_secret_expires_at timestamptz,
    ADD CONSTRAINT enduser_user_domains_previous_secret_whole
        CHECK ((previous_secret_enc IS NULL) = (previous_secret_expires_at IS NULL));

-- +goose Down
ALTER TABLE enduser_user_domains
    DROP CONSTRAINT enduser_user_domains_previous_secret_whole,
    DROP COLUMN previous_secret_expires_at,
    DROP COLUMN previous_secret_enc;
