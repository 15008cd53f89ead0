package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/iotplatform/enduser-auth/adapters/postgres"
	"github.com/iotplatform/enduser-auth/adapters/postgres/pgtest"
	"github.com/iotplatform/enduser-auth/adapters/secretbox"
	"github.com/iotplatform/enduser-auth/adapters/wechat/wechatfake"
	"github.com/iotplatform/enduser-auth/application"
	"github.com/iotplatform/enduser-auth/domain"
)

// rawDo sends a request and returns the response's status and headers (its
// body read and closed) and the decoded envelope.
func (s *server) rawDo(method, target string, headers ...string) (rawResponse, answer) {
	s.t.Helper()
	req, err := http.NewRequest(method, target, nil)
	if err != nil {
		s.t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := s.client.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, target, err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var a answer
	_ = json.Unmarshal(raw, &a)
	a.Status = resp.StatusCode
	return rawResponse{StatusCode: resp.StatusCode, Header: resp.Header}, a
}

// rawResponse is what rawDo keeps of a response once its body is closed.
type rawResponse struct {
	StatusCode int
	Header     http.Header
}

type auditLine struct {
	Time          time.Time `json:"time"`
	Event         string    `json:"event"`
	Code          int       `json:"code"`
	WeChatErrcode *int      `json:"wechatErrcode"`
	UserDomain    string    `json:"userDomain"`
	AppID         string    `json:"appId"`
	AppKind       string    `json:"appKind"`
	UID           string    `json:"uid"`
	OpenIDHash    string    `json:"openidHash"`
	ClientIP      string    `json:"clientIp"`
	UserAgent     string    `json:"userAgent"`
	RequestID     string    `json:"requestId"`
	DeviceGiven   *bool     `json:"deviceGiven"` // logouts only
}

func (s *server) auditLines(t *testing.T, args ...string) []auditLine {
	t.Helper()
	out := s.mustCLI(append([]string{"audit", "--user-domain", tUserDomain, "--since", "1h"}, args...)...)
	var lines []auditLine
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var l auditLine
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&l); err != nil {
			t.Fatalf("audit line %q: %v", sc.Text(), err)
		}
		for _, key := range []string{`"time"`, `"event"`, `"code"`, `"userDomain"`, `"appId"`, `"uid"`, `"clientIp"`} {
			if !strings.Contains(sc.Text(), key) {
				t.Fatalf("audit line lacks %s: %s", key, sc.Text())
			}
		}
		lines = append(lines, l)
	}
	return lines
}

var requestIDPattern = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,64}$`)

// TestAuditTrailHygieneAndLogs runs a full scenario (logins that succeed and
// fail in every way, refresh, reuse, user info, logouts) over real HTTP through
// the binary, then checks the audit trail the CLI prints, the answers'
// headers, the admin listener, CORS, request ids and every log line.
func TestAuditTrailHygieneAndLogs(t *testing.T) {
	t.Parallel()
	const origin = "https://h5.example.com"
	// The test's client (127.0.0.1) is a trusted proxy: its X-Request-Id is kept.
	s := startServer(t, map[string]string{"ENDUSER_LOG_LEVEL": "debug", "ENDUSER_CORS_ORIGINS": origin + ", https://other.example.com",
		"ENDUSER_REFRESH_REUSE_GRACE": "1ms", "ENDUSER_TRUSTED_PROXIES": "127.0.0.1/32"})
	const loginPath = "/v2/enduser/enduserapi/wechatOffiaccountAuthLogin"
	alice := wechatfake.User{OpenID: "o-audit-alice-0123456789", UnionID: "u-audit-alice-0123456789"}
	ua := "AuditTest/1.0 " + strings.Repeat("x", 400)
	var secrets []string // everything that must never reach a log line
	secrets = append(secrets, tSecret, tAppSecret, tAppSecret2, testMasterKey, alice.OpenID, alice.UnionID)
	addToken := func(tok string) {
		tok = strings.TrimPrefix(tok, "Bearer ")
		secrets = append(secrets, tok)
		if parts := strings.Split(tok, "."); len(parts) == 3 {
			secrets = append(secrets, parts[1], parts[2])
		}
	}
	loginURL := func(code string, sig string) string {
		q := loginQuery(tUserDomain, tAppID, code, "")
		if sig != "" {
			q.Set("signature", sig)
		}
		secrets = append(secrets, code, q.Get("signature"))
		return s.url + loginPath + "?" + q.Encode()
	}

	// A successful login: token answer headers, request id echoed, CORS.
	resp, a := s.rawDo(http.MethodPost, loginURL(s.fake.IssueCode(tAppID, alice), ""), "X-Request-Id", "req-login-1", "User-Agent", ua, "Origin", origin)
	pair := a.pair(t)
	addToken(pair.AccessToken.Token)
	addToken(pair.RefreshToken.Token)
	uid, _ := claims(t, pair.AccessToken.Token)["uid"].(string)
	for h, want := range map[string]string{"X-Request-Id": "req-login-1", "Cache-Control": "no-store", "Pragma": "no-cache",
		"X-Content-Type-Options": "nosniff", "Access-Control-Allow-Origin": origin} {
		if got := resp.Header.Get(h); got != want {
			t.Errorf("login answer: %s = %q, want %q", h, got, want)
		}
	}

	// Failures: bad signature, WeChat's errcode, WeChat down.
	if _, a := s.rawDo(http.MethodPost, loginURL("bad-sig-code-0001", strings.Repeat("ab", 32))); a.Code != 5420 {
		t.Fatalf("bad signature: %d", a.Code)
	}
	rejected := s.fake.IssueCode(tAppID, alice)
	s.fake.SetFailure(rejected, wechatfake.Failure{ErrCode: 40029})
	if _, a := s.rawDo(http.MethodPost, loginURL(rejected, "")); a.Code != 5368 {
		t.Fatalf("WeChat errcode: %d", a.Code)
	}
	down := s.fake.IssueCode(tAppID, alice)
	s.fake.SetFailure(down, wechatfake.Failure{Status: http.StatusBadGateway})
	if _, a := s.rawDo(http.MethodPost, loginURL(down, "")); a.Code != 5367 {
		t.Fatalf("WeChat down: %d", a.Code)
	}

	// Refresh (no-store), then the spent token presented after the grace window: reuse.
	resp, a = s.rawDo(http.MethodPut, s.url+pathRefresh+"?"+url.Values{"refreshToken": {pair.RefreshToken.Token}}.Encode())
	r1 := a.pair(t)
	addToken(r1.AccessToken.Token)
	addToken(r1.RefreshToken.Token)
	if resp.Header.Get("Cache-Control") != "no-store" || resp.Header.Get("Pragma") != "no-cache" || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("refresh answer headers: %v", resp.Header)
	}
	time.Sleep(20 * time.Millisecond) // past the 1ms grace window
	if a := s.refresh(pair.RefreshToken.Token); a.Code != 5032 {
		t.Fatalf("reuse: %d", a.Code)
	}

	// A second session: user info (personal data), a refused token, logouts.
	p2 := s.loginAs(tAppID, alice)
	addToken(p2.AccessToken.Token)
	addToken(p2.RefreshToken.Token)
	resp, a = s.rawDo(http.MethodGet, s.url+pathUserInfo, "Authorization", p2.AccessToken.Token)
	if a.Code != 200 || resp.Header.Get("Cache-Control") != "no-store" || resp.Header.Get("Pragma") != "no-cache" ||
		resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("userInfo: %d %v", a.Code, resp.Header)
	}
	forged := "Bearer eyJhbGciOiJFZERTQSJ9.eyJ1aWQiOiJ4In0.c2lnbmF0dXJlLW9mLWZvcmdlZC10b2tlbg"
	addToken(forged)
	if _, a := s.rawDo(http.MethodGet, s.url+pathUserInfo, "Authorization", forged); a.Code != 5032 {
		t.Fatalf("forged token: %d", a.Code)
	}
	if _, a := s.rawDo(http.MethodDelete, s.url+pathLogout, "Authorization", p2.AccessToken.Token, "X-Request-Id", "req-logout-1"); a.Code != 200 {
		t.Fatalf("logout: %d", a.Code)
	}
	if _, a := s.rawDo(http.MethodDelete, s.url+pathLogout, "Authorization", forged); a.Code != 5032 {
		t.Fatalf("logout with a forged token: %d", a.Code)
	}

	// Request ids: spaces, non-ASCII or over 128 characters are replaced by a
	// generated one; any printable ASCII token is kept from a trusted proxy.
	for _, bad := range []string{"has spaces in it", strings.Repeat("a", 129), "caf\u00e9"} {
		resp, _ := s.rawDo(http.MethodGet, s.url+"/.well-known/jwks.json", "X-Request-Id", bad)
		got := resp.Header.Get("X-Request-Id")
		if got == bad || !requestIDPattern.MatchString(got) {
			t.Errorf("X-Request-Id %q answered %q", bad, got)
		}
	}
	if resp, _ := s.rawDo(http.MethodGet, s.url+"/.well-known/jwks.json", "X-Request-Id", "Root=1-abc;semi"); resp.Header.Get("X-Request-Id") != "Root=1-abc;semi" {
		t.Errorf("a trusted proxy's printable X-Request-Id answered %q", resp.Header.Get("X-Request-Id"))
	}
	// From a peer that is not a trusted proxy, the id is always generated.
	if r, err := call(clientFrom("127.0.0.2"), http.MethodGet, s.url+pathUserInfo, "X-Request-Id", "req-direct-1"); err != nil ||
		r.header.Get("X-Request-Id") == "req-direct-1" || !requestIDPattern.MatchString(r.header.Get("X-Request-Id")) {
		t.Errorf("a direct client's X-Request-Id answered %q (%v)", r.header.Get("X-Request-Id"), err)
	}
	resp, _ = s.rawDo(http.MethodGet, s.url+"/.well-known/jwks.json")
	if !requestIDPattern.MatchString(resp.Header.Get("X-Request-Id")) || resp.Header.Get("X-Content-Type-Options") != "nosniff" ||
		resp.Header.Get("Cache-Control") != "public, max-age=60" {
		t.Errorf("jwks headers: %v", resp.Header)
	}

	// CORS preflight: the listed origins only.
	resp, _ = s.rawDo(http.MethodOptions, s.url+loginPath, "Origin", origin, "Access-Control-Request-Method", "POST")
	if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Access-Control-Allow-Origin") != origin ||
		!strings.Contains(resp.Header.Get("Access-Control-Allow-Methods"), "POST") {
		t.Errorf("preflight from %s: %d %v", origin, resp.StatusCode, resp.Header)
	}
	resp, _ = s.rawDo(http.MethodOptions, s.url+pathRefresh, "Origin", "https://evil.example.com", "Access-Control-Request-Method", "PUT")
	if resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("preflight from an unlisted origin allowed: %v", resp.Header)
	}
	resp, _ = s.rawDo(http.MethodGet, s.url+"/healthz", "Origin", origin)
	if resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Error("CORS must stay on the module's endpoints, not the host's")
	}

	// The admin listener: metrics there only, health on both.
	for _, base := range []string{s.url, s.admin} {
		for _, p := range []string{"/healthz", "/readyz"} {
			if code := httpStatus(t, base+p); code != 200 {
				t.Errorf("%s%s: %d", base, p, code)
			}
		}
	}
	if code := undocumentedStatus(t, s.url+"/metrics"); code != http.StatusNotFound {
		t.Errorf("/metrics on the public listener: %d", code)
	}
	mresp, err := docClient.Get(s.admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(mresp.Body)
	mresp.Body.Close()
	if !strings.Contains(string(metrics), `enduser_auth_audit_dropped_total{reason="queue_full"} 0`) {
		t.Errorf("/metrics lacks the audit drop counter")
	}

	// Stopping the server flushes the audit trail.
	if code := s.stop(); code != 0 {
		t.Fatalf("serve exited with %d", code)
	}
	lines := s.auditLines(t)
	count := map[string]int{}
	for _, l := range lines {
		key := l.Event + "/" + itoa(l.Code)
		count[key]++
		if l.UserDomain != tUserDomain || l.ClientIP != "127.0.0.1" || !requestIDPattern.MatchString(l.RequestID) {
			t.Errorf("audit line: %+v", l)
		}
		if l.Event == "login" && l.AppID != tAppID {
			t.Errorf("login line without its appId: %+v", l)
		}
		if l.OpenIDHash == alice.OpenID || strings.Contains(l.OpenIDHash, "alice") {
			t.Errorf("openid in clear: %+v", l)
		}
		switch key {
		case "login/200":
			if l.UID != uid || len(l.OpenIDHash) != 32 {
				t.Errorf("successful login line: %+v", l)
			}
		case "login/5368":
			if l.WeChatErrcode == nil || *l.WeChatErrcode != 40029 {
				t.Errorf("WeChat's errcode missing: %+v", l)
			}
		case "refresh_reuse/5032", "logout/200":
			if l.UID != uid || l.AppID != tAppID {
				t.Errorf("%s line: %+v", key, l)
			}
		}
		if (l.Event == "logout") != (l.DeviceGiven != nil) || (l.DeviceGiven != nil && *l.DeviceGiven) {
			t.Errorf("deviceGiven: a logout without deviceId has false, other events none: %+v", l)
		}
	}
	for key, want := range map[string]int{"login/200": 2, "login/5420": 1, "login/5368": 1, "login/5367": 1,
		"refresh_reuse/5032": 1, "logout/200": 1} {
		if count[key] != want {
			t.Errorf("audit: %d %s records, want %d (all: %v)", count[key], key, want, count)
		}
	}
	// A logout with a forged token has no user domain: it is recorded without one.
	var forgedLogouts int
	if err := s.sql(t).QueryRow(`SELECT count(*) FROM enduser_audit_events WHERE event = 'logout' AND code = 5032 AND user_domain = ''
		AND client_ip = '127.0.0.1'`).Scan(&forgedLogouts); err != nil || forgedLogouts != 1 {
		t.Errorf("forged-token logout records: %d %v", forgedLogouts, err)
	}
	first := lines[len(lines)-1] // newest first
	if first.Event != "login" || first.RequestID != "req-login-1" || first.UserAgent != ua[:256] {
		t.Errorf("the first login's record: %+v", first)
	}
	var hashes []string
	for _, l := range lines {
		if l.Event == "login" && l.Code == 200 {
			hashes = append(hashes, l.OpenIDHash)
		}
	}
	if len(hashes) == 2 && hashes[0] != hashes[1] {
		t.Errorf("one openid must hash alike: %q", hashes)
	}
	// --uid and --limit narrow it.
	for _, l := range s.auditLines(t, "--uid", uid) {
		if l.UID != uid {
			t.Errorf("--uid %s printed %+v", uid, l)
		}
	}
	if got := len(s.auditLines(t, "--uid", uid)); got != 4 { // 2 logins, the reuse, the logout
		t.Errorf("--uid: %d lines, want 4", got)
	}
	if got := len(s.auditLines(t, "--limit", "2")); got != 2 {
		t.Errorf("--limit 2: %d lines", got)
	}

	// Every log line: request id and client IP on request lines, WARN for
	// the outage, DEBUG for the refused token, and no secret in clear.
	logs := s.logs.String()
	for _, sec := range secrets {
		if len(sec) >= 8 && strings.Contains(logs, sec) {
			t.Errorf("a log line holds a secret, token, code, signature or openid in clear: %q", sec)
		}
	}
	var sawOutage, sawRefused, sawRequestID bool
	for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line is not JSON: %q", line)
		}
		if m["requestId"] == "req-login-1" && m["clientIp"] == "127.0.0.1" {
			sawRequestID = true
		}
		if m["level"] == "WARN" && m["outcome"] == string(domain.KindWeChatUnavailable) {
			sawOutage = true
		}
		if m["level"] == "DEBUG" && m["msg"] == "access token refused" && m["reason"] != "" && m["clientIp"] == "127.0.0.1" {
			sawRefused = true
		}
	}
	if !sawOutage || !sawRefused || !sawRequestID {
		t.Errorf("logs: outage at WARN %v, refused token at DEBUG %v, request id and client IP %v:\n%s", sawOutage, sawRefused, sawRequestID, logs)
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// TestAuditOff: ENDUSER_AUDIT=off records nothing.
func TestAuditOff(t *testing.T) {
	t.Parallel()
	s := startServer(t, map[string]string{"ENDUSER_AUDIT": "off", "ENDUSER_ADMIN_ADDR": "off"})
	s.loginAs(tAppID, wechatfake.User{OpenID: "o-audit-off"})
	if s.admin != "" {
		t.Errorf("ENDUSER_ADMIN_ADDR=off still listens on %s", s.admin)
	}
	s.stop()
	if n := countRows(t, s.dbURL, "enduser_audit_events"); n != 0 {
		t.Fatalf("audit off: %d rows", n)
	}
}

// TestSecretsOffTheCommandLine: secrets from standard input or the
// environment, and the minimum length of a newly chosen one.
func TestSecretsOffTheCommandLine(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDatabase(t)
	vars := map[string]string{"ENDUSER_DATABASE_URL": db, "ENDUSER_MASTER_KEY": testMasterKey}
	runIn := func(stdin string, extra map[string]string, args ...string) (int, string, string) {
		m := map[string]string{}
		for k, v := range vars {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		var out, errb bytes.Buffer
		code := runEnv(context.Background(), args, env{getenv: envOf(m), stdout: &out, stderr: &errb, stdin: strings.NewReader(stdin)})
		return code, out.String(), errb.String()
	}
	fromStdin := "a-user-domain-secret-from-stdin-0123456789"
	if code, out, errs := runIn(fromStdin+"\n", nil, "userdomain", "create", "S.DM.1.1", "--secret-stdin"); code != 0 || !strings.Contains(out, "secret: "+fromStdin+"\n") {
		t.Fatalf("--secret-stdin: %d %q %q", code, out, errs)
	}
	fromEnv := "a-user-domain-secret-from-the-env-0123"
	if code, out, errs := runIn("", map[string]string{"ENDUSER_USER_DOMAIN_SECRET": fromEnv}, "userdomain", "create", "S.DM.1.2"); code != 0 || !strings.Contains(out, "secret: "+fromEnv+"\n") {
		t.Fatalf("ENDUSER_USER_DOMAIN_SECRET: %d %q %q", code, out, errs)
	}
	if code, _, errs := runIn("short-legacy-secret\n", nil, "userdomain", "create", "S.DM.1.3", "--secret-stdin"); code == 0 || !strings.Contains(errs, "at least 32") || !strings.Contains(errs, "--legacy-secret") {
		t.Fatalf("a short secret: %d %q", code, errs)
	}
	if code, out, errs := runIn("short-legacy-secret\n", nil, "userdomain", "create", "S.DM.1.3", "--secret-stdin", "--legacy-secret"); code != 0 || !strings.Contains(out, "short-legacy-secret") {
		t.Fatalf("--legacy-secret: %d %q %q", code, out, errs)
	}
	if code, _, errs := runIn(fromStdin+"\n", map[string]string{"ENDUSER_USER_DOMAIN_SECRET": fromEnv}, "userdomain", "create", "S.DM.1.4", "--secret-stdin"); code == 0 || !strings.Contains(errs, "one way only") {
		t.Fatalf("two sources: %d %q", code, errs)
	}
	if code, _, errs := runIn("", nil, "userdomain", "create", "S.DM.1.4", "--secret-stdin"); code == 0 || !strings.Contains(errs, "empty") {
		t.Fatalf("empty stdin: %d %q", code, errs)
	}
	// Logins verify against the secret as read (no trailing newline kept).
	store := openStoreFor(t, db)
	d, err := store.UserDomainByName(context.Background(), "S.DM.1.1")
	if err != nil || d.Secret() != fromStdin {
		t.Fatalf("stored secret: %q %v", d.Secret(), err)
	}
	if code, out, errs := runIn("app-secret-from-stdin\r\n", nil, "officialaccount", "add", "--user-domain", "S.DM.1.1", "--app-id", "wxstdin", "--app-secret-stdin"); code != 0 {
		t.Fatalf("--app-secret-stdin: %d %q %q", code, out, errs)
	}
	if code, out, errs := runIn("", map[string]string{"ENDUSER_APP_SECRET": "app-secret-from-env"}, "officialaccount", "add", "--user-domain", "S.DM.1.1", "--app-id", "wxenv"); code != 0 {
		t.Fatalf("ENDUSER_APP_SECRET: %d %q %q", code, out, errs)
	}
	for app, want := range map[string]string{"wxstdin": "app-secret-from-stdin", "wxenv": "app-secret-from-env"} {
		a, err := application.AppOfKind(context.Background(), store, d.ID(), app, domain.AppKindOfficialAccount)
		if err != nil || a.AppSecret() != want {
			t.Errorf("%s: AppSecret %q %v, want %q", app, a.AppSecret(), err, want)
		}
	}
	if code, _, errs := runIn("", nil, "audit"); code != 2 || !strings.Contains(errs, "--user-domain") {
		t.Errorf("audit without --user-domain: %d %q", code, errs)
	}
	if code, _, errs := runIn("", nil, "audit", "--user-domain", "S.DM.1.1", "--since", "yesterday"); code != 2 || !strings.Contains(errs, "--since") {
		t.Errorf("audit --since yesterday: %d %q", code, errs)
	}
}

// openStoreFor opens the Postgres adapter on dsn with the tests' master key.
func openStoreFor(t *testing.T, dsn string) *postgres.Store {
	t.Helper()
	db, err := postgres.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	if sqlDB, err := db.DB(); err == nil {
		t.Cleanup(func() { sqlDB.Close() })
	}
	box, err := secretbox.New(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return postgres.NewStore(db, box)
}
