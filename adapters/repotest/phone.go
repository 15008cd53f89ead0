package repotest

import (
	"sync"
	"testing"
	"time"

	"github.com/iotplatform/enduser-auth/domain"
)

func (s suite) phones(t *testing.T) {
	cn := func(n string) domain.PhoneNumber { return domain.PhoneNumber{CountryCode: "86", Number: n} }
	s.run(t, "BindReplaceUnbind", func(f *fixture) {
		d := f.userDomain("C.DM.10271.5")
		f.login(d.ID(), f.identity("wx-app-1", "o-alice", ""), "uid-alice", at(0))
		p, err := f.Users.UserPhone(f.ctx, "uid-alice")
		noErr(f.t, "UserPhone", err)
		if !p.IsZero() {
			f.t.Fatalf("phone of a new user = %+v, want none", p)
		}
		_, err = f.Users.BindPhone(f.ctx, "uid-nobody", cn("13800138000"))
		wantKind(f.t, "BindPhone of nobody", err, domain.KindUserNotFound)
		_, err = f.Users.UserPhone(f.ctx, "uid-nobody")
		wantKind(f.t, "UserPhone of nobody", err, domain.KindUserNotFound)
		_, _, err = f.Users.UnbindPhone(f.ctx, "uid-nobody")
		wantKind(f.t, "UnbindPhone of nobody", err, domain.KindUserNotFound)

		changed, err := f.Users.BindPhone(f.ctx, "uid-alice", cn("13800138000"))
		noErr(f.t, "BindPhone", err)
		if !changed {
			f.t.Error("the first bind reports no change")
		}
		changed, err = f.Users.BindPhone(f.ctx, "uid-alice", cn("13800138000"))
		noErr(f.t, "BindPhone again", err)
		if changed {
			f.t.Error("binding the same number again reports a change")
		}
		f.wantPhone("uid-alice", cn("13800138000"))
		other := domain.PhoneNumber{CountryCode: "852", Number: "61234567"}
		changed, err = f.Users.BindPhone(f.ctx, "uid-alice", other)
		noErr(f.t, "BindPhone of a new number", err)
		if !changed {
			f.t.Error("a new number reports no change")
		}
		f.wantPhone("uid-alice", other)
		name, removed, err := f.Users.UnbindPhone(f.ctx, "uid-alice")
		noErr(f.t, "UnbindPhone", err)
		if !removed || name != "C.DM.10271.5" {
			f.t.Errorf("UnbindPhone = %q, %v; want the user domain and true", name, removed)
		}
		_, removed, err = f.Users.UnbindPhone(f.ctx, "uid-alice")
		noErr(f.t, "UnbindPhone again", err)
		if removed {
			f.t.Error("a second unbind reports a removal")
		}
		f.wantPhone("uid-alice", domain.PhoneNumber{})
	})
	s.run(t, "OneNumberOneUserPerUserDomain", func(f *fixture) {
		d := f.userDomain("C.DM.10271.5")
		d2 := f.userDomain("C.DM.10271.6")
		f.login(d.ID(), f.identity("wx-app-1", "o-alice", ""), "uid-alice", at(0))
		f.login(d.ID(), f.identity("wx-app-1", "o-bob", ""), "uid-bob", at(0))
		f.login(d2.ID(), f.identity("wx-app-2", "o-carol", ""), "uid-carol", at(0))
		_, err := f.Users.BindPhone(f.ctx, "uid-alice", cn("13800138000"))
		noErr(f.t, "BindPhone alice", err)
		_, err = f.Users.BindPhone(f.ctx, "uid-bob", cn("13900139000"))
		noErr(f.t, "BindPhone bob", err)
		_, err = f.Users.BindPhone(f.ctx, "uid-bob", cn("13800138000"))
		wantKind(f.t, "bob binding alice's number", err, domain.KindPhoneTaken)
		f.wantPhone("uid-bob", cn("13900139000")) // nothing changed
		// The same digits under another country code are another number.
		_, err = f.Users.BindPhone(f.ctx, "uid-bob", domain.PhoneNumber{CountryCode: "1", Number: "13800138000"})
		noErr(f.t, "another country code", err)
		// Another user domain has its own numbers.
		_, err = f.Users.BindPhone(f.ctx, "uid-carol", cn("13800138000"))
		noErr(f.t, "the number in another user domain", err)
		// Erased, alice's number is free.
		_, err = f.Users.RequestDeletion(f.ctx, "uid-alice", at(time.Hour))
		noErr(f.t, "RequestDeletion", err)
		_, erased, err := f.Users.EraseUser(f.ctx, "uid-alice", at(2*time.Hour))
		noErr(f.t, "EraseUser", err)
		if !erased {
			f.t.Fatal("alice not erased")
		}
		_, err = f.Users.BindPhone(f.ctx, "uid-bob", cn("13800138000"))
		noErr(f.t, "bob binding the erased user's number", err)
		f.wantPhone("uid-bob", cn("13800138000"))
	})
	s.run(t, "ConcurrentBindsOfOneNumber", func(f *fixture) {
		d := f.userDomain("C.DM.10271.5")
		const n = 8
		for i := range n {
			f.login(d.ID(), f.identity("wx-app-1", "o-"+string(rune('a'+i)), ""), "uid-"+string(rune('a'+i)), at(0))
		}
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = f.Users.BindPhone(f.ctx, "uid-"+string(rune('a'+i)), cn("13800138000"))
			}()
		}
		wg.Wait()
		won := 0
		for i, err := range errs {
			switch {
			case err == nil:
				won++
			case !domain.IsKind(err, domain.KindPhoneTaken):
				f.t.Errorf("bind %d: %v, want success or phone_taken", i, err)
			}
		}
		if won != 1 {
			f.t.Fatalf("%d of %d concurrent binds of one number won, want 1", won, n)
		}
	})
	s.run(t, "ForcedRefreshClaims", func(f *fixture) {
		if f.ForcedRefreshes == nil {
			f.t.Fatal("Repos.ForcedRefreshes is nil")
		}
		claim := func(app string, now time.Time, want bool) {
			f.t.Helper()
			got, err := f.ForcedRefreshes.ClaimForcedRefresh(f.ctx, app, now, 10*time.Minute)
			noErr(f.t, "ClaimForcedRefresh", err)
			if got != want {
				f.t.Errorf("ClaimForcedRefresh(%s, %v) = %v, want %v", app, now, got, want)
			}
		}
		claim("wx-app-1", at(0), true)
		claim("wx-app-1", at(time.Minute), false)
		claim("wx-app-2", at(time.Minute), true)
		claim("wx-app-1", at(10*time.Minute-time.Microsecond), false)
		claim("wx-app-1", at(10*time.Minute), true)
		claim("wx-app-1", at(15*time.Minute), false)
		// Concurrent claims: one wins.
		var wg sync.WaitGroup
		var mu sync.Mutex
		won := 0
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ok, err := f.ForcedRefreshes.ClaimForcedRefresh(f.ctx, "wx-app-3", at(0), 10*time.Minute)
				if err != nil {
					f.t.Error(err)
				}
				if ok {
					mu.Lock()
					won++
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if won != 1 {
			f.t.Fatalf("%d concurrent claims won, want 1", won)
		}
	})
}

func (f *fixture) wantPhone(uid string, want domain.PhoneNumber) {
	f.t.Helper()
	got, err := f.Users.UserPhone(f.ctx, uid)
	noErr(f.t, "UserPhone", err)
	if got != want {
		f.t.Errorf("phone of %s = %+v, want %+v", uid, got, want)
	}
}
