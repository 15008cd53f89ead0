package repotest

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/iotplatform/enduser-auth/application"
	"github.com/iotplatform/enduser-auth/domain"
)

// weChatApps is the contract of the WeChat apps of either kind (official
// accounts and mini programs) and of the user's bindings under them.
func (s suite) weChatApps(t *testing.T) {
	s.run(t, "MiniProgramRoundTripsWithItsKind", func(f *fixture) {
		d := f.userDomain("C.DM.10271.5")
		putApp(f, domain.AppKindMiniProgram, d.ID(), "wx-mini-1", "mini-secret-1")
		putAccount(f, d.ID(), "wx-app-1", "app-secret-1")
		for appID, want := range map[string]domain.AppKind{"wx-mini-1": domain.AppKindMiniProgram, "wx-app-1": domain.AppKindOfficialAccount} {
			a, err := f.Apps.WeChatApp(f.ctx, d.ID(), appID)
			noErr(f.t, "WeChatApp", err)
			if a.Kind() != want || a.AppID() != appID || a.UserDomainID() != d.ID() {
				f.t.Errorf("WeChatApp(%s) = {%s %s %d}, want kind %s", appID, a.Kind(), a.AppID(), a.UserDomainID(), want)
			}
		}
		a, err := f.Apps.WeChatApp(f.ctx, d.ID(), "wx-mini-1")
		noErr(f.t, "WeChatApp", err)
		if a.AppSecret() != "mini-secret-1" {
			f.t.Errorf("mini program secret %q", a.AppSecret())
		}
		putApp(f, domain.AppKindMiniProgram, d.ID(), "wx-mini-1", "mini-secret-2")
		a, err = f.Apps.WeChatApp(f.ctx, d.ID(), "wx-mini-1")
		noErr(f.t, "WeChatApp", err)
		if a.AppSecret() != "mini-secret-2" || a.Kind() != domain.AppKindMiniProgram {
			f.t.Errorf("after a second put: %s %q", a.Kind(), a.AppSecret())
		}
	})
	s.run(t, "UnknownAppIsNotFound", func(f *fixture) {
		d := f.userDomain("C.DM.10271.5")
		other := f.userDomain("C.DM.10271.6")
		putApp(f, domain.AppKindMiniProgram, d.ID(), "wx-mini-1", "mini-secret-1")
		_, err := f.Apps.WeChatApp(f.ctx, d.ID(), "wx-mini-2")
		wantKind(f.t, "WeChatApp(unknown)", err, domain.KindNotFound)
		_, err = f.Apps.WeChatApp(f.ctx, other.ID(), "wx-mini-1")
		wantKind(f.t, "WeChatApp(another user domain's)", err, domain.KindNotFound)
	})
	s.run(t, "OfficialAccountIsNotAMiniProgram", func(f *fixture) {
		d := f.userDomain("C.DM.10271.5")
		putApp(f, domain.AppKindMiniProgram, d.ID(), "wx-mini-1", "mini-secret-1")
		_, err := application.AppOfKind(f.ctx, f.Apps, d.ID(), "wx-mini-1", domain.AppKindOfficialAccount)
		wantKind(f.t, "OfficialAccount(a mini program's appId)", err, domain.KindOfficialAccountMissing)
	})
	s.run(t, "AnAppIDIsOneKindOnly", func(f *fixture) {
		d := f.userDomain("C.DM.10271.5")
		other := f.userDomain("C.DM.10271.6")
		putAccount(f, d.ID(), "wx-app-1", "app-secret-1")
		putApp(f, domain.AppKindMiniProgram, d.ID(), "wx-mini-1", "mini-secret-1")
		for _, tc := range []struct {
			kind   domain.AppKind
			ud     int64
			appID  string
			within string
		}{
			{domain.AppKindMiniProgram, d.ID(), "wx-app-1", "official account"},
			{domain.AppKindMiniProgram, other.ID(), "wx-app-1", "official account"},
			{domain.AppKindOfficialAccount, d.ID(), "wx-mini-1", "mini program"},
			{domain.AppKindOfficialAccount, other.ID(), "wx-mini-1", "mini program"},
		} {
			a, err := domain.NewWeChatApp(tc.kind, tc.ud, tc.appID, "s")
			noErr(f.t, "NewWeChatApp", err)
			err = f.Apps.PutWeChatApp(f.ctx, a)
			wantKind(f.t, "PutWeChatApp("+string(tc.kind)+" "+tc.appID+")", err, domain.KindInvalid)
			if err != nil && !strings.Contains(err.Error(), tc.within) {
				f.t.Errorf("the refusal %q does not say the appId is a %s's", err, tc.within)
			}
		}
		// Nothing changed.
		for appID, want := range map[string]domain.AppKind{"wx-app-1": domain.AppKindOfficialAccount, "wx-mini-1": domain.AppKindMiniProgram} {
			a, err := f.Apps.WeChatApp(f.ctx, d.ID(), appID)
			noErr(f.t, "WeChatApp", err)
			if a.Kind() != want || a.AppSecret() == "s" {
				f.t.Errorf("a refused put changed %s: %s %q", appID, a.Kind(), a.AppSecret())
			}
			if _, err := f.Apps.WeChatApp(f.ctx, other.ID(), appID); !domain.IsKind(err, domain.KindNotFound) {
				f.t.Errorf("a refused put stored %s in the other user domain: %v", appID, err)
			}
		}
	})
	s.run(t, "ConcurrentPutsOfBothKindsLeaveOne", func(f *fixture) {
		d := f.userDomain("C.DM.10271.5")
		other := f.userDomain("C.DM.10271.6")
		var wg sync.WaitGroup
		errs := make([]error, 8)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				kind, ud := domain.AppKindOfficialAccount, d.ID()
				if i%2 == 1 {
					kind, ud = domain.AppKindMiniProgram, other.ID()
				}
				a, err := domain.NewWeChatApp(kind, ud, "wx-race", "s")
				if err == nil {
					err = f.Apps.PutWeChatApp(f.ctx, a)
				}
				errs[i] = err
			}()
		}
		wg.Wait()
		kinds := map[domain.AppKind]bool{}
		for _, ud := range []int64{d.ID(), other.ID()} {
			if a, err := f.Apps.WeChatApp(f.ctx, ud, "wx-race"); err == nil {
				kinds[a.Kind()] = true
			}
		}
		if len(kinds) != 1 {
			f.t.Fatalf("after concurrent puts of both kinds, wx-race is stored as %v (want exactly one kind)", kinds)
		}
		for i, err := range errs {
			if err != nil && !domain.IsKind(err, domain.KindInvalid) {
				f.t.Errorf("put %d: %v", i, err)
			}
		}
	})
	s.run(t, "PutOfUnknownUserDomainIsInvalid", func(f *fixture) {
		d := f.userDomain("C.DM.10271.5")
		a, err := domain.NewMiniProgram(d.ID()+1000, "wx-mini-1", "s")
		noErr(f.t, "NewMiniProgram", err)
		wantKind(f.t, "PutWeChatApp(unknown user domain)", f.Apps.PutWeChatApp(f.ctx, a), domain.KindInvalid)
	})
	s.run(t, "UserWithWeChatAppsListsBothKinds", func(f *fixture) {
		d := f.userDomain("C.DM.10271.5")
		putAccount(f, d.ID(), "wx-app-1", "app-secret-1")
		putApp(f, domain.AppKindMiniProgram, d.ID(), "wx-mini-1", "mini-secret-1")
		lr := f.loginRecord(d.ID(), f.identity("wx-mini-1", "o-mini-alice", "u-alice"), "uid-alice", at(0))
		lr.AppKind = domain.AppKindMiniProgram
		r, err := f.Users.RecordLogin(f.ctx, lr)
		noErr(f.t, "RecordLogin(mini program)", err)
		joined := f.record(d.ID(), f.identity("wx-app-1", "o-oa-alice", "u-alice"), "uid-other", at(time.Second))
		if joined.User.ID() != r.User.ID() || joined.Outcome != domain.LoginJoinedByUnionID {
			f.t.Fatalf("the official account login of the same unionid: user %s (%s), want %s joined", joined.User.ID(), joined.Outcome, r.User.ID())
		}
		ua, err := f.Users.UserWithWeChatApps(f.ctx, r.User.ID())
		noErr(f.t, "UserWithWeChatApps", err)
		if ua.User.ID() != r.User.ID() || ua.RegisteredVia != domain.AppKindMiniProgram {
			f.t.Errorf("UserWithWeChatApps = user %s registered via %q, want %s via miniprogram", ua.User.ID(), ua.RegisteredVia, r.User.ID())
		}
		want := []application.AppBinding{
			{Kind: domain.AppKindMiniProgram, Identity: domain.UnmarshalWeChatIdentityFromDatabase("wx-mini-1", "o-mini-alice", "u-alice")},
			{Kind: domain.AppKindOfficialAccount, Identity: domain.UnmarshalWeChatIdentityFromDatabase("wx-app-1", "o-oa-alice", "u-alice")},
		}
		if len(ua.Bindings) != len(want) {
			f.t.Fatalf("bindings %+v, want %+v", ua.Bindings, want)
		}
		for i := range want {
			if ua.Bindings[i] != want[i] {
				f.t.Errorf("binding %d = %+v, want %+v", i, ua.Bindings[i], want[i])
			}
		}
		// A user registered through an official account (no kind given: the default).
		bob := f.record(d.ID(), f.identity("wx-app-1", "o-oa-bob", ""), "uid-bob", at(2*time.Second))
		ub, err := f.Users.UserWithWeChatApps(f.ctx, bob.User.ID())
		noErr(f.t, "UserWithWeChatApps(bob)", err)
		if ub.RegisteredVia != domain.AppKindOfficialAccount || len(ub.Bindings) != 1 || ub.Bindings[0].Kind != domain.AppKindOfficialAccount {
			f.t.Errorf("bob: %+v", ub)
		}
		_, err = f.Users.UserWithWeChatApps(f.ctx, "uid-nobody")
		wantKind(f.t, "UserWithWeChatApps(unknown)", err, domain.KindUserNotFound)
	})
}

func putApp(f *fixture, kind domain.AppKind, userDomainID int64, appID, secret string) {
	f.t.Helper()
	a, err := domain.NewWeChatApp(kind, userDomainID, appID, secret)
	noErr(f.t, "NewWeChatApp", err)
	noErr(f.t, "PutWeChatApp", f.Apps.PutWeChatApp(f.ctx, a))
}
