-- +goose Up
-- Every login inserted rows that each checked the one user-domain row of its
-- tenant (identity, unionid, session: three foreign keys beside the user's
-- own), so concurrent logins of one tenant all took key-share locks on that
-- one row, which under load turns into multixact work. Each of these rows
-- already references its user (ON DELETE CASCADE), and the user references
-- the user domain: the user-domain references below are implied and go.
-- Dropping a constraint locks its tables briefly; behind a long transaction
-- of a running instance it would hold every login up, so it gives up (and
-- the migration fails, to be run again) rather than wait.
SET LOCAL lock_timeout = '5s';
ALTER TABLE enduser_wechat_identities DROP CONSTRAINT enduser_wechat_identities_user_domain_id_fkey;
ALTER TABLE enduser_wechat_unions DROP CONSTRAINT enduser_wechat_unions_user_domain_id_fkey;
ALTER TABLE enduser_sessions DROP CONSTRAINT enduser_sessions_user_domain_id_fkey;

-- +goose Down
ALTER TABLE enduser_sessions ADD CONSTRAINT enduser_sessions_user_domain_id_fkey
    FOREIGN KEY (user_domain_id) REFERENCES enduser_user_domains (id);
ALTER TABLE enduser_wechat_unions ADD CONSTRAINT enduser_wechat_unions_user_domain_id_fkey
    FOREIGN KEY (user_domain_id) REFERENCES enduser_user_domains (id);
ALTER TABLE enduser_wechat_identities ADD CONSTRAINT enduser_wechat_identities_user_domain_id_fkey
    FOREIGN KEY (user_domain_id) REFERENCES enduser_user_domains (id);
