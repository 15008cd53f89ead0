package migrations_test

import (
	"context"
	"database/sql"
	"testing"
	"testing/fstest"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/iotplatform/enduser-auth/adapters/postgres/pgtest"
	"github.com/iotplatform/enduser-auth/migrations"
)

func tableExists(t *testing.T, db *sql.DB, name string) bool {
	t.Helper()
	var ok bool
	if err := db.QueryRow(`SELECT to_regclass($1) IS NOT NULL`, name).Scan(&ok); err != nil {
		t.Fatal(err)
	}
	return ok
}

// TestCoexistsWithAnotherModule: the module's migrations live under their own
// version table, so another module's goose migrations in the same database
// neither see nor disturb them, and down/up only touch this module's tables.
func TestCoexistsWithAnotherModule(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := sql.Open("pgx", pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	// Another module, with goose's default version table.
	other, err := goose.NewProvider(goose.DialectPostgres, db, fstest.MapFS{
		"00001_devices.sql": {Data: []byte("-- +goose Up\nCREATE TABLE devices (id int);\n-- +goose Down\nDROP TABLE devices;\n")},
	}, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Up(ctx); err != nil {
		t.Fatal(err)
	}

	p, err := migrations.NewProvider(db)
	if err != nil {
		t.Fatal(err)
	}
	if pending, err := p.HasPending(ctx); err != nil || pending {
		t.Fatalf("the template is migrated: pending=%v err=%v", pending, err)
	}
	if !tableExists(t, db, migrations.VersionTable) || !tableExists(t, db, "goose_db_version") {
		t.Fatal("each module must have its own version table")
	}
	if _, err := p.DownTo(ctx, 0); err != nil {
		t.Fatal(err)
	}
	if tableExists(t, db, "enduser_users") {
		t.Fatal("down must drop the module's tables")
	}
	if !tableExists(t, db, "devices") {
		t.Fatal("down must not touch another module's tables")
	}
	if err := migrations.Up(ctx, db); err != nil {
		t.Fatal(err)
	}
	if !tableExists(t, db, "enduser_sessions") {
		t.Fatal("up must recreate the module's tables")
	}
	if v, err := other.GetDBVersion(ctx); err != nil || v != 1 {
		t.Fatalf("the other module's version moved: %d %v", v, err)
	}
}

// TestConcurrentUp: several instances starting at once serialize on the
// module's table lock.
func TestConcurrentUp(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := sql.Open("pgx", pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	p, _ := migrations.NewProvider(db)
	if _, err := p.DownTo(ctx, 0); err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 4)
	for i := 0; i < 4; i++ {
		go func() { errs <- migrations.Up(ctx, db) }()
	}
	for i := 0; i < 4; i++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if !tableExists(t, db, "enduser_signing_keys") {
		t.Fatal("not migrated")
	}
}

// TestTableLock: migrations take goose's table-based lock in the module's own
// lock table (no session advisory lock, which distributed SQL engines and
// transaction poolers lack): while another instance holds that row, Up cannot
// run; once it is released, Up runs. Another module's goose lock (the default
// goose_lock table) held at the same time stops neither module.
func TestTableLock(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := sql.Open("pgx", pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if !tableExists(t, db, migrations.LockTable) {
		t.Fatalf("migrating the template must have created the lock table %s", migrations.LockTable)
	}
	p, err := migrations.NewProvider(db)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.DownTo(ctx, 0); err != nil {
		t.Fatal(err)
	}

	// Another module's migrations hold goose's default table lock throughout.
	otherLock, err := lock.NewPostgresTableLocker()
	if err != nil {
		t.Fatal(err)
	}
	if err := otherLock.Lock(ctx, db); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := otherLock.Unlock(ctx, db); err != nil {
			t.Error(err)
		}
	}()

	// Another instance of this module holds the module's lock.
	held, err := lock.NewPostgresTableLocker(lock.WithTableName(migrations.LockTable), lock.WithTableLockID(migrations.LockID))
	if err != nil {
		t.Fatal(err)
	}
	if err := held.Lock(ctx, db); err != nil {
		t.Fatal(err)
	}
	// Up cannot take the lock while it is held, however long it waits; the
	// deadline only ends the wait.
	waitCtx, cancel := context.WithTimeout(ctx, 2500*time.Millisecond)
	err = migrations.Up(waitCtx, db)
	cancel()
	if err == nil {
		t.Fatal("Up ran while another instance held the module's lock")
	}
	if tableExists(t, db, "enduser_users") {
		t.Fatal("Up migrated without the lock")
	}
	if err := held.Unlock(ctx, db); err != nil {
		t.Fatal(err)
	}

	// The other module's lock is still held: it does not stop this module.
	if err := migrations.Up(ctx, db); err != nil {
		t.Fatal(err)
	}
	if !tableExists(t, db, "enduser_session_purge") {
		t.Fatal("not migrated")
	}
	var locked bool
	if err := db.QueryRow(`SELECT locked FROM `+migrations.LockTable+` WHERE lock_id = $1`, migrations.LockID).Scan(&locked); err != nil {
		t.Fatal(err)
	}
	if locked {
		t.Fatal("Up must release the module's lock")
	}
}
