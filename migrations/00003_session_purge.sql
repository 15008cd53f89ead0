-- +goose NO TRANSACTION
-- The session purge (application.Service.PurgeSessions): an index on the
-- absolute expiry, which no refresh changes (so refreshes stay HOT updates),
-- and one lease row that lets one instance at a time purge, with the sliding-
-- expiry sweep's position. Sessions revoked long ago are found through the
-- partial index on revoked_at of 00001.
--
-- No transaction, so that the index is built CONCURRENTLY: a plain CREATE INDEX
-- would block logins for as long as it reads the whole table. IF NOT EXISTS
-- makes a rerun after a failure harmless (an interrupted concurrent build
-- leaves an INVALID index: drop it and rerun).

-- +goose Up
CREATE INDEX CONCURRENTLY IF NOT EXISTS enduser_sessions_expires_at_idx ON enduser_sessions (expires_at, id);

CREATE TABLE IF NOT EXISTS enduser_session_purge (
    name              text        PRIMARY KEY,                             -- 'sessions'
    holder            text        NOT NULL DEFAULT '',                     -- the purging instance
    lease_expires_at  timestamptz NOT NULL DEFAULT '0001-01-01 00:00:00+00',
    sweep_expires_at  timestamptz NOT NULL DEFAULT '0001-01-01 00:00:00+00', -- the sweep's position in
    sweep_id          uuid        NOT NULL DEFAULT '00000000-0000-0000-0000-000000000000' -- (expires_at, id) order
);
INSERT INTO enduser_session_purge (name) VALUES ('sessions') ON CONFLICT (name) DO NOTHING;

-- +goose Down
DROP TABLE IF EXISTS enduser_session_purge;
DROP INDEX CONCURRENTLY IF EXISTS enduser_sessions_expires_at_idx;
