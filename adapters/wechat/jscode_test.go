package wechat

import (
	"context"
	"github.com/iotplatform/enduser-auth/adapters/tracing"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/iotplatform/enduser-auth/adapters/wechat/wechatfake"
	"github.com/iotplatform/enduser-auth/domain"
)

const (
	testMiniApp    = "wxminiprogram00001"
	testMiniSecret = "TOP-SECRET-mini-secret"
)

func newMiniFakeClient(t *testing.T) (*Client, *wechatfake.Server) {
	t.Helper()
	fake := wechatfake.New()
	fake.AddAccount(testApp, testSecret)
	fake.AddMiniProgram(testMiniApp, testMiniSecret)
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	return NewClient(Config{BaseURL: srv.URL, Timeout: 2 * time.Second}, nil, tracing.Options{}), fake
}

func TestExchangeJSCodeAgainstTheFake(t *testing.T) {
	c, fake := newMiniFakeClient(t)
	ctx := context.Background()
	withUnion := fake.IssueJSCode(testMiniApp, wechatfake.User{OpenID: "oMini1", UnionID: "uUnion1"})
	id, err := c.ExchangeJSCode(ctx, testMiniApp, testMiniSecret, withUnion)
	if err != nil {
		t.Fatal(err)
	}
	if id.AppID() != testMiniApp || id.OpenID() != "oMini1" || id.UnionID() != "uUnion1" {
		t.Errorf("identity = %+v", id)
	}
	// The unionid comes only sometimes (a mini program bound to no Open Platform account).
	id, err = c.ExchangeJSCode(ctx, testMiniApp, testMiniSecret, fake.IssueJSCode(testMiniApp, wechatfake.User{OpenID: "oMini2"}))
	if err != nil || id.OpenID() != "oMini2" || id.UnionID() != "" {
		t.Fatalf("without unionid: %+v %v", id, err)
	}
}

// TestExchangeJSCodeErrors: each of jscode2session's errcodes is a
// rejection that carries the errcode and never the secret or the code; the
// exchange is never retried.
func TestExchangeJSCodeErrors(t *testing.T) {
	c, fake := newMiniFakeClient(t)
	ctx := context.Background()
	scripted := func(errCode int) string {
		code := fake.IssueJSCode(testMiniApp, wechatfake.User{OpenID: "oMini"})
		fake.SetFailure(code, wechatfake.Failure{ErrCode: errCode})
		return code
	}
	used := fake.IssueJSCode(testMiniApp, wechatfake.User{OpenID: "oMini"})
	if _, err := c.ExchangeJSCode(ctx, testMiniApp, testMiniSecret, used); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, code string
		errcode    string
	}{
		{"invalid code", "never-issued-js-code", "40029"},
		{"code been used", used, "40163"},
		{"rate limit", scripted(wechatfake.ErrRateLimited), "45011"},
		{"busy", scripted(wechatfake.ErrSystemBusy), "-1"},
		{"high-risk user", scripted(wechatfake.ErrHighRiskUser), "40226"},
		{"an official account's code", fake.IssueCode(testMiniApp, wechatfake.User{OpenID: "oMini"}), "40029"},
	} {
		before := fake.Requests()
		_, err := c.ExchangeJSCode(ctx, testMiniApp, testMiniSecret, tc.code)
		e := wantKind(t, err, domain.KindWeChatRejected, tc.code)
		if !strings.Contains(e.Detail, `"errcode":`+tc.errcode+`,`) {
			t.Errorf("%s: detail %q lacks errcode %s", tc.name, e.Detail, tc.errcode)
		}
		if n := fake.Requests() - before; n != 1 {
			t.Errorf("%s: %d requests, want exactly 1 (never retried)", tc.name, n)
		}
	}
	// An official account's appId is unknown to jscode2session, as at WeChat.
	_, err := c.ExchangeJSCode(ctx, testApp, testSecret, "any")
	if e := wantKind(t, err, domain.KindWeChatRejected, "any"); !strings.Contains(e.Detail, "40013") {
		t.Errorf("an official account's appId: %q", e.Detail)
	}
	// Busy is not retried either when WeChat answers 5xx.
	code := fake.IssueJSCode(testMiniApp, wechatfake.User{OpenID: "oMini"})
	fake.SetFailure(code, wechatfake.Failure{Status: http.StatusBadGateway})
	before := fake.Requests()
	_, err = c.ExchangeJSCode(ctx, testMiniApp, testMiniSecret, code)
	wantKind(t, err, domain.KindWeChatUnavailable, code)
	if n := fake.Requests() - before; n != 1 {
		t.Errorf("502: %d requests, want 1", n)
	}
}

// TestExchangeJSCodeWireFormat: the request is jscode2session's GET with
// js_code and grant_type=authorization_code, and the session_key of the
// answer is nowhere in what the client returns.
func TestExchangeJSCodeWireFormat(t *testing.T) {
	var got *http.Request
	c, _ := stubServer(t, func(w http.ResponseWriter, r *http.Request) {
		got = r.Clone(context.Background())
		body(`{"openid":"oMini9","session_key":"SESSION-KEY-must-vanish==","unionid":"uU9"}`)(w, r)
	})
	id, err := c.ExchangeJSCode(context.Background(), testMiniApp, testMiniSecret, "JS-CODE-1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Method != http.MethodGet || got.URL.Path != "/sns/jscode2session" {
		t.Fatalf("request %s %s", got.Method, got.URL.Path)
	}
	q := got.URL.Query()
	if q.Get("appid") != testMiniApp || q.Get("secret") != testMiniSecret || q.Get("js_code") != "JS-CODE-1" ||
		q.Get("grant_type") != "authorization_code" || q.Has("code") {
		t.Fatalf("query %v", q)
	}
	if id.OpenID() != "oMini9" || id.UnionID() != "uU9" {
		t.Fatalf("identity %+v", id)
	}
	// errcode 0 with an openid is a success too.
	c2, _ := stubServer(t, body(`{"errcode":0,"errmsg":"ok","openid":"oMini10","session_key":"k"}`))
	if id, err := c2.ExchangeJSCode(context.Background(), testMiniApp, testMiniSecret, "JS-CODE-2"); err != nil || id.OpenID() != "oMini10" {
		t.Fatalf("errcode 0: %+v %v", id, err)
	}
	// A malformed answer's error does not quote the body (the session_key).
	c3, _ := stubServer(t, body(`{"openid":42,"session_key":"SESSION-KEY-must-vanish=="}`))
	_, err = c3.ExchangeJSCode(context.Background(), testMiniApp, testMiniSecret, "JS-CODE-3")
	wantKind(t, err, domain.KindWeChatMalformed, "JS-CODE-3")
	if strings.Contains(err.Error(), "SESSION-KEY") {
		t.Fatalf("the error %q quotes the session_key", err)
	}
}
