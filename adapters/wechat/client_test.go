package wechat

import (
	"context"
	"encoding/json"
	"errors"
	"github.com/iotplatform/enduser-auth/adapters/tracing"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/iotplatform/enduser-auth/adapters/wechat/wechatfake"
	"github.com/iotplatform/enduser-auth/domain"
)

const (
	testApp    = "wx1234567890abcdef"
	testSecret = "TOP-SECRET-app-secret"
	testCode   = "CODE-7f3a9c"
)

func newFakeClient(t *testing.T) (*Client, *wechatfake.Server) {
	t.Helper()
	fake := wechatfake.New()
	fake.AddAccount(testApp, testSecret)
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	return NewClient(Config{BaseURL: srv.URL}, nil, tracing.Options{}), fake
}

// stubServer answers every request with h and counts the requests.
func stubServer(t *testing.T, h http.HandlerFunc) (*Client, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		h(w, r)
	}))
	t.Cleanup(srv.Close)
	return NewClient(Config{BaseURL: srv.URL, Timeout: 2 * time.Second}, nil, tracing.Options{}), &n
}

func body(s string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte(s))
	}
}

// wantKind fails unless err is a *domain.Error of kind k whose text never
// reveals the secret or the code.
func wantKind(t *testing.T, err error, k domain.Kind, code string) *domain.Error {
	t.Helper()
	var e *domain.Error
	if !errors.As(err, &e) || e.Kind != k {
		t.Fatalf("error %v (kind %q), want kind %q", err, domain.KindOf(err), k)
	}
	for _, secret := range []string{testSecret, code} {
		if secret != "" && strings.Contains(err.Error(), secret) {
			t.Errorf("error text %q reveals %q", err.Error(), secret)
		}
	}
	return e
}

func TestExchangeAgainstTheFake(t *testing.T) {
	c, fake := newFakeClient(t)
	code := fake.IssueCode(testApp, wechatfake.User{OpenID: "oUser1", UnionID: "uUnion1", Scope: "snsapi_userinfo"})
	id, err := c.ExchangeCode(context.Background(), testApp, testSecret, code)
	if err != nil {
		t.Fatal(err)
	}
	if id.AppID() != testApp || id.OpenID() != "oUser1" || id.UnionID() != "uUnion1" {
		t.Errorf("identity = %+v", id)
	}
}

func TestExchangeWithoutUnionID(t *testing.T) {
	c, fake := newFakeClient(t)
	id, err := c.ExchangeCode(context.Background(), testApp, testSecret, fake.IssueCode(testApp, wechatfake.User{OpenID: "oUser1"}))
	if err != nil {
		t.Fatal(err)
	}
	if id.OpenID() != "oUser1" || id.UnionID() != "" {
		t.Errorf("identity = %+v", id)
	}
}

func TestFakeRejections(t *testing.T) {
	c, fake := newFakeClient(t)
	used := fake.IssueCode(testApp, wechatfake.User{OpenID: "o1"})
	if _, err := c.ExchangeCode(context.Background(), testApp, testSecret, used); err != nil {
		t.Fatal(err)
	}
	busy := fake.IssueCode(testApp, wechatfake.User{OpenID: "o1"})
	fake.SetFailure(busy, wechatfake.Failure{ErrCode: wechatfake.ErrSystemBusy})

	cases := []struct {
		name, appID, secret, code string
		errcode                   int64
	}{
		{"reused code", testApp, testSecret, used, 40163},
		{"unknown code", testApp, testSecret, "nope", 40029},
		{"wrong secret", testApp, "wrong", "x", 40125},
		{"unknown app", "wxNope", testSecret, "x", 40013},
		{"system busy", testApp, testSecret, busy, -1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.ExchangeCode(context.Background(), tc.appID, tc.secret, tc.code)
			e := wantKind(t, err, domain.KindWeChatRejected, tc.code)
			var d struct {
				ErrCode int64  `json:"errcode"`
				ErrMsg  string `json:"errmsg"`
			}
			if err := json.Unmarshal([]byte(e.Detail), &d); err != nil || d.ErrCode != tc.errcode || !strings.Contains(d.ErrMsg, "rid: ") {
				t.Errorf("Detail = %s, want errcode %d and WeChat's errmsg", e.Detail, tc.errcode)
			}
		})
	}
}

func TestRejectedDetailIsCompactJSON(t *testing.T) {
	c, _ := stubServer(t, body(`{ "errcode" : 40029 , "errmsg" : "invalid code, rid: 6746b1f2-1a2b3c4d-5e6f7a8b" }`))
	_, err := c.ExchangeCode(context.Background(), testApp, testSecret, testCode)
	e := wantKind(t, err, domain.KindWeChatRejected, testCode)
	if want := `{"errcode":40029,"errmsg":"invalid code, rid: 6746b1f2-1a2b3c4d-5e6f7a8b"}`; e.Detail != want {
		t.Errorf("Detail = %s, want %s", e.Detail, want)
	}
}

func TestLongErrMsgIsTruncated(t *testing.T) {
	c, _ := stubServer(t, body(`{"errcode":1,"errmsg":"`+strings.Repeat("é", 1000)+`"}`))
	_, err := c.ExchangeCode(context.Background(), testApp, testSecret, testCode)
	e := wantKind(t, err, domain.KindWeChatRejected, testCode)
	var d struct{ ErrMsg string }
	if json.Unmarshal([]byte(e.Detail), &d) != nil || len(d.ErrMsg) > maxErrMsgBytes || !strings.HasPrefix(d.ErrMsg, "éé") {
		t.Errorf("Detail = %.80s… (%d bytes)", e.Detail, len(e.Detail))
	}
}

func TestSnapshotUserIsRejected(t *testing.T) {
	c, fake := newFakeClient(t)
	code := fake.IssueCode(testApp, wechatfake.User{OpenID: "oFake", Snapshot: true})
	_, err := c.ExchangeCode(context.Background(), testApp, testSecret, code)
	wantKind(t, err, domain.KindWeChatRejected, code)
}

func TestSuccessWithoutOpenIDIsRejected(t *testing.T) {
	c, fake := newFakeClient(t)
	code := fake.IssueCode(testApp, wechatfake.User{})
	_, err := c.ExchangeCode(context.Background(), testApp, testSecret, code)
	wantKind(t, err, domain.KindWeChatRejected, code)
}

func TestErrCodeZeroWithOpenIDIsSuccess(t *testing.T) {
	c, _ := stubServer(t, body(`{"errcode":0,"errmsg":"ok","openid":"oZero","access_token":"AT"}`))
	id, err := c.ExchangeCode(context.Background(), testApp, testSecret, testCode)
	if err != nil || id.OpenID() != "oZero" {
		t.Fatalf("got %+v, %v", id, err)
	}
}

func TestContentTypeIsIgnored(t *testing.T) {
	for _, ct := range []string{"text/plain", "application/json", "text/html; charset=gbk", ""} {
		c, _ := stubServer(t, func(w http.ResponseWriter, _ *http.Request) {
			w.Header()["Content-Type"] = []string{ct}
			_, _ = w.Write([]byte(`{"openid":"oCT"}`))
		})
		if id, err := c.ExchangeCode(context.Background(), testApp, testSecret, testCode); err != nil || id.OpenID() != "oCT" {
			t.Errorf("Content-Type %q: %+v, %v", ct, id, err)
		}
	}
}

func TestMalformedBodies(t *testing.T) {
	for name, b := range map[string]string{
		"html":              "<html><body>503</body></html>",
		"empty":             "",
		"truncated":         `{"openid":"o`,
		"null":              "null",
		"array":             `[{"openid":"o"}]`,
		"string":            `"openid"`,
		"errcode as string": `{"errcode":"40029","errmsg":"x"}`,
		"openid as number":  `{"openid":12345}`,
		"snapshot as bool":  `{"openid":"o","is_snapshotuser":true}`,
		"trailing garbage":  `{"openid":"o"} tail`,
		"too long":          `{"openid":"o","pad":"` + strings.Repeat("x", maxBodyBytes) + `"}`,
	} {
		t.Run(name, func(t *testing.T) {
			c, _ := stubServer(t, body(b))
			_, err := c.ExchangeCode(context.Background(), testApp, testSecret, testCode)
			wantKind(t, err, domain.KindWeChatMalformed, testCode)
		})
	}
}

func TestScriptedGarbageFromTheFake(t *testing.T) {
	c, fake := newFakeClient(t)
	fake.SetFailure("g", wechatfake.Failure{Body: []byte("\x00\x01garbage")})
	_, err := c.ExchangeCode(context.Background(), testApp, testSecret, "g")
	wantKind(t, err, domain.KindWeChatMalformed, "g")
}

func TestNon2xxIsUnavailable(t *testing.T) {
	for _, status := range []int{http.StatusBadGateway, http.StatusInternalServerError, http.StatusNotFound, http.StatusFound} {
		c, _ := stubServer(t, func(w http.ResponseWriter, r *http.Request) {
			if status == http.StatusFound {
				http.Redirect(w, r, "/elsewhere?"+r.URL.RawQuery, status)
				return
			}
			w.WriteHeader(status)
			_, _ = w.Write([]byte(`{"openid":"oNot"}`))
		})
		_, err := c.ExchangeCode(context.Background(), testApp, testSecret, "code-x")
		e := wantKind(t, err, domain.KindWeChatUnavailable, "code-x")
		if !strings.Contains(e.Error(), "HTTP status "+strconv.Itoa(status)) {
			t.Errorf("status %d: error %q does not name the status", status, e.Error())
		}
	}
}

func TestFake502IsUnavailable(t *testing.T) {
	c, fake := newFakeClient(t)
	fake.SetFailure("x", wechatfake.Failure{Status: http.StatusBadGateway})
	_, err := c.ExchangeCode(context.Background(), testApp, testSecret, "x")
	wantKind(t, err, domain.KindWeChatUnavailable, "x")
}

func TestTimeoutIsUnavailableAndRedacted(t *testing.T) {
	fake := wechatfake.New()
	fake.AddAccount(testApp, testSecret)
	fake.SetFailure("slow-code", wechatfake.Failure{Delay: 10 * time.Second})
	srv := httptest.NewServer(fake)
	defer srv.Close()
	c := NewClient(Config{BaseURL: srv.URL, Timeout: 100 * time.Millisecond}, nil, tracing.Options{})

	start := time.Now()
	_, err := c.ExchangeCode(context.Background(), testApp, testSecret, "slow-code")
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("took %v, want the 100ms timeout to cut it", took)
	}
	wantKind(t, err, domain.KindWeChatUnavailable, "slow-code")
	var timeout interface{ Timeout() bool }
	if !errors.As(err, &timeout) || !timeout.Timeout() {
		t.Errorf("error %v does not report a timeout", err)
	}
	if strings.Contains(err.Error(), "secret=") || strings.Contains(err.Error(), "?") {
		t.Errorf("error %q keeps the query", err)
	}
	if !strings.Contains(err.Error(), "/sns/oauth2/access_token") {
		t.Errorf("error %q should still name the endpoint", err)
	}
}

func TestCallerCancellationIsUnavailable(t *testing.T) {
	c, _ := stubServer(t, func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	_, err := c.ExchangeCode(ctx, testApp, testSecret, testCode)
	wantKind(t, err, domain.KindWeChatUnavailable, testCode)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error %v does not wrap context.Canceled", err)
	}
}

func TestSlowBodyIsCutByTheTimeout(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"openid":`))
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}))
	defer srv.Close()
	c := NewClient(Config{BaseURL: srv.URL, Timeout: 100 * time.Millisecond}, nil, tracing.Options{})
	_, err := c.ExchangeCode(context.Background(), testApp, testSecret, testCode)
	wantKind(t, err, domain.KindWeChatUnavailable, testCode)
}

func TestClosedConnectionIsUnavailable(t *testing.T) {
	c, n := stubServer(t, func(w http.ResponseWriter, _ *http.Request) {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
	})
	_, err := c.ExchangeCode(context.Background(), testApp, testSecret, "the-code")
	wantKind(t, err, domain.KindWeChatUnavailable, "the-code")
	if n.Load() != 1 {
		t.Errorf("%d requests, want exactly 1 (no retry)", n.Load())
	}
}

func TestConnectionRefusedIsUnavailable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	c := NewClient(Config{BaseURL: "http://" + addr, Timeout: time.Second}, nil, tracing.Options{})
	_, err = c.ExchangeCode(context.Background(), testApp, testSecret, "the-code")
	wantKind(t, err, domain.KindWeChatUnavailable, "the-code")
}

func TestMalformedBaseURLDoesNotLeak(t *testing.T) {
	c := NewClient(Config{BaseURL: "http://bad host\x7f"}, nil, tracing.Options{})
	_, err := c.ExchangeCode(context.Background(), testApp, testSecret, "the-code")
	if err == nil || strings.Contains(err.Error(), testSecret) || strings.Contains(err.Error(), "the-code") {
		t.Errorf("error %v", err)
	}
}

func TestNoRetryOnSystemBusy(t *testing.T) {
	c, fake := newFakeClient(t)
	code := fake.IssueCode(testApp, wechatfake.User{OpenID: "o1"})
	fake.SetFailure(code, wechatfake.Failure{ErrCode: wechatfake.ErrSystemBusy})
	_, err := c.ExchangeCode(context.Background(), testApp, testSecret, code)
	wantKind(t, err, domain.KindWeChatRejected, code)
	if fake.Requests() != 1 {
		t.Errorf("%d requests to WeChat, want 1", fake.Requests())
	}
}

func TestNoRetryOn502(t *testing.T) {
	c, n := stubServer(t, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusBadGateway) })
	_, err := c.ExchangeCode(context.Background(), testApp, testSecret, testCode)
	wantKind(t, err, domain.KindWeChatUnavailable, testCode)
	if n.Load() != 1 {
		t.Errorf("%d requests, want 1", n.Load())
	}
}

func TestQueryIsEscaped(t *testing.T) {
	appID, secret, code := "wx&app=1", "s+e c=r&et/é", "c&o=d+e é%20中"
	var got map[string][]string
	var path string
	c, _ := stubServer(t, func(w http.ResponseWriter, r *http.Request) {
		got, path = r.URL.Query(), r.URL.Path
		_, _ = w.Write([]byte(`{"openid":"oEsc"}`))
	})
	if _, err := c.ExchangeCode(context.Background(), appID, secret, code); err != nil {
		t.Fatal(err)
	}
	if path != "/sns/oauth2/access_token" {
		t.Errorf("path = %q", path)
	}
	want := map[string]string{"appid": appID, "secret": secret, "code": code, "grant_type": "authorization_code"}
	if len(got) != len(want) {
		t.Errorf("query has %d parameters, want %d: %v", len(got), len(want), got)
	}
	for k, v := range want {
		if len(got[k]) != 1 || got[k][0] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
}

func TestBaseURLWithTrailingSlash(t *testing.T) {
	var path string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path = r.URL.Path
		_, _ = w.Write([]byte(`{"openid":"o"}`))
	}))
	defer srv.Close()
	if _, err := NewClient(Config{BaseURL: srv.URL + "/"}, nil, tracing.Options{}).ExchangeCode(context.Background(), testApp, testSecret, testCode); err != nil {
		t.Fatal(err)
	}
	if path != "/sns/oauth2/access_token" {
		t.Errorf("path = %q", path)
	}
}

func TestConfigDefaults(t *testing.T) {
	c := NewClient(Config{}, nil, tracing.Options{})
	if c.base != DefaultBaseURL || c.timeout != DefaultTimeout {
		t.Errorf("defaults: %q %v", c.base, c.timeout)
	}
}

func TestNewHTTPClientIsTuned(t *testing.T) {
	hc := NewHTTPClient(3 * time.Second)
	tr, ok := hc.Transport.(*http.Transport)
	if !ok {
		t.Fatalf("transport is %T", hc.Transport)
	}
	if tr.MaxIdleConns != 256 || tr.MaxIdleConnsPerHost != 128 || tr.IdleConnTimeout != 90*time.Second ||
		!tr.ForceAttemptHTTP2 || tr.TLSHandshakeTimeout != 3*time.Second || tr.DialContext == nil {
		t.Errorf("transport not tuned: %+v", tr)
	}
	if hc.CheckRedirect == nil || hc.CheckRedirect(nil, nil) != http.ErrUseLastResponse { //nolint:errorlint // net/http's client compares CheckRedirect's error with ==: it must be the sentinel itself
		t.Errorf("the client follows redirects")
	}
}

func TestConnectionsAreReused(t *testing.T) {
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(`{"openid":"o"}`))
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	c := NewClient(Config{BaseURL: srv.URL}, nil, tracing.Options{})
	for range 5 {
		if _, err := c.ExchangeCode(context.Background(), testApp, testSecret, testCode); err != nil {
			t.Fatal(err)
		}
	}
	if conns.Load() != 1 {
		t.Errorf("%d connections for 5 sequential exchanges, want 1", conns.Load())
	}
}

// Go's transport silently resends a replayable GET when a reused keep-alive
// connection dies before the answer; the first send may have spent the code.
func TestNoTransportRetryOnADeadKeepAliveConnection(t *testing.T) {
	var n atomic.Int64
	c, _ := stubServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > 0 || len(r.TransferEncoding) > 0 {
			t.Errorf("request carries a body: Content-Length %d, Transfer-Encoding %v", r.ContentLength, r.TransferEncoding)
		}
		if n.Add(1) == 1 {
			_, _ = w.Write([]byte(`{"openid":"o"}`))
			return
		}
		// Read the request, then die without answering.
		if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
			conn.Close()
		}
	})
	if _, err := c.ExchangeCode(context.Background(), testApp, testSecret, testCode); err != nil {
		t.Fatal(err)
	}
	_, err := c.ExchangeCode(context.Background(), testApp, testSecret, testCode)
	wantKind(t, err, domain.KindWeChatUnavailable, testCode)
	if n.Load() != 2 {
		t.Errorf("%d requests for 2 exchanges: the transport retried", n.Load())
	}
}

func TestExchangeOverHTTP2(t *testing.T) {
	var protos []string
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		protos = append(protos, r.Proto)
		_, _ = w.Write([]byte(`{"openid":"oH2"}`))
	}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()
	hc := NewHTTPClient(time.Second)
	hc.Transport.(*http.Transport).TLSClientConfig = srv.Client().Transport.(*http.Transport).TLSClientConfig
	c := NewClient(Config{BaseURL: srv.URL}, hc, tracing.Options{})
	for range 2 {
		if id, err := c.ExchangeCode(context.Background(), testApp, testSecret, testCode); err != nil || id.OpenID() != "oH2" {
			t.Fatalf("%+v, %v", id, err)
		}
	}
	if len(protos) != 2 || protos[0] != "HTTP/2.0" {
		t.Errorf("protocols %v, want HTTP/2.0", protos)
	}
}
