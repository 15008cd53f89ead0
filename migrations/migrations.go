// Package migrations owns this module's schema: SQL files embedded in the
// binary, applied by a goose Provider under the module's own version table and
// the module's own lock table, so they coexist with other modules' migrations
// in one database.
package migrations

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"time"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

// FS holds the module's SQL migrations.
//
//go:embed *.sql
var FS embed.FS

// VersionTable is the module's own goose version table.
const VersionTable = "enduser_auth_goose_db_version"

// LockTable is the module's own goose lock table: migrations take goose's
// table-based lock (a row with a lease that a heartbeat renews), which works
// where session advisory locks do not (CockroachDB, YugabyteDB, poolers in
// transaction mode). Its own name keeps other modules' migrations, under
// goose's default goose_lock, from waiting on this module's and vice versa.
const LockTable = "enduser_auth_goose_lock"

// LockID is the id of the lock row in LockTable ("enduser").
const LockID int64 = 0x656e6475736572

// Lock timing: a lease of 30 s renewed every 5 s (goose's defaults: a crashed
// migrator's lock frees itself within 30 s), and a waiting instance retries
// every second for up to 5 minutes (goose's default retries every 5 s, which
// would make every instance but the first start 5 s late).
const (
	lockLease     = 30 * time.Second
	lockHeartbeat = 5 * time.Second
	lockRetry     = time.Second
	lockAttempts  = 300
)

// NewProvider returns a goose provider for the module's migrations on db.
func NewProvider(db *sql.DB) (*goose.Provider, error) {
	locker, err := lock.NewPostgresTableLocker(
		lock.WithTableName(LockTable),
		lock.WithTableLockID(LockID),
		lock.WithTableLeaseDuration(lockLease),
		lock.WithTableHeartbeatInterval(lockHeartbeat),
		lock.WithTableLockTimeout(lockRetry, lockAttempts),
	)
	if err != nil {
		return nil, fmt.Errorf("migrations: table locker: %w", err)
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, FS,
		goose.WithTableName(VersionTable),
		goose.WithLocker(locker),
		goose.WithDisableGlobalRegistry(true),
	)
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	return p, nil
}

// Up applies every pending migration.
func Up(ctx context.Context, db *sql.DB) error {
	p, err := NewProvider(db)
	if err != nil {
		return err
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrations: up: %w", err)
	}
	return nil
}
