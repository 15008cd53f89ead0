package postgres

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"sync"
	"testing"
	"time"

	"github.com/iotplatform/enduser-auth/adapters/postgres/pgtest"
	"github.com/iotplatform/enduser-auth/adapters/secretbox"
	"github.com/iotplatform/enduser-auth/application"
	"github.com/iotplatform/enduser-auth/domain"
)

// testEnv is a Store on a fresh database, with raw SQL access for checks.
type testEnv struct {
	store *Store
	sql   *sql.DB
	dsn   string
}

// newTestEnv opens a fresh database through the production Open.
func newTestEnv(t testing.TB) testEnv {
	t.Helper()
	return newTestEnvOn(t, pgtest.NewDatabase(t))
}

// newTestEnvIsolation is newTestEnv on a database whose default transaction
// isolation is isolation ("read committed" or "serializable").
func newTestEnvIsolation(t testing.TB, isolation string) testEnv {
	t.Helper()
	if isolation == "serializable" {
		return newTestEnvOn(t, pgtest.NewSerializableDatabase(t))
	}
	return newTestEnv(t)
}

// newTestEnvOn opens the database of dsn (one of pgtest's) through the
// production Open.
func newTestEnvOn(t testing.TB, dsn string) testEnv {
	t.Helper()
	db, err := Open(context.Background(), dsn)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sqlDB.Close() })
	return testEnv{store: NewStore(db, newBox(t, 1)), sql: sqlDB, dsn: dsn}
}

// newBox returns a box whose master key is 32 times seed.
func newBox(t testing.TB, seed byte) *secretbox.Box {
	t.Helper()
	box, err := secretbox.New(bytes.Repeat([]byte{seed}, secretbox.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	return box
}

// count runs a count(*) query.
func (e testEnv) count(t testing.TB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := e.sql.QueryRowContext(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// createUserDomain stores an enabled user domain.
func (e testEnv) createUserDomain(t testing.TB, name string) domain.UserDomain {
	t.Helper()
	d, err := domain.NewUserDomain(name, "secret-of-"+name+"-0123456789")
	if err != nil {
		t.Fatal(err)
	}
	d, err = e.store.CreateUserDomain(context.Background(), d)
	if err != nil {
		t.Fatalf("CreateUserDomain: %v", err)
	}
	return d
}

// login records a login with a fresh candidate and session, and returns the
// user and whether it was registered.
func (e testEnv) login(t testing.TB, userDomainID int64, id domain.WeChatIdentity, now time.Time) (domain.EndUser, bool) {
	t.Helper()
	r, err := e.store.RecordLogin(context.Background(), loginRecord(t, userDomainID, id, candidate(t, userDomainID, now), now))
	if err != nil {
		t.Fatalf("RecordLogin: %v", err)
	}
	return r.User, r.Outcome.Created()
}

// loginRecord is a login of id with candidate c and a new session.
func loginRecord(t testing.TB, userDomainID int64, id domain.WeChatIdentity, c domain.EndUser, now time.Time) application.LoginRecord {
	t.Helper()
	return application.LoginRecord{UserDomainID: userDomainID, Identity: id, Candidate: c,
		Session: domain.NewSession(c.ID(), userDomainID, "", id.AppID(), now, time.Hour, 24*time.Hour), At: now}
}

// createSession stores a new session of a fresh user.
func (e testEnv) createSession(t testing.TB, d domain.UserDomain, now time.Time) domain.Session {
	t.Helper()
	c := candidate(t, d.ID(), now)
	s := domain.NewSession(c.ID(), d.ID(), d.Name(), "wx-app", now, 30*24*time.Hour, 365*24*time.Hour)
	r, err := e.store.RecordLogin(context.Background(), application.LoginRecord{UserDomainID: d.ID(),
		Identity: identity(t, "wx-app", randomHex(8), ""), Candidate: c, Session: s, At: now})
	if err != nil || r.Session.ID() != s.ID() {
		t.Fatalf("RecordLogin: %v", err)
	}
	return r.Session
}

func candidate(t testing.TB, userDomainID int64, now time.Time) domain.EndUser {
	t.Helper()
	u, err := domain.NewEndUser(randomHex(16), userDomainID, now)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func identity(t testing.TB, appID, openID, unionID string) domain.WeChatIdentity {
	t.Helper()
	id, err := domain.NewWeChatIdentity(appID, openID, unionID, false)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// testTime is a time that Postgres cannot store exactly (nanoseconds, a
// non-UTC zone), to check that round trips compare equal anyway.
func testTime() time.Time {
	return time.Date(2025, 3, 1, 12, 0, 0, 123456789, time.FixedZone("CST", 8*3600))
}

// concurrently runs f(i) for i in 0..n-1, all released at once.
func concurrently(n int, f func(i int)) {
	var start, done sync.WaitGroup
	start.Add(1)
	for i := range n {
		done.Add(1)
		go func() {
			defer done.Done()
			start.Wait()
			f(i)
		}()
	}
	start.Done()
	done.Wait()
}
