// Package migrations owns this module's schema: SQL files embedded in the
// binary, applied by a goose Provider under the module's own version table and
// Postgres session lock, so they coexist with other modules' migrations in one
// database.
package migrations

import (
	"context"
	"database/sql"
	"embed"
	"fmt"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

// FS holds the module's SQL migrations.
//
//go:embed *.sql
var FS embed.FS

// VersionTable is the module's own goose version table.
const VersionTable = "enduser_auth_goose_db_version"

// LockID is the Postgres advisory lock the module's migrations hold; it
// differs from goose's default so other modules' migrations do not wait on it.
const LockID int64 = 0x656e6475736572 // "enduser"

// NewProvider returns a goose provider for the module's migrations on db.
func NewProvider(db *sql.DB) (*goose.Provider, error) {
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(LockID))
	if err != nil {
		return nil, fmt.Errorf("migrations: session locker: %w", err)
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, FS,
		goose.WithTableName(VersionTable),
		goose.WithSessionLocker(locker),
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
