-- +goose Up
-- More WeChat doors (issue 21): a WeChat app of a user domain may also be an
-- Open Platform mobile application ('mobileapp': the native app's login) or
-- website application ('website': the website QR-code login). Their openids
-- are bindings like the other kinds' (enduser_wechat_identities, by appId);
-- the app's kind says which userInfo field shows them.
ALTER TABLE enduser_official_accounts
    DROP CONSTRAINT enduser_official_accounts_kind_known,
    ADD CONSTRAINT enduser_official_accounts_kind_known
        CHECK (kind IN ('offiaccount', 'miniprogram', 'mobileapp', 'website')),
    -- A website app's registered redirect URIs (exact match); empty for the
    -- other kinds (a JSON array of strings).
    ADD COLUMN redirect_uris jsonb NOT NULL DEFAULT '[]';

-- enduser_users.registered_via has no CHECK since 00014 (written from
-- domain.AppKind only): its new values need no change.

-- The website login's spent states: a state is single use, claimed by its
-- digest (SHA-256 of the state) when a login presents it; a row lives until
-- the state expires, then the purge loop deletes it. Issuing a state writes
-- nothing (the state is stateless: an HMAC).
CREATE TABLE enduser_website_states_spent (
    digest bytea PRIMARY KEY,
    expires_at timestamptz NOT NULL
);
CREATE INDEX enduser_website_states_spent_expires_at_idx ON enduser_website_states_spent (expires_at);

-- +goose Down
DROP TABLE enduser_website_states_spent;
-- 00014's Down puts back a CHECK that knows two kinds.
UPDATE enduser_users SET registered_via = 'offiaccount' WHERE registered_via IN ('mobileapp', 'website');
DELETE FROM enduser_official_accounts WHERE kind IN ('mobileapp', 'website');
ALTER TABLE enduser_official_accounts
    DROP COLUMN redirect_uris,
    DROP CONSTRAINT enduser_official_accounts_kind_known,
    ADD CONSTRAINT enduser_official_accounts_kind_known CHECK (kind IN ('offiaccount', 'miniprogram'));
