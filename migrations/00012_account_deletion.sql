-- +goose Up
-- Account deletion (issue 11 item 4). deletion_due_at is when a requested
-- deletion erases the user (NULL: none pending); a login of the person during
-- the cooling-off sets it back to NULL. The partial index is what the erasure
-- job reads (only users with a pending deletion are in it).
ALTER TABLE enduser_users ADD COLUMN deletion_due_at timestamptz;
CREATE INDEX enduser_users_deletion_due_idx ON enduser_users (deletion_due_at) WHERE deletion_due_at IS NOT NULL;

-- The erasure outbox: one row per erased user, inserted in the erasure's
-- transaction, deleted once every in-process listener took it (at least once).
-- It holds what the audit trail may keep too: the uid and the user domain.
CREATE TABLE enduser_erasure_outbox (
    id               bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    uid              text        NOT NULL,
    user_domain      text        NOT NULL,
    erased_at        timestamptz NOT NULL,
    attempts         integer     NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL    -- also a claim: a dispatcher pushes it past its delivery
);
CREATE INDEX enduser_erasure_outbox_next_idx ON enduser_erasure_outbox (next_attempt_at, id);

-- +goose Down
DROP TABLE enduser_erasure_outbox;
DROP INDEX enduser_users_deletion_due_idx;
ALTER TABLE enduser_users DROP COLUMN deletion_due_at;
