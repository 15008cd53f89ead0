-- +goose Up
-- WeChat mini programs (issue 11 item 1). Official accounts and mini programs
-- are both "WeChat apps" of a user domain; the table keeps its name (running
-- instances of the previous version read it) and gains the app's kind. An
-- appId is one kind only: WeChat issues it to one official account or one
-- mini program. The store refuses an appId of the other kind (in any user
-- domain) under an advisory lock on the appId; the index serves that check.
ALTER TABLE enduser_official_accounts
    ADD COLUMN kind text NOT NULL DEFAULT 'offiaccount',
    ADD CONSTRAINT enduser_official_accounts_kind_known CHECK (kind IN ('offiaccount', 'miniprogram'));
CREATE INDEX enduser_official_accounts_app_id_idx ON enduser_official_accounts (app_id);

-- How a user registered (userInfo's logonMode): the kind of the WeChat app of
-- the first login. Every user before this migration registered through an
-- official account. A constant default adds the column without a rewrite.
ALTER TABLE enduser_users
    ADD COLUMN registered_via text NOT NULL DEFAULT 'offiaccount',
    ADD CONSTRAINT enduser_users_registered_via_known CHECK (registered_via IN ('offiaccount', 'miniprogram'));

-- The kind of WeChat app a login audit record is about ('' for the events
-- that are about no app, and for the records written before this migration,
-- which were all official-account logins).
ALTER TABLE enduser_audit_events ADD COLUMN app_kind text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE enduser_audit_events DROP COLUMN app_kind;
ALTER TABLE enduser_users
    DROP CONSTRAINT enduser_users_registered_via_known,
    DROP COLUMN registered_via;
DROP INDEX enduser_official_accounts_app_id_idx;
ALTER TABLE enduser_official_accounts
    DROP CONSTRAINT enduser_official_accounts_kind_known,
    DROP COLUMN kind;
