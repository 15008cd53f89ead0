package wechatfake

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/iotplatform/enduser-auth/internal/fakeclock"
)

const (
	testApp    = "wx1234567890abcdef"
	testSecret = "s3cr3t"
)

func newFake(t *testing.T) (*Server, *fakeclock.Clock) {
	t.Helper()
	s := New()
	clk := fakeclock.Default()
	s.SetClock(clk.Now)
	s.AddAccount(testApp, testSecret)
	return s, clk
}

// answer is a decoded response.
type answer struct {
	status      int
	contentType string
	raw         string
	fields      map[string]any
}

func (a answer) errcode() int {
	if v, ok := a.fields["errcode"].(float64); ok {
		return int(v)
	}
	return 0
}

func do(t *testing.T, h http.Handler, method, target string) answer {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	a := answer{status: rec.Code, contentType: rec.Header().Get("Content-Type"), raw: rec.Body.String()}
	_ = json.Unmarshal(rec.Body.Bytes(), &a.fields)
	return a
}

func exchangeURL(appID, secret, code string) string {
	q := url.Values{"appid": {appID}, "secret": {secret}, "code": {code}, "grant_type": {"authorization_code"}}
	return "/sns/oauth2/access_token?" + q.Encode()
}

func exchange(t *testing.T, s *Server, code string) answer {
	t.Helper()
	return do(t, s, http.MethodGet, exchangeURL(testApp, testSecret, code))
}

var ridPattern = regexp.MustCompile(`, rid: [0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}$`)

func wantError(t *testing.T, a answer, errcode int, msg string) {
	t.Helper()
	if a.status != http.StatusOK || a.contentType != "text/plain" {
		t.Errorf("status %d, Content-Type %q; want 200 text/plain", a.status, a.contentType)
	}
	if a.errcode() != errcode {
		t.Fatalf("errcode = %d, want %d (body %s)", a.errcode(), errcode, a.raw)
	}
	m, _ := a.fields["errmsg"].(string)
	if !strings.HasPrefix(m, msg+", rid: ") || !ridPattern.MatchString(m) {
		t.Errorf("errmsg = %q, want %q with a rid suffix", m, msg)
	}
	if len(a.fields) != 2 {
		t.Errorf("error body has fields %v, want errcode and errmsg only", a.fields)
	}
}

func TestSuccessBodyHasTheWireFormat(t *testing.T) {
	s, _ := newFake(t)
	code := s.IssueCode(testApp, User{OpenID: "oAbc", UnionID: "uXyz", Scope: "snsapi_userinfo"})
	a := exchange(t, s, code)
	if a.status != http.StatusOK || a.contentType != "text/plain" {
		t.Fatalf("status %d, Content-Type %q; want 200 text/plain", a.status, a.contentType)
	}
	if _, ok := a.fields["errcode"]; ok {
		t.Errorf("success body has an errcode: %s", a.raw)
	}
	for k, want := range map[string]any{"openid": "oAbc", "unionid": "uXyz", "scope": "snsapi_userinfo", "expires_in": 7200.0} {
		if a.fields[k] != want {
			t.Errorf("%s = %v, want %v", k, a.fields[k], want)
		}
	}
	for _, k := range []string{"access_token", "refresh_token"} {
		if v, _ := a.fields[k].(string); v == "" {
			t.Errorf("%s missing in %s", k, a.raw)
		}
	}
	if _, ok := a.fields["is_snapshotuser"]; ok {
		t.Errorf("is_snapshotuser present for a normal user: %s", a.raw)
	}
}

func TestSuccessOmitsUnionIDAndDefaultsScope(t *testing.T) {
	s, _ := newFake(t)
	a := exchange(t, s, s.IssueCode(testApp, User{OpenID: "oAbc"}))
	if _, ok := a.fields["unionid"]; ok {
		t.Errorf("unionid present: %s", a.raw)
	}
	if a.fields["scope"] != "snsapi_base" {
		t.Errorf("scope = %v, want snsapi_base", a.fields["scope"])
	}
}

func TestSnapshotUserAndMissingOpenID(t *testing.T) {
	s, _ := newFake(t)
	a := exchange(t, s, s.IssueCode(testApp, User{OpenID: "oFake", Snapshot: true}))
	if a.fields["is_snapshotuser"] != 1.0 {
		t.Errorf("is_snapshotuser = %v, want 1", a.fields["is_snapshotuser"])
	}
	a = exchange(t, s, s.IssueCode(testApp, User{}))
	if _, ok := a.fields["openid"]; ok || a.errcode() != 0 || a.fields["access_token"] == nil {
		t.Errorf("want a success body without openid, got %s", a.raw)
	}
}

func TestCodeIsSingleUse(t *testing.T) {
	s, _ := newFake(t)
	code := s.IssueCode(testApp, User{OpenID: "oAbc"})
	if a := exchange(t, s, code); a.fields["openid"] != "oAbc" {
		t.Fatalf("first exchange: %s", a.raw)
	}
	wantError(t, exchange(t, s, code), ErrCodeBeenUsed, "code been used")
}

func TestCodeExpiresAfterFiveMinutes(t *testing.T) {
	s, clk := newFake(t)
	fresh := s.IssueCode(testApp, User{OpenID: "oAbc"})
	stale := s.IssueCode(testApp, User{OpenID: "oAbc"})
	clk.Advance(CodeTTL - time.Second)
	if a := exchange(t, s, fresh); a.fields["openid"] != "oAbc" {
		t.Fatalf("exchange just before expiry: %s", a.raw)
	}
	clk.Advance(time.Second)
	wantError(t, exchange(t, s, stale), ErrCodeExpired, "code expired")
}

func TestIssuedCodesAreForgottenLater(t *testing.T) {
	s, clk := newFake(t)
	code := s.IssueCode(testApp, User{OpenID: "oAbc"})
	clk.Advance(2*CodeTTL + sweepInterval)
	wantError(t, exchange(t, s, code), ErrInvalidCode, "invalid code")
	s.mu.Lock()
	n := len(s.codes)
	s.mu.Unlock()
	if n != 0 {
		t.Errorf("%d codes still held", n)
	}
}

func TestCodesAreRandomAndBoundToTheirApp(t *testing.T) {
	s, _ := newFake(t)
	s.AddAccount("wxOther", "other")
	a, b := s.IssueCode(testApp, User{OpenID: "o1"}), s.IssueCode(testApp, User{OpenID: "o1"})
	if a == b || len(a) < 16 {
		t.Fatalf("codes %q and %q: want distinct random codes", a, b)
	}
	wantError(t, do(t, s, http.MethodGet, exchangeURL("wxOther", "other", a)), ErrInvalidCode, "invalid code")
	if got := exchange(t, s, a); got.fields["openid"] != "o1" {
		t.Errorf("an exchange under the wrong app spent the code: %s", got.raw)
	}
}

func TestQueryChecks(t *testing.T) {
	s, _ := newFake(t)
	code := s.IssueCode(testApp, User{OpenID: "oAbc"})
	cases := []struct {
		name, query string
		errcode     int
		msg         string
	}{
		{"unknown appid", exchangeURL("wxNope", testSecret, code), ErrInvalidAppID, "invalid appid"},
		{"missing appid", exchangeURL("", testSecret, code), ErrMissingAppID, "appid missing"},
		{"wrong secret", exchangeURL(testApp, "wrong", code), ErrInvalidAppSecret, "invalid appsecret"},
		{"missing secret", exchangeURL(testApp, "", code), ErrMissingSecret, "appsecret missing"},
		{"missing code", exchangeURL(testApp, testSecret, ""), ErrMissingCode, "missing code"},
		{"unknown code", exchangeURL(testApp, testSecret, "nope"), ErrInvalidCode, "invalid code"},
		{"grant type", strings.Replace(exchangeURL(testApp, testSecret, code), "authorization_code", "client_credential", 1),
			ErrInvalidGrantType, "invalid grant_type"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { wantError(t, do(t, s, http.MethodGet, c.query), c.errcode, c.msg) })
	}
	if a := exchange(t, s, code); a.fields["openid"] != "oAbc" {
		t.Errorf("a rejected query spent the code: %s", a.raw)
	}
}

func TestRIDChanges(t *testing.T) {
	s, _ := newFake(t)
	a, b := exchange(t, s, "nope"), exchange(t, s, "nope")
	if a.fields["errmsg"] == b.fields["errmsg"] {
		t.Errorf("two answers share the errmsg %v", a.fields["errmsg"])
	}
}

func TestOtherPathsAndMethods(t *testing.T) {
	s, _ := newFake(t)
	a := do(t, s, http.MethodGet, "/cgi-bin/token?grant_type=client_credential")
	if a.status != http.StatusNotFound || a.errcode() != ErrInvalidURL {
		t.Errorf("unknown path: status %d body %s", a.status, a.raw)
	}
	a = do(t, s, http.MethodPost, exchangeURL(testApp, testSecret, "x"))
	if a.status != http.StatusMethodNotAllowed || a.errcode() != ErrRequireGET {
		t.Errorf("POST: status %d body %s", a.status, a.raw)
	}
}

func TestScriptedErrCodeSpendsTheCode(t *testing.T) {
	s, _ := newFake(t)
	code := s.IssueCode(testApp, User{OpenID: "oAbc"})
	s.SetFailure(code, Failure{ErrCode: ErrSystemBusy})
	wantError(t, exchange(t, s, code), ErrSystemBusy, "system error")
	wantError(t, exchange(t, s, code), ErrCodeBeenUsed, "code been used")
}

func TestScriptedErrCodeForAnUnissuedCode(t *testing.T) {
	s, _ := newFake(t)
	s.SetFailure("busy", Failure{ErrCode: ErrRateLimited, ErrMsg: "slow down"})
	wantError(t, exchange(t, s, "busy"), ErrRateLimited, "slow down")
	wantError(t, exchange(t, s, "busy"), ErrInvalidCode, "invalid code")
}

func TestScriptedErrCodeComesAfterAccountChecks(t *testing.T) {
	s, _ := newFake(t)
	s.SetFailure("busy", Failure{ErrCode: ErrSystemBusy})
	wantError(t, do(t, s, http.MethodGet, exchangeURL(testApp, "wrong", "busy")), ErrInvalidAppSecret, "invalid appsecret")
}

func TestScriptedStatusAndBody(t *testing.T) {
	s, _ := newFake(t)
	s.SetFailure("gw", Failure{Status: http.StatusBadGateway})
	if a := exchange(t, s, "gw"); a.status != http.StatusBadGateway {
		t.Errorf("status %d, want 502", a.status)
	}
	s.SetFailure("junk", Failure{Body: []byte("<html>oops")})
	a := exchange(t, s, "junk")
	if a.status != http.StatusOK || a.raw != "<html>oops" || a.contentType != "text/plain" {
		t.Errorf("got %d %q %q", a.status, a.contentType, a.raw)
	}
}

// TestScriptedDelay: the answer is held back by the delay, no less (in a
// synctest bubble: the bubble's clock, no real wait).
func TestScriptedDelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, _ := newFake(t)
		code := s.IssueCode(testApp, User{OpenID: "oAbc"})
		s.SetFailure(code, Failure{Delay: 50 * time.Millisecond})
		start := time.Now()
		if a := exchange(t, s, code); a.fields["openid"] != "oAbc" {
			t.Fatalf("delayed exchange: %s", a.raw)
		}
		if took := time.Since(start); took < 50*time.Millisecond {
			t.Errorf("answered after %v, want at least 50ms", took)
		}
	})
}

// TestScriptedDelayStopsWhenTheCallerGoesAway: the request's cancellation
// cuts an hour's delay short (in a synctest bubble: the handler returns when
// the request's 20 ms deadline passes, not an hour later).
func TestScriptedDelayStopsWhenTheCallerGoesAway(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, _ := newFake(t)
		s.SetFailure("slow", Failure{Delay: time.Hour})
		start := time.Now()
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
		defer cancel()
		req := httptest.NewRequest(http.MethodGet, exchangeURL(testApp, testSecret, "slow"), nil).WithContext(ctx)
		done := make(chan struct{})
		go func() { s.ServeHTTP(httptest.NewRecorder(), req); close(done) }()
		<-done
		if took := time.Since(start); took >= time.Hour {
			t.Fatalf("the handler kept sleeping %v after its request was cancelled at 20ms", took)
		}
	})
}

func TestAcceptAnyCode(t *testing.T) {
	s, _ := newFake(t)
	wantError(t, exchange(t, s, "demo.1"), ErrInvalidCode, "invalid code")

	s.AcceptAnyCode(true)
	a, b := exchange(t, s, "demo.1"), exchange(t, s, "demo.2")
	want := OpenIDForLabel(testApp, "demo")
	if a.fields["openid"] != want || b.fields["openid"] != want {
		t.Fatalf("openids %v and %v, want both %s", a.fields["openid"], b.fields["openid"], want)
	}
	if _, ok := a.fields["unionid"]; ok {
		t.Errorf("unionid present: %s", a.raw)
	}
	if other := exchange(t, s, "alice.1"); other.fields["openid"] == want {
		t.Errorf("another label gave the same openid")
	}
	wantError(t, exchange(t, s, "demo.1"), ErrCodeBeenUsed, "code been used")
	wantError(t, exchange(t, s, "nodot"), ErrInvalidCode, "invalid code")
	wantError(t, exchange(t, s, ".x"), ErrInvalidCode, "invalid code")
	wantError(t, exchange(t, s, strings.Repeat("a", maxCodeLen)+".x"), ErrInvalidCode, "invalid code")
}

func TestAcceptAnyCodeStillHonoursIssuedCodes(t *testing.T) {
	s, _ := newFake(t)
	s.AcceptAnyCode(true)
	code := s.IssueCode(testApp, User{OpenID: "oIssued"})
	if a := exchange(t, s, code); a.fields["openid"] != "oIssued" {
		t.Errorf("issued code: %s", a.raw)
	}
}

func TestOpenIDForLabel(t *testing.T) {
	id := OpenIDForLabel("wxA", "demo")
	if len(id) != 28 || id[0] != 'o' || id != OpenIDForLabel("wxA", "demo") {
		t.Errorf("OpenIDForLabel = %q: want a stable 28-character openid starting with o", id)
	}
	if id == OpenIDForLabel("wxB", "demo") {
		t.Errorf("two apps share an openid")
	}
}

func TestAcceptAnyCodeMemoryIsBounded(t *testing.T) {
	s, clk := newFake(t)
	s.AcceptAnyCode(true)
	for i := range 100 {
		exchange(t, s, fmt.Sprintf("u.%d", i))
	}
	clk.Advance(CodeTTL)
	exchange(t, s, "u.late")
	clk.Advance(CodeTTL)
	exchange(t, s, "u.later")
	s.mu.Lock()
	n := s.anyUsed.len()
	s.mu.Unlock()
	if n != 2 {
		t.Errorf("%d codes remembered after two generations, want 2", n)
	}
}

func TestRequestsCountsEveryRequest(t *testing.T) {
	s, _ := newFake(t)
	srv := httptest.NewServer(s)
	defer srv.Close()
	for _, p := range []string{"/sns/oauth2/access_token", "/elsewhere", "/sns/oauth2/access_token?code=x"} {
		resp, err := http.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	if got := s.Requests(); got != 3 {
		t.Errorf("Requests() = %d, want 3", got)
	}
}

func TestConcurrentExchangesSpendACodeOnce(t *testing.T) {
	s, _ := newFake(t)
	code := s.IssueCode(testApp, User{OpenID: "oAbc"})
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for range 16 {
		wg.Go(func() {
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, exchangeURL(testApp, testSecret, code), nil))
			if bytes.Contains(rec.Body.Bytes(), []byte(`"openid"`)) {
				mu.Lock()
				wins++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if wins != 1 {
		t.Errorf("%d exchanges succeeded, want 1", wins)
	}
}
