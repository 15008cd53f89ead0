-- +goose Up
-- Operators' requests to lift the lockouts of a client IP (issue 10:
-- `enduser ip unblock IP`). Without Redis the lockouts live in each serving
-- instance's memory, which the CLI cannot reach: it inserts a request here
-- and every instance, in its revocation sync loop, reads the requests made
-- since its last sync and lifts its own lockouts of that IP. ip is the key
-- the limiter counts by (application.LimitKey: the address for IPv4, the /64
-- for IPv6). A request older than the lockout duration has nothing left to
-- lift: the instances purge those in bounded batches. The login never reads
-- this table.
CREATE TABLE enduser_ip_unblocks (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ip           text        NOT NULL CHECK (length(ip) BETWEEN 1 AND 64),
    requested_at timestamptz NOT NULL
);

-- The sync's keyset read ((requested_at, id) after a cursor) and the purge by age.
CREATE INDEX enduser_ip_unblocks_requested_at ON enduser_ip_unblocks (requested_at, id);

-- +goose Down
DROP TABLE enduser_ip_unblocks;
