package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/iotplatform/enduser-auth/adapters/wechat/wechatfake"
)

// TestTwoInstances: tokens issued by one instance work on another (shared
// keys), and a logout on one reaches the other within the sync interval.
func TestTwoInstances(t *testing.T) {
	t.Parallel()
	s := startServer(t, map[string]string{"ENDUSER_REVOCATION_SYNC_INTERVAL": "200ms"})
	other := s.boot(t)
	p := s.loginAs(tAppID, wechatfake.User{OpenID: "o-frank"})
	get := func(base string) int { return userInfoCode(t, base, p.AccessToken.Token) }

	if code := get(other); code != 200 {
		t.Fatalf("the other instance rejects a valid token: %d", code)
	}
	if a := s.do(http.MethodDelete, pathLogout, nil, "Authorization", p.AccessToken.Token); a.Code != 200 {
		t.Fatalf("logout: %d", a.Code)
	}
	if code := get(s.url); code != 5032 {
		t.Fatalf("the instance that logged out must reject at once, got %d", code)
	}
	deadline := time.Now().Add(5 * time.Second)
	for get(other) != 5032 {
		if time.Now().After(deadline) {
			t.Fatal("the other instance still accepts the token 5s after logout (sync interval 200ms)")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestSigningKeyRotation: with no publish delay, `enduser keys rotate` makes
// a new signer at once; tokens of the old key keep verifying, and the JWKS
// lists both keys.
func TestSigningKeyRotation(t *testing.T) {
	t.Parallel()
	s := startServer(t, map[string]string{"ENDUSER_SIGNING_KEY_PUBLISH_DELAY": "0"})
	before := s.loginAs(tAppID, wechatfake.User{OpenID: "o-gina"})
	out := s.mustCLI("keys", "rotate")
	if !strings.Contains(out, "new signing key") {
		t.Fatalf("keys rotate printed %q", out)
	}
	// A fresh instance picks the new signer at start.
	other := s.boot(t)
	after := s.loginOn(other, tAppID, wechatfake.User{OpenID: "o-gina"})
	if kidOf(t, before.AccessToken.Token) == kidOf(t, after.AccessToken.Token) {
		t.Fatal("after rotation new tokens must carry the new kid")
	}
	for _, base := range []string{s.url, other} {
		if code := userInfoCode(t, base, before.AccessToken.Token); code != 200 {
			t.Fatalf("%s: a token of the rotated-out key must still verify, got %d", base, code)
		}
	}
	kids := jwksKIDs(t, other)
	if !kids[kidOf(t, before.AccessToken.Token)] || !kids[kidOf(t, after.AccessToken.Token)] {
		t.Fatalf("jwks must list the old and the new key: %v", kids)
	}
}

// TestSigningKeyRotationPublishesBeforeSigning: with the default publish
// delay (2m), right after `enduser keys rotate` an instance that starts lists
// the new key in its JWKS but still signs with the old one, so that
// verifiers caching the JWKS know the new key before they meet its tokens.
func TestSigningKeyRotationPublishesBeforeSigning(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	before := s.loginAs(tAppID, wechatfake.User{OpenID: "o-hank"})
	oldKID := kidOf(t, before.AccessToken.Token)
	published := jwksKIDs(t, s.url)
	s.mustCLI("keys", "rotate")

	other := s.boot(t)
	kids := jwksKIDs(t, other)
	if len(kids) != 2 || !kids[oldKID] {
		t.Fatalf("jwks of an instance started after the rotation = %v, want the old key %s and a new one", kids, oldKID)
	}
	var newKID string
	for kid := range kids {
		if !published[kid] {
			newKID = kid
		}
	}
	if newKID == "" {
		t.Fatalf("jwks lists no new key after the rotation: %v (before: %v)", kids, published)
	}
	after := s.loginOn(other, tAppID, wechatfake.User{OpenID: "o-hank"})
	if got := kidOf(t, after.AccessToken.Token); got != oldKID {
		t.Fatalf("right after the rotation new tokens carry kid %q, want the old %q until the new key is published long enough", got, oldKID)
	}
	for _, base := range []string{s.url, other} {
		if code := userInfoCode(t, base, after.AccessToken.Token); code != 200 {
			t.Fatalf("%s: a token signed right after the rotation must verify, got %d", base, code)
		}
	}
}

// loginOn logs u in through the instance at base and returns the tokens.
func (s *server) loginOn(base, appID string, u wechatfake.User) tokenPair {
	s.t.Helper()
	code := s.fake.IssueCode(appID, u)
	resp, err := s.client.Post(base+"/v2/enduser/enduserapi/wechatOffiaccountAuthLogin?"+loginQuery(tUserDomain, appID, code, "").Encode(), "", nil)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	var a answer
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
		s.t.Fatalf("login on %s: %v", base, err)
	}
	return a.pair(s.t)
}

// jwksKIDs returns the kids that the JWKS of the instance at base lists.
func jwksKIDs(t *testing.T, base string) map[string]bool {
	t.Helper()
	resp, err := docClient.Get(base + "/.well-known/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var set struct {
		Keys []map[string]string `json:"keys"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		t.Fatalf("jwks of %s: %v", base, err)
	}
	kids := map[string]bool{}
	for _, k := range set.Keys {
		kids[k["kid"]] = true
	}
	return kids
}

func kidOf(t *testing.T, bearer string) string {
	t.Helper()
	tok := strings.TrimPrefix(bearer, "Bearer ")
	h, _, _ := strings.Cut(tok, ".")
	raw, err := base64URL(h)
	if err != nil {
		t.Fatal(err)
	}
	var hdr map[string]any
	_ = json.Unmarshal(raw, &hdr)
	kid, _ := hdr["kid"].(string)
	return kid
}

// TestDatabaseDown: when the database stops answering, readiness says so and
// requests get the 5000 envelope (never a raw error), and a logout that cannot
// be recorded answers 5045.
func TestDatabaseDown(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	p := s.loginAs(tAppID, wechatfake.User{OpenID: "o-hank"})
	if code := httpStatus(t, s.url+"/readyz"); code != 200 {
		t.Fatalf("readyz: %d", code)
	}
	dbName := s.dbURL[strings.LastIndex(s.dbURL, "/")+1:]
	if i := strings.Index(dbName, "?"); i >= 0 {
		dbName = dbName[:i]
	}
	admin := adminDB(t)
	if _, err := admin.Exec(`ALTER DATABASE "` + dbName + `" ALLOW_CONNECTIONS false`); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Exec(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`, dbName); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = admin.Exec(`ALTER DATABASE "` + dbName + `" ALLOW_CONNECTIONS true`) })

	if code := httpStatus(t, s.url+"/readyz"); code != http.StatusServiceUnavailable {
		t.Fatalf("readyz with the database down: want 503, got %d", code)
	}
	if code := httpStatus(t, s.url+"/healthz"); code != 200 {
		t.Fatalf("healthz must not depend on the database: %d", code)
	}
	a := s.login(loginQuery(tUserDomain, tAppID, s.fake.IssueCode(tAppID, wechatfake.User{OpenID: "o-hank"}), ""))
	if a.Code != 5000 || a.Status != http.StatusInternalServerError || a.Msg != "Service exception" {
		t.Fatalf("login with the database down: want HTTP 500 code 5000, got HTTP %d code %d %q", a.Status, a.Code, a.Msg)
	}
	if strings.Contains(strings.ToLower(a.Msg+deref(a.ExtMsg)), "sqlstate") || a.ExtMsg != nil {
		t.Fatalf("a database error leaked: %q %q", a.Msg, deref(a.ExtMsg))
	}
	if a := s.do(http.MethodDelete, pathLogout, nil, "Authorization", p.AccessToken.Token); a.Code != 5045 {
		t.Fatalf("logout with the database down: want 5045, got %d", a.Code)
	}
}

// userInfoCode asks the instance at base for userInfo with token and returns the envelope code.
func userInfoCode(t *testing.T, base, token string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+pathUserInfo, nil)
	req.Header.Set("Authorization", token)
	resp, err := docClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var a answer
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
		t.Fatal(err)
	}
	return a.Code
}
