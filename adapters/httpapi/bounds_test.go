package httpapi_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/iotplatform/enduser-auth/adapters/httpapi"
	"github.com/iotplatform/enduser-auth/adapters/wechat/wechatfake"
	"github.com/iotplatform/enduser-auth/domain"
)

// Issue 19, item 4: every input bounded where it enters.

// TestCodeOver128RefusedBeforeWeChat: a code or jsCode over 128 characters,
// correctly signed, is refused with the code a missing one gets (5372),
// from the query or a JSON body, and WeChat is never called; one of 128
// still reaches WeChat.
func TestCodeOver128RefusedBeforeWeChat(t *testing.T) {
	h := newMemHarness(t, memSetup{})
	long := strings.Repeat("c", domain.MaxWeChatCodeLen+1)
	before := h.fake.Requests()

	q := loginQuery(mApp, long, "")
	if a := h.do(http.MethodPost, httpapi.PathWeChatOffiaccountLogin+"?"+q.Encode(), nil); a.Code != 5372 || a.Msg != "Please enter code" {
		t.Errorf("code of %d: got %d %q, want 5372", len(long), a.Code, a.Msg)
	}
	body := fmt.Sprintf(`{"userDomain":%q,"appId":%q,"code":%q,"signature":%q}`, mDomain, mApp, strings.Repeat("x", 60<<10),
		domain.LoginSignature(mApp, strings.Repeat("x", 60<<10), mSecret))
	if a := h.do(http.MethodPost, httpapi.PathWeChatOffiaccountLogin, strings.NewReader(body), "Content-Type", "application/json"); a.Code != 5372 {
		t.Errorf("code of 60 KB in JSON: got %d %q, want 5372", a.Code, a.Msg)
	}
	mini := url.Values{"userDomain": {mDomain}, "appId": {mMiniApp}, "jsCode": {long},
		"signature": {domain.LoginSignature(mMiniApp, long, mSecret)}}
	if a := h.do(http.MethodPost, httpapi.PathWeChatMiniprogramLogin+"?"+mini.Encode(), nil); a.Code != 5372 || a.Msg != "Please enter jsCode" {
		t.Errorf("jsCode of %d: got %d %q, want 5372", len(long), a.Code, a.Msg)
	}
	if n := h.fake.Requests() - before; n != 0 {
		t.Fatalf("WeChat saw %d calls, want none", n)
	}

	// 128 is within the bound: an unknown code of that length is WeChat's to refuse.
	q = loginQuery(mApp, long[:domain.MaxWeChatCodeLen], "")
	if a := h.do(http.MethodPost, httpapi.PathWeChatOffiaccountLogin+"?"+q.Encode(), nil); a.Code == 5372 {
		t.Errorf("code of 128: refused as missing")
	}
	if n := h.fake.Requests() - before; n != 1 {
		t.Errorf("WeChat saw %d calls, want 1 (the code of 128)", n)
	}
}

// nikeNameOf is userInfo's nikeName.
func (h *memHarness) nikeNameOf(access string) string {
	h.t.Helper()
	a := h.do(http.MethodGet, httpapi.PathUserInfo, nil, "Authorization", access)
	var info struct {
		NikeName string `json:"nikeName"`
	}
	if a.Code != 200 || json.Unmarshal(a.Data, &info) != nil {
		h.t.Fatalf("userInfo: %d %s", a.Code, a.Raw)
	}
	return info.NikeName
}

// TestOversizedBody: a body over 64 KiB is never a silent success: the
// request carries no parameters at all (its query's neither), so each
// endpoint answers the code of its first missing parameter (logins 5023,
// refresh 5115) or, where all are optional, of a wrong one after the
// token's check (setUserInfo 5034, userLogout 5045, userDelete 5152); nothing
// is changed and WeChat is not called.
func TestOversizedBody(t *testing.T) {
	h := newMemHarness(t, memSetup{})
	pair := h.login(wechatfake.User{OpenID: "o-big"})
	tok := pair.AccessToken.Token
	if a := h.do(http.MethodPut, httpapi.PathSetUserInfo+"?nikeName=Before", nil, "Authorization", tok); a.Code != 200 {
		t.Fatalf("setUserInfo: %d", a.Code)
	}
	big := func(member string) *strings.Reader {
		return strings.NewReader(`{` + member + `,"pad":"` + strings.Repeat("x", 64<<10) + `"}`)
	}
	before := h.fake.Requests()
	for _, c := range []struct {
		name, method, target, member string
		auth                         bool
		want                         int
	}{
		{"login", http.MethodPost, httpapi.PathWeChatOffiaccountLogin + "?" + loginQuery(mApp, h.fake.IssueCode(mApp, wechatfake.User{OpenID: "o-big"}), "").Encode(), `"mcc":"460"`, false, 5023},
		{"refresh", http.MethodPut, httpapi.PathRefreshToken + "?refreshToken=" + url.QueryEscape(pair.RefreshToken.Token), `"x":1`, false, 5115},
		{"setUserInfo", http.MethodPut, httpapi.PathSetUserInfo, `"nikeName":"After"`, true, 5034},
		{"setUserInfo query", http.MethodPut, httpapi.PathSetUserInfo + "?nikeName=After", `"sex":1`, true, 5034},
		{"setUserInfo no token", http.MethodPut, httpapi.PathSetUserInfo, `"nikeName":"After"`, false, 5106},
		{"userLogout", http.MethodDelete, httpapi.PathUserLogout, `"deviceId":"d1"`, true, 5045},
		{"userDelete", http.MethodDelete, httpapi.PathUserDelete + "?type=1", `"type":1`, true, 5152},
	} {
		headers := []string{"Content-Type", "application/json"}
		if c.auth {
			headers = append(headers, "Authorization", tok)
		}
		if a := h.do(c.method, c.target, big(c.member), headers...); a.Code != c.want || a.Status != http.StatusOK {
			t.Errorf("%s: HTTP %d code %d %q, want %d", c.name, a.Status, a.Code, a.Msg, c.want)
		}
	}
	if n := h.fake.Requests() - before; n != 0 {
		t.Errorf("WeChat saw %d calls, want none", n)
	}
	// Nothing changed: the session lives, the profile is as it was.
	if got := h.nikeNameOf(tok); got != "Before" {
		t.Errorf("nikeName %q after oversized setUserInfo, want Before", got)
	}
	// A body of 64 KiB exactly is read.
	pad := 64<<10 - len(`{"nikeName":"Fits","pad":""}`)
	body := `{"nikeName":"Fits","pad":"` + strings.Repeat("x", pad) + `"}`
	if a := h.do(http.MethodPut, httpapi.PathSetUserInfo, strings.NewReader(body), "Content-Type", "application/json", "Authorization", tok); a.Code != 200 {
		t.Fatalf("64 KiB body: %d %q", a.Code, a.Msg)
	}
	if got := h.nikeNameOf(tok); got != "Fits" {
		t.Errorf("nikeName %q, want Fits", got)
	}
}

// TestStrictIntegers: an integer parameter is decimal digits and nothing
// else: a sign, spaces around it or a fraction is refused with the
// endpoint's code (userDelete's type 5152, a login's mcc 6085, setUserInfo's
// sex 5061), from the query or a JSON body (a JSON number's literal text).
func TestStrictIntegers(t *testing.T) {
	h := newMemHarness(t, memSetup{})
	pair := h.login(wechatfake.User{OpenID: "o-ints"})
	tok := pair.AccessToken.Token
	for _, raw := range []string{"+1", " 1", "1 ", "1.0", "-1", "1e0", "0x1", "１"} {
		if a := h.do(http.MethodDelete, httpapi.PathUserDelete+"?"+url.Values{"type": {raw}}.Encode(), nil, "Authorization", tok); a.Code != 5152 {
			t.Errorf("userDelete type %q: got %d, want 5152", raw, a.Code)
		}
		if a := h.do(http.MethodPut, httpapi.PathSetUserInfo+"?"+url.Values{"sex": {raw}}.Encode(), nil, "Authorization", tok); a.Code != 5061 {
			t.Errorf("setUserInfo sex %q: got %d, want 5061", raw, a.Code)
		}
	}
	for _, js := range []string{`1.0`, `1e0`, `-1`, `"+1"`, `" 1"`, `true`} {
		if a := h.do(http.MethodDelete, httpapi.PathUserDelete, strings.NewReader(`{"type":`+js+`}`), "Content-Type", "application/json",
			"Authorization", tok); a.Code != 5152 {
			t.Errorf("userDelete JSON type %s: got %d, want 5152", js, a.Code)
		}
	}
	bob := wechatfake.User{OpenID: "o-ints"}
	for _, mcc := range []string{"+460", " 460", "460 ", "460.0", "4.6e2"} {
		q := loginQuery(mApp, h.fake.IssueCode(mApp, bob), mcc)
		if a := h.do(http.MethodPost, httpapi.PathWeChatOffiaccountLogin+"?"+q.Encode(), nil); a.Code != 6085 {
			t.Errorf("mcc %q: got %d, want 6085", mcc, a.Code)
		}
	}
	// The session is still alive (nothing above deleted it), and a plain
	// digit is accepted, as a string or a JSON number.
	if a := h.do(http.MethodDelete, httpapi.PathUserDelete, strings.NewReader(`{"type":2}`), "Content-Type", "application/json",
		"Authorization", tok); a.Code != 200 {
		t.Errorf("userDelete type 2: got %d %q", a.Code, a.Msg)
	}
}

// TestHeadImageBounds: setUserInfo's headImage is an https URL to a public
// host, without quotes or angle brackets (domain.HeadImageURL; issue 19
// amends the contract's §3); anything else answers 5034 and changes nothing.
func TestHeadImageBounds(t *testing.T) {
	h := newMemHarness(t, memSetup{})
	tok := h.login(wechatfake.User{OpenID: "o-head"}).AccessToken.Token
	set := func(v string) memAnswer {
		return h.do(http.MethodPut, httpapi.PathSetUserInfo+"?"+url.Values{"headImage": {v}}.Encode(), nil, "Authorization", tok)
	}
	if a := set("https://wx.qlogo.cn/mmopen/a/132"); a.Code != 200 {
		t.Fatalf("a public https URL: %d %q", a.Code, a.Msg)
	}
	for _, v := range []string{`https://x/"><script>alert(1)</script>`, "https://x/<img>", "http://cdn.example.com/a.png",
		"https://169.254.169.254/latest/meta-data/", "https://127.0.0.1/", "https://localhost/a.png", "https://10.0.0.1/a.png",
		"https://[::1]/a.png", "https://2130706433/"} {
		if a := set(v); a.Code != 5034 {
			t.Errorf("headImage %q: got %d, want 5034", v, a.Code)
		}
	}
	a := h.do(http.MethodGet, httpapi.PathUserInfo, nil, "Authorization", tok)
	if !bytes.Contains(a.Data, []byte(`"headimg":"https://wx.qlogo.cn/mmopen/a/132"`)) {
		t.Errorf("headimg changed: %s", a.Data)
	}
}

// TestJSONWrongTypeRefused: a JSON value of the wrong type (an object, an
// array, a boolean, a number sent as a text) is refused with the
// parameter's code, never stored as its text.
func TestJSONWrongTypeRefused(t *testing.T) {
	h := newMemHarness(t, memSetup{})
	tok := h.login(wechatfake.User{OpenID: "o-types"}).AccessToken.Token
	if a := h.do(http.MethodPut, httpapi.PathSetUserInfo+"?nikeName=Kept", nil, "Authorization", tok); a.Code != 200 {
		t.Fatalf("setUserInfo: %d", a.Code)
	}
	for _, v := range []string{`{"a":1}`, `["x"]`, `true`, `123`} {
		body := `{"nikeName":` + v + `}`
		if a := h.do(http.MethodPut, httpapi.PathSetUserInfo, strings.NewReader(body), "Content-Type", "application/json", "Authorization", tok); a.Code != 5034 {
			t.Errorf("setUserInfo %s: got %d %q, want 5034", body, a.Code, a.Msg)
		}
		body = `{"deviceId":` + v + `}`
		if a := h.do(http.MethodDelete, httpapi.PathUserLogout, strings.NewReader(body), "Content-Type", "application/json", "Authorization", tok); a.Code != 5045 {
			t.Errorf("userLogout %s: got %d %q, want 5045", body, a.Code, a.Msg)
		}
	}
	if got := h.nikeNameOf(tok); got != "Kept" { // also: no logout ended the session
		t.Errorf("nikeName %q, want Kept", got)
	}
	// Numbers stay numbers where the parameter is one.
	if a := h.do(http.MethodPut, httpapi.PathSetUserInfo, strings.NewReader(`{"sex":1,"lang":7}`), "Content-Type", "application/json", "Authorization", tok); a.Code != 200 {
		t.Errorf("numbers: %d %q", a.Code, a.Msg)
	}
}

// TestClientMistakesLoggedBelowWarn: a bad deviceId (5045) is the client's
// mistake: its log line is below WARN.
func TestClientMistakesLoggedBelowWarn(t *testing.T) {
	var buf bytes.Buffer
	h := newMemHarness(t, memSetup{log: slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	tok := h.login(wechatfake.User{OpenID: "o-logs"}).AccessToken.Token
	buf.Reset()
	for _, id := range []string{"a b", strings.Repeat("d", domain.MaxDeviceIDLength+1)} {
		if a := h.do(http.MethodDelete, httpapi.PathUserLogout+"?"+url.Values{"deviceId": {id}}.Encode(), nil, "Authorization", tok); a.Code != 5045 {
			t.Fatalf("deviceId %.10q: got %d, want 5045", id, a.Code)
		}
	}
	lines := buf.String()
	if strings.Contains(lines, `"level":"ERROR"`) || strings.Contains(lines, `"level":"WARN"`) {
		t.Errorf("a bad deviceId logged at WARN or above:\n%s", lines)
	}
	if !strings.Contains(lines, `"outcome":"logout_failed"`) {
		t.Errorf("the refusal is not logged at all:\n%s", lines)
	}
}

// TestNosniffEverywhere: every answer carries X-Content-Type-Options:
// nosniff, the API document's and the JWKS included, and the refusals of
// RequireAccessToken on a host's routes, in either form.
func TestNosniffEverywhere(t *testing.T) {
	h := newMemHarness(t, memSetup{extra: func(e *echo.Echo, h *httpapi.Handler) {
		okRoute := func(c echo.Context) error { return c.String(http.StatusOK, "ok") }
		e.GET("/host/envelope", okRoute, h.RequireAccessToken())
		e.GET("/host/strict", okRoute, h.RequireAccessToken(httpapi.RefuseToHost))
	}})
	for _, path := range []string{httpapi.PathOpenAPI, httpapi.PathJWKS, httpapi.PathUserInfo, "/host/envelope", "/host/strict"} {
		a := h.serve(httptestRequest(t, http.MethodGet, path), false)
		if got := a.Header.Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("%s: X-Content-Type-Options %q, want nosniff", path, got)
		}
	}
}
