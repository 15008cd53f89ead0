package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/iotplatform/enduser-auth/adapters/secretbox"
	"github.com/iotplatform/enduser-auth/adapters/wechat/wechatfake"
)

// callEnvelope sends one request to base and decodes the envelope, for goroutines
// (no t.Fatal): a transport failure is code -1.
func callEnvelope(client *http.Client, method, u string) (answer, error) {
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		return answer{}, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return answer{Code: -1}, err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var a answer
	if err := json.Unmarshal(raw, &a); err != nil {
		return answer{Code: -1}, fmt.Errorf("HTTP %d, not the envelope: %q", resp.StatusCode, raw)
	}
	return a, nil
}

// withVars is a copy of s whose instances and commands see vars over s's.
func (s *server) withVars(vars map[string]string) *server {
	c := *s
	c.vars = maps.Clone(s.vars)
	maps.Copy(c.vars, vars)
	return &c
}

// TestMasterKeyRotationUnderLoad: the service runs with the new key first
// and the old one after it while logins and refreshes go on; `keys
// rotate-master` re-encrypts everything meanwhile (every answer stays 200),
// says the old key can go, and an instance with the new key alone then
// logs in and refreshes a session made before the rotation.
func TestMasterKeyRotationUnderLoad(t *testing.T) {
	t.Parallel()
	s := startServer(t, map[string]string{"ENDUSER_REVOCATION_SYNC_INTERVAL": "200ms"})
	oldSession := s.loginAs(tAppID, wechatfake.User{OpenID: "o-before-rotation", UnionID: "u-before"})
	for n := range 30 { // more sessions than a batch
		s.loginAs(tAppID2, wechatfake.User{OpenID: fmt.Sprintf("o-seed-%d", n)})
	}
	newKey := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{42}, 32))
	both := s.withVars(map[string]string{"ENDUSER_MASTER_KEY": newKey + "," + testMasterKey})
	// A rolling restart: the instance with both keys serves, then the old one stops.
	serving := both.boot(t)
	if code := s.stop(); code != 0 {
		t.Fatalf("the old instance exited with %d", code)
	}

	var (
		stop     atomic.Bool
		wg       sync.WaitGroup
		requests atomic.Int64
		mu       sync.Mutex
		bad      []string
	)
	fail := func(what string, a answer, err error) {
		mu.Lock()
		defer mu.Unlock()
		if len(bad) < 10 {
			bad = append(bad, fmt.Sprintf("%s: code %d %q %v", what, a.Code, a.Msg, err))
		}
	}
	for w := range 4 {
		wg.Go(func() {
			for n := 0; !stop.Load(); n++ {
				u := wechatfake.User{OpenID: fmt.Sprintf("o-load-%d-%d", w, n%5)}
				code := s.fake.IssueCode(tAppID, u)
				a, err := callEnvelope(docClient, http.MethodPost, serving+"/v2/enduser/enduserapi/wechatOffiaccountAuthLogin?"+loginQuery(tUserDomain, tAppID, code, "").Encode())
				requests.Add(1)
				if a.Code != 200 {
					fail("login", a, err)
					continue
				}
				var p tokenPair
				_ = json.Unmarshal(a.Data, &p)
				r, err := callEnvelope(docClient, http.MethodPut, serving+pathRefresh+"?"+url.Values{"refreshToken": {p.RefreshToken.Token}}.Encode())
				requests.Add(1)
				if r.Code != 200 {
					fail("refresh", r, err)
				}
			}
		})
	}
	// Some load before the rotation starts.
	deadline := time.Now().Add(30 * time.Second)
	for requests.Load() < 20 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	out := both.mustCLI("keys", "rotate-master", "--batch", "3")
	atLeast := requests.Load() + 20 // and some after it
	for requests.Load() < atLeast && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	stop.Store(true)
	wg.Wait()
	if len(bad) > 0 {
		t.Fatalf("answers other than 200 during the rotation (%d requests): %v", requests.Load(), bad)
	}
	if requests.Load() < 40 {
		t.Fatalf("only %d requests ran", requests.Load())
	}
	newID := secretbox.KeyID(bytes.Repeat([]byte{42}, 32))
	if !strings.Contains(out, "every secret is sealed under master key "+newID) || !strings.Contains(out, "can be removed") {
		t.Fatalf("rotate-master printed:\n%s", out)
	}
	for _, col := range []string{"enduser_user_domains.secret_enc", "enduser_official_accounts.app_secret_enc", "enduser_signing_keys.private_key_enc",
		"enduser_refresh_keys.secret_enc", "enduser_sessions.refresh_key_enc"} {
		if !strings.Contains(out, col+":") {
			t.Errorf("rotate-master says nothing of %s:\n%s", col, out)
		}
	}

	// The new key alone: the instance starts (signing keys open), logs in
	// (user domain secret, AppSecret) and refreshes the pre-rotation session.
	alone := s.withVars(map[string]string{"ENDUSER_MASTER_KEY": newKey})
	onlyNew := alone.boot(t)
	p := s.loginOn(onlyNew, tAppID, wechatfake.User{OpenID: "o-before-rotation", UnionID: "u-before"})
	if claims(t, p.AccessToken.Token)["uid"] != claims(t, oldSession.AccessToken.Token)["uid"] {
		t.Fatal("the returning user got another uid after the rotation")
	}
	s.loginOn(onlyNew, tAppID2, wechatfake.User{OpenID: "o-after-rotation"})
	r, err := callEnvelope(docClient, http.MethodPut, onlyNew+pathRefresh+"?"+url.Values{"refreshToken": {oldSession.RefreshToken.Token}}.Encode())
	if err != nil || r.Code != 200 {
		t.Fatalf("refreshing a pre-rotation session with the new key alone: %d %q %v", r.Code, r.Msg, err)
	}
	if code := userInfoCode(t, onlyNew, oldSession.AccessToken.Token); code != 200 {
		t.Fatalf("a pre-rotation access token on the new-key instance: %d", code)
	}
	// A second run has nothing to do, and with the new key alone it says so.
	if out := alone.mustCLI("keys", "rotate-master"); !strings.Contains(out, "every secret is sealed under master key "+newID) {
		t.Fatalf("second rotate-master printed:\n%s", out)
	}

	// The old key alone cannot start any more: a clear error names the key id.
	code, _, stderr := s.runServeOnce(t)
	if code == 0 || !strings.Contains(stderr, "does not list") || !strings.Contains(stderr, newID) {
		t.Fatalf("serve with the old key alone: exit %d, %s", code, stderr)
	}
}

// runServeOnce runs `enduser serve` and expects it to stop by itself (a
// start-up failure); it returns the exit code and standard error.
func (s *server) runServeOnce(t *testing.T) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	stderr := &syncBuffer{}
	started := make(chan string, 1)
	code := runEnv(ctx, []string{"serve"}, env{getenv: s.getenv, stdout: io.Discard, stderr: stderr,
		ready: func(a string) { started <- a; cancel() }, adminReady: func(string) {}})
	select {
	case a := <-started:
		t.Fatalf("serve started on %s", a)
	default:
	}
	return code, "", stderr.String()
}

// TestSigningKeyRevocationOnTwoInstances: `enduser keys revoke KID` on the
// signing key: a token it signed stops verifying on both instances within
// the revocation sync interval (even one each had verified, and cached,
// before), the JWKS no longer lists it, and new logins get a new kid at once
// (the default publish delay of 2 minutes does not apply) that both verify.
func TestSigningKeyRevocationOnTwoInstances(t *testing.T) {
	t.Parallel()
	s := startServer(t, map[string]string{"ENDUSER_REVOCATION_SYNC_INTERVAL": "200ms"})
	other := s.boot(t)
	p := s.loginAs(tAppID, wechatfake.User{OpenID: "o-ivan"})
	kid := kidOf(t, p.AccessToken.Token)
	for _, base := range []string{s.url, other} {
		if code := userInfoCode(t, base, p.AccessToken.Token); code != 200 { // cached as verified
			t.Fatalf("%s before the revocation: %d", base, code)
		}
	}
	if code, _, stderr := s.cli("keys", "revoke", "no-such-kid"); code == 0 || !strings.Contains(stderr, "no signing key") {
		t.Fatalf("revoking an unknown kid: exit %d, %s", code, stderr)
	}
	out := s.mustCLI("keys", "revoke", kid)
	if !strings.Contains(out, "signing key "+kid+" revoked") {
		t.Fatalf("keys revoke printed %q", out)
	}
	deadline := time.Now().Add(10 * time.Second) // the bound is 200ms; the deadline only stops a hang
	for _, base := range []string{s.url, other} {
		for userInfoCode(t, base, p.AccessToken.Token) != 5032 || jwksKIDs(t, base)[kid] {
			if time.Now().After(deadline) {
				t.Fatalf("%s still accepts the revoked key's token or lists it in the JWKS", base)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	fresh := s.loginOn(other, tAppID, wechatfake.User{OpenID: "o-ivan"})
	newKID := kidOf(t, fresh.AccessToken.Token)
	if newKID == kid || newKID == "" {
		t.Fatalf("a login after the revocation got kid %q", newKID)
	}
	if !strings.Contains(out, "key "+newKID+" signs now") {
		t.Fatalf("keys revoke named another signer than %s: %q", newKID, out)
	}
	for _, base := range []string{s.url, other} {
		if code := userInfoCode(t, base, fresh.AccessToken.Token); code != 200 {
			t.Fatalf("%s rejects the new key's token: %d", base, code)
		}
		if !jwksKIDs(t, base)[newKID] {
			t.Fatalf("%s does not publish the new key", base)
		}
	}
	if got := kidOf(t, s.loginAs(tAppID, wechatfake.User{OpenID: "o-judy"}).AccessToken.Token); got != newKID {
		t.Fatalf("the first instance signs with %q, want %q", got, newKID)
	}
	// The audit trail has the revocation.
	var n int
	if err := s.sql(t).QueryRow(`SELECT count(*) FROM enduser_audit_events WHERE event = 'signing_key_revoked'`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("audit records of the revocation: %d, %v", n, err)
	}
}
