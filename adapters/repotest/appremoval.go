package repotest

import (
	"slices"
	"testing"
	"time"

	"github.com/iotplatform/enduser-auth/application"
	"github.com/iotplatform/enduser-auth/domain"
)

// appListing is the contract of listing and removing the WeChat apps of a
// user domain (operators' `<kind> list` and `<kind> remove`).
func (s suite) appListing(t *testing.T) {
	s.run(t, "ListsTheAppsOfAKindWithoutTheirSecrets", func(f *fixture) {
		d := f.userDomain("C.DM.10271.5")
		other := f.userDomain("C.DM.10271.6")
		putApp(f, domain.AppKindMobileApp, d.ID(), "wx-mob-b", "mob-secret-b")
		putApp(f, domain.AppKindMobileApp, d.ID(), "wx-mob-a", "mob-secret-a")
		putApp(f, domain.AppKindMiniProgram, d.ID(), "wx-mini-1", "mini-secret-1")
		putApp(f, domain.AppKindMobileApp, other.ID(), "wx-mob-c", "mob-secret-c")
		putWebsite(f, d.ID(), "wx-web-1", "web-secret-1", "https://a.example/cb", "https://b.example/cb")

		mob := f.list(d.ID(), domain.AppKindMobileApp)
		if got := appIDs(mob); !slices.Equal(got, []string{"wx-mob-a", "wx-mob-b"}) {
			f.t.Fatalf("mobile apps of the user domain: %v, want wx-mob-a, wx-mob-b (by appId, none of another kind or user domain)", got)
		}
		for _, a := range mob {
			if a.Kind != domain.AppKindMobileApp || a.RedirectURIs != nil || a.AddedAt.IsZero() {
				f.t.Errorf("listed %+v: want kind mobileapp, no redirect URIs, when it was added", a)
			}
		}
		web := f.list(d.ID(), domain.AppKindWebsite)
		if len(web) != 1 || web[0].AppID != "wx-web-1" || web[0].Kind != domain.AppKindWebsite ||
			!slices.Equal(web[0].RedirectURIs, []string{"https://a.example/cb", "https://b.example/cb"}) {
			f.t.Errorf("website apps: %+v, want wx-web-1 with its two redirect URIs in order", web)
		}
		if got := appIDs(f.list(d.ID(), domain.AppKindOfficialAccount)); len(got) != 0 {
			f.t.Errorf("official accounts: %v, want none", got)
		}
		if got := appIDs(f.list(d.ID()+1000, domain.AppKindMobileApp)); len(got) != 0 {
			f.t.Errorf("mobile apps of an unknown user domain: %v, want none", got)
		}
		// A new AppSecret keeps when the app was added.
		putApp(f, domain.AppKindMobileApp, d.ID(), "wx-mob-a", "mob-secret-a2")
		again := f.list(d.ID(), domain.AppKindMobileApp)
		if len(again) != 2 || !again[0].AddedAt.Equal(mob[0].AddedAt) {
			f.t.Errorf("after a new AppSecret: %+v, want wx-mob-a still added at %v", again, mob[0].AddedAt)
		}
	})
	s.run(t, "RemoveDeletesOnlyThatAppOfThatKind", func(f *fixture) {
		d := f.userDomain("C.DM.10271.5")
		other := f.userDomain("C.DM.10271.6")
		putApp(f, domain.AppKindMobileApp, d.ID(), "wx-mob-1", "mob-secret-1")
		putApp(f, domain.AppKindMobileApp, other.ID(), "wx-mob-1", "mob-secret-1")
		putApp(f, domain.AppKindMobileApp, d.ID(), "wx-mob-2", "mob-secret-2")
		putWebsite(f, d.ID(), "wx-web-1", "web-secret-1", "https://a.example/cb")

		// Another kind's appId is refused and left alone.
		wantKind(f.t, "RemoveWeChatApp(a mobile app's appId as a website app)",
			f.Apps.RemoveWeChatApp(f.ctx, d.ID(), domain.AppKindWebsite, "wx-mob-1"), domain.KindNotFound)
		wantKind(f.t, "RemoveWeChatApp(a website app's appId as a mini program)",
			f.Apps.RemoveWeChatApp(f.ctx, d.ID(), domain.AppKindMiniProgram, "wx-web-1"), domain.KindNotFound)
		wantKind(f.t, "RemoveWeChatApp(unknown)",
			f.Apps.RemoveWeChatApp(f.ctx, d.ID(), domain.AppKindMobileApp, "wx-mob-9"), domain.KindNotFound)
		if a, err := f.Apps.WeChatApp(f.ctx, d.ID(), "wx-mob-1"); err != nil || a.Kind() != domain.AppKindMobileApp {
			f.t.Fatalf("after refused removals wx-mob-1 is %v, %v", a.Kind(), err)
		}

		noErr(f.t, "RemoveWeChatApp(mobile app)", f.Apps.RemoveWeChatApp(f.ctx, d.ID(), domain.AppKindMobileApp, "wx-mob-1"))
		_, err := f.Apps.WeChatApp(f.ctx, d.ID(), "wx-mob-1")
		wantKind(f.t, "WeChatApp(removed)", err, domain.KindNotFound)
		_, err = application.AppOfKind(f.ctx, f.Apps, d.ID(), "wx-mob-1", domain.AppKindMobileApp)
		wantKind(f.t, "a login through the removed app", err, domain.KindAppSecretMissing)
		wantKind(f.t, "RemoveWeChatApp(again)",
			f.Apps.RemoveWeChatApp(f.ctx, d.ID(), domain.AppKindMobileApp, "wx-mob-1"), domain.KindNotFound)
		if got := appIDs(f.list(d.ID(), domain.AppKindMobileApp)); !slices.Equal(got, []string{"wx-mob-2"}) {
			f.t.Errorf("mobile apps after the removal: %v, want wx-mob-2", got)
		}
		// The same appId in another user domain stays.
		if _, err := f.Apps.WeChatApp(f.ctx, other.ID(), "wx-mob-1"); err != nil {
			f.t.Errorf("the other user domain's wx-mob-1: %v", err)
		}

		noErr(f.t, "RemoveWeChatApp(website app)", f.Apps.RemoveWeChatApp(f.ctx, d.ID(), domain.AppKindWebsite, "wx-web-1"))
		if got := f.list(d.ID(), domain.AppKindWebsite); len(got) != 0 {
			f.t.Errorf("website apps after the removal: %+v", got)
		}
		// Re-added with other redirect URIs: the old ones are gone.
		putWebsite(f, d.ID(), "wx-web-1", "web-secret-2", "https://c.example/cb")
		if got := f.list(d.ID(), domain.AppKindWebsite); len(got) != 1 || !slices.Equal(got[0].RedirectURIs, []string{"https://c.example/cb"}) {
			f.t.Errorf("website app re-added: %+v, want the new redirect URI only", got)
		}
		// Once removed, the appId may become another kind.
		noErr(f.t, "RemoveWeChatApp(other user domain's)", f.Apps.RemoveWeChatApp(f.ctx, other.ID(), domain.AppKindMobileApp, "wx-mob-1"))
		putApp(f, domain.AppKindMiniProgram, d.ID(), "wx-mob-1", "now-a-mini-program")
	})
	s.run(t, "RemoveKeepsTheUsersAndTheirBindings", func(f *fixture) {
		d := f.userDomain("C.DM.10271.5")
		putApp(f, domain.AppKindMobileApp, d.ID(), "wx-mob-1", "mob-secret-1")
		lr := f.loginRecord(d.ID(), f.identity("wx-mob-1", "o-mob-alice", ""), "uid-alice", at(0))
		lr.AppKind = domain.AppKindMobileApp
		first, err := f.Users.RecordLogin(f.ctx, lr)
		noErr(f.t, "RecordLogin(mobile app)", err)

		noErr(f.t, "RemoveWeChatApp", f.Apps.RemoveWeChatApp(f.ctx, d.ID(), domain.AppKindMobileApp, "wx-mob-1"))
		u, id, err := f.Users.UserWithWeChat(f.ctx, first.User.ID(), "wx-mob-1")
		noErr(f.t, "UserWithWeChat after the removal", err)
		if u.ID() != first.User.ID() || id.OpenID() != "o-mob-alice" {
			f.t.Fatalf("after the removal: user %s binding %q, want %s bound as o-mob-alice", u.ID(), id.OpenID(), first.User.ID())
		}

		putApp(f, domain.AppKindMobileApp, d.ID(), "wx-mob-1", "mob-secret-2")
		again := f.record(d.ID(), f.identity("wx-mob-1", "o-mob-alice", ""), "uid-fresh", at(time.Minute))
		if again.User.ID() != first.User.ID() || again.Outcome != domain.LoginReturning {
			f.t.Errorf("the login after re-adding: user %s (%s), want %s returning", again.User.ID(), again.Outcome, first.User.ID())
		}
	})
}

func (f *fixture) list(userDomainID int64, kind domain.AppKind) []application.WeChatAppInfo {
	f.t.Helper()
	apps, err := f.Apps.WeChatApps(f.ctx, userDomainID, kind)
	noErr(f.t, "WeChatApps("+string(kind)+")", err)
	return apps
}

func appIDs(apps []application.WeChatAppInfo) []string {
	out := []string{}
	for _, a := range apps {
		out = append(out, a.AppID)
	}
	return out
}

func putWebsite(f *fixture, userDomainID int64, appID, secret string, uris ...string) {
	f.t.Helper()
	a, err := domain.NewWeChatApp(domain.AppKindWebsite, userDomainID, appID, secret)
	noErr(f.t, "NewWeChatApp(website)", err)
	a, err = a.WithRedirectURIs(uris)
	noErr(f.t, "WithRedirectURIs", err)
	noErr(f.t, "PutWeChatApp(website)", f.Apps.PutWeChatApp(f.ctx, a))
}
