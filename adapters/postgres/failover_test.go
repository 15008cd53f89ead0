package postgres

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/iotplatform/enduser-auth/adapters/postgres/pgtest"
)

// readOnlyDSN is dsn on which every session is read-only, as on a standby or
// a server in default_transaction_read_only (a startup parameter).
func readOnlyDSN(dsn string) string {
	switch {
	case !strings.Contains(dsn, "://"):
		return dsn + " default_transaction_read_only=on" // keyword/value
	case strings.Contains(dsn, "?"):
		return dsn + "&default_transaction_read_only=on"
	}
	return dsn + "?default_transaction_read_only=on"
}

// TestPingRefusesAReadOnlyDatabase: readiness needs a database that accepts
// writes, not one that merely answers.
func TestPingRefusesAReadOnlyDatabase(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn := pgtest.NewDatabase(t)
	if err := newTestEnvOn(t, dsn).store.Ping(ctx); err != nil {
		t.Fatalf("Ping on a writable database: %v", err)
	}
	if err := newTestEnvOn(t, readOnlyDSN(dsn)).store.Ping(ctx); !errors.Is(err, errReadOnly) {
		t.Fatalf("Ping on a read-only database: %v, want errReadOnly", err)
	}
}

// TestReadOnlyErrorDropsTheConnection: a connection on which a write met a
// read-only server (25006) is not used again, while one on which a statement
// failed otherwise is.
func TestReadOnlyErrorDropsTheConnection(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newTestEnvOn(t, readOnlyDSN(pgtest.NewDatabase(t)))
	backend := func() int {
		t.Helper()
		var pid int
		if err := e.sql.QueryRowContext(ctx, "SELECT pg_backend_pid()").Scan(&pid); err != nil {
			t.Fatal(err)
		}
		return pid
	}
	first := backend()
	if _, err := e.sql.ExecContext(ctx, "SELECT * FROM no_such_table"); !hasCode(err, "42P01") {
		t.Fatalf("want 42P01, got %v", err)
	}
	if got := backend(); got != first {
		t.Fatalf("an ordinary error dropped the connection (backend %d, then %d)", first, got)
	}
	if _, err := e.sql.ExecContext(ctx, "CREATE TABLE written (i int)"); !hasCode(err, readOnlySQLTransaction) {
		t.Fatalf("want 25006, got %v", err)
	}
	if got := backend(); got == first {
		t.Fatalf("the connection that met a read-only server is used again (backend %d)", got)
	}
}

func TestPrepareForFailoverKeepsAConnectTimeoutOfTheDSN(t *testing.T) {
	t.Parallel()
	for dsn, want := range map[string]string{
		"postgres://u@h1,h2/db?target_session_attrs=read-write":                   defaultConnectTimeout.String(),
		"postgres://u@h1,h2/db?target_session_attrs=read-write&connect_timeout=2": "2s",
	} {
		cfg, err := pgx.ParseConfig(dsn)
		if err != nil {
			t.Fatal(err)
		}
		prepareForFailover(cfg)
		if got := cfg.ConnectTimeout.String(); got != want {
			t.Errorf("%s: connect timeout %s, want %s", dsn, got, want)
		}
	}
}
