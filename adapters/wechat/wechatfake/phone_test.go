package wechatfake

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/iotplatform/enduser-auth/internal/fakeclock"
)

// postJSON posts body to path on srv and decodes the answer, checking
// WeChat's wire format (HTTP 200, text/plain).
func postJSON(t *testing.T, srv *httptest.Server, path, body string) map[string]any {
	t.Helper()
	resp, err := http.Post(srv.URL+path, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/plain" {
		t.Fatalf("%s: HTTP %d %q, want 200 text/plain", path, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("%s: %s", path, raw)
	}
	return out
}

// TestStableTokenExpiresAndForceRefreshInvalidates: a token lives
// AccessTokenTTL (then 42001), the next one comes in its last 5 minutes,
// and a forced refresh makes every older token 40001.
func TestStableTokenExpiresAndForceRefreshInvalidates(t *testing.T) {
	clock := fakeclock.Default()
	s := New()
	s.SetClock(clock.Now)
	s.AddMiniProgram(testApp, testSecret)
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	token := func(force bool) (string, float64) {
		t.Helper()
		body := `{"grant_type":"client_credential","appid":"` + testApp + `","secret":"` + testSecret + `"`
		if force {
			body += `,"force_refresh":true}`
		} else {
			body += `}`
		}
		out := postJSON(t, srv, pathStableToken, body)
		v, _ := out["access_token"].(string)
		n, _ := out["expires_in"].(float64)
		if v == "" || n <= 0 {
			t.Fatalf("stable_token: %v", out)
		}
		return v, n
	}
	lookup := func(tok, code string) float64 {
		t.Helper()
		out := postJSON(t, srv, pathPhoneNumber+"?access_token="+tok, `{"code":"`+code+`"}`)
		n, _ := out["errcode"].(float64)
		return n
	}
	first, n := token(false)
	if n != AccessTokenTTL.Seconds() {
		t.Fatalf("expires_in %v", n)
	}
	clock.Advance(time.Hour)
	if again, n := token(false); again != first || n != (AccessTokenTTL-time.Hour).Seconds() {
		t.Fatalf("stable_token an hour later: another token or expires_in %v", n)
	}
	clock.Advance(AccessTokenTTL - time.Hour - 4*time.Minute) // its last 5 minutes
	next, _ := token(false)
	if next == first {
		t.Fatal("no new token in the old one's last 5 minutes")
	}
	if lookup(first, "13800138000.a") != 0 {
		t.Fatal("the old token refused in its last minutes")
	}
	clock.Advance(5 * time.Minute)
	if got := lookup(first, "13800138000.b"); got != ErrAccessTokenExpired {
		t.Fatalf("an expired token: errcode %v, want 42001", got)
	}
	forced, _ := token(true)
	if got := lookup(next, "13800138000.c"); got != ErrInvalidAccessToken {
		t.Fatalf("a token before a forced refresh: errcode %v, want 40001", got)
	}
	if lookup(forced, "13800138000.d") != 0 || lookup(forced, "13800138000.d") != ErrCodeBeenUsed {
		t.Fatal("a phoneCode must work once, then answer 40163")
	}
	if plain, force := s.StableTokenCalls(testApp); plain != 3 || force != 1 {
		t.Fatalf("calls %d plain %d forced", plain, force)
	}
	if out := postJSON(t, srv, pathStableToken, `{"grant_type":"client_credential","appid":"`+testApp+`","secret":"wrong"}`); out["errcode"] != float64(ErrInvalidAppSecret) {
		t.Fatalf("wrong secret: %v", out)
	}
}
