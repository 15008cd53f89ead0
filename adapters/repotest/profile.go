package repotest

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/iotplatform/enduser-auth/domain"
)

func (s suite) profiles(t *testing.T) {
	s.run(t, "UnsetProfileIsZero", func(f *fixture) {
		d := f.userDomain("C.DM.10271.5")
		f.login(d.ID(), f.identity("wx-app-1", "o-alice", ""), "uid-alice", at(0))
		p, err := f.Users.UserProfile(f.ctx, "uid-alice")
		noErr(f.t, "UserProfile", err)
		if p != (domain.Profile{}) {
			f.t.Errorf("profile of a new user = %+v, want zero", p)
		}
		if _, err := f.Users.UserProfile(f.ctx, "uid-nobody"); !domain.IsKind(err, domain.KindUserNotFound) {
			f.t.Errorf("UserProfile of nobody: %v, want user_not_found", err)
		}
		if err := f.Users.UpdateUserProfile(f.ctx, "uid-nobody", f.update(map[string]string{"nikeName": "x"})); !domain.IsKind(err, domain.KindUserNotFound) {
			f.t.Errorf("UpdateUserProfile of nobody: %v, want user_not_found", err)
		}
		if err := f.Users.UpdateUserProfile(f.ctx, "uid-nobody", domain.ProfileUpdate{}); !domain.IsKind(err, domain.KindUserNotFound) {
			f.t.Errorf("empty UpdateUserProfile of nobody: %v, want user_not_found", err)
		}
		noErr(f.t, "empty UpdateUserProfile", f.Users.UpdateUserProfile(f.ctx, "uid-alice", domain.ProfileUpdate{}))
	})
	s.run(t, "PartialUpdatesAndClearing", func(f *fixture) {
		d := f.userDomain("C.DM.10271.5")
		f.login(d.ID(), f.identity("wx-app-1", "o-alice", ""), "uid-alice", at(0))
		f.login(d.ID(), f.identity("wx-app-1", "o-bob", ""), "uid-bob", at(0))
		all := map[string]string{"nikeName": "阿丽丝🙂", "headImage": "https://cdn.example.com/a.png", "sex": "0",
			"address": "西湖区 1 号", "province": "浙江", "city": "杭州", "signature": "你好", "remark": "r",
			"lang": "0", "nationality": "86", "timezone": "100000"}
		noErr(f.t, "UpdateUserProfile all", f.Users.UpdateUserProfile(f.ctx, "uid-alice", f.update(all)))
		want := f.update(all).Apply(domain.Profile{})
		f.wantProfile("uid-alice", want)
		f.wantProfile("uid-bob", domain.Profile{}) // another user is untouched

		change := map[string]string{"city": "", "sex": "", "remark": strings.Repeat("长", 500), "lang": "7"}
		noErr(f.t, "UpdateUserProfile some", f.Users.UpdateUserProfile(f.ctx, "uid-alice", f.update(change)))
		f.wantProfile("uid-alice", f.update(change).Apply(want))
	})
	s.run(t, "ConcurrentUpdatesOfDifferentFieldsAllLand", func(f *fixture) {
		d := f.userDomain("C.DM.10271.5")
		f.login(d.ID(), f.identity("wx-app-1", "o-alice", ""), "uid-alice", at(0))
		fields := []string{"nikeName", "address", "province", "city", "signature", "remark"}
		const rounds = 5
		var wg sync.WaitGroup
		start := make(chan struct{})
		errs := make(chan error, len(fields)*rounds+4)
		for _, name := range fields {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				for r := range rounds {
					errs <- f.Users.UpdateUserProfile(f.ctx, "uid-alice", f.update(map[string]string{name: fmt.Sprintf("%s-%d", name, r)}))
				}
			}()
		}
		for _, name := range []string{"lang", "nationality", "timezone", "sex"} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				errs <- f.Users.UpdateUserProfile(f.ctx, "uid-alice", f.update(map[string]string{name: "1"}))
			}()
		}
		close(start)
		wg.Wait()
		close(errs)
		for err := range errs {
			noErr(f.t, "concurrent UpdateUserProfile", err)
		}
		want := map[string]string{"lang": "1", "nationality": "1", "timezone": "1", "sex": "1"}
		for _, name := range fields {
			want[name] = fmt.Sprintf("%s-%d", name, rounds-1)
		}
		f.wantProfile("uid-alice", f.update(want).Apply(domain.Profile{}))
	})
}

func (s suite) logouts(t *testing.T) {
	s.run(t, "LogoutSessionRevokesOnce", func(f *fixture) {
		sess := f.session(time.Hour, 24*time.Hour)
		ok, err := f.Sessions.LogoutSession(f.ctx, sess.ID(), at(time.Minute), "fcm-token-1")
		noErr(f.t, "LogoutSession", err)
		if !ok {
			f.t.Error("LogoutSession of a live session = false")
		}
		got := f.load(sess.ID())
		if !got.Revoked() {
			f.t.Error("session not revoked by LogoutSession")
		}
		sameTime(f.t, "revoked at", got.RevokedAt(), at(time.Minute))
		f.wantRevoked(at(0), map[domain.SessionID]time.Time{sess.ID(): at(time.Minute)})
		ok, err = f.Sessions.LogoutSession(f.ctx, sess.ID(), at(time.Hour), "")
		noErr(f.t, "second LogoutSession", err)
		if ok {
			f.t.Error("second LogoutSession = true")
		}
		sameTime(f.t, "revoked at after a second logout", f.load(sess.ID()).RevokedAt(), at(time.Minute))
		ok, err = f.Sessions.LogoutSession(f.ctx, domain.NewSessionID(), at(time.Hour), "x")
		noErr(f.t, "LogoutSession of an unknown session", err)
		if ok {
			f.t.Error("LogoutSession of an unknown session = true")
		}
		// A refresh after the logout is refused.
		f.spend(sess.ID(), sess.Counter(), at(2*time.Minute), at(time.Hour), false)
	})
}

func (f *fixture) update(sent map[string]string) domain.ProfileUpdate {
	f.t.Helper()
	u, err := domain.ParseProfileUpdate(profileText(f.t, sent))
	noErr(f.t, "ParseProfileUpdate", err)
	return u
}

func (f *fixture) wantProfile(uid string, want domain.Profile) {
	f.t.Helper()
	got, err := f.Users.UserProfile(f.ctx, uid)
	noErr(f.t, "UserProfile", err)
	str := func(p domain.Profile) string {
		n := func(v *int) string {
			if v == nil {
				return "nil"
			}
			return fmt.Sprint(*v)
		}
		return fmt.Sprintf("%q %q %s %q %q %q %q %q %s %s %s", p.NikeName, p.HeadImage, n(p.Sex), p.Address, p.Province,
			p.City, p.Signature, p.Remark, n(p.Lang), n(p.Nationality), n(p.Timezone))
	}
	if str(got) != str(want) {
		f.t.Errorf("profile of %s:\n got %s\nwant %s", uid, str(got), str(want))
	}
}

// profileText is a profile change written with the fields' names
// (ProfileField.String), as the tests spell them.
func profileText(t testing.TB, byName map[string]string) domain.ProfileText {
	t.Helper()
	sent := domain.ProfileText{}
	for name, v := range byName {
		found := false
		for _, f := range domain.ProfileFields() {
			if f.String() == name {
				sent[f], found = v, true
			}
		}
		if !found {
			t.Fatalf("no profile field %q", name)
		}
	}
	return sent
}
