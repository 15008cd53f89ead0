package repotest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/iotplatform/enduser-auth/application"
	"github.com/iotplatform/enduser-auth/domain"
)

func (s suite) users(t *testing.T) {
	s.run(t, "FirstLoginRegistersSecondFinds", func(f *fixture) {
		d := f.userDomain("C.DM.10271.5")
		id := f.identity("wx-app-1", "o-alice", "")
		u, created := f.login(d.ID(), id, "uid-alice", at(0))
		if !created {
			f.t.Error("first login: created = false")
		}
		wantUser(f.t, "first login", u, "uid-alice", d.ID(), at(0), at(0))

		again, created := f.login(d.ID(), id, "uid-unused", at(time.Hour))
		if created {
			f.t.Error("second login: created = true")
		}
		wantUser(f.t, "second login", again, "uid-alice", d.ID(), at(0), at(time.Hour))

		stored, w, err := f.Users.UserWithWeChat(f.ctx, "uid-alice", "wx-app-1")
		noErr(f.t, "UserWithWeChat", err)
		wantUser(f.t, "UserWithWeChat", stored, "uid-alice", d.ID(), at(0), at(time.Hour))
		wantBinding(f.t, w, "wx-app-1", "o-alice", "")
	})
	s.run(t, "LogInStartsTheSessionOfTheUserFound", func(f *fixture) {
		d := f.userDomain("C.DM.10271.5")
		logIn := func(id domain.WeChatIdentity, candidateUID string, now time.Time) (domain.EndUser, bool) {
			f.t.Helper()
			sess := domain.NewSession(candidateUID, d.ID(), d.Name(), id.AppID(), now, time.Hour, 24*time.Hour)
			r, err := f.Users.RecordLogin(f.ctx, application.LoginRecord{UserDomainID: d.ID(), Identity: id,
				Candidate: f.candidate(candidateUID, d.ID(), now), Session: sess, At: now})
			noErr(f.t, "RecordLogin", err)
			u, stored := r.User, r.Session
			if stored.ID() != sess.ID() || stored.UserID() != u.ID() {
				f.t.Errorf("returned session %s of %s, want %s of %s", stored.ID(), stored.UserID(), sess.ID(), u.ID())
			}
			loaded := f.load(sess.ID())
			if loaded.UserID() != u.ID() || loaded.AppID() != id.AppID() || loaded.Counter() != 1 ||
				string(loaded.RefreshKey()) != string(sess.RefreshKey()) || loaded.RefreshToken() != sess.ForUser(u.ID()).RefreshToken() {
				f.t.Errorf("stored session: user %s app %s counter %d, want user %s app %s counter 1 and the same key",
					loaded.UserID(), loaded.AppID(), loaded.Counter(), u.ID(), id.AppID())
			}
			sameTime(f.t, "session expiry", loaded.ExpiresAt(), now.Add(24*time.Hour))
			return u, r.Outcome.Created()
		}
		u, created := logIn(f.identity("wx-app-1", "o-alice", "u-alice"), "uid-alice", at(0))
		if !created || u.ID() != "uid-alice" {
			f.t.Fatalf("first login: %s created=%t", u.ID(), created)
		}
		u, created = logIn(f.identity("wx-app-1", "o-alice", "u-alice"), "uid-unused", at(time.Hour))
		if created || u.ID() != "uid-alice" {
			f.t.Errorf("returning login: %s created=%t, want uid-alice", u.ID(), created)
		}
		wantUser(f.t, "returning login", u, "uid-alice", d.ID(), at(0), at(time.Hour))
		u, created = logIn(f.identity("wx-app-2", "o2-alice", "u-alice"), "uid-unused-2", at(2*time.Hour))
		if created || u.ID() != "uid-alice" {
			f.t.Errorf("login through another appId with the same unionid: %s created=%t, want uid-alice", u.ID(), created)
		}
		u, created = logIn(f.identity("wx-app-3", "o3-alice", ""), "uid-alice-3", at(3*time.Hour))
		if !created || u.ID() != "uid-alice-3" {
			f.t.Errorf("login of a new openid without unionid: %s created=%t, want uid-alice-3 registered", u.ID(), created)
		}
		u, created = logIn(f.identity("wx-app-3", "o3-alice", "u-alice-3"), "uid-unused-3", at(4*time.Hour))
		if created || u.ID() != "uid-alice-3" {
			f.t.Errorf("login attaching a unionid: %s created=%t, want uid-alice-3", u.ID(), created)
		}
	})
	s.run(t, "ConcurrentLogInsMakeOneUserAndEverySession", func(f *fixture) {
		d := f.userDomain("C.DM.10271.5")
		id := f.identity("wx-app-1", "o-carol", "")
		const n = 20
		var wg sync.WaitGroup
		var mu sync.Mutex
		uids := map[string]bool{}
		var sessions []domain.Session
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				uid := fmt.Sprintf("uid-carol-%d", i)
				sess := domain.NewSession(uid, d.ID(), d.Name(), id.AppID(), at(0), time.Hour, 24*time.Hour)
				r, err := f.Users.RecordLogin(f.ctx, application.LoginRecord{UserDomainID: d.ID(), Identity: id,
					Candidate: f.candidate(uid, d.ID(), at(0)), Session: sess, At: at(0)})
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					f.t.Errorf("RecordLogin %d: %v", i, err)
					return
				}
				uids[r.User.ID()] = true
				sessions = append(sessions, r.Session)
			}(i)
		}
		wg.Wait()
		if len(uids) != 1 || len(sessions) != n {
			f.t.Fatalf("%d concurrent logins: %d users, %d sessions; want 1 and %d", n, len(uids), len(sessions), n)
		}
		for _, s := range sessions {
			if !uids[f.load(s.ID()).UserID()] {
				f.t.Errorf("session %s is not the one user's", s.ID())
			}
		}
	})
	s.run(t, "LastLoginNeverMovesBack", func(f *fixture) {
		d := f.userDomain("C.DM.10271.5")
		id := f.identity("wx-app-1", "o-alice", "")
		f.login(d.ID(), id, "uid-alice", at(0))
		f.login(d.ID(), id, "uid-unused", at(time.Hour))
		// An instance whose clock is behind records an earlier login time.
		u, _ := f.login(d.ID(), id, "uid-unused", at(time.Minute))
		wantUser(f.t, "login stamped by a slow clock", u, "uid-alice", d.ID(), at(0), at(time.Hour))
	})
	s.run(t, "DifferentPeopleAreDifferentUsers", func(f *fixture) {
		d := f.userDomain("C.DM.10271.5")
		other := f.userDomain("C.DM.10271.6")
		alice, _ := f.login(d.ID(), f.identity("wx-app-1", "o-alice", "u-alice"), "uid-alice", at(0))
		bob, created := f.login(d.ID(), f.identity("wx-app-1", "o-bob", "u-bob"), "uid-bob", at(0))
		if !created || bob.ID() == alice.ID() {
			f.t.Errorf("another openid found %s (created %t), want a new user", bob.ID(), created)
		}
		// The same openid and unionid in another user domain are another user.
		elsewhere, created := f.login(other.ID(), f.identity("wx-app-1", "o-alice", "u-alice"), "uid-alice-elsewhere", at(0))
		if !created || elsewhere.ID() == alice.ID() || elsewhere.UserDomainID() != other.ID() {
			f.t.Errorf("the same identity in another user domain found %s (created %t), want a new user", elsewhere.ID(), created)
		}
	})
	s.run(t, "UnionIDLinksAppIDs", func(f *fixture) {
		d := f.userDomain("C.DM.10271.5")
		alice, _ := f.login(d.ID(), f.identity("wx-app-1", "o1-alice", "u-alice"), "uid-alice", at(0))
		viaApp2, created := f.login(d.ID(), f.identity("wx-app-2", "o2-alice", "u-alice"), "uid-unused", at(time.Minute))
		if created || viaApp2.ID() != alice.ID() {
			f.t.Fatalf("login through app 2 with alice's unionid found %s (created %t), want %s", viaApp2.ID(), created, alice.ID())
		}
		// The openid under app 2 is now bound too: found even without unionid.
		again, created := f.login(d.ID(), f.identity("wx-app-2", "o2-alice", ""), "uid-unused-2", at(2*time.Minute))
		if created || again.ID() != alice.ID() {
			f.t.Errorf("login through app 2 without unionid found %s (created %t), want %s", again.ID(), created, alice.ID())
		}
		_, w, err := f.Users.UserWithWeChat(f.ctx, alice.ID(), "wx-app-2")
		noErr(f.t, "UserWithWeChat(app 2)", err)
		wantBinding(f.t, w, "wx-app-2", "o2-alice", "u-alice")
		_, w, err = f.Users.UserWithWeChat(f.ctx, alice.ID(), "wx-app-1")
		noErr(f.t, "UserWithWeChat(app 1)", err)
		wantBinding(f.t, w, "wx-app-1", "o1-alice", "u-alice")
	})
	s.run(t, "UnionIDSeenLaterIsAttached", func(f *fixture) {
		d := f.userDomain("C.DM.10271.5")
		alice, _ := f.login(d.ID(), f.identity("wx-app-1", "o1-alice", ""), "uid-alice", at(0))
		withUnion, created := f.login(d.ID(), f.identity("wx-app-1", "o1-alice", "u-alice"), "uid-unused", at(time.Minute))
		if created || withUnion.ID() != alice.ID() {
			f.t.Fatalf("login with a new unionid found %s (created %t), want %s", withUnion.ID(), created, alice.ID())
		}
		viaApp2, created := f.login(d.ID(), f.identity("wx-app-2", "o2-alice", "u-alice"), "uid-unused-2", at(2*time.Minute))
		if created || viaApp2.ID() != alice.ID() {
			f.t.Errorf("login through app 2 with the attached unionid found %s (created %t), want %s", viaApp2.ID(), created, alice.ID())
		}
		_, w, err := f.Users.UserWithWeChat(f.ctx, alice.ID(), "wx-app-1")
		noErr(f.t, "UserWithWeChat", err)
		wantBinding(f.t, w, "wx-app-1", "o1-alice", "u-alice")
	})
	s.run(t, "UnionIDHeldByAnotherUserIsNotAttached", func(f *fixture) {
		d := f.userDomain("C.DM.10271.5")
		alice, _ := f.login(d.ID(), f.identity("wx-app-1", "o1-alice", ""), "uid-alice", at(0))
		bob, _ := f.login(d.ID(), f.identity("wx-app-2", "o2-bob", "u-bob"), "uid-bob", at(0))
		// WeChat now reports bob's unionid for alice's openid: the openid
		// stays alice's, and the unionid stays bob's alone.
		for n := range 2 {
			got, created := f.login(d.ID(), f.identity("wx-app-1", "o1-alice", "u-bob"), "uid-unused", at(time.Duration(n+1)*time.Minute))
			if created || got.ID() != alice.ID() {
				f.t.Fatalf("login %d of alice's openid with bob's unionid found %s (created %t), want %s", n+1, got.ID(), created, alice.ID())
			}
		}
		_, w, err := f.Users.UserWithWeChat(f.ctx, alice.ID(), "wx-app-1")
		noErr(f.t, "UserWithWeChat(alice)", err)
		wantBinding(f.t, w, "wx-app-1", "o1-alice", "")
		_, w, err = f.Users.UserWithWeChat(f.ctx, bob.ID(), "wx-app-2")
		noErr(f.t, "UserWithWeChat(bob)", err)
		wantBinding(f.t, w, "wx-app-2", "o2-bob", "u-bob")
		// The unionid still leads to bob through another official account.
		viaApp3, created := f.login(d.ID(), f.identity("wx-app-3", "o3-bob", "u-bob"), "uid-unused-3", at(time.Hour))
		if created || viaApp3.ID() != bob.ID() {
			f.t.Errorf("login through app 3 with bob's unionid found %s (created %t), want %s", viaApp3.ID(), created, bob.ID())
		}
	})
	s.run(t, "LoginWithoutUnionIDKeepsIt", func(f *fixture) {
		d := f.userDomain("C.DM.10271.5")
		alice, _ := f.login(d.ID(), f.identity("wx-app-1", "o1-alice", "u-alice"), "uid-alice", at(0))
		f.login(d.ID(), f.identity("wx-app-1", "o1-alice", ""), "uid-unused", at(time.Minute))
		_, w, err := f.Users.UserWithWeChat(f.ctx, alice.ID(), "wx-app-1")
		noErr(f.t, "UserWithWeChat", err)
		wantBinding(f.t, w, "wx-app-1", "o1-alice", "u-alice")
	})
	s.run(t, "ConcurrentFirstLoginsYieldOneUser", func(f *fixture) {
		d := f.userDomain("C.DM.10271.5")
		id := f.identity("wx-app-1", "o-alice", "u-alice")
		uids, created := concurrentLogins(f, 20, func(int) (int64, domain.WeChatIdentity) { return d.ID(), id })
		wantOneUser(f.t, uids, created)
	})
	s.run(t, "ConcurrentFirstLoginsThroughTwoAppIDsYieldOneUser", func(f *fixture) {
		d := f.userDomain("C.DM.10271.5")
		ids := []domain.WeChatIdentity{f.identity("wx-app-1", "o1-alice", "u-alice"), f.identity("wx-app-2", "o2-alice", "u-alice")}
		uids, created := concurrentLogins(f, 20, func(i int) (int64, domain.WeChatIdentity) { return d.ID(), ids[i%2] })
		wantOneUser(f.t, uids, created)
	})
	s.identityCases(t)
	s.run(t, "ConcurrentJoinsByUnionIDBindOnce", func(f *fixture) {
		d := f.userDomain("C.DM.10271.5")
		alice, _ := f.login(d.ID(), f.identity("wx-app-1", "o1-alice", "u-alice"), "uid-alice", at(0))
		id := f.identity("wx-app-2", "o2-alice", "u-alice")
		uids, outcomes := concurrentRecords(f, 20, func(int) (int64, domain.WeChatIdentity) { return d.ID(), id })
		if len(uids) != 1 || !uids[alice.ID()] || outcomes[domain.LoginJoinedByUnionID] != 1 || outcomes[domain.LoginReturning] != 19 {
			f.t.Errorf("20 concurrent joins: users %v, outcomes %v; want only %s, 1 joined and 19 returning", uids, outcomes, alice.ID())
		}
		_, w, err := f.Users.UserWithWeChat(f.ctx, alice.ID(), "wx-app-2")
		noErr(f.t, "UserWithWeChat", err)
		wantBinding(f.t, w, "wx-app-2", "o2-alice", "u-alice")
	})
	s.run(t, "ConcurrentUnionIDAttachesAttachOnce", func(f *fixture) {
		d := f.userDomain("C.DM.10271.5")
		alice, _ := f.login(d.ID(), f.identity("wx-app-1", "o1-alice", ""), "uid-alice", at(0))
		id := f.identity("wx-app-1", "o1-alice", "u-alice")
		uids, outcomes := concurrentRecords(f, 20, func(int) (int64, domain.WeChatIdentity) { return d.ID(), id })
		if len(uids) != 1 || !uids[alice.ID()] || outcomes[domain.LoginUnionIDAttached] != 1 || outcomes[domain.LoginReturning] != 19 {
			f.t.Errorf("20 concurrent attaches: users %v, outcomes %v; want only %s, 1 attached and 19 returning", uids, outcomes, alice.ID())
		}
		_, w, err := f.Users.UserWithWeChat(f.ctx, alice.ID(), "wx-app-1")
		noErr(f.t, "UserWithWeChat", err)
		wantBinding(f.t, w, "wx-app-1", "o1-alice", "u-alice")
		// The unionid is alice's: another official account joins her.
		if u, _ := f.login(d.ID(), f.identity("wx-app-2", "o2-alice", "u-alice"), "uid-unused", at(time.Minute)); u.ID() != alice.ID() {
			f.t.Errorf("login through app 2 after the attach found %s, want %s", u.ID(), alice.ID())
		}
	})
	s.run(t, "ConcurrentFirstLoginsWithAndWithoutUnionIDYieldOneUser", func(f *fixture) {
		d := f.userDomain("C.DM.10271.5")
		ids := []domain.WeChatIdentity{f.identity("wx-app-1", "o1-alice", "u-alice"), f.identity("wx-app-1", "o1-alice", "")}
		uids, created := concurrentLogins(f, 20, func(i int) (int64, domain.WeChatIdentity) { return d.ID(), ids[i%2] })
		wantOneUser(f.t, uids, created)
		for uid := range uids {
			// Whoever won, the unionid names the one user (now or at the next
			// login that presents it) and never a second account.
			if u, created := f.login(d.ID(), f.identity("wx-app-2", "o2-alice", "u-alice"), "uid-unused", at(time.Minute)); created || u.ID() != uid {
				f.t.Errorf("login through app 2 found %s (created %t), want %s", u.ID(), created, uid)
			}
		}
	})
	s.run(t, "UserWithWeChat", func(f *fixture) {
		d := f.userDomain("C.DM.10271.5")
		alice, _ := f.login(d.ID(), f.identity("wx-app-1", "o1-alice", ""), "uid-alice", at(0))
		f.login(d.ID(), f.identity("wx-app-1", "o1-bob", ""), "uid-bob", at(0))
		u, w, err := f.Users.UserWithWeChat(f.ctx, alice.ID(), "wx-app-1")
		noErr(f.t, "UserWithWeChat", err)
		wantUser(f.t, "UserWithWeChat", u, "uid-alice", d.ID(), at(0), at(0))
		wantBinding(f.t, w, "wx-app-1", "o1-alice", "")

		u, w, err = f.Users.UserWithWeChat(f.ctx, alice.ID(), "wx-app-without-binding")
		noErr(f.t, "UserWithWeChat(appId without binding)", err)
		if u.ID() != alice.ID() {
			f.t.Errorf("UserWithWeChat(appId without binding) user = %s, want %s", u.ID(), alice.ID())
		}
		wantBinding(f.t, w, "", "", "")

		_, _, err = f.Users.UserWithWeChat(f.ctx, "uid-nobody", "wx-app-1")
		wantKind(f.t, "UserWithWeChat(unknown uid)", err, domain.KindUserNotFound)
	})
}

// concurrentLogins runs n first logins at once, login i with the identity
// who(i), and returns the uids found and how many reported created.
func concurrentLogins(f *fixture, n int, who func(i int) (int64, domain.WeChatIdentity)) (map[string]bool, int) {
	f.t.Helper()
	uids, outcomes := concurrentRecords(f, n, who)
	return uids, outcomes[domain.LoginRegistered]
}

// concurrentRecords runs n logins at once, login i with the identity who(i),
// and returns the uids found and how often each outcome was reported.
func concurrentRecords(f *fixture, n int, who func(i int) (int64, domain.WeChatIdentity)) (map[string]bool, map[domain.LoginOutcome]int) {
	f.t.Helper()
	var (
		mu       sync.Mutex
		uids     = map[string]bool{}
		outcomes = map[domain.LoginOutcome]int{}
		created  int
		wg       sync.WaitGroup
		start    = make(chan struct{})
	)
	for i := range n {
		domainID, id := who(i)
		c := f.candidate(fmt.Sprintf("uid-candidate-%d", i), domainID, at(0))
		wg.Go(func() {
			<-start
			r, err := f.Users.RecordLogin(f.ctx, application.LoginRecord{UserDomainID: domainID, Identity: id, Candidate: c,
				Session: domain.NewSession(c.ID(), domainID, "", id.AppID(), at(0), time.Hour, 24*time.Hour), At: at(0)})
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				f.t.Errorf("concurrent RecordLogin %d: %v", i, err)
				return
			}
			if r.Session.UserID() != r.User.ID() {
				f.t.Errorf("concurrent RecordLogin %d: session of %s for user %s", i, r.Session.UserID(), r.User.ID())
			}
			uids[r.User.ID()] = true
			outcomes[r.Outcome]++
			if r.Outcome.Created() {
				created++
			}
		})
	}
	close(start)
	wg.Wait()
	if created != outcomes[domain.LoginRegistered] {
		f.t.Errorf("created %d, registered %d", created, outcomes[domain.LoginRegistered])
	}
	return uids, outcomes
}

func wantOneUser(t *testing.T, uids map[string]bool, created int) {
	t.Helper()
	if len(uids) != 1 || created != 1 {
		t.Errorf("concurrent first logins of one person: %d users (%v), %d reported created; want 1 and 1", len(uids), uids, created)
	}
}

func wantUser(t *testing.T, what string, u domain.EndUser, uid string, userDomainID int64, registeredAt, lastLoginAt time.Time) {
	t.Helper()
	if u.ID() != uid || u.UserDomainID() != userDomainID || u.Status() != domain.UserNormal {
		t.Errorf("%s: user = {%s, domain %d, status %d}, want {%s, domain %d, status %d}",
			what, u.ID(), u.UserDomainID(), u.Status(), uid, userDomainID, domain.UserNormal)
	}
	sameTime(t, what+": RegisteredAt", u.RegisteredAt(), registeredAt)
	sameTime(t, what+": LastLoginAt", u.LastLoginAt(), lastLoginAt)
}

func wantBinding(t *testing.T, w domain.WeChatIdentity, appID, openID, unionID string) {
	t.Helper()
	if w.AppID() != appID || w.OpenID() != openID || w.UnionID() != unionID {
		t.Errorf("binding = {%q, %q, %q}, want {%q, %q, %q}", w.AppID(), w.OpenID(), w.UnionID(), appID, openID, unionID)
	}
}
