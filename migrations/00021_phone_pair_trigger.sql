-- +goose Up
-- The rule that a user's sealed phone and its hash are written together
-- (both or neither, 00018's CHECK enduser_users_phone_both) moves from a
-- CHECK to a trigger on the two columns, for 00014's reason: PostgreSQL
-- evaluates every CHECK of a table on each INSERT and UPDATE of it, whatever
-- the columns written, and rebuilds its expression from the stored text once
-- per statement, so every login paid for it (the registration's INSERT and
-- the returning login's UPDATE of last_login_at): about 5 µs of PostgreSQL's
-- CPU a login under PROD=1's load at 16 clients (perf: ExecConstraints,
-- stringToNode), for a rule only the phone's own writes can break.
-- An AFTER trigger on UPDATE OF the two columns is queued only for an UPDATE
-- that sets one of them (BindPhone, UnbindPhone, the master key's re-seal),
-- and its WHEN keeps the function out of every valid write; it raises what
-- the CHECK raised (check_violation, the constraint's name), in the same
-- statement. AFTER, not BEFORE: PostgreSQL fetches and locks the old row for
-- a table's BEFORE ROW UPDATE triggers before it looks at their columns or
-- WHEN, so a BEFORE trigger would add a row lock (and its WAL record) to every
-- UPDATE of a user, the returning login's included. No INSERT writes either
-- column (a user is registered, or imported, without a phone): a new row has
-- neither, which the rule allows.
SET LOCAL lock_timeout = '5s';
ALTER TABLE enduser_users DROP CONSTRAINT enduser_users_phone_both;

-- +goose StatementBegin
CREATE FUNCTION enduser_users_phone_both() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'user %: phone_enc and phone_hash are written together (both or neither)', NEW.id
        USING ERRCODE = 'check_violation', CONSTRAINT = 'enduser_users_phone_both', TABLE = 'enduser_users';
END
$$;
-- +goose StatementEnd
CREATE TRIGGER enduser_users_phone_both AFTER UPDATE OF phone_enc, phone_hash ON enduser_users
    FOR EACH ROW WHEN ((NEW.phone_enc IS NULL) <> (NEW.phone_hash IS NULL))
    EXECUTE FUNCTION enduser_users_phone_both();

-- +goose Down
SET LOCAL lock_timeout = '5s';
DROP TRIGGER enduser_users_phone_both ON enduser_users;
DROP FUNCTION enduser_users_phone_both();
ALTER TABLE enduser_users
    ADD CONSTRAINT enduser_users_phone_both CHECK ((phone_enc IS NULL) = (phone_hash IS NULL));
