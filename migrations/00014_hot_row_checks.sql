-- +goose Up
-- The CHECK constraints of the two tables every login and every refresh write
-- go. PostgreSQL evaluates every CHECK of a table on each INSERT and UPDATE of
-- it, whatever the columns written, and rebuilds each one's expression from
-- its stored text once per statement: on the login statement (an UPDATE or
-- INSERT of the user, an INSERT of the session) and the refresh (an UPDATE of
-- the session) that was about 8 % of the server's CPU (perf: ExecConstraints,
-- stringToNode) for bounds the application already enforces:
--   the profile's sex, lang, nationality and timezone: domain.ParseProfileUpdate,
--     the only way a profile is written (setUserInfo and the import);
--   registered_via: written from domain.AppKind, two constants;
--   refresh_counter > 0: a session starts at 1 and only ever adds one.
-- Tables written rarely (user domains, WeChat apps, MCCs, revocations, keys)
-- keep theirs.
SET LOCAL lock_timeout = '5s';
ALTER TABLE enduser_users
    DROP CONSTRAINT enduser_users_registered_via_known,
    DROP CONSTRAINT enduser_users_sex_check,
    DROP CONSTRAINT enduser_users_lang_check,
    DROP CONSTRAINT enduser_users_nationality_check,
    DROP CONSTRAINT enduser_users_timezone_check;
ALTER TABLE enduser_sessions
    DROP CONSTRAINT enduser_sessions_refresh_counter_check;

-- +goose Down
ALTER TABLE enduser_sessions
    ADD CONSTRAINT enduser_sessions_refresh_counter_check CHECK (refresh_counter > 0);
ALTER TABLE enduser_users
    ADD CONSTRAINT enduser_users_timezone_check CHECK (timezone BETWEEN 0 AND 100000),
    ADD CONSTRAINT enduser_users_nationality_check CHECK (nationality BETWEEN 0 AND 100000),
    ADD CONSTRAINT enduser_users_lang_check CHECK (lang BETWEEN 0 AND 100000),
    ADD CONSTRAINT enduser_users_sex_check CHECK (sex BETWEEN 0 AND 2),
    ADD CONSTRAINT enduser_users_registered_via_known CHECK (registered_via IN ('offiaccount', 'miniprogram'));
