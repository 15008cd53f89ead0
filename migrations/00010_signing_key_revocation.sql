-- +goose Up
-- `enduser keys revoke KID`: a revoked signing key is neither listed in the
-- JWKS nor accepted, whatever its retirement; it also counts as retired
-- (retired_at is set when it was active), so the one-active index lets its
-- replacement in. The row stays, for the record.
ALTER TABLE enduser_signing_keys ADD COLUMN revoked_at timestamptz;

-- +goose Down
ALTER TABLE enduser_signing_keys DROP COLUMN revoked_at;
