package repotest

import (
	"bytes"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/iotplatform/enduser-auth/application"
	"github.com/iotplatform/enduser-auth/domain"
)

func (s suite) sessions(t *testing.T) {
	s.run(t, "CreateThenLoadRoundTrips", func(f *fixture) {
		sess := f.session(30*24*time.Hour, 365*24*time.Hour)
		got, err := f.Sessions.SessionByID(f.ctx, sess.ID())
		noErr(f.t, "SessionByID", err)
		wantSession(f.t, got, sess)
		if got.RefreshToken().Value != sess.RefreshToken().Value {
			f.t.Error("the loaded session mints another refresh token than the created one")
		}
	})
	s.run(t, "UnknownIsTokenInvalid", func(f *fixture) {
		f.session(time.Hour, 2*time.Hour)
		_, err := f.Sessions.SessionByID(f.ctx, domain.NewSessionID())
		wantKind(f.t, "SessionByID(unknown)", err, domain.KindTokenInvalid)
	})
	s.run(t, "AdvanceMovesTheCounter", func(f *fixture) {
		sess := f.session(time.Hour, 24*time.Hour)
		f.advance(sess.ID(), 1, at(time.Minute), at(time.Minute+time.Hour), true)
		want := rotated(sess, 2, at(time.Minute), at(time.Minute+time.Hour))
		wantSession(f.t, f.load(sess.ID()), want)

		f.advance(sess.ID(), 2, at(2*time.Minute), at(2*time.Minute+time.Hour), true)
		wantSession(f.t, f.load(sess.ID()), rotated(sess, 3, at(2*time.Minute), at(2*time.Minute+time.Hour)))
	})
	s.run(t, "AdvanceFromAnotherCounterFails", func(f *fixture) {
		sess := f.session(time.Hour, 24*time.Hour)
		f.advance(sess.ID(), 2, at(time.Minute), at(2*time.Hour), false)
		f.advance(sess.ID(), 0, at(time.Minute), at(2*time.Hour), false)
		wantSession(f.t, f.load(sess.ID()), sess)

		f.advance(sess.ID(), 1, at(time.Minute), at(time.Hour+time.Minute), true)
		f.advance(sess.ID(), 1, at(2*time.Minute), at(3*time.Hour), false)
		wantSession(f.t, f.load(sess.ID()), rotated(sess, 2, at(time.Minute), at(time.Hour+time.Minute)))
	})
	s.run(t, "AdvanceOfRevokedSessionFails", func(f *fixture) {
		sess := f.session(time.Hour, 24*time.Hour)
		f.revoke(sess.ID(), at(time.Second), true)
		f.advance(sess.ID(), 1, at(time.Minute), at(2*time.Hour), false)
		if got := f.load(sess.ID()); got.Counter() != 1 || !got.RotatedAt().IsZero() {
			f.t.Errorf("a refused advance changed the session: counter %d, rotated at %v", got.Counter(), got.RotatedAt())
		}
	})
	s.run(t, "AdvanceAfterRefreshExpiryFails", func(f *fixture) {
		sess := f.session(time.Hour, 24*time.Hour)
		f.advance(sess.ID(), 1, at(time.Hour+time.Second), at(3*time.Hour), false)
		f.advance(sess.ID(), 1, at(25*time.Hour), at(26*time.Hour), false)
		wantSession(f.t, f.load(sess.ID()), sess)
		f.advance(sess.ID(), 1, at(59*time.Minute), at(2*time.Hour), true)
	})
	s.run(t, "AdvanceAfterAbsoluteExpiryFails", func(f *fixture) {
		sess := f.session(time.Hour, 2*time.Hour)
		// An uncapped refresh expiry: only the absolute one can stop the next advance.
		f.advance(sess.ID(), 1, at(30*time.Minute), at(3*time.Hour), true)
		f.advance(sess.ID(), 2, at(2*time.Hour+time.Second), at(4*time.Hour), false)
		wantSession(f.t, f.load(sess.ID()), rotated(sess, 2, at(30*time.Minute), at(3*time.Hour)))
	})
	s.run(t, "AdvanceOfUnknownSessionFails", func(f *fixture) {
		f.session(time.Hour, 2*time.Hour)
		f.advance(domain.NewSessionID(), 1, at(time.Minute), at(time.Hour), false)
	})
	s.run(t, "ConcurrentAdvancesFromOneCounterOneWins", func(f *fixture) {
		sess := f.session(time.Hour, 24*time.Hour)
		var (
			wins  atomic.Int32
			wg    sync.WaitGroup
			start = make(chan struct{})
		)
		for range 20 {
			wg.Go(func() {
				<-start
				ok, err := f.Sessions.AdvanceRefreshCounter(f.ctx, sess.ID(), 1, at(time.Minute), at(time.Hour+time.Minute))
				if err != nil {
					f.t.Errorf("concurrent AdvanceRefreshCounter: %v", err)
				}
				if ok {
					wins.Add(1)
				}
			})
		}
		close(start)
		wg.Wait()
		if n := wins.Load(); n != 1 {
			f.t.Errorf("20 concurrent advances from counter 1: %d succeeded, want 1", n)
		}
		if got := f.load(sess.ID()).Counter(); got != 2 {
			f.t.Errorf("counter after concurrent advances = %d, want 2", got)
		}
	})
	s.run(t, "SpendMovesTheCounterAndReturnsTheSession", func(f *fixture) {
		sess := f.session(time.Hour, 24*time.Hour)
		got := f.spend(sess.ID(), 1, at(time.Minute), at(time.Minute+time.Hour), true)
		want := rotated(sess, 2, at(time.Minute), at(time.Minute+time.Hour))
		wantSession(f.t, got, want)
		wantSession(f.t, f.load(sess.ID()), want)
		if got.RefreshToken() != want.RefreshToken() || got.RefreshToken().Value == sess.RefreshToken().Value {
			f.t.Error("the spent session does not mint the child token")
		}
		got = f.spend(sess.ID(), 2, at(2*time.Minute), at(2*time.Minute+time.Hour), true)
		wantSession(f.t, got, rotated(sess, 3, at(2*time.Minute), at(2*time.Minute+time.Hour)))
	})
	s.run(t, "SpendCapsTheRefreshExpiryAtTheAbsoluteExpiry", func(f *fixture) {
		sess := f.session(time.Hour, 2*time.Hour)
		got := f.spend(sess.ID(), 1, at(30*time.Minute), at(30*time.Minute+30*24*time.Hour), true)
		wantSession(f.t, got, rotated(sess, 2, at(30*time.Minute), sess.ExpiresAt()))
		wantSession(f.t, f.load(sess.ID()), rotated(sess, 2, at(30*time.Minute), sess.ExpiresAt()))
	})
	s.run(t, "SpendFromAnotherCounterReturnsTheSessionAsItIs", func(f *fixture) {
		sess := f.session(time.Hour, 24*time.Hour)
		wantSession(f.t, f.spend(sess.ID(), 2, at(time.Minute), at(2*time.Hour), false), sess)
		f.spend(sess.ID(), 1, at(time.Minute), at(time.Hour+time.Minute), true)
		child := rotated(sess, 2, at(time.Minute), at(time.Hour+time.Minute))
		wantSession(f.t, f.spend(sess.ID(), 1, at(2*time.Minute), at(3*time.Hour), false), child) // the parent, again
		wantSession(f.t, f.load(sess.ID()), child)
	})
	s.run(t, "SpendOfRevokedOrExpiredSessionFails", func(f *fixture) {
		revoked := f.session(time.Hour, 24*time.Hour)
		f.revoke(revoked.ID(), at(time.Second), true)
		if got := f.spend(revoked.ID(), 1, at(time.Minute), at(2*time.Hour), false); got.Counter() != 1 || !got.Revoked() {
			f.t.Errorf("spend of a revoked session: counter %d, revoked %t; want 1, true", got.Counter(), got.Revoked())
		}
		expiring := f.session(time.Hour, 2*time.Hour)
		f.spend(expiring.ID(), 1, at(time.Hour), at(3*time.Hour), false)               // the refresh token's end
		f.spend(expiring.ID(), 1, at(2*time.Hour+time.Second), at(3*time.Hour), false) // the absolute end
		wantSession(f.t, f.load(expiring.ID()), expiring)
		f.spend(expiring.ID(), 1, at(59*time.Minute), at(2*time.Hour), true)
	})
	s.run(t, "SpendOfUnknownSessionIsTokenInvalid", func(f *fixture) {
		f.session(time.Hour, 2*time.Hour)
		_, _, err := f.Sessions.SpendRefreshToken(f.ctx, domain.NewSessionID(), 1, at(time.Minute), at(time.Hour))
		wantKind(f.t, "SpendRefreshToken(unknown)", err, domain.KindTokenInvalid)
	})
	s.run(t, "ConcurrentSpendsFromOneCounterOneWins", func(f *fixture) {
		sess := f.session(time.Hour, 24*time.Hour)
		var (
			wins  atomic.Int32
			wg    sync.WaitGroup
			start = make(chan struct{})
		)
		for range 20 {
			wg.Go(func() {
				<-start
				got, ok, err := f.Sessions.SpendRefreshToken(f.ctx, sess.ID(), 1, at(time.Minute), at(time.Hour+time.Minute))
				if err != nil {
					f.t.Errorf("concurrent SpendRefreshToken: %v", err)
					return
				}
				if ok {
					wins.Add(1)
				}
				// A loser sees the session before the winner's spend (it lost the
				// race) or after it: never anything else.
				if want := map[bool][]int64{true: {2}, false: {1, 2}}[ok]; !slices.Contains(want, got.Counter()) || got.ID() != sess.ID() {
					f.t.Errorf("SpendRefreshToken (spent %t) returned counter %d of %s, want one of %v of %s", ok, got.Counter(), got.ID(), want, sess.ID())
				}
			})
		}
		close(start)
		wg.Wait()
		if n := wins.Load(); n != 1 {
			f.t.Errorf("20 concurrent spends from counter 1: %d succeeded, want 1", n)
		}
		if got := f.load(sess.ID()).Counter(); got != 2 {
			f.t.Errorf("counter after concurrent spends = %d, want 2", got)
		}
	})
	s.run(t, "VersionTwoSessionStoresNoKey", func(f *fixture) {
		mk := domain.NewRefreshMasterKey(1, at(0))
		sess := f.sessionV2(mk, time.Hour, 24*time.Hour)
		got := f.load(sess.ID())
		if got.TokenVersion() != domain.RefreshTokenV2 || got.RefreshKey() != nil || got.RefreshToken() != (domain.Token{}) {
			f.t.Errorf("loaded v2 session: version %d, key %x, token %+v; want 2, no key, no token", got.TokenVersion(), got.RefreshKey(), got.RefreshToken())
		}
		wantSession(f.t, got, sess)
		withKey, err := got.WithMasterKey(mk)
		noErr(f.t, "WithMasterKey", err)
		if withKey.RefreshToken() != sess.RefreshToken() {
			f.t.Error("the loaded v2 session, given its master key, mints another token than the created one")
		}
		spent := f.spend(sess.ID(), 1, at(time.Minute), at(time.Hour+time.Minute), true)
		if spent.TokenVersion() != domain.RefreshTokenV2 || spent.RefreshKey() != nil {
			f.t.Errorf("spent v2 session: version %d, key %x", spent.TokenVersion(), spent.RefreshKey())
		}
	})
	s.run(t, "RevokeIsIdempotent", func(f *fixture) {
		sess := f.session(time.Hour, 24*time.Hour)
		other := f.session(time.Hour, 24*time.Hour)
		f.revoke(sess.ID(), at(time.Minute), true)
		f.revoke(sess.ID(), at(2*time.Minute), false)
		got := f.load(sess.ID())
		if !got.Revoked() {
			f.t.Fatal("revoked session is not revoked")
		}
		sameTime(f.t, "RevokedAt", got.RevokedAt(), at(time.Minute))
		if f.load(other.ID()).Revoked() {
			f.t.Error("revoking one session revoked another")
		}
		f.revoke(domain.NewSessionID(), at(time.Minute), false)
	})
	s.scopes(t)
	s.run(t, "RevokedSessionsSince", func(f *fixture) {
		early := f.session(time.Hour, 24*time.Hour)
		middle := f.session(time.Hour, 24*time.Hour)
		late := f.session(time.Hour, 24*time.Hour)
		f.session(time.Hour, 24*time.Hour) // never revoked
		f.revoke(early.ID(), at(time.Minute), true)
		f.revoke(middle.ID(), at(2*time.Minute), true)
		f.revoke(late.ID(), at(3*time.Minute), true)

		f.wantRevoked(at(0), map[domain.SessionID]time.Time{
			early.ID(): at(time.Minute), middle.ID(): at(2 * time.Minute), late.ID(): at(3 * time.Minute)})
		f.wantRevoked(at(2*time.Minute), map[domain.SessionID]time.Time{middle.ID(): at(2 * time.Minute), late.ID(): at(3 * time.Minute)})
		f.wantRevoked(at(2*time.Minute+time.Microsecond), map[domain.SessionID]time.Time{late.ID(): at(3 * time.Minute)})
		f.wantRevoked(at(3*time.Minute+time.Microsecond), map[domain.SessionID]time.Time{})
	})
}

// session creates a user domain, a user and a session of that user, started
// at at(0).
func (f *fixture) session(refreshTTL, absoluteTTL time.Duration) domain.Session {
	f.t.Helper()
	d, err := f.UserDomains.UserDomainByName(f.ctx, "C.DM.10271.5")
	if domain.IsKind(err, domain.KindUserDomainNotFound) {
		d = f.userDomain("C.DM.10271.5")
	} else {
		noErr(f.t, "UserDomainByName", err)
	}
	sess := domain.NewSession("uid-alice", d.ID(), d.Name(), "wx-app-1", at(0), refreshTTL, absoluteTTL)
	r, err := f.Users.RecordLogin(f.ctx, application.LoginRecord{UserDomainID: d.ID(), Identity: f.identity("wx-app-1", "o-alice", ""),
		Candidate: f.candidate("uid-alice", d.ID(), at(0)), Session: sess, At: at(0)})
	noErr(f.t, "RecordLogin", err)
	return r.Session
}

// sessionV2 is session with a version-2 session of master key mk.
func (f *fixture) sessionV2(mk domain.RefreshMasterKey, refreshTTL, absoluteTTL time.Duration) domain.Session {
	f.t.Helper()
	v1 := f.session(refreshTTL, absoluteTTL) // the user domain and the user
	sess := domain.NewSessionV2(v1.UserID(), v1.UserDomainID(), v1.UserDomain(), v1.AppID(), at(0), refreshTTL, absoluteTTL, mk)
	// The same person logs in again: a returning login stores the v2 session.
	r, err := f.Users.RecordLogin(f.ctx, application.LoginRecord{UserDomainID: v1.UserDomainID(), Identity: f.identity("wx-app-1", "o-alice", ""),
		Candidate: f.candidate("uid-unused", v1.UserDomainID(), at(0)), Session: sess, At: at(0)})
	noErr(f.t, "RecordLogin(v2)", err)
	return r.Session
}

func (f *fixture) spend(id domain.SessionID, from int64, now, refreshExpiresAt time.Time, want bool) domain.Session {
	f.t.Helper()
	got, ok, err := f.Sessions.SpendRefreshToken(f.ctx, id, from, now, refreshExpiresAt)
	noErr(f.t, "SpendRefreshToken", err)
	if ok != want {
		f.t.Errorf("SpendRefreshToken(from %d, now %v) = %t, want %t", from, now, ok, want)
	}
	return got
}

func (f *fixture) load(id domain.SessionID) domain.Session {
	f.t.Helper()
	s, err := f.Sessions.SessionByID(f.ctx, id)
	noErr(f.t, "SessionByID", err)
	return s
}

func (f *fixture) advance(id domain.SessionID, from int64, now, refreshExpiresAt time.Time, want bool) {
	f.t.Helper()
	ok, err := f.Sessions.AdvanceRefreshCounter(f.ctx, id, from, now, refreshExpiresAt)
	noErr(f.t, "AdvanceRefreshCounter", err)
	if ok != want {
		f.t.Errorf("AdvanceRefreshCounter(from %d, now %v) = %t, want %t", from, now, ok, want)
	}
}

func (f *fixture) revoke(id domain.SessionID, now time.Time, want bool) {
	f.t.Helper()
	ok, err := f.Sessions.RevokeSession(f.ctx, id, now, "test")
	noErr(f.t, "RevokeSession", err)
	if ok != want {
		f.t.Errorf("RevokeSession(now %v) = %t, want %t", now, ok, want)
	}
}

func (f *fixture) wantRevoked(since time.Time, want map[domain.SessionID]time.Time) {
	f.t.Helper()
	list, err := f.Sessions.RevokedSessionsSince(f.ctx, since)
	noErr(f.t, "RevokedSessionsSince", err)
	got := map[domain.SessionID]time.Time{}
	for _, r := range list {
		if _, dup := got[r.ID]; dup {
			f.t.Errorf("RevokedSessionsSince(%v) lists %s twice", since, r.ID)
		}
		got[r.ID] = r.RevokedAt
	}
	if len(got) != len(want) {
		f.t.Errorf("RevokedSessionsSince(%v) = %v, want %v", since, describe(list), want)
		return
	}
	for id, at := range want {
		if g, ok := got[id]; !ok || !g.Equal(at) {
			f.t.Errorf("RevokedSessionsSince(%v) = %v, want %v", since, describe(list), want)
			return
		}
	}
}

func describe(list []application.RevokedSession) []string {
	var out []string
	for _, r := range list {
		out = append(out, r.ID.String()+"@"+r.RevokedAt.String())
	}
	slices.Sort(out)
	return out
}

// rotated is sess after advances up to counter, the last at rotatedAt.
func rotated(sess domain.Session, counter int64, rotatedAt, refreshExpiresAt time.Time) domain.Session {
	return domain.UnmarshalSessionFromDatabase(sess.ID(), sess.UserID(), sess.UserDomainID(), sess.UserDomain(), sess.AppID(),
		sess.RefreshKey(), counter, sess.CreatedAt(), sess.ExpiresAt(), refreshExpiresAt, rotatedAt, time.Time{})
}

func wantSession(t *testing.T, got, want domain.Session) {
	t.Helper()
	if got.ID() != want.ID() || got.UserID() != want.UserID() || got.UserDomainID() != want.UserDomainID() ||
		got.UserDomain() != want.UserDomain() || got.AppID() != want.AppID() || got.Counter() != want.Counter() {
		t.Errorf("session = {%s, user %s, domain %d %s, app %s, counter %d}, want {%s, user %s, domain %d %s, app %s, counter %d}",
			got.ID(), got.UserID(), got.UserDomainID(), got.UserDomain(), got.AppID(), got.Counter(),
			want.ID(), want.UserID(), want.UserDomainID(), want.UserDomain(), want.AppID(), want.Counter())
	}
	if !bytes.Equal(got.RefreshKey(), want.RefreshKey()) {
		t.Errorf("refresh key = %x, want %x", got.RefreshKey(), want.RefreshKey())
	}
	sameTime(t, "CreatedAt", got.CreatedAt(), want.CreatedAt())
	sameTime(t, "ExpiresAt", got.ExpiresAt(), want.ExpiresAt())
	sameTime(t, "RefreshExpiresAt", got.RefreshExpiresAt(), want.RefreshExpiresAt())
	sameTime(t, "RotatedAt", got.RotatedAt(), want.RotatedAt())
	sameTime(t, "RevokedAt", got.RevokedAt(), want.RevokedAt())
}
