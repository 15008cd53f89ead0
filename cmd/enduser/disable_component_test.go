package main

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/iotplatform/enduser-auth/adapters/wechat/wechatfake"
)

// untilCode polls userInfo on base with token until it answers want, within
// a deadline far above the sync interval; any other answer than want or one
// of before fails at once (before: 200 by default).
func untilCode(t *testing.T, base, token string, want int, before ...int) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		code := userInfoCode(t, base, token)
		if code == want {
			return
		}
		if (code != 200 && !slices.Contains(before, code)) || time.Now().After(deadline) {
			t.Fatalf("%s: userInfo answered %d, want %d within the revocation sync", base, code, want)
		}
	}
}

// TestDisabledUserOnTwoInstances: `enduser user disable UID` (another
// process) makes the user's tokens answer 5041 on both serving instances
// within their sync, its refresh and login 5041 at once; another user goes
// on; after `enable` the old token answers 5032 and a new login works on both.
func TestDisabledUserOnTwoInstances(t *testing.T) {
	t.Parallel()
	s := startServer(t, map[string]string{"ENDUSER_REVOCATION_SYNC_INTERVAL": "200ms", "ENDUSER_AUDIT": "on"})
	other := s.boot(t)
	ivy := wechatfake.User{OpenID: "o-ivy"}
	p := s.loginAs(tAppID, ivy)
	jack := s.loginAs(tAppID, wechatfake.User{OpenID: "o-jack"})
	uid, _ := claims(t, p.AccessToken.Token)["uid"].(string)
	for _, base := range []string{s.url, other} {
		if code := userInfoCode(t, base, p.AccessToken.Token); code != 200 {
			t.Fatalf("%s before the disable: %d", base, code)
		}
	}
	if out := s.mustCLI("user", "disable", uid); !strings.Contains(out, "user "+uid+" disabled") {
		t.Fatalf("user disable said %q", out)
	}
	if a := s.refresh(p.RefreshToken.Token); a.Code != 5041 {
		t.Fatalf("refresh of a disabled user: %d, want 5041", a.Code)
	}
	if a := s.login(loginQuery(tUserDomain, tAppID, s.fake.IssueCode(tAppID, ivy), "")); a.Code != 5041 {
		t.Fatalf("login of a disabled user: %d, want 5041", a.Code)
	}
	for _, base := range []string{s.url, other} {
		untilCode(t, base, p.AccessToken.Token, 5041)
		if code := userInfoCode(t, base, jack.AccessToken.Token); code != 200 {
			t.Fatalf("%s: another user's token: %d", base, code)
		}
	}
	if code, _, _ := s.cli("user", "disable", "uid-nobody"); code == 0 {
		t.Fatal("disabling an unknown user succeeded")
	}

	if out := s.mustCLI("user", "enable", uid); !strings.Contains(out, "enabled") {
		t.Fatalf("user enable said %q", out)
	}
	for _, base := range []string{s.url, other} {
		untilCode(t, base, p.AccessToken.Token, 5032, 5041) // 5041 until the sync, then 5032
	}
	if a := s.refresh(p.RefreshToken.Token); a.Code != 5032 {
		t.Fatalf("the old refresh token after enable: %d, want 5032", a.Code)
	}
	again := s.loginAs(tAppID, ivy)
	for _, base := range []string{s.url, other} {
		if code := userInfoCode(t, base, again.AccessToken.Token); code != 200 {
			t.Fatalf("%s: a new login after enable: %d", base, code)
		}
	}
	audit := s.mustCLI("audit", "--user-domain", tUserDomain, "--uid", uid)
	if !strings.Contains(audit, `"event":"user_disabled"`) || !strings.Contains(audit, `"event":"user_enabled"`) {
		t.Fatalf("no user_disabled / user_enabled audit records:\n%s", audit)
	}
}

// TestDisabledUserDomainOnTwoInstances: `enduser userdomain disable NAME`
// ends every session of the domain: refresh 5032 at once, login 5104, and
// its access tokens stop verifying on both serving instances (neither
// disabled it) within their sync; re-enabling brings none back.
func TestDisabledUserDomainOnTwoInstances(t *testing.T) {
	t.Parallel()
	s := startServer(t, map[string]string{"ENDUSER_REVOCATION_SYNC_INTERVAL": "200ms"})
	other := s.boot(t)
	p := s.loginAs(tAppID, wechatfake.User{OpenID: "o-kate"})
	q := s.loginOn(other, tAppID, wechatfake.User{OpenID: "o-liam"})
	s.mustCLI("userdomain", "disable", tUserDomain)
	for _, tok := range []string{p.RefreshToken.Token, q.RefreshToken.Token} {
		if a := s.refresh(tok); a.Code != 5032 {
			t.Fatalf("refresh in a disabled user domain: %d, want 5032", a.Code)
		}
	}
	for _, base := range []string{s.url, other} {
		for _, tok := range []string{p.AccessToken.Token, q.AccessToken.Token} {
			untilCode(t, base, tok, 5032)
		}
	}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) { // the tenant cache's TTL
		a := s.login(loginQuery(tUserDomain, tAppID, s.fake.IssueCode(tAppID, wechatfake.User{OpenID: "o-kate"}), ""))
		if a.Code == 5104 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("login in a disabled user domain: %d, want 5104", a.Code)
		}
	}
	s.mustCLI("userdomain", "enable", tUserDomain)
	if a := s.refresh(p.RefreshToken.Token); a.Code != 5032 {
		t.Fatalf("an old refresh token after re-enabling: %d, want 5032", a.Code)
	}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		a := s.login(loginQuery(tUserDomain, tAppID, s.fake.IssueCode(tAppID, wechatfake.User{OpenID: "o-kate"}), ""))
		if a.Code == 200 {
			pair := a.pair(t)
			for _, base := range []string{s.url, other} {
				if code := userInfoCode(t, base, p.AccessToken.Token); code != 5032 {
					t.Fatalf("%s: an old token after re-enabling: %d", base, code)
				}
				if code := userInfoCode(t, base, pair.AccessToken.Token); code != 200 {
					t.Fatalf("%s: a new login after re-enabling: %d", base, code)
				}
			}
			break
		}
		if a.Code != 5104 || time.Now().After(deadline) {
			t.Fatalf("login after re-enabling: %d", a.Code)
		}
	}
}
