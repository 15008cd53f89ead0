package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// What the pool does when the primary fails over (docs/operations-failover.md,
// tests/failover). With a DSN that names every host and
// target_session_attrs=read-write, pgx tries the hosts in order and keeps the
// first that accepts writes, so a new connection never lands on a standby.
// The connections to a primary that dies close with it (its backends exit):
// the statement in flight, or the next one, fails, pgx marks the connection
// closed and pgxpool destroys it on release; an idle one is pinged before it
// is handed out once it has been idle for a second. The statement
// that meets a dead connection fails: the request answers 5000, the next one
// gets a new connection. What is added here:
const (
	// defaultConnectTimeout bounds each host's connection attempt when the
	// DSN sets no connect_timeout of its own: a host that is down without
	// refusing (a dead machine, a partition) costs a request this long before
	// pgx tries the next host or the request answers 5000, not the minutes of
	// the kernel's SYN retries.
	defaultConnectTimeout = 5 * time.Second
	// readOnlySQLTransaction is SQLSTATE 25006: a write on a server that does
	// not accept writes (a standby, or default_transaction_read_only, which
	// managed services turn on, for example when the disk is full). The
	// connection is closed (the pool then destroys it) instead of being
	// reused: a DSN without target_session_attrs (one DNS name that moved to
	// the new primary) reaches the new primary with its next connection
	// rather than after the pool's connection lifetime.
	readOnlySQLTransaction = "25006"
)

// prepareForFailover sets cfg's connect timeout (unless the DSN set one) and
// closes a connection on which a write met a read-only server.
func prepareForFailover(cfg *pgx.ConnConfig) {
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = defaultConnectTimeout
	}
	next := cfg.OnPgError // pgx's default closes on FATAL errors
	cfg.OnPgError = func(c *pgconn.PgConn, pgErr *pgconn.PgError) bool {
		if pgErr.Code == readOnlySQLTransaction {
			return false // close it
		}
		return next == nil || next(c, pgErr)
	}
}

// errReadOnly is Ping's answer from a server that does not accept writes.
var errReadOnly = errors.New("the database does not accept writes (transaction_read_only is on: a standby, or default_transaction_read_only)")

// Ping checks that the database answers and accepts writes, for readiness
// probes: a standby answers a ping but cannot serve a login, so it is not
// ready (with target_session_attrs=read-write no connection reaches one; a
// DSN without it, or a proxy, can).
func (s *Store) Ping(ctx context.Context) error {
	var readOnly string
	if err := s.db.WithContext(ctx).Raw("SELECT current_setting('transaction_read_only')").Scan(&readOnly).Error; err != nil {
		return fmt.Errorf("ping database: %w", err)
	}
	if readOnly != "off" {
		return fmt.Errorf("ping database: %w", errReadOnly)
	}
	return nil
}
