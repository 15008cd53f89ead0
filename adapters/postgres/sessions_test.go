package postgres

import (
	"bytes"
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/iotplatform/enduser-auth/domain"
)

func TestSessionRoundTrip(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newTestEnv(t)
	d := e.createUserDomain(t, "C.DM.1.1")
	now := testTime()
	s := e.createSession(t, d, now)

	got, err := e.store.SessionByID(ctx, s.ID())
	if err != nil {
		t.Fatalf("SessionByID: %v", err)
	}
	if got.ID() != s.ID() || got.UserID() != s.UserID() || got.UserDomainID() != d.ID() || got.UserDomain() != d.Name() ||
		got.AppID() != s.AppID() || !bytes.Equal(got.RefreshKey(), s.RefreshKey()) || got.Counter() != 1 {
		t.Errorf("SessionByID = %+v, want %+v", got, s)
	}
	for name, pair := range map[string][2]time.Time{
		"created":         {got.CreatedAt(), s.CreatedAt()},
		"expires":         {got.ExpiresAt(), s.ExpiresAt()},
		"refresh expires": {got.RefreshExpiresAt(), s.RefreshExpiresAt()},
	} {
		if !pair[0].Equal(dbTime(pair[1])) || pair[0].Location() != time.UTC {
			t.Errorf("%s at %v, want %v in UTC", name, pair[0], dbTime(pair[1]))
		}
	}
	if !got.RotatedAt().IsZero() || got.Revoked() {
		t.Errorf("new session rotated at %v, revoked %v", got.RotatedAt(), got.Revoked())
	}
	if got.RefreshToken().Value != s.RefreshToken().Value {
		t.Error("the stored session mints another refresh token")
	}
}

func TestAdvanceRefreshCounter(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newTestEnv(t)
	d := e.createUserDomain(t, "C.DM.1.1")
	now := testTime()
	s := e.createSession(t, d, now)
	later := now.Add(time.Minute)
	exp := later.Add(30 * 24 * time.Hour)

	if ok, err := e.store.AdvanceRefreshCounter(ctx, s.ID(), 2, later, exp); err != nil || ok {
		t.Fatalf("advance from a counter the session is not at = %v, %v; want false", ok, err)
	}
	if ok, err := e.store.AdvanceRefreshCounter(ctx, s.ID(), 1, later, exp); err != nil || !ok {
		t.Fatalf("advance from 1 = %v, %v; want true", ok, err)
	}
	got, err := e.store.SessionByID(ctx, s.ID())
	if err != nil {
		t.Fatal(err)
	}
	if got.Counter() != 2 || !got.RotatedAt().Equal(dbTime(later)) || !got.RefreshExpiresAt().Equal(dbTime(exp)) {
		t.Errorf("after advance: counter %d rotated %v refresh expires %v", got.Counter(), got.RotatedAt(), got.RefreshExpiresAt())
	}
	if ok, err := e.store.AdvanceRefreshCounter(ctx, s.ID(), 1, later, exp); err != nil || ok {
		t.Errorf("spending token 1 twice = %v, %v; want false", ok, err)
	}
	if ok, err := e.store.AdvanceRefreshCounter(ctx, s.ID(), 2, s.ExpiresAt(), s.ExpiresAt().Add(time.Hour)); err != nil || ok {
		t.Errorf("advance at the absolute expiry = %v, %v; want false", ok, err)
	}
	if ok, err := e.store.AdvanceRefreshCounter(ctx, s.ID(), 2, exp, exp.Add(time.Hour)); err != nil || ok {
		t.Errorf("advance at the refresh expiry = %v, %v; want false", ok, err)
	}
	if _, err := e.store.RevokeSession(ctx, s.ID(), later, "logout"); err != nil {
		t.Fatal(err)
	}
	if ok, err := e.store.AdvanceRefreshCounter(ctx, s.ID(), 2, later, exp); err != nil || ok {
		t.Errorf("advance of a revoked session = %v, %v; want false", ok, err)
	}
	if ok, err := e.store.AdvanceRefreshCounter(ctx, domain.NewSessionID(), 1, later, exp); err != nil || ok {
		t.Errorf("advance of an unknown session = %v, %v; want false", ok, err)
	}
}

func TestAdvanceRefreshCounterConcurrent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newTestEnv(t)
	d := e.createUserDomain(t, "C.DM.1.1")
	now := testTime()
	s := e.createSession(t, d, now)
	later := now.Add(time.Minute)

	var won, failed atomic.Int32
	concurrently(20, func(int) {
		ok, err := e.store.AdvanceRefreshCounter(ctx, s.ID(), 1, later, later.Add(time.Hour))
		switch {
		case err != nil:
			failed.Add(1)
		case ok:
			won.Add(1)
		}
	})
	if failed.Load() != 0 || won.Load() != 1 {
		t.Fatalf("%d of 20 concurrent spends of one token won and %d failed; want exactly 1 and 0", won.Load(), failed.Load())
	}
	if got, err := e.store.SessionByID(ctx, s.ID()); err != nil || got.Counter() != 2 {
		t.Fatalf("counter after the race = %d, %v; want 2", got.Counter(), err)
	}
}

func TestRevokeSession(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newTestEnv(t)
	d := e.createUserDomain(t, "C.DM.1.1")
	now := testTime()
	revoked := e.createSession(t, d, now)
	kept := e.createSession(t, d, now)
	at := now.Add(time.Minute)

	if ok, err := e.store.RevokeSession(ctx, revoked.ID(), at, "logout"); err != nil || !ok {
		t.Fatalf("first revoke = %v, %v; want true", ok, err)
	}
	if ok, err := e.store.RevokeSession(ctx, revoked.ID(), at.Add(time.Minute), "logout"); err != nil || ok {
		t.Fatalf("second revoke = %v, %v; want false", ok, err)
	}
	if ok, err := e.store.RevokeSession(ctx, domain.NewSessionID(), at, "logout"); err != nil || ok {
		t.Fatalf("revoke of an unknown session = %v, %v; want false", ok, err)
	}
	got, err := e.store.SessionByID(ctx, revoked.ID())
	if err != nil || !got.Revoked() || !got.RevokedAt().Equal(dbTime(at)) {
		t.Fatalf("revoked session: revoked at %v, %v; want %v (the first revocation)", got.RevokedAt(), err, dbTime(at))
	}
	var reason string
	if err := e.sql.QueryRow("SELECT revoke_reason FROM enduser_sessions WHERE id = $1", revoked.ID().String()).Scan(&reason); err != nil || reason != "logout" {
		t.Errorf("revoke_reason = %q, %v", reason, err)
	}

	list, err := e.store.RevokedSessionsSince(ctx, at)
	if err != nil || len(list) != 1 || list[0].ID != revoked.ID() || !list[0].RevokedAt.Equal(dbTime(at)) {
		t.Fatalf("RevokedSessionsSince(revocation time) = %+v, %v; want the one revoked session", list, err)
	}
	if list, err := e.store.RevokedSessionsSince(ctx, at.Add(time.Second)); err != nil || len(list) != 0 {
		t.Fatalf("RevokedSessionsSince(after) = %+v, %v; want none", list, err)
	}
	if got, err := e.store.SessionByID(ctx, kept.ID()); err != nil || got.Revoked() {
		t.Errorf("another session got revoked: %v", err)
	}
}

// A spend that waited for a concurrent spend of the same token, and lost,
// returns the session as it was before the winner's spend: that is how the
// service tells a lost race (which gets the child) from a later reuse.
func TestSpendThatLosesARaceSeesTheSessionBeforeTheWinner(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	e := newTestEnv(t)
	d := e.createUserDomain(t, "C.DM.1.1")
	now := testTime()
	s := e.createSession(t, d, now)

	winner, err := e.sql.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = winner.Rollback() }()
	if _, err := winner.ExecContext(ctx, `UPDATE enduser_sessions SET refresh_counter = 2, rotated_at = $1 WHERE id = $2`,
		dbTime(now.Add(time.Second)), s.ID().String()); err != nil {
		t.Fatal(err)
	}
	type result struct {
		sess  domain.Session
		spent bool
		err   error
	}
	done := make(chan result, 1)
	go func() {
		sess, spent, err := e.store.SpendRefreshToken(ctx, s.ID(), 1, now.Add(2*time.Second), now.Add(time.Hour))
		done <- result{sess, spent, err}
	}()
	// Commit the winner only once the loser waits for its row lock.
	for e.count(t, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'
		AND query LIKE '%spent AS (%'`) == 0 {
		select {
		case r := <-done:
			t.Fatalf("the spend did not wait for the concurrent one: %+v", r)
		case <-time.After(5 * time.Millisecond):
		}
	}
	if err := winner.Commit(); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.err != nil || r.spent {
		t.Fatalf("losing SpendRefreshToken = spent %t, %v; want not spent, no error", r.spent, r.err)
	}
	if r.sess.Counter() != 1 || !r.sess.RotatedAt().IsZero() {
		t.Errorf("the loser saw counter %d rotated at %v; want the session before the winner (counter 1, never rotated)", r.sess.Counter(), r.sess.RotatedAt())
	}
	if got, err := e.store.SessionByID(ctx, s.ID()); err != nil || got.Counter() != 2 {
		t.Errorf("after the race: counter %d, %v; want the winner's 2", got.Counter(), err)
	}
}
