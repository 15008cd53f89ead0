package postgres

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/iotplatform/enduser-auth/application"
)

// purgeBase is the purge tests' reference instant.
var purgeBase = time.Date(2025, time.June, 1, 12, 0, 0, 0, time.UTC)

// seedSessions inserts n sessions of one user with SQL, session i created at
// purgeBase, with the expiries and revocation that spec(i) returns as
// offsets from purgeBase (revoked < 0: not revoked). It returns the ids.
func seedSessions(t *testing.T, e testEnv, n int, spec func(i int) (absolute, sliding, revoked time.Duration)) []string {
	t.Helper()
	ctx := context.Background()
	d := e.createUserDomain(t, "C.DM.10000.7")
	if _, err := e.sql.ExecContext(ctx, `INSERT INTO enduser_users (id, user_domain_id, registered_at, last_login_at) VALUES ('uid-purge', $1, $2, $2)`,
		d.ID(), purgeBase); err != nil {
		t.Fatal(err)
	}
	ids := make([]string, n)
	for i := range n {
		abs, slide, rev := spec(i)
		var revokedAt any
		if rev >= 0 {
			revokedAt = purgeBase.Add(rev)
		}
		if err := e.sql.QueryRowContext(ctx, `
			INSERT INTO enduser_sessions (id, user_id, user_domain_id, app_id, refresh_key_enc, refresh_counter, created_at, expires_at, refresh_expires_at, revoked_at)
			VALUES (gen_random_uuid(), 'uid-purge', $1, 'wx-app', '\x00', 1, $2, $3, $4, $5) RETURNING id::text`,
			d.ID(), purgeBase, purgeBase.Add(abs), purgeBase.Add(slide), revokedAt).Scan(&ids[i]); err != nil {
			t.Fatal(err)
		}
	}
	return ids
}

// TestPurgeSweepWalksInBoundedBatches: sliding-expired sessions hidden among
// live ones (absolute expiry far ahead, so no index finds them) are found by
// the sweep, which examines at most the batch's limit per batch, keeps its
// position from batch to batch and starts over at the end.
func TestPurgeSweepWalksInBoundedBatches(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	const n, limit = 25, 4
	ids := seedSessions(t, e, n, func(i int) (time.Duration, time.Duration, time.Duration) {
		abs := 365*24*time.Hour + time.Duration(i)*time.Minute
		if i%3 == 0 {
			return abs, time.Hour, -1 // slid out
		}
		return abs, 30 * 24 * time.Hour, -1
	})
	p := application.SessionPurge{Cutoff: purgeBase.Add(10 * time.Hour), Limit: limit, Holder: "a",
		Now: purgeBase.Add(11 * time.Hour), LeaseUntil: purgeBase.Add(12 * time.Hour)}
	deleted, swept, batches := 0, 0, 0
	for {
		b, err := e.store.PurgeSessions(context.Background(), p)
		if err != nil {
			t.Fatal(err)
		}
		batches++
		if !b.Held || b.Deleted > limit || b.Swept > limit {
			t.Fatalf("batch %d: %+v (limit %d)", batches, b, limit)
		}
		deleted += b.Deleted
		swept += b.Swept
		if b.SweepDone {
			break
		}
		if batches > n {
			t.Fatal("the sweep does not reach the end")
		}
	}
	if deleted != 9 || swept != n {
		t.Errorf("the sweep deleted %d of 9 slid-out sessions, examined %d of %d", deleted, swept, n)
	}
	if batches < n/limit {
		t.Errorf("%d batches for %d sessions at %d per batch", batches, n, limit)
	}
	for i, id := range ids {
		want := 1
		if i%3 == 0 {
			want = 0
		}
		if got := e.count(t, `SELECT count(*) FROM enduser_sessions WHERE id = $1`, id); got != want {
			t.Errorf("session %d: %d rows, want %d", i, got, want)
		}
	}
	if got := e.count(t, `SELECT count(*) FROM enduser_session_purge WHERE sweep_expires_at = '0001-01-01 00:00:00+00'`); got != 1 {
		t.Error("at its end the sweep must start over")
	}
	// The next batch starts over and finds nothing more.
	b, err := e.store.PurgeSessions(context.Background(), p)
	if err != nil || !b.Held || b.Deleted != 0 || b.Swept != limit {
		t.Errorf("batch after the end: %+v, %v", b, err)
	}
}

// TestPurgeConcurrentHoldersDoNotDoubleWork: two instances purging at once
// (each looping batches as Service.PurgeSessions does) neither fail nor
// share the work: the lease's holder deletes every dead session, the other
// one's batches do nothing. Under serializable isolation too (as CockroachDB
// and YugabyteDB run by default), where the loser's batch fails to
// serialize on the lease row instead of waiting for it.
func TestPurgeConcurrentHoldersDoNotDoubleWork(t *testing.T) {
	t.Parallel()
	for _, isolation := range []string{"read committed", "serializable"} {
		t.Run(isolation, func(t *testing.T) {
			t.Parallel()
			e := newTestEnvIsolation(t, isolation)
			var got string
			if err := e.sql.QueryRow(`SHOW transaction_isolation`).Scan(&got); err != nil || got != isolation {
				t.Fatalf("transaction_isolation = %q (%v), want %q", got, err, isolation)
			}
			const dead, live, limit = 60, 15, 7
			seedSessions(t, e, dead+live, func(i int) (time.Duration, time.Duration, time.Duration) {
				switch {
				case i >= dead:
					return 365 * 24 * time.Hour, 30 * 24 * time.Hour, -1
				case i%2 == 0:
					return time.Hour, time.Hour, -1
				default:
					return 365 * 24 * time.Hour, 30 * 24 * time.Hour, time.Minute
				}
			})
			p := application.SessionPurge{Cutoff: purgeBase.Add(10 * time.Hour), Limit: limit,
				Now: purgeBase.Add(11 * time.Hour), LeaseUntil: purgeBase.Add(12 * time.Hour)}
			var wg sync.WaitGroup
			deleted := map[string]int{}
			var mu sync.Mutex
			start := make(chan struct{})
			for _, holder := range []string{"a", "b"} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					p := p
					p.Holder = holder
					for {
						b, err := e.store.PurgeSessions(context.Background(), p)
						if err != nil {
							t.Errorf("%s: %v", holder, err)
							return
						}
						mu.Lock()
						deleted[holder] += b.Deleted
						mu.Unlock()
						if !b.Held || (b.Deleted < limit && b.SweepDone) {
							return
						}
					}
				}()
			}
			close(start)
			wg.Wait()
			if deleted["a"]+deleted["b"] != dead || (deleted["a"] != 0 && deleted["b"] != 0) {
				t.Errorf("deleted %v, want all %d by one holder", deleted, dead)
			}
			if got := e.count(t, `SELECT count(*) FROM enduser_sessions`); got != live {
				t.Errorf("%d sessions left, want the %d live ones", got, live)
			}
		})
	}
}
