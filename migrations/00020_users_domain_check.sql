-- +goose Up
-- The last reference from a login's rows to the tenant's one user-domain row:
-- every registration checked it (FOREIGN KEY users -> user domains), so
-- concurrent registrations of one tenant all took a key-share lock on that one
-- row. A row lock is written into the row: each registration dirtied the
-- tenant's page under its exclusive buffer lock and wrote WAL for it, one at a
-- time, and concurrent ones turned it into multixact work (00005 removed the
-- other three references for the same reason, saying the user's own
-- reference implied them). User domains are never deleted (disabled, not
-- removed: no code path deletes one), and every user is written with the id
-- of a user domain just read (the login's tenant lookup, the import's), so
-- the reference guarded nothing the module does; what it guarded against, a
-- user domain deleted by hand under its users (who would then be left without
-- a tenant, and out of EraseUser's reach), a trigger now refuses, at no cost
-- to a login: deleting a user domain fails, whether it has users or not.
-- Measured with the login of migration 00019, registrations at 16 clients
-- under PROD=1's settings, six rounds interleaved on two databases: 1.045 of
-- the throughput with the reference (median of the rounds' ratios).
SET LOCAL lock_timeout = '5s';
ALTER TABLE enduser_users DROP CONSTRAINT enduser_users_user_domain_id_fkey;

-- +goose StatementBegin
CREATE FUNCTION enduser_user_domains_never_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'user domain % is not deleted: disable it instead (its users keep their tenant)', OLD.name
        USING ERRCODE = 'restrict_violation';
END
$$;
-- +goose StatementEnd
CREATE TRIGGER enduser_user_domains_never_deleted BEFORE DELETE ON enduser_user_domains
    FOR EACH ROW EXECUTE FUNCTION enduser_user_domains_never_deleted();

-- +goose Down
DROP TRIGGER enduser_user_domains_never_deleted ON enduser_user_domains;
DROP FUNCTION enduser_user_domains_never_deleted();
ALTER TABLE enduser_users ADD CONSTRAINT enduser_users_user_domain_id_fkey
    FOREIGN KEY (user_domain_id) REFERENCES enduser_user_domains (id);
