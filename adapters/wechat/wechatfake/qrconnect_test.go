package wechatfake

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
)

func TestQRConnectRedirectsWithACodeTheExchangeAccepts(t *testing.T) {
	s, _ := newFake(t)
	s.AddWebsiteApp("wx-web", "web-secret")
	s.SetQRUser(User{OpenID: "o-web-alice", UnionID: "u-alice"})
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/connect/qrconnect?appid=wx-web&redirect_uri="+
		url.QueryEscape("https://c.example.com/cb?x=1")+"&response_type=code&scope=snsapi_login&state=abc123", nil))
	if rec.Code != http.StatusFound {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	loc, err := url.Parse(rec.Header().Get("Location"))
	if err != nil || loc.Host != "c.example.com" || loc.Path != "/cb" || loc.Query().Get("x") != "1" || loc.Query().Get("state") != "abc123" {
		t.Fatalf("Location %q", rec.Header().Get("Location"))
	}
	a := do(t, s, http.MethodGet, exchangeURL("wx-web", "web-secret", loc.Query().Get("code")))
	if a.errcode() != 0 || a.fields["openid"] != "o-web-alice" || a.fields["unionid"] != "u-alice" {
		t.Fatalf("the exchange of the QR code: %s", a.raw)
	}
	for name, target := range map[string]string{
		"unknown app":  "/connect/qrconnect?appid=wx-nope&redirect_uri=https%3A%2F%2Fc.example.com%2Fcb&response_type=code&scope=snsapi_login&state=s",
		"bad redirect": "/connect/qrconnect?appid=wx-web&redirect_uri=javascript%3Aalert(1)&response_type=code&scope=snsapi_login&state=s",
		"bad scope":    "/connect/qrconnect?appid=wx-web&redirect_uri=https%3A%2F%2Fc.example.com%2Fcb&response_type=code&scope=snsapi_base&state=s",
	} {
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
		if rec.Code != http.StatusOK || rec.Header().Get("Location") != "" {
			t.Errorf("%s: %d %q", name, rec.Code, rec.Header().Get("Location"))
		}
	}
}
