package application_test

import (
	"context"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/iotplatform/enduser-auth/application"
	"github.com/iotplatform/enduser-auth/domain"
)

// sessionExists reports whether the store still holds the session.
func (h *harness) sessionExists(id domain.SessionID) bool {
	h.t.Helper()
	_, err := h.store.SessionByID(h.ctx, id)
	if err != nil && !domain.IsKind(err, domain.KindTokenInvalid) {
		h.t.Fatal(err)
	}
	return err == nil
}

func (h *harness) purge(svc application.Facades, want int) {
	h.t.Helper()
	n, err := svc.Machinery.PurgeSessions(h.ctx)
	must(h.t, err)
	if n != want {
		h.t.Fatalf("PurgeSessions at %v deleted %d sessions, want %d", h.clock.Now(), n, want)
	}
}

// TestPurgeKeepsTheRevocationHorizon: a revoked session is kept as long as
// one of its access tokens could verify (access-token lifetime + leeway +
// sync overlap), so that an instance that syncs (or starts) meanwhile still
// refuses its tokens; then it is deleted. A live session is kept; one whose
// sliding refresh expiry has passed goes one horizon later.
func TestPurgeKeepsTheRevocationHorizon(t *testing.T) {
	h := newHarness(t)
	horizon := h.svc.Machinery.PurgeHorizon()
	if want := h.cfg.AccessTokenTTL + application.TokenLeewayBound + time.Minute; horizon != want {
		t.Fatalf("PurgeHorizon = %v, want %v", horizon, want)
	}
	alice := h.login(signed(appID, "code-alice"))
	bob := h.login(signed(appID, "code-bob"))
	aliceSID, bobSID := h.verify(alice.Tokens.Access.Value).SessionID, h.verify(bob.Tokens.Access.Value).SessionID
	must(t, h.svc.EndUsers.Logout(h.ctx, alice.Tokens.Access.Value))

	// Just before its token expires, a fresh instance still learns of the
	// revocation: the purge has kept the row.
	h.clock.Advance(h.cfg.AccessTokenTTL - time.Second)
	h.purge(h.svc, 0)
	fresh := h.newService()
	must(t, fresh.Machinery.SyncRevocations(h.ctx))
	if _, err := fresh.Auth.VerifyAccessToken(h.ctx, alice.Tokens.Access.Value); !domain.IsKind(err, domain.KindTokenInvalid) {
		t.Fatalf("a fresh instance accepts the token of a revoked session: %v", err)
	}

	h.clock.Advance(horizon - h.cfg.AccessTokenTTL) // one second before the horizon
	h.purge(h.svc, 0)
	if !h.sessionExists(aliceSID) {
		t.Fatal("the revoked session went before the horizon")
	}
	h.clock.Advance(2 * time.Second)
	h.purge(h.svc, 1)
	if h.sessionExists(aliceSID) || !h.sessionExists(bobSID) {
		t.Fatal("the purge must delete the revoked session and keep the live one")
	}

	// Bob never refreshes: his session slides out after RefreshTokenTTL and
	// goes one horizon later.
	h.clock.Advance(h.cfg.RefreshTokenTTL - horizon - 2*time.Second)
	h.purge(h.svc, 0)
	h.clock.Advance(horizon + 2*time.Second)
	h.purge(h.svc, 1)
	if h.sessionExists(bobSID) {
		t.Fatal("the slid-out session survived the purge")
	}
}

// TestPurgeOneInstanceAtATime: while another instance holds the purge lease,
// this one's purge does nothing; once that lease expires, it takes over. (The
// lease's exclusivity under concurrency is the repository contract's and the
// Postgres adapter's tests' business.)
func TestPurgeOneInstanceAtATime(t *testing.T) {
	h := newHarness(t)
	res := h.login(signed(appID, "code-alice"))
	sid := h.verify(res.Tokens.Access.Value).SessionID
	must(t, h.svc.EndUsers.Logout(h.ctx, res.Tokens.Access.Value))
	h.clock.Advance(h.svc.Machinery.PurgeHorizon() + time.Second)

	now := h.clock.Now()
	b, err := h.store.PurgeSessions(h.ctx, application.SessionPurge{Holder: "another instance", Now: now, LeaseUntil: now.Add(time.Hour),
		Cutoff: start, Limit: 1}) // takes the lease, deletes nothing
	must(t, err)
	if !b.Held || b.Deleted != 0 {
		t.Fatalf("the other instance's batch: %+v", b)
	}
	h.purge(h.svc, 0)
	h.purge(h.newService(), 0)
	if !h.sessionExists(sid) {
		t.Fatal("purged without the lease")
	}
	h.clock.Advance(time.Hour)
	h.purge(h.svc, 1)
	if h.sessionExists(sid) {
		t.Fatal("not purged once the other lease expired")
	}
}

// TestRunPurgesInTheBackground: Run purges every SessionPurgeInterval next to
// the revocation sync; with the interval 0 it never purges. In a synctest
// bubble: Run's tickers run on the bubble's clock, so "within one interval"
// and "not in an hour of syncs" are exact, not a guess at a sleep.
func TestRunPurgesInTheBackground(t *testing.T) {
	for _, interval := range []time.Duration{time.Millisecond, 0} {
		synctest.Test(t, func(t *testing.T) {
			h := newHarness(t, func(c *application.Config) {
				c.SessionPurgeInterval, c.PurgeOff = interval, interval == 0
				c.RevocationSyncInterval = time.Millisecond
				if interval == 0 {
					c.RevocationSyncInterval = time.Second // an hour of syncs, not millions
				}
			})
			res := h.login(signed(appID, "code-alice"))
			sid := h.verify(res.Tokens.Access.Value).SessionID
			must(t, h.svc.EndUsers.Logout(h.ctx, res.Tokens.Access.Value))
			h.clock.Advance(h.svc.Machinery.PurgeHorizon() + time.Second)

			ctx, cancel := context.WithCancel(h.ctx)
			done := make(chan error, 1)
			go func() { done <- h.svc.Machinery.Run(ctx) }()
			if interval > 0 {
				time.Sleep(interval)
				synctest.Wait()
				if h.sessionExists(sid) {
					t.Fatal("Run did not purge within one SessionPurgeInterval")
				}
			} else {
				// An hour of Run's revocation syncs (every second: longer than
				// the default purge interval, 10m), then the session is still
				// there.
				must(t, h.svc.Machinery.SyncRevocations(h.ctx))
				time.Sleep(time.Hour)
				synctest.Wait()
				if !h.sessionExists(sid) {
					t.Fatal("Run purged with SessionPurgeInterval 0")
				}
			}
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run returned %v", err)
			}
		})
	}
}

// scriptedPurge answers PurgeSessions with batches in turn and records the
// requests.
type scriptedPurge struct {
	*faultyStore
	batches []application.PurgeBatch
	got     []application.SessionPurge
}

func (s *scriptedPurge) PurgeSessions(_ context.Context, p application.SessionPurge) (application.PurgeBatch, error) {
	s.got = append(s.got, p)
	if len(s.got) > len(s.batches) {
		return application.PurgeBatch{}, fmt.Errorf("one batch too many: %w", errDatabase)
	}
	return s.batches[len(s.got)-1], nil
}

// TestPurgeRoundEnds: a round goes on while batches are full, ends when
// nothing ended is left and the sweep is done, when the sweep has examined
// 100,000 sessions (however full the batches), or when the lease is lost;
// every batch asks for 1000 at most, with the horizon's cutoff and a lease of
// an interval and a minute.
func TestPurgeRoundEnds(t *testing.T) {
	h := newHarness(t)
	full := application.PurgeBatch{Held: true, Deleted: 1000}
	sweepFull := application.PurgeBatch{Held: true, Deleted: 1000, Swept: 1000}
	for _, tt := range []struct {
		name    string
		batches []application.PurgeBatch
		want    int
	}{
		{"index work, then the sweep to its end", []application.PurgeBatch{full, full, {Held: true, Deleted: 10, Swept: 990}, {Held: true, Deleted: 3, Swept: 500, SweepDone: true}}, 2013},
		{"a full batch whose sweep is done goes on", []application.PurgeBatch{{Held: true, Deleted: 1000, Swept: 10, SweepDone: true}, {Held: true, SweepDone: true}}, 1000},
		{"the lease lost", []application.PurgeBatch{full, {}}, 1000},
		{"the sweep's budget", repeat(sweepFull, 100), 100_000},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := &scriptedPurge{faultyStore: h.store, batches: tt.batches}
			svc := application.New(h.cfg, application.Deps{Clock: h.clock, WeChat: h.wechat, Domains: s, Apps: s, DataCenters: s, Users: s, Sessions: s, Tokens: h.tokens})
			n, err := svc.Machinery.PurgeSessions(h.ctx)
			must(t, err)
			if n != tt.want || len(s.got) != len(tt.batches) {
				t.Fatalf("deleted %d in %d batches, want %d in %d", n, len(s.got), tt.want, len(tt.batches))
			}
			now := h.clock.Now()
			for _, p := range s.got {
				if p.Limit != 1000 || !p.Cutoff.Equal(now.Add(-svc.Machinery.PurgeHorizon())) || !p.Now.Equal(now) ||
					!p.LeaseUntil.Equal(now.Add(h.cfg.SessionPurgeInterval+time.Minute)) || p.Holder == "" {
					t.Fatalf("batch request %+v", p)
				}
			}
		})
	}
	s := &scriptedPurge{faultyStore: h.store}
	svc := application.New(h.cfg, application.Deps{Clock: h.clock, WeChat: h.wechat, Domains: s, Apps: s, DataCenters: s, Users: s, Sessions: s, Tokens: h.tokens})
	_, err := svc.Machinery.PurgeSessions(h.ctx)
	wantInternal(t, "PurgeSessions", err, domain.KindInternal)
}

func repeat(b application.PurgeBatch, n int) []application.PurgeBatch {
	out := make([]application.PurgeBatch, n)
	for i := range out {
		out[i] = b
	}
	return out
}
