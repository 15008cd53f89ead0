package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/iotplatform/enduser-auth/adapters/wechat/wechatfake"
)

// appLines decodes `<kind> list --json`.
func appLines(t *testing.T, out string) []map[string]any {
	t.Helper()
	var lines []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("list --json line %q: %v", l, err)
		}
		lines = append(lines, m)
	}
	return lines
}

// TestRemoveMobileAppKeepsItsUsers: operators list a user domain's mobile
// apps (never their AppSecrets) and remove one; a native app login through it
// then answers 5378, the user and its sessions stay, the removal is audited,
// and re-adding the app logs the same person in as the same user.
func TestRemoveMobileAppKeepsItsUsers(t *testing.T) {
	t.Parallel()
	s := startDoorsServer(t, map[string]string{"ENDUSER_TENANT_CACHE_TTL": "0"})
	alice := wechatfake.User{OpenID: "o-app-alice", UnionID: "u-app-alice"}
	appLogin := func() answer {
		return s.appLogin(loginQuery(tUserDomain, tMobileAppID, s.fake.IssueCode(tMobileAppID, alice), ""))
	}

	table := s.mustCLI("mobileapp", "list", "--user-domain", tUserDomain)
	if !strings.Contains(table, "APP ID") || !strings.Contains(table, tMobileAppID) || strings.Contains(table, tMobileAppSecret) ||
		strings.Contains(table, tWebAppID) || strings.Contains(table, tAppID) {
		t.Fatalf("mobileapp list: %q, want %s alone, without its secret", table, tMobileAppID)
	}
	js := s.mustCLI("mobileapp", "list", "--user-domain", tUserDomain, "--json")
	lines := appLines(t, js)
	if len(lines) != 1 || lines[0]["appId"] != tMobileAppID || lines[0]["kind"] != "mobileapp" || strings.Contains(js, tMobileAppSecret) {
		t.Fatalf("mobileapp list --json: %q", js)
	}
	if added, err := time.Parse(time.RFC3339Nano, lines[0]["addedAt"].(string)); err != nil || added.IsZero() {
		t.Fatalf("addedAt %v: %v", lines[0]["addedAt"], err)
	}
	if _, has := lines[0]["redirectUris"]; has {
		t.Errorf("a mobile app listed with redirect URIs: %v", lines[0])
	}

	p := appLogin().pair(t)
	uid := claims(t, p.AccessToken.Token)["uid"]

	// Another kind's appId, an unknown one: refused, nothing removed.
	for _, args := range [][]string{
		{"mobileapp", "remove", "--user-domain", tUserDomain, "--app-id", tAppID},
		{"mobileapp", "remove", "--user-domain", tUserDomain, "--app-id", "wxnomobile"},
		{"website", "remove", "--user-domain", tUserDomain, "--app-id", tMobileAppID},
		{"mobileapp", "remove", "--user-domain", "C.DM.99999.9", "--app-id", tMobileAppID},
	} {
		code, out, errs := s.cli(args...)
		if code != 1 || out != "" || (!strings.Contains(errs, "no ") && !strings.Contains(errs, "not found")) {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want exit 1 saying there is none", args, code, out, errs)
		}
		oneLine(t, errs)
	}
	s.loginAs(tAppID, wechatfake.User{OpenID: "o-oa-zed"}) // the official account is still there
	if code, _, errs := s.cli("mobileapp", "remove", "--user-domain", tUserDomain); code != 2 || !strings.Contains(errs, "--app-id") {
		t.Errorf("remove without --app-id: exit %d %q", code, errs)
	}

	out := s.mustCLI("mobileapp", "remove", "--user-domain", tUserDomain, "--app-id", tMobileAppID)
	if !strings.Contains(out, "mobile app "+tMobileAppID+" removed from user domain "+tUserDomain) {
		t.Fatalf("mobileapp remove: %q", out)
	}
	if out := s.mustCLI("mobileapp", "list", "--user-domain", tUserDomain); !strings.Contains(out, "has no mobile app") || strings.Contains(out, tMobileAppID) {
		t.Fatalf("mobileapp list after the removal: %q", out)
	}
	if out := s.mustCLI("mobileapp", "list", "--user-domain", tUserDomain, "--json"); out != "" {
		t.Fatalf("mobileapp list --json after the removal: %q", out)
	}
	if a := appLogin(); a.Code != 5378 {
		t.Fatalf("a native app login after the removal: %d %q, want 5378", a.Code, a.Msg)
	}
	// The user and its session stay.
	// userInfo still answers for it; the removed app's openid passes for no
	// other kind's.
	if info := s.userInfo(t, p.AccessToken.Token); info["uid"] != uid || info["wechatOffiaccountUserId"] != "" || info["wechatUnionId"] != alice.UnionID {
		t.Fatalf("userInfo with the session of before the removal: %v", info)
	}
	if out := s.mustCLI("user", "export", uid.(string)); !strings.Contains(out, alice.OpenID) {
		t.Fatalf("the user's export after the removal lacks its openid: %s", out)
	}
	if code, _, errs := s.cli("mobileapp", "remove", "--user-domain", tUserDomain, "--app-id", tMobileAppID); code != 1 ||
		!strings.Contains(errs, "no mobile app "+tMobileAppID) {
		t.Errorf("a second removal: exit %d %q", code, errs)
	}
	audit := s.mustCLI("audit", "--user-domain", tUserDomain)
	var removed int
	for _, l := range appLines(t, audit) {
		if l["event"] == "wechat_app_removed" {
			removed++
			if l["appId"] != tMobileAppID || l["appKind"] != "mobileapp" {
				t.Errorf("audit record %v", l)
			}
		}
	}
	if removed != 1 {
		t.Errorf("%d wechat_app_removed records, want 1:\n%s", removed, audit)
	}

	s.mustCLI("mobileapp", "add", "--user-domain", tUserDomain, "--app-id", tMobileAppID, "--app-secret", tMobileAppSecret)
	again := appLogin().pair(t)
	if got := claims(t, again.AccessToken.Token)["uid"]; got != uid {
		t.Fatalf("after re-adding the app: uid %v, want %v", got, uid)
	}
}

// TestRemoveWebsiteApp: `website list` shows each website app's redirect
// URIs; after `website remove` the state endpoint and a login with a state
// issued before answer 5378, and the list no longer shows it.
func TestRemoveWebsiteApp(t *testing.T) {
	t.Parallel()
	s := startDoorsServer(t, map[string]string{"ENDUSER_TENANT_CACHE_TTL": "0"})
	table := s.mustCLI("website", "list", "--user-domain", tUserDomain)
	if !strings.Contains(table, "REDIRECT URIS") || !strings.Contains(table, tWebAppID+" ") ||
		!strings.Contains(table, tRedirect+" "+tRedirect2) || strings.Contains(table, tWebAppSecret) {
		t.Fatalf("website list: %q", table)
	}
	js := s.mustCLI("website", "list", "--user-domain", tUserDomain, "--json")
	lines := appLines(t, js)
	if len(lines) != 1 || lines[0]["appId"] != tWebAppID || lines[0]["kind"] != "website" || strings.Contains(js, tWebAppSecret) {
		t.Fatalf("website list --json: %q", js)
	}
	if uris, _ := lines[0]["redirectUris"].([]any); len(uris) != 2 || uris[0] != tRedirect || uris[1] != tRedirect2 {
		t.Fatalf("redirectUris %v, want %s and %s", lines[0]["redirectUris"], tRedirect, tRedirect2)
	}
	// The other user domain's website app is its own.
	if out := s.mustCLI("website", "list", "--user-domain", tDisabled, "--json"); len(appLines(t, out)) != 1 || strings.Contains(out, tRedirect2) {
		t.Fatalf("the other user domain's website apps: %q", out)
	}

	nonce, st := s.startWebsite(t, s.url)
	s.mustCLI("website", "remove", "--user-domain", tUserDomain, "--app-id", tWebAppID)
	if out := s.mustCLI("website", "list", "--user-domain", tUserDomain); !strings.Contains(out, "has no website app") {
		t.Fatalf("website list after the removal: %q", out)
	}
	if w := s.websiteState(s.url, stateQuery(tUserDomain, tWebAppID, tRedirect), ""); w.Code != 5378 {
		t.Fatalf("the state endpoint after the removal: %d %q, want 5378", w.Code, w.Msg)
	}
	if a := s.websiteLogin(s.url, map[string]string{"userDomain": tUserDomain, "appId": tWebAppID, "state": st,
		"code": s.qrCode(wechatfake.User{OpenID: "o-web-dan"})}, nonce); a.Code != 5378 {
		t.Fatalf("a login with a state issued before the removal: %d %q, want 5378", a.Code, a.Msg)
	}
	if out := s.mustCLI("website", "list", "--user-domain", tDisabled, "--json"); len(appLines(t, out)) != 1 {
		t.Fatalf("the removal touched the other user domain's website app: %q", out)
	}
}
