-- +goose Up
-- An audit record's detail: a small JSON object for events that carry more
-- than the columns say (an import's counts). Empty for every other event.
-- A column with a constant default is added without rewriting the table.
SET LOCAL lock_timeout = '5s';
ALTER TABLE enduser_audit_events ADD COLUMN detail text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE enduser_audit_events DROP COLUMN detail;
