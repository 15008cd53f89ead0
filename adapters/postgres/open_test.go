package postgres

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestOpenCreatesAMissingDatabase(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newTestEnv(t)
	u, err := url.Parse(e.dsn)
	if err != nil {
		t.Fatal(err)
	}
	name := "enduser_open_test_" + randomHex(6)
	u.Path = "/" + name
	t.Cleanup(func() {
		if _, err := e.sql.Exec(`DROP DATABASE IF EXISTS "` + name + `" WITH (FORCE)`); err != nil {
			t.Errorf("drop %s: %v", name, err)
		}
	})

	for i := range 2 { // the second Open finds the database
		db, err := Open(ctx, u.String())
		if err != nil {
			t.Fatalf("Open %d: %v", i, err)
		}
		var current string
		if err := db.WithContext(ctx).Raw("SELECT current_database()").Scan(&current).Error; err != nil || current != name {
			t.Fatalf("Open %d connected to %q, %v; want %s", i, current, err, name)
		}
		sqlDB, _ := db.DB()
		if got := sqlDB.Stats().MaxOpenConnections; got != maxOpenConns {
			t.Errorf("MaxOpenConnections = %d, want %d", got, maxOpenConns)
		}
		_ = sqlDB.Close()
	}
}

func TestOpenErrorsAreOneLineWithoutPassword(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// Nothing listens on port 1.
	_, err := Open(ctx, "postgres://alice:s3cret-pw@127.0.0.1:1/app?sslmode=disable&connect_timeout=5")
	if err == nil {
		t.Fatal("Open of an unreachable server succeeded")
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "connect to postgres://alice@127.0.0.1:1/app: ") || strings.Contains(msg, "s3cret-pw") || strings.Contains(msg, "\n") {
		t.Errorf("error = %q; want one line starting with the server and no password", msg)
	}

	_, err = Open(ctx, "postgres://alice:s3cret-pw@127.0.0.1:notaport/app")
	if err == nil || strings.Contains(err.Error(), "s3cret-pw") {
		t.Errorf("Open of a malformed DSN = %v; want an error without the password", err)
	}
}

func TestPing(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	if err := e.store.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
}
