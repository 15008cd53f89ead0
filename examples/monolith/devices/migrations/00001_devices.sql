-- +goose Up
-- The host's own module: the devices its users own. owner_uid is
-- enduser-auth's uid (the module's tables are its own; no foreign key crosses
-- modules: the erasure listener keeps this table clean).
CREATE TABLE monolith_devices (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    owner_uid   text        NOT NULL,
    user_domain text        NOT NULL,
    name        text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX monolith_devices_owner ON monolith_devices (owner_uid);

-- +goose Down
DROP TABLE monolith_devices;
