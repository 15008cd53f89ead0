package repotest

import (
	"sync"
	"testing"
	"time"

	"github.com/iotplatform/enduser-auth/application"
	"github.com/iotplatform/enduser-auth/domain"
)

// scopes is the contract of the scope revocations (a user, a user domain)
// and of disabled users.
func (s suite) scopes(t *testing.T) {
	s.run(t, "UserScopeEndsEveryLiveSessionOfTheUserOnly", func(f *fixture) {
		a1 := f.session(time.Hour, 24*time.Hour)
		a2 := f.session(time.Hour, 24*time.Hour) // the same person again: a second session
		a3 := f.session(time.Hour, 24*time.Hour)
		f.revoke(a3.ID(), at(time.Minute), true) // logged out before
		bob := f.record(a1.UserDomainID(), f.identity("wx-app-1", "o-bob", ""), "uid-bob", at(0)).Session
		n, ud, err := f.Sessions.RevokeScope(f.ctx, application.ScopeUser, a1.UserID(), at(2*time.Minute))
		noErr(f.t, "RevokeScope", err)
		if n != 2 || ud != "C.DM.10271.5" {
			f.t.Fatalf("RevokeScope = %d, %q; want 2, C.DM.10271.5", n, ud)
		}
		for _, id := range []domain.SessionID{a1.ID(), a2.ID()} {
			got := f.load(id)
			if !got.Revoked() {
				f.t.Fatalf("session %s not revoked", id)
			}
			sameTime(f.t, "RevokedAt", got.RevokedAt(), at(2*time.Minute))
			// Never spent, returned revoked.
			if sp := f.spend(id, 1, at(3*time.Minute), at(time.Hour), false); !sp.Revoked() {
				f.t.Error("SpendRefreshToken of a covered session: not shown revoked")
			}
		}
		sameTime(f.t, "RevokedAt of the session logged out before", f.load(a3.ID()).RevokedAt(), at(time.Minute))
		if f.load(bob.ID()).Revoked() {
			f.t.Error("another user's session was revoked")
		}
		f.spend(bob.ID(), 1, at(3*time.Minute), at(time.Hour), true)
		again, _, err := f.Sessions.RevokeScope(f.ctx, application.ScopeUser, a1.UserID(), at(3*time.Minute))
		noErr(f.t, "RevokeScope again", err)
		none, nud, err := f.Sessions.RevokeScope(f.ctx, application.ScopeUser, "uid-nobody", at(3*time.Minute))
		noErr(f.t, "RevokeScope of an unknown user", err)
		if again != 0 || none != 0 || nud != "" {
			f.t.Errorf("nothing left to revoke: got %d and %d %q", again, none, nud)
		}
		// A session started after the revocation lives; revoked_before
		// never moves back.
		newer := domain.NewSession(a1.UserID(), a1.UserDomainID(), a1.UserDomain(), a1.AppID(), at(5*time.Minute), time.Hour, 24*time.Hour)
		r, err := f.Users.RecordLogin(f.ctx, application.LoginRecord{UserDomainID: a1.UserDomainID(), Identity: f.identity("wx-app-1", "o-alice", ""),
			Candidate: f.candidate("uid-unused2", a1.UserDomainID(), at(5*time.Minute)), Session: newer, At: at(5 * time.Minute)})
		noErr(f.t, "RecordLogin after the revocation", err)
		_, _, err = f.Sessions.RevokeScope(f.ctx, application.ScopeUser, a1.UserID(), at(time.Minute))
		noErr(f.t, "RevokeScope back in time", err)
		if f.load(r.Session.ID()).Revoked() {
			f.t.Error("a session started after the revocation is revoked")
		}
		f.spend(r.Session.ID(), 1, at(6*time.Minute), at(time.Hour), true)
	})
	s.run(t, "UserDomainScopeEndsTheDomainsSessionsOnly", func(f *fixture) {
		a := f.session(time.Hour, 24*time.Hour)
		other := f.userDomain("C.DM.10271.6")
		carol := f.record(other.ID(), f.identity("wx-app-1", "o-carol", ""), "uid-carol", at(0)).Session
		n, _, err := f.Sessions.RevokeScope(f.ctx, application.ScopeUserDomain, "C.DM.10271.5", at(time.Minute))
		noErr(f.t, "RevokeScope(user domain)", err)
		if n != 1 {
			f.t.Errorf("RevokeScope(user domain) ended %d, want 1", n)
		}
		if !f.load(a.ID()).Revoked() || f.load(carol.ID()).Revoked() {
			f.t.Error("the user domain's session must be revoked, the other domain's not")
		}
		f.spend(a.ID(), 1, at(2*time.Minute), at(time.Hour), false)
		f.spend(carol.ID(), 1, at(2*time.Minute), at(time.Hour), true)
		list, err := f.Sessions.ScopeRevocationsSince(f.ctx, at(time.Minute))
		noErr(f.t, "ScopeRevocationsSince", err)
		if len(list) != 1 || list[0].Scope != application.ScopeUserDomain || list[0].Subject != "C.DM.10271.5" || list[0].Disabled {
			f.t.Fatalf("ScopeRevocationsSince = %+v", list)
		}
		sameTime(f.t, "RevokedBefore", list[0].RevokedBefore, at(time.Minute))
		if later, err := f.Sessions.ScopeRevocationsSince(f.ctx, at(time.Minute+time.Second)); err != nil || len(later) != 0 {
			f.t.Errorf("ScopeRevocationsSince(later) = %v, %v; want none", later, err)
		}
	})
	s.run(t, "ConcurrentRefreshesAndAUserRevocation", func(f *fixture) {
		// Refreshes of several sessions race one user-scope revocation:
		// whatever the order, none is spent after it, and every session
		// ends up covered.
		var ids []domain.SessionID
		for range 6 {
			ids = append(ids, f.session(time.Hour, 24*time.Hour).ID())
		}
		var wg sync.WaitGroup
		errs := make(chan error, len(ids)+1)
		for _, id := range ids {
			wg.Go(func() {
				if _, _, err := f.Sessions.SpendRefreshToken(f.ctx, id, 1, at(time.Minute), at(time.Hour)); err != nil {
					errs <- err
				}
			})
		}
		wg.Go(func() {
			if _, _, err := f.Sessions.RevokeScope(f.ctx, application.ScopeUser, "uid-alice", at(time.Minute)); err != nil {
				errs <- err
			}
		})
		wg.Wait()
		close(errs)
		for err := range errs {
			f.t.Errorf("concurrent spend or revocation: %v", err)
		}
		for _, id := range ids {
			got := f.load(id)
			if !got.Revoked() {
				f.t.Errorf("session %s not covered by the revocation", id)
			}
			if _, spent, err := f.Sessions.SpendRefreshToken(f.ctx, id, got.Counter(), at(2*time.Minute), at(time.Hour)); err != nil || spent {
				f.t.Errorf("a spend after the revocation: spent %t, %v", spent, err)
			}
		}
	})
	s.run(t, "DisabledUserIsRefusedEverywhereUntilEnabled", func(f *fixture) {
		a := f.session(time.Hour, 24*time.Hour)
		ud, err := f.Users.SetUserDisabled(f.ctx, a.UserID(), true, at(time.Minute))
		noErr(f.t, "SetUserDisabled", err)
		if ud != "C.DM.10271.5" {
			f.t.Errorf("SetUserDisabled: user domain %q", ud)
		}
		_, err = f.Sessions.SessionByID(f.ctx, a.ID())
		wantKind(f.t, "SessionByID of a disabled user", err, domain.KindUserDisabled)
		_, _, err = f.Sessions.SpendRefreshToken(f.ctx, a.ID(), 1, at(2*time.Minute), at(time.Hour))
		wantKind(f.t, "SpendRefreshToken of a disabled user", err, domain.KindUserDisabled)
		sess := domain.NewSession("uid-x", a.UserDomainID(), a.UserDomain(), "wx-app-1", at(2*time.Minute), time.Hour, 24*time.Hour)
		_, err = f.Users.RecordLogin(f.ctx, application.LoginRecord{UserDomainID: a.UserDomainID(), Identity: f.identity("wx-app-1", "o-alice", ""),
			Candidate: f.candidate("uid-x", a.UserDomainID(), at(2*time.Minute)), Session: sess, At: at(2 * time.Minute)})
		wantKind(f.t, "RecordLogin of a disabled user", err, domain.KindUserDisabled)
		u, _, err := f.Users.UserWithWeChat(f.ctx, a.UserID(), "wx-app-1")
		noErr(f.t, "UserWithWeChat", err)
		if u.Status() != domain.UserDisabled {
			f.t.Errorf("status of a disabled user = %d", u.Status())
		}
		sameTime(f.t, "last login untouched by a refused login", u.LastLoginAt(), at(0))
		list, err := f.Sessions.ScopeRevocationsSince(f.ctx, at(0))
		noErr(f.t, "ScopeRevocationsSince", err)
		if len(list) != 1 || !list[0].Disabled || list[0].Subject != a.UserID() {
			f.t.Fatalf("ScopeRevocationsSince = %+v, want the disabled user", list)
		}
		if n, err := f.Sessions.PurgeScopeRevocations(f.ctx, at(1000*time.Hour), 100); err != nil || n != 0 {
			f.t.Errorf("PurgeScopeRevocations of a disabled user's row = %d, %v; want it kept", n, err)
		}

		_, err = f.Users.SetUserDisabled(f.ctx, a.UserID(), false, at(3*time.Minute))
		noErr(f.t, "SetUserDisabled(enable)", err)
		if got := f.load(a.ID()); !got.Revoked() {
			f.t.Error("enabling brought an ended session back")
		}
		r, err := f.Users.RecordLogin(f.ctx, application.LoginRecord{UserDomainID: a.UserDomainID(), Identity: f.identity("wx-app-1", "o-alice", ""),
			Candidate: f.candidate("uid-x", a.UserDomainID(), at(4*time.Minute)), Session: domain.NewSession("uid-x", a.UserDomainID(),
				a.UserDomain(), "wx-app-1", at(4*time.Minute), time.Hour, 24*time.Hour), At: at(4 * time.Minute)})
		noErr(f.t, "RecordLogin after enable", err)
		if r.User.ID() != a.UserID() || r.User.Status() != domain.UserNormal {
			f.t.Errorf("login after enable: uid %s status %d", r.User.ID(), r.User.Status())
		}
		f.spend(r.Session.ID(), 1, at(5*time.Minute), at(time.Hour), true)
		_, err = f.Users.SetUserDisabled(f.ctx, "uid-nobody", true, at(time.Minute))
		wantKind(f.t, "SetUserDisabled(unknown)", err, domain.KindUserNotFound)
		if n, err := f.Sessions.PurgeScopeRevocations(f.ctx, at(2*time.Minute), 100); err != nil || n != 0 {
			f.t.Errorf("PurgeScopeRevocations before the cutoff = %d, %v; want 0", n, err)
		}
		if n, err := f.Sessions.PurgeScopeRevocations(f.ctx, at(1000*time.Hour), 100); err != nil || n != 1 {
			f.t.Errorf("PurgeScopeRevocations of an enabled user's old row = %d, %v; want 1", n, err)
		}
	})
}
