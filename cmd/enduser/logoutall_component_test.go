package main

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/iotplatform/enduser-auth/adapters/wechat/wechatfake"
)

// TestUserLogoutAll: `enduser user logout-all UID` (another process, as an
// operator runs it) ends every session of the user: their refresh tokens
// answer 5032 at once, their access tokens stop verifying on the serving
// instance within its revocation sync (waited for as a condition), another
// user's session goes on, the user can log in again, and the audit trail
// records it.
func TestUserLogoutAll(t *testing.T) {
	t.Parallel()
	s := startServer(t, map[string]string{"ENDUSER_REVOCATION_SYNC_INTERVAL": "200ms", "ENDUSER_AUDIT": "on"})
	erin := wechatfake.User{OpenID: "o-erin"}
	phone, tablet := s.loginAs(tAppID, erin), s.loginAs(tAppID, erin)
	other := s.loginAs(tAppID, wechatfake.User{OpenID: "o-frank"})
	uid, _ := claims(t, phone.AccessToken.Token)["uid"].(string)
	if tuid, _ := claims(t, tablet.AccessToken.Token)["uid"].(string); uid == "" || tuid != uid {
		t.Fatalf("one person, two sessions: uids %q and %q", uid, tuid)
	}

	if code, _, errs := s.cli("user", "logout-all"); code != 2 || !strings.Contains(errs, "UID") {
		t.Fatalf("logout-all without a UID: exit %d, %q", code, errs)
	}
	out := s.mustCLI("user", "logout-all", uid)
	if !strings.Contains(out, "ended 2 session(s) of user "+uid) {
		t.Fatalf("logout-all said %q", out)
	}
	for _, p := range []tokenPair{phone, tablet} {
		if a := s.refresh(p.RefreshToken.Token); a.Code != 5032 {
			t.Fatalf("a refresh token of an ended session: want 5032, got %d", a.Code)
		}
		for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			a := s.do(http.MethodGet, pathUserInfo, nil, "Authorization", p.AccessToken.Token)
			if a.Code == 5032 {
				break
			}
			if a.Code != 200 || time.Now().After(deadline) {
				t.Fatalf("an access token of an ended session: got %d, want 5032 after the revocation sync", a.Code)
			}
		}
	}
	if a := s.do(http.MethodGet, pathUserInfo, nil, "Authorization", other.AccessToken.Token); a.Code != 200 {
		t.Fatalf("another user's session: got %d, want 200", a.Code)
	}
	if a := s.refresh(other.RefreshToken.Token); a.Code != 200 {
		t.Fatalf("another user's refresh: got %d, want 200", a.Code)
	}
	again := s.loginAs(tAppID, erin)
	if a := s.do(http.MethodGet, pathUserInfo, nil, "Authorization", again.AccessToken.Token); a.Code != 200 {
		t.Fatalf("a new login after logout-all: got %d, want 200", a.Code)
	}
	if out := s.mustCLI("user", "logout-all", uid); !strings.Contains(out, "ended 1 session(s)") {
		t.Fatalf("the new session is ended by a second logout-all: %q", out)
	}
	audit := s.mustCLI("audit", "--user-domain", tUserDomain, "--uid", uid)
	if !strings.Contains(audit, `"event":"sessions_ended"`) {
		t.Fatalf("no sessions_ended audit record:\n%s", audit)
	}
}
