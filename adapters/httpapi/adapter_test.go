package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/iotplatform/enduser-auth/adapters/httpapi"
	"github.com/iotplatform/enduser-auth/adapters/ratelimit"
	"github.com/iotplatform/enduser-auth/adapters/wechat/wechatfake"
	"github.com/iotplatform/enduser-auth/application"
	"github.com/iotplatform/enduser-auth/domain"
	"github.com/iotplatform/enduser-auth/internal/fakeclock"
)

// TestParametersQueryFormAndJSON: the login's parameters come from the query,
// a form body or a JSON body (numbers as their literal text); a non-blank
// query value wins over the body's; an empty body of any content type is no
// body and a malformed one is ignored, so the missing parameter gets its own
// code; an oversized one carries no parameter at all (TestOversizedBody).
func TestParametersQueryFormAndJSON(t *testing.T) {
	h := newMemHarness(t, memSetup{})
	bob := wechatfake.User{OpenID: "o-bob"}
	path := httpapi.PathWeChatOffiaccountLogin

	form := loginQuery(mApp, h.fake.IssueCode(mApp, bob), "460")
	uidForm := h.uid(h.do(http.MethodPost, path, strings.NewReader(form.Encode()), "Content-Type", "application/x-www-form-urlencoded").pair(t))

	c := h.fake.IssueCode(mApp, bob)
	body := `{"userDomain":"` + mDomain + `","appId":"` + mApp + `","code":"` + c + `","signature":"` +
		domain.LoginSignature(mApp, c, mSecret) + `","mcc":460}`
	for _, ct := range []string{"application/json; charset=utf-8", "application/merge-patch+json"} {
		if ct != "application/json; charset=utf-8" {
			c = h.fake.IssueCode(mApp, bob)
			body = `{"userDomain":"` + mDomain + `","appId":"` + mApp + `","code":"` + c + `","signature":"` +
				domain.LoginSignature(mApp, c, mSecret) + `","mcc":460}`
		}
		if uid := h.uid(h.do(http.MethodPost, path, strings.NewReader(body), "Content-Type", ct).pair(t)); uid != uidForm {
			t.Fatalf("%s: same person, two uids: %v %v", ct, uidForm, uid)
		}
	}

	// The query wins over the body; a blank query value does not.
	q := loginQuery(mApp, h.fake.IssueCode(mApp, bob), "")
	h.do(http.MethodPost, path+"?"+q.Encode(), strings.NewReader(`{"userDomain":"nonsense","appId":""}`), "Content-Type", "application/json").pair(t)
	c = h.fake.IssueCode(mApp, bob)
	body = `{"userDomain":"` + mDomain + `","appId":"` + mApp + `","code":"` + c + `","signature":"` + domain.LoginSignature(mApp, c, mSecret) + `"}`
	h.do(http.MethodPost, path+"?userDomain=%20&appId=", strings.NewReader(body), "Content-Type", "application/json").pair(t)

	// An empty body of any content type is no body; a malformed one, one of
	// an unknown type and one over the limit are ignored.
	for _, ct := range []string{"application/json", "application/x-www-form-urlencoded", "text/plain", "multipart/form-data"} {
		if a := h.do(http.MethodPost, path, strings.NewReader(""), "Content-Type", ct); a.Code != 5023 {
			t.Errorf("empty %s body: want 5023, got %d", ct, a.Code)
		}
	}
	for name, c := range map[string]struct{ ct, body string }{
		"malformed JSON":   {"application/json", `{"userDomain":`},
		"a JSON string":    {"application/json", `"userDomain"`},
		"text/plain":       {"text/plain", "userDomain=" + mDomain},
		"no content type":  {"", "userDomain=" + mDomain},
		"over 64 KiB JSON": {"application/json", `{"userDomain":"` + mDomain + `","pad":"` + strings.Repeat("x", 64<<10) + `"}`},
		"JSON null":        {"application/json", `{"userDomain":null}`},
	} {
		if a := h.do(http.MethodPost, path, strings.NewReader(c.body), "Content-Type", c.ct); a.Code != 5023 {
			t.Errorf("%s body: want 5023, got %d %q", name, a.Code, a.Msg)
		}
	}
}

// TestJSONTypes: a JSON body's members of other types than strings are their
// JSON text, so an object or an array fails validation with the parameter's
// own code (never a 500), and a number is its literal text.
func TestJSONTypes(t *testing.T) {
	h := newMemHarness(t, memSetup{})
	path := httpapi.PathWeChatOffiaccountLogin
	for body, want := range map[string]int{
		`{"userDomain":{"a":1}}`:                                                       5013,
		`{"userDomain":["` + mDomain + `"]}`:                                           5013,
		`{"userDomain":true}`:                                                          5013,
		`{"userDomain":"` + mDomain + `","appId":null}`:                                5218,
		`{"userDomain":"` + mDomain + `","appId":1,"code":"c"}`:                        5550,
		`{"userDomain":"` + mDomain + `","appId":"wx","code":[]}`:                      5550,
		`{"userDomain":"` + mDomain + `","appId":"wx"}`:                                5372,
		`{"userDomain":"` + mDomain + `","appId":"wx","code":"c","signature":{"s":1}}`: 5420,
		`{"userDomain":"C.DM.99999.9","appId":"wx","code":"c","signature":"s"}`:        5015,
	} {
		if a := h.do(http.MethodPost, path, strings.NewReader(body), "Content-Type", "application/json"); a.Code != want || a.Status != http.StatusOK {
			t.Errorf("%s: want %d, got HTTP %d code %d %q", body, want, a.Status, a.Code, a.Msg)
		}
	}
	// mcc as a JSON number or a string is the same; a fractional one is
	// refused like any malformed MCC.
	bob := wechatfake.User{OpenID: "o-bob"}
	for _, mcc := range []string{`460`, `"460"`} {
		c := h.fake.IssueCode(mApp, bob)
		body := fmt.Sprintf(`{"userDomain":%q,"appId":%q,"code":%q,"signature":%q,"mcc":%s}`, mDomain, mApp, c, domain.LoginSignature(mApp, c, mSecret), mcc)
		h.do(http.MethodPost, path, strings.NewReader(body), "Content-Type", "application/json").pair(t)
	}
	c := h.fake.IssueCode(mApp, bob)
	body := fmt.Sprintf(`{"userDomain":%q,"appId":%q,"code":%q,"signature":%q,"mcc":46.0}`, mDomain, mApp, c, domain.LoginSignature(mApp, c, mSecret))
	if a := h.do(http.MethodPost, path, strings.NewReader(body), "Content-Type", "application/json"); a.Code != 6085 {
		t.Errorf("mcc 46.0: want 6085, got %d %q", a.Code, a.Msg)
	}
}

// TestEnvelopeAndLanguage: a refusal is the platform's envelope at HTTP 200
// (extMsg present and null), in English unless Accept-Language ranks Chinese
// highest; the route's own wording wins over the table's.
func TestEnvelopeAndLanguage(t *testing.T) {
	h := newMemHarness(t, memSetup{})
	bad := loginQuery(mApp, "some-code", "")
	bad.Set("signature", strings.Repeat("0", 64))
	target := httpapi.PathWeChatOffiaccountLogin + "?" + bad.Encode()
	a := h.do(http.MethodPost, target, nil)
	if a.Status != 200 || a.Code != 5420 || a.Msg != "Signature verification failed" || a.ExtMsg != nil || string(a.Data) != "null" {
		t.Fatalf("refusal: HTTP %d %s", a.Status, a.Raw)
	}
	if !strings.Contains(string(a.Raw), `"extMsg":null`) || !strings.HasPrefix(a.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("not the envelope: %q %s", a.Header.Get("Content-Type"), a.Raw)
	}
	for lang, msg := range map[string]string{
		"zh-CN,zh;q=0.9":         "签名验证失败",
		"en;q=0.5, zh-Hans;q=.9": "签名验证失败",
		"en-US,zh;q=0.8":         "Signature verification failed",
		"zh;q=0":                 "Signature verification failed",
	} {
		if a := h.do(http.MethodPost, target, nil, "Accept-Language", lang); a.Msg != msg {
			t.Errorf("Accept-Language %q: msg %q, want %q", lang, a.Msg, msg)
		}
	}
	// The mini program login words 5372 its own way.
	mini := url.Values{"userDomain": {mDomain}, "appId": {mMiniApp}, "signature": {"s"}}
	for lang, msg := range map[string]string{"": "Please enter jsCode", "zh": "请输入jsCode"} {
		a := h.do(http.MethodPost, httpapi.PathWeChatMiniprogramLogin+"?"+mini.Encode(), nil, "Accept-Language", lang)
		if a.Code != 5372 || a.Msg != msg {
			t.Errorf("mini program without jsCode (%q): %d %q", lang, a.Code, a.Msg)
		}
	}
	if a := h.do(http.MethodPost, httpapi.PathWeChatOffiaccountLogin+"?"+url.Values{"userDomain": {mDomain}, "appId": {mApp}}.Encode(), nil); a.Code != 5372 || a.Msg != "Please enter code" {
		t.Errorf("official account without code: %d %q", a.Code, a.Msg)
	}
}

// TestHygieneHeaders: every answer carries a request id (a trusted proxy's
// when it is well-formed, a client's never) and nosniff; answers that may
// carry a token or personal data are not stored; the JWKS is cacheable.
func TestHygieneHeaders(t *testing.T) {
	// The harness's requests come from 192.0.2.1: here a trusted proxy.
	h := newMemHarness(t, memSetup{opts: httpapi.Options{TrustedProxies: mustPrefixes(t, "192.0.2.0/24")}})
	pair := h.login(wechatfake.User{OpenID: "o-carol"})
	for name, a := range map[string]memAnswer{
		"login refused": h.do(http.MethodPost, httpapi.PathWeChatOffiaccountLogin, nil, "X-Request-Id", "req-1"),
		"refresh":       h.do(http.MethodPut, httpapi.PathRefreshToken+"?refreshToken="+url.QueryEscape(pair.RefreshToken.Token), nil, "X-Request-Id", "req-1"),
		"userInfo":      h.do(http.MethodGet, httpapi.PathUserInfo, nil, "Authorization", pair.AccessToken.Token, "X-Request-Id", "req-1"),
	} {
		hd := a.Header
		if hd.Get("X-Request-Id") != "req-1" || hd.Get("X-Content-Type-Options") != "nosniff" ||
			hd.Get("Cache-Control") != "no-store" || hd.Get("Pragma") != "no-cache" {
			t.Errorf("%s: headers %v", name, hd)
		}
	}
	a := h.do(http.MethodGet, httpapi.PathJWKS, nil, "X-Request-Id", "bad id with spaces")
	if a.Status != 200 || a.Header.Get("Cache-Control") != "public, max-age=60" || a.Header.Get("Pragma") != "" ||
		a.Header.Get("X-Content-Type-Options") != "nosniff" || !strings.Contains(string(a.Raw), `"keys"`) {
		t.Fatalf("JWKS: %d %v %s", a.Status, a.Header, a.Raw)
	}
	if id := a.Header.Get("X-Request-Id"); id == "" || id == "bad id with spaces" {
		t.Fatalf("a malformed X-Request-Id was kept or none generated: %q", id)
	}
	// From a peer that is not a trusted proxy, a well-formed id is replaced too.
	direct := newMemHarness(t, memSetup{})
	a = direct.do(http.MethodPut, httpapi.PathRefreshToken+"?refreshToken=not-a-token", nil, "X-Request-Id", "req-1")
	if id := a.Header.Get("X-Request-Id"); id == "" || id == "req-1" {
		t.Fatalf("a client's X-Request-Id was kept or none generated: %q", id)
	}
}

// panickyWeChat panics in every exchange (with http.ErrAbortHandler when
// abort is set).
type panickyWeChat struct {
	application.WeChatOAuth
	abort bool
}

func (p panickyWeChat) ExchangeCode(context.Context, string, string, string) (domain.WeChatIdentity, error) {
	if p.abort {
		panic(http.ErrAbortHandler)
	}
	panic("boom in the WeChat port")
}

// TestPanicGuard: a panic under a handler is answered with the 5000 envelope
// (HTTP 500, no cause), counted in the metrics, and the next request is
// served; http.ErrAbortHandler is not swallowed.
func TestPanicGuard(t *testing.T) {
	h := newMemHarness(t, memSetup{wrapWeChat: func(w application.WeChatOAuth) application.WeChatOAuth { return panickyWeChat{WeChatOAuth: w} }})
	target := httpapi.PathWeChatOffiaccountLogin + "?" + loginQuery(mApp, "any", "460").Encode()
	for _, lang := range []string{"", "zh"} {
		a := h.do(http.MethodPost, target, nil, "Accept-Language", lang)
		want := map[string]string{"": "Service exception", "zh": "服务异常"}[lang]
		if a.Status != http.StatusInternalServerError || a.Code != 5000 || a.Msg != want || strings.Contains(string(a.Raw), "boom") {
			t.Fatalf("panic answered HTTP %d %s", a.Status, a.Raw)
		}
		if a.Header.Get("Cache-Control") != "no-store" || a.Header.Get("X-Request-Id") == "" {
			t.Fatalf("panic answer headers: %v", a.Header)
		}
	}
	if a := h.do(http.MethodPost, httpapi.PathWeChatOffiaccountLogin, nil); a.Code != 5023 {
		t.Fatalf("after a panic: %d", a.Code)
	}
	if got := h.counter("login", 5000); got != 2 {
		t.Fatalf("requests_total{login,5000} = %v, want 2", got)
	}

	abort := newMemHarness(t, memSetup{wrapWeChat: func(w application.WeChatOAuth) application.WeChatOAuth {
		return panickyWeChat{WeChatOAuth: w, abort: true}
	}})
	func() {
		defer func() {
			if v := recover(); v != http.ErrAbortHandler { //nolint:errorlint // the panic value itself is compared
				t.Fatalf("http.ErrAbortHandler: recovered %v", v)
			}
		}()
		abort.do(http.MethodPost, target, nil)
		t.Fatal("http.ErrAbortHandler was swallowed")
	}()
}

// TestCORS: with origins configured, the module's routes answer preflights
// and allowed origins; other origins get no CORS headers; without origins no
// route answers CORS.
func TestCORS(t *testing.T) {
	const origin = "https://h5.example.com"
	h := newMemHarness(t, memSetup{opts: httpapi.Options{CORSOrigins: []string{origin}}})
	for _, p := range []string{httpapi.PathWeChatOffiaccountLogin, httpapi.PathRefreshToken, httpapi.PathUserInfo, httpapi.PathJWKS} {
		req := httptestRequest(t, http.MethodOptions, p)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", http.MethodPost)
		req.Header.Set("Access-Control-Request-Headers", "Authorization, Content-Type")
		a := h.serve(req, false)
		if a.Status != http.StatusNoContent || a.Header.Get("Access-Control-Allow-Origin") != origin ||
			!strings.Contains(a.Header.Get("Access-Control-Allow-Methods"), "PUT") || a.Header.Get("Access-Control-Max-Age") != "600" {
			t.Errorf("preflight %s: %d %v", p, a.Status, a.Header)
		}
	}
	req := httptestRequest(t, http.MethodPost, httpapi.PathWeChatOffiaccountLogin)
	req.Header.Set("Origin", origin)
	a := h.serve(req, true)
	if a.Code != 5023 || a.Header.Get("Access-Control-Allow-Origin") != origin || !strings.Contains(a.Header.Get("Access-Control-Expose-Headers"), "X-Request-Id") {
		t.Fatalf("allowed origin: %d %v", a.Code, a.Header)
	}
	req = httptestRequest(t, http.MethodPost, httpapi.PathWeChatOffiaccountLogin)
	req.Header.Set("Origin", "https://evil.example.com")
	if a := h.serve(req, true); a.Code != 5023 || a.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("other origin: %d %v", a.Code, a.Header)
	}

	none := newMemHarness(t, memSetup{})
	req = httptestRequest(t, http.MethodPost, httpapi.PathWeChatOffiaccountLogin)
	req.Header.Set("Origin", origin)
	if a := none.serve(req, true); a.Code != 5023 || a.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("no origins configured: %d %v", a.Code, a.Header)
	}
}

// TestRequireAccessToken: the middleware a host puts on its own routes lets
// through a valid access token ("Bearer " optional) with the principal in
// the context, and refuses the others with the envelope (5106, 5032).
func TestRequireAccessToken(t *testing.T) {
	const protected = "/host/protected"
	h := newMemHarness(t, memSetup{extra: func(e *echo.Echo, hd *httpapi.Handler) {
		e.GET(protected, func(c echo.Context) error {
			p, ok := application.PrincipalFromContext(c.Request().Context())
			if !ok {
				return c.String(http.StatusTeapot, "no principal")
			}
			return c.String(http.StatusOK, p.UID+"|"+p.UserDomain)
		}, hd.RequireAccessToken())
	}})
	pair := h.login(wechatfake.User{OpenID: "o-dave"})
	uid := h.uid(pair)
	for _, tok := range []string{pair.AccessToken.Token, strings.TrimPrefix(pair.AccessToken.Token, "Bearer ")} {
		a := h.serveWith(protected, tok)
		if a.Status != http.StatusOK || string(a.Raw) != uid+"|"+mDomain {
			t.Fatalf("valid token %q…: %d %q", tok[:12], a.Status, a.Raw)
		}
	}
	for tok, want := range map[string]int{"": 5106, "Bearer ": 5106, "Bearer not.a.token": 5032, pair.RefreshToken.Token: 5032} {
		a := h.serveWith(protected, tok)
		if a.Status != http.StatusOK || a.Code != want || a.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("token %q: HTTP %d %s", tok, a.Status, a.Raw)
		}
	}
	// After a logout the token is refused here too.
	if a := h.do(http.MethodDelete, httpapi.PathUserLogout, nil, "Authorization", pair.AccessToken.Token); a.Code != 200 {
		t.Fatalf("logout: %d %q", a.Code, a.Msg)
	}
	if a := h.serveWith(protected, pair.AccessToken.Token); a.Code != 5032 {
		t.Fatalf("after logout: %d %s", a.Code, a.Raw)
	}
}

// TestSessionEndpoints: refresh, user info and logout over the adapter: the
// parameters and headers they read and the answers' shapes.
func TestSessionEndpoints(t *testing.T) {
	h := newMemHarness(t, memSetup{})
	pair := h.login(wechatfake.User{OpenID: "o-erin", UnionID: "u-erin"})
	if a := h.do(http.MethodPut, httpapi.PathRefreshToken, nil); a.Code != 5115 {
		t.Fatalf("refresh without token: %d", a.Code)
	}
	// The refresh token from a form body, "Bearer " included, as clients send it back.
	next := h.do(http.MethodPut, httpapi.PathRefreshToken, strings.NewReader(url.Values{"refreshToken": {pair.RefreshToken.Token}}.Encode()),
		"Content-Type", "application/x-www-form-urlencoded").pair(t)
	if next.RefreshToken.Token == pair.RefreshToken.Token {
		t.Fatal("the refresh token did not rotate")
	}
	if a := h.do(http.MethodGet, httpapi.PathUserInfo, nil); a.Code != 5106 {
		t.Fatalf("userInfo without token: %d", a.Code)
	}
	a := h.do(http.MethodGet, httpapi.PathUserInfo, nil, "Authorization", next.AccessToken.Token)
	if a.Code != 200 || !strings.Contains(string(a.Data), `"uid":"`+h.uid(next)+`"`) || !strings.Contains(string(a.Data), `"wechatUnionId":"u-erin"`) ||
		!strings.Contains(string(a.Data), `"logonMode":"wechatOffiaccount"`) {
		t.Fatalf("userInfo: %d %s", a.Code, a.Data)
	}
	if a := h.do(http.MethodPut, httpapi.PathSetUserInfo+"?sex=7", nil, "Authorization", next.AccessToken.Token); a.Code != 5061 {
		t.Fatalf("setUserInfo sex=7: %d", a.Code)
	}
	if a := h.do(http.MethodPut, httpapi.PathSetUserInfo, strings.NewReader(`{"nikeName":"Erin","sex":2}`), "Authorization", next.AccessToken.Token,
		"Content-Type", "application/json"); a.Code != 200 {
		t.Fatalf("setUserInfo: %d %q", a.Code, a.Msg)
	}
	a = h.do(http.MethodGet, httpapi.PathUserInfo, nil, "Authorization", next.AccessToken.Token)
	if !strings.Contains(string(a.Data), `"nikeName":"Erin"`) || !strings.Contains(string(a.Data), `"sex":"2"`) {
		t.Fatalf("userInfo after setUserInfo: %s", a.Data)
	}
	if a := h.do(http.MethodDelete, httpapi.PathUserDelete+"?type=9", nil, "Authorization", next.AccessToken.Token); a.Code != 5152 {
		t.Fatalf("userDelete type=9: %d", a.Code)
	}
	if a := h.do(http.MethodDelete, httpapi.PathUserLogout, nil); a.Code != 5106 {
		t.Fatalf("logout without token: %d", a.Code)
	}
	if a := h.do(http.MethodDelete, httpapi.PathUserLogout, nil, "Authorization", next.AccessToken.Token); a.Code != 200 {
		t.Fatalf("logout: %d", a.Code)
	}
	if a := h.do(http.MethodPut, httpapi.PathRefreshToken+"?refreshToken="+url.QueryEscape(next.RefreshToken.Token), nil); a.Code != 5032 {
		t.Fatalf("refresh after logout: %d", a.Code)
	}
}

// TestRequestLimitAndRetryAfter: over its client IP's rate a request gets
// 5148 with a Retry-After in whole seconds, rounded up; the JWKS is not
// limited.
func TestRequestLimitAndRetryAfter(t *testing.T) {
	clock := fakeclock.Default()
	lim := ratelimit.NewMemory(ratelimit.Config{IPRate: 0.4, IPBurst: 1}, clock)
	h := newMemHarness(t, memSetup{limiter: lim})
	if a := h.do(http.MethodPost, httpapi.PathWeChatOffiaccountLogin, nil); a.Code != 5023 {
		t.Fatalf("first request: %d", a.Code)
	}
	a := h.do(http.MethodPost, httpapi.PathWeChatOffiaccountLogin, nil)
	if a.Code != 5148 || a.Header.Get("Retry-After") == "" {
		t.Fatalf("over the rate: %d %v", a.Code, a.Header)
	}
	// 1 / 0.4 = 2.5 s to the next token, rounded up.
	if ra := a.Header.Get("Retry-After"); ra != "3" {
		t.Fatalf("Retry-After %q, want 3", ra)
	}
	clock.Advance(2 * time.Second)
	if a := h.do(http.MethodPost, httpapi.PathWeChatOffiaccountLogin, nil); a.Code != 5148 || a.Header.Get("Retry-After") != "1" {
		t.Fatalf("2 s later: %d Retry-After %q, want 5148 and 1", a.Code, a.Header.Get("Retry-After"))
	}
	clock.Advance(500 * time.Millisecond)
	if a := h.do(http.MethodPost, httpapi.PathWeChatOffiaccountLogin, nil); a.Code != 5023 {
		t.Fatalf("after Retry-After: %d", a.Code)
	}
	for range 3 {
		if a := h.do(http.MethodGet, httpapi.PathJWKS, nil); a.Status != 200 {
			t.Fatalf("JWKS under the limit: %d", a.Status)
		}
	}
	if got := h.counter("login", 5148); got != 2 {
		t.Fatalf("requests_total{login,5148} = %v", got)
	}
}

// TestTrustedProxyClientIP: behind a listed proxy the limit counts the
// forwarded client, elsewhere the peer (a forged X-Forwarded-For changes
// nothing).
func TestTrustedProxyClientIP(t *testing.T) {
	lim := ratelimit.NewMemory(ratelimit.Config{IPRate: 0.001, IPBurst: 1}, fakeclock.Default())
	h := newMemHarness(t, memSetup{limiter: lim})
	send := func(peer, xff string) int {
		req := httptestRequest(t, http.MethodPost, httpapi.PathWeChatOffiaccountLogin)
		req.RemoteAddr = peer
		req.Header.Set("X-Forwarded-For", xff)
		return h.serve(req, true).Code
	}
	if c1, c2 := send("198.51.100.1:1000", "203.0.113.1"), send("198.51.100.1:1000", "203.0.113.2"); c1 != 5023 || c2 != 5148 {
		t.Fatalf("untrusted peer: a forged X-Forwarded-For made a new client (%d, %d)", c1, c2)
	}

	lim = ratelimit.NewMemory(ratelimit.Config{IPRate: 0.001, IPBurst: 1}, fakeclock.Default())
	h = newMemHarness(t, memSetup{limiter: lim,
		opts: httpapi.Options{TrustedProxies: mustPrefixes(t, "198.51.100.0/24")}})
	if c1, c2 := send("198.51.100.1:1000", "203.0.113.1"), send("198.51.100.2:1000", "203.0.113.2"); c1 != 5023 || c2 != 5023 {
		t.Fatalf("behind a trusted proxy, two clients: %d, %d", c1, c2)
	}
	if c := send("198.51.100.3:1000", "203.0.113.1"); c != 5148 {
		t.Fatalf("behind a trusted proxy, the same client again: %d", c)
	}
}

// TestMetricsCountEveryAnswer: each answer is counted by endpoint and code.
func TestMetricsCountEveryAnswer(t *testing.T) {
	h := newMemHarness(t, memSetup{})
	h.login(wechatfake.User{OpenID: "o-frank"})
	for range 3 {
		h.do(http.MethodPost, httpapi.PathWeChatOffiaccountLogin, nil)
	}
	h.do(http.MethodGet, httpapi.PathJWKS, nil)
	for _, c := range []struct {
		endpoint string
		code     int
		want     float64
	}{{"login", 200, 1}, {"login", 5023, 3}, {"jwks", 0, 1}} {
		if got := h.counter(c.endpoint, c.code); got != c.want {
			t.Errorf("requests_total{%s,%d} = %v, want %v", c.endpoint, c.code, got, c.want)
		}
	}
	if h.histogramCount("login") != 4 {
		t.Errorf("duration histogram of login: %d observations", h.histogramCount("login"))
	}
}
