package wechatfake

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

const (
	testMini       = "wxminiprogram0001"
	testMiniSecret = "mini-s3cr3t"
)

func jsCodeURL(appID, secret, jsCode string) string {
	q := url.Values{"appid": {appID}, "secret": {secret}, "js_code": {jsCode}, "grant_type": {"authorization_code"}}
	return "/sns/jscode2session?" + q.Encode()
}

// TestJSCode2SessionWireFormat: jscode2session answers as WeChat does:
// HTTP 200 text/plain JSON; success without errcode, with a session_key and
// the unionid only when the person has one; each code once.
func TestJSCode2SessionWireFormat(t *testing.T) {
	s, clk := newFake(t)
	s.AddMiniProgram(testMini, testMiniSecret)
	code := s.IssueJSCode(testMini, User{OpenID: "oMini", UnionID: "uXyz"})
	a := do(t, s, http.MethodGet, jsCodeURL(testMini, testMiniSecret, code))
	if a.status != http.StatusOK || a.contentType != "text/plain" {
		t.Fatalf("status %d, Content-Type %q", a.status, a.contentType)
	}
	if _, has := a.fields["errcode"]; has || a.fields["openid"] != "oMini" || a.fields["unionid"] != "uXyz" {
		t.Fatalf("success body %s", a.raw)
	}
	if k, _ := a.fields["session_key"].(string); !strings.HasPrefix(k, SessionKeyPrefix) || len(a.fields) != 3 {
		t.Fatalf("success body %s: want openid, session_key, unionid", a.raw)
	}
	wantError(t, do(t, s, http.MethodGet, jsCodeURL(testMini, testMiniSecret, code)), ErrCodeBeenUsed, "code been used")

	noUnion := s.IssueJSCode(testMini, User{OpenID: "oMini2"})
	a = do(t, s, http.MethodGet, jsCodeURL(testMini, testMiniSecret, noUnion))
	if _, has := a.fields["unionid"]; has || a.fields["openid"] != "oMini2" {
		t.Fatalf("without unionid: %s", a.raw)
	}

	wantError(t, do(t, s, http.MethodGet, jsCodeURL(testMini, testMiniSecret, "never-issued")), ErrInvalidCode, "invalid code")
	wantError(t, do(t, s, http.MethodGet, jsCodeURL(testMini, "wrong", "x")), ErrInvalidAppSecret, "invalid appsecret")
	// An official account's appId, or its OAuth code, is nothing to jscode2session (and the other way round).
	wantError(t, do(t, s, http.MethodGet, jsCodeURL(testApp, testSecret, "x")), ErrInvalidAppID, "invalid appid")
	oauth := s.IssueCode(testMini, User{OpenID: "oMini"})
	wantError(t, do(t, s, http.MethodGet, jsCodeURL(testMini, testMiniSecret, oauth)), ErrInvalidCode, "invalid code")
	js := s.IssueJSCode(testMini, User{OpenID: "oMini"})
	wantError(t, do(t, s, http.MethodGet, exchangeURL(testMini, testMiniSecret, js)), ErrInvalidAppID, "invalid appid")
	// An expired jsCode is 40029, as jscode2session says.
	old := s.IssueJSCode(testMini, User{OpenID: "oMini"})
	clk.Advance(CodeTTL + time.Second)
	wantError(t, do(t, s, http.MethodGet, jsCodeURL(testMini, testMiniSecret, old)), ErrInvalidCode, "invalid code")
	// Scripted errcodes, 40226 included.
	risky := s.IssueJSCode(testMini, User{OpenID: "oMini"})
	s.SetFailure(risky, Failure{ErrCode: ErrHighRiskUser})
	wantError(t, do(t, s, http.MethodGet, jsCodeURL(testMini, testMiniSecret, risky)), ErrHighRiskUser, "invalid user, high risk")
}
