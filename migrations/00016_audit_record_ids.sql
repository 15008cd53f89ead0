-- +goose NO TRANSACTION
-- An audit record's id, drawn (random, UUID v4) when the record is handed to
-- the writer, so that a batch retried after a failed COMMIT that was in fact
-- done (the connection cut between the COMMIT and its answer) inserts
-- nothing twice: the writer's INSERT ... ON CONFLICT (record_id) WHERE
-- record_id IS NOT NULL DO NOTHING skips the records already there.
--
-- The column has no default, so adding it does not rewrite the table (a short
-- ACCESS EXCLUSIVE lock, bounded by lock_timeout: set in the statement's own
-- transaction, as this file runs without one). Rows written before it keep
-- NULL. The unique index is partial (record_id IS NOT NULL): the old rows,
-- possibly the whole retention's worth, stay out of it, so it costs only the
-- rows that have an id; and it is built CONCURRENTLY (hence no transaction):
-- a plain CREATE INDEX would block the audit writer's inserts for as long as
-- it reads the whole table. IF NOT EXISTS makes a rerun after a failure
-- harmless (an interrupted concurrent build leaves an INVALID index: drop it
-- and rerun).

-- +goose Up
-- +goose StatementBegin
BEGIN;
SET LOCAL lock_timeout = '5s';
ALTER TABLE enduser_audit_events ADD COLUMN IF NOT EXISTS record_id uuid;
COMMIT;
-- +goose StatementEnd

CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS enduser_audit_events_record_id
    ON enduser_audit_events (record_id) WHERE record_id IS NOT NULL;

-- +goose Down
DROP INDEX CONCURRENTLY IF EXISTS enduser_audit_events_record_id;
ALTER TABLE enduser_audit_events DROP COLUMN IF EXISTS record_id;
