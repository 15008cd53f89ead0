-- +goose Up
-- The audit trail: one row per security event (login outcomes, refresh-token
-- reuse, logouts, lockouts). The openid is kept only as a keyed hash (HMAC
-- under a key derived from the master key). Rows older than the retention
-- (ENDUSER_AUDIT_RETENTION) are purged in bounded batches by the server.
CREATE TABLE enduser_audit_events (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at              timestamptz NOT NULL,
    event           text        NOT NULL,
    code            integer     NOT NULL,
    wechat_errcode  integer,
    user_domain     text        NOT NULL DEFAULT '',
    app_id          text        NOT NULL DEFAULT '',
    uid             text        NOT NULL DEFAULT '',
    openid_hash     text        NOT NULL DEFAULT '',
    client_ip       text        NOT NULL DEFAULT '',
    user_agent      text        NOT NULL DEFAULT '',
    request_id      text        NOT NULL DEFAULT ''
);

-- `enduser audit --user-domain D [--uid U] --since ...` and the purge by age.
CREATE INDEX enduser_audit_events_domain_at ON enduser_audit_events (user_domain, at);
CREATE INDEX enduser_audit_events_at ON enduser_audit_events (at);

-- +goose Down
DROP TABLE enduser_audit_events;
