// Package pgtest gives tests a fresh, fully migrated, empty PostgreSQL
// database each, fast.
//
// The first call in a test process migrates a template database, named after
// a hash of the migration files, once (an advisory lock serialises the test
// processes that go test runs in parallel). Every test then gets its own copy
// with CREATE DATABASE ... TEMPLATE, which takes milliseconds, and drops it
// when it ends. The server is ENDUSER_TEST_DATABASE_URL, by default the local
// one. A test that cannot reach it fails: it is never skipped.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	gormpg "gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// EnvDatabaseURL names the environment variable holding the admin DSN: a
// role that may create databases, connected to any existing database.
const EnvDatabaseURL = "ENDUSER_TEST_DATABASE_URL"

// DefaultDatabaseURL is the admin DSN used when EnvDatabaseURL is unset.
const DefaultDatabaseURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// NewDatabase returns the DSN of a fresh, migrated, empty database that only
// this test uses. The database is dropped when the test ends.
func NewDatabase(t testing.TB) string {
	t.Helper()
	return newDatabase(t, "")
}

// NewSerializableDatabase is NewDatabase with the database's
// default_transaction_isolation set to serializable (ALTER DATABASE ... SET),
// as CockroachDB and YugabyteDB run by default: every connection to it runs
// every transaction serializable.
func NewSerializableDatabase(t testing.TB) string {
	t.Helper()
	return newDatabase(t, "serializable")
}

// OpenSerializable is Open on a NewSerializableDatabase.
func OpenSerializable(t testing.TB) *gorm.DB {
	t.Helper()
	return openDSN(t, NewSerializableDatabase(t))
}

func newDatabase(t testing.TB, isolation string) string {
	t.Helper()
	h, err := setup()
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	name := "enduser_test_" + randomHex(8)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := h.createFromTemplate(ctx, name); err != nil {
		t.Fatalf("pgtest: create test database %s: %v", name, err)
	}
	if isolation != "" {
		if _, err := h.admin.ExecContext(ctx, "ALTER DATABASE "+quote(name)+" SET default_transaction_isolation = '"+isolation+"'"); err != nil {
			t.Fatalf("pgtest: set isolation of %s: %v", name, err)
		}
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := h.admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+quote(name)+" WITH (FORCE)"); err != nil {
			t.Errorf("pgtest: drop test database %s: %v", name, err)
		}
	})
	dsn, err := withDatabase(h.adminURL, name)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return dsn
}

// NewDatabaseURL is NewDatabase for code that has no testing.TB (a testable
// Example): it returns the DSN of a fresh, migrated, empty database and the
// function that drops it.
func NewDatabaseURL(ctx context.Context) (string, func() error, error) {
	h, err := setup()
	if err != nil {
		return "", nil, fmt.Errorf("pgtest: %w", err)
	}
	name := "enduser_test_" + randomHex(8)
	if err := h.createFromTemplate(ctx, name); err != nil {
		return "", nil, fmt.Errorf("pgtest: create test database %s: %w", name, err)
	}
	drop := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, err := h.admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+quote(name)+" WITH (FORCE)")
		return err
	}
	dsn, err := withDatabase(h.adminURL, name)
	if err != nil {
		_ = drop()
		return "", nil, fmt.Errorf("pgtest: %w", err)
	}
	return dsn, drop, nil
}

// Open returns a GORM handle on a fresh database (see NewDatabase), configured
// like production (silent logger, no default transaction) with a small pool
// so that parallel tests stay within the server's connection limit. It is
// closed when the test ends, before the database is dropped.
func Open(t testing.TB) *gorm.DB {
	t.Helper()
	return openDSN(t, NewDatabase(t))
}

func openDSN(t testing.TB, dsn string) *gorm.DB {
	t.Helper()
	db, err := gorm.Open(gormpg.Open(dsn), &gorm.Config{Logger: logger.Discard, SkipDefaultTransaction: true})
	if err != nil {
		t.Fatalf("pgtest: open test database: %v", err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	sqlDB.SetMaxOpenConns(8)
	sqlDB.SetMaxIdleConns(8)
	t.Cleanup(func() { _ = sqlDB.Close() })
	return db
}

// withDatabase returns dsn with its database replaced by name. Both URL and
// keyword/value DSNs are accepted.
func withDatabase(dsn, name string) (string, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return "", fmt.Errorf("parse %s: %w", EnvDatabaseURL, err)
		}
		u.Path = "/" + name
		u.RawPath = ""
		return u.String(), nil
	}
	// In a keyword/value DSN the last occurrence of a keyword wins.
	return dsn + " dbname=" + name, nil
}

func quote(ident string) string { return pgx.Identifier{ident}.Sanitize() }

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
