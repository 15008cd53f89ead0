-- +goose Up
-- The end user's profile (setUserInfo, spec §3): optional columns on the user
-- row, NULL when unset. Lengths are checked by the application in runes; the
-- CHECKs here only bound what a bug could store. And the push device a
-- logout named (spec §2), kept with the ended session (revoked in the same
-- UPDATE); it goes with the session row when the purge deletes it.
ALTER TABLE enduser_users
    ADD COLUMN nike_name   text,
    ADD COLUMN head_image  text,
    ADD COLUMN sex         smallint CHECK (sex BETWEEN 0 AND 2),
    ADD COLUMN address     text,
    ADD COLUMN province    text,
    ADD COLUMN city        text,
    ADD COLUMN signature   text,
    ADD COLUMN remark      text,
    ADD COLUMN lang        integer CHECK (lang BETWEEN 0 AND 100000),
    ADD COLUMN nationality integer CHECK (nationality BETWEEN 0 AND 100000),
    ADD COLUMN timezone    integer CHECK (timezone BETWEEN 0 AND 100000);

ALTER TABLE enduser_sessions
    ADD COLUMN logout_device_id text;

-- Whether a logout named a push device (NULL for other events); the device
-- id itself is not audited.
ALTER TABLE enduser_audit_events
    ADD COLUMN device_given boolean;

-- +goose Down
ALTER TABLE enduser_audit_events
    DROP COLUMN device_given;

ALTER TABLE enduser_sessions
    DROP COLUMN logout_device_id;

ALTER TABLE enduser_users
    DROP COLUMN timezone,
    DROP COLUMN nationality,
    DROP COLUMN lang,
    DROP COLUMN remark,
    DROP COLUMN signature,
    DROP COLUMN city,
    DROP COLUMN province,
    DROP COLUMN address,
    DROP COLUMN sex,
    DROP COLUMN head_image,
    DROP COLUMN nike_name;
