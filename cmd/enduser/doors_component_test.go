package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/iotplatform/enduser-auth/adapters/wechat/wechatfake"
	"github.com/iotplatform/enduser-auth/domain"
)

// The native app's and the website's doors (issue 21), on the real binary,
// PostgreSQL and the fake WeChat.
const (
	tMobileAppID     = "wxcomponentmobile1"
	tMobileAppSecret = "component-mobile-secret-0001"
	tWebAppID        = "wxcomponentweb1"
	tWebAppSecret    = "component-web-secret-0001"
	tRedirect        = "https://console.example.com/wechat/callback"
	tRedirect2       = "https://console.example.com/other?x=1"
	pathAppLogin     = "/v2/enduser/enduserapi/wechatAppAuthLogin"
	pathWebState     = "/v2/enduser/enduserapi/wechatWebsiteAuthState"
	pathWebLogin     = "/v2/enduser/enduserapi/wechatWebsiteAuthLogin"
	nonceCookie      = "enduser_wx_nonce"
)

// startDoorsServer is startMiniServer with a mobile app and a website app
// (two redirect URIs) provisioned through the CLI, and in the fake WeChat.
func startDoorsServer(t *testing.T, extra map[string]string) *server {
	t.Helper()
	s := startMiniServer(t, extra)
	s.fake.AddMobileApp(tMobileAppID, tMobileAppSecret)
	s.fake.AddWebsiteApp(tWebAppID, tWebAppSecret)
	if out := s.mustCLI("mobileapp", "add", "--user-domain", tUserDomain, "--app-id", tMobileAppID, "--app-secret", tMobileAppSecret); !strings.Contains(out, "mobile app "+tMobileAppID) {
		t.Fatalf("mobileapp add: %q", out)
	}
	if out := s.mustCLI("website", "add", "--user-domain", tUserDomain, "--app-id", tWebAppID, "--app-secret", tWebAppSecret,
		"--redirect-uri", tRedirect, "--redirect-uri", tRedirect2); !strings.Contains(out, "website app "+tWebAppID) {
		t.Fatalf("website add: %q", out)
	}
	s.mustCLI("website", "add", "--user-domain", tDisabled, "--app-id", tWebAppID, "--app-secret", tWebAppSecret, "--redirect-uri", tRedirect)
	return s
}

func (s *server) appLogin(q url.Values) answer {
	s.t.Helper()
	return s.do(http.MethodPost, pathAppLogin+"?"+q.Encode(), nil)
}

// webState is the state endpoint's answer, with the cookie it set.
type webState struct {
	answer
	State, AuthorizeURL string
	Expiration          int64
	Cookie              *http.Cookie
}

// websiteState asks base for a state, sending cookie (a browser's nonce)
// when not empty.
func (s *server) websiteState(base string, q url.Values, cookie string) webState {
	s.t.Helper()
	req, err := http.NewRequest(http.MethodGet, base+pathWebState+"?"+q.Encode(), nil)
	if err != nil {
		s.t.Fatal(err)
	}
	if cookie != "" {
		req.AddCookie(&http.Cookie{Name: nonceCookie, Value: cookie})
	}
	resp, err := s.client.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var w webState
	if err := json.Unmarshal(raw, &w.answer); err != nil {
		s.t.Fatalf("state: %q", raw)
	}
	w.Status = resp.StatusCode
	var d struct {
		State          string `json:"state"`
		AuthorizeURL   string `json:"authorizeUrl"`
		ExpirationTime int64  `json:"expirationTime"`
	}
	if w.Code == 200 {
		if err := json.Unmarshal(w.Data, &d); err != nil {
			s.t.Fatalf("state data: %s", w.Data)
		}
	}
	w.State, w.AuthorizeURL, w.Expiration = d.State, d.AuthorizeURL, d.ExpirationTime
	for _, c := range resp.Cookies() {
		if c.Name == nonceCookie {
			w.Cookie = c
		}
	}
	return w
}

func stateQuery(userDomain, appID, redirect string) url.Values {
	return url.Values{"userDomain": {userDomain}, "appId": {appID}, "redirectUri": {redirect}}
}

// websiteLogin posts the website login to base as JSON, with cookie.
func (s *server) websiteLogin(base string, body map[string]string, cookie string) answer {
	s.t.Helper()
	b, _ := json.Marshal(body)
	h := []string{"Content-Type", "application/json"}
	if cookie != "" {
		h = append(h, "Cookie", nonceCookie+"="+cookie)
	}
	saved := s.url
	s.url = base
	defer func() { s.url = saved }()
	return s.do(http.MethodPost, pathWebLogin, bytes.NewReader(b), h...)
}

// qrCode plays WeChat's QR page for a state: the code it hands back for u.
func (s *server) qrCode(u wechatfake.User) string { return s.fake.IssueCode(tWebAppID, u) }

// TestAppLoginEveryBusinessCode: the native app's login answers the
// official account's codes, 5378 where that one answers 5375.
func TestAppLoginEveryBusinessCode(t *testing.T) {
	t.Parallel()
	s := startDoorsServer(t, nil)
	alice := wechatfake.User{OpenID: "o-app-alice", UnionID: "u-app-alice"}
	fresh := func() string { return s.fake.IssueCode(tMobileAppID, alice) }
	ok := func() url.Values { return loginQuery(tUserDomain, tMobileAppID, fresh(), "") }
	without := func(q url.Values, k string) url.Values { q.Del(k); return q }
	with := func(q url.Values, k, v string) url.Values { q.Set(k, v); return q }
	scripted := func(f wechatfake.Failure) url.Values {
		c := fresh()
		s.fake.SetFailure(c, f)
		return loginQuery(tUserDomain, tMobileAppID, c, "")
	}
	for _, tc := range []struct {
		name string
		q    url.Values
		code int
		msg  string
	}{
		{"userDomain missing", without(ok(), "userDomain"), 5023, "Please enter user domain"},
		{"userDomain malformed", with(ok(), "userDomain", "C.DM.1"), 5013, "User domain format incorrect"},
		{"appId missing", without(ok(), "appId"), 5218, "Please enter appid"},
		{"code missing", without(ok(), "code"), 5372, "Please enter code"},
		{"signature missing", without(ok(), "signature"), 5550, "Please enter signature"},
		{"user domain unknown", with(ok(), "userDomain", "C.DM.99999.9"), 5015, "User domain does not exist"},
		{"user domain disabled", loginQuery(tDisabled, tMobileAppID, fresh(), ""), 5104, "User domain has been disabled"},
		{"signature wrong", with(ok(), "signature", strings.Repeat("ab", 32)), 5420, "Signature verification failed"},
		{"mcc unknown", loginQuery(tUserDomain, tMobileAppID, fresh(), "999"), 6085, "Failed to query data center for MCC"},
		{"mcc of another data center", loginQuery(tUserDomain, tMobileAppID, fresh(), "262"), 6084, "MCC does not belong to current data center"},
		{"no mobile app", loginQuery(tUserDomain, "wxnomobile", "c1", ""), 5378, "Secret of the application is not configured by the enterprise"},
		{"an official account's appId", loginQuery(tUserDomain, tAppID, "c1", ""), 5378, "Secret of the application is not configured by the enterprise"},
		{"a mini program's appId", loginQuery(tUserDomain, tMiniAppID, "c1", ""), 5378, "Secret of the application is not configured by the enterprise"},
		{"a website app's appId", loginQuery(tUserDomain, tWebAppID, "c1", ""), 5378, "Secret of the application is not configured by the enterprise"},
		{"WeChat answers 502", scripted(wechatfake.Failure{Status: 502}), 5367, "Exception in requesting user OpenID"},
		{"WeChat: invalid code", loginQuery(tUserDomain, tMobileAppID, "never-issued", ""), 5368, "Failed to get user OpenID"},
		{"WeChat body is garbage", scripted(wechatfake.Failure{Body: []byte("<html>")}), 5369, "Failed to parse user OpenID"},
		{"success", ok(), 200, ""},
	} {
		if a := s.appLogin(tc.q); a.Code != tc.code || a.Msg != tc.msg {
			t.Errorf("%s: want %d %q, got %d %q", tc.name, tc.code, tc.msg, a.Code, a.Msg)
		}
	}
	if a := s.login(loginQuery(tUserDomain, tMobileAppID, "c1", "")); a.Code != 5375 {
		t.Errorf("the official account login answers 5375 for a mobile app's appId, got %d", a.Code)
	}
	t.Run("a code exchanged twice is refused without asking WeChat", func(t *testing.T) {
		c := fresh()
		s.appLogin(loginQuery(tUserDomain, tMobileAppID, c, "")).pair(t)
		before := s.fake.Requests()
		if a := s.appLogin(loginQuery(tUserDomain, tMobileAppID, c, "")); a.Code != 5368 || !strings.Contains(deref(a.ExtMsg), "40163") {
			t.Fatalf("replay: %d %s", a.Code, deref(a.ExtMsg))
		}
		if n := s.fake.Requests() - before; n != 0 {
			t.Fatalf("the replayed code reached WeChat %d times", n)
		}
	})
	t.Run("the audit record says mobileapp", func(t *testing.T) {
		waitDoorAudit(t, s, "mobileapp", tMobileAppID)
	})
}

// waitDoorAudit waits for a successful login's audit record of kind through appID.
func waitDoorAudit(t *testing.T, s *server, kind, appID string) {
	t.Helper()
	db := s.sql(t)
	deadline := time.Now().Add(30 * time.Second)
	for {
		var n int
		if err := db.QueryRow(`SELECT count(*) FROM enduser_audit_events WHERE event = 'login' AND code = 200 AND app_kind = $1 AND app_id = $2`,
			kind, appID).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no audit record of a %s login within 30s", kind)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestOnePersonThroughEveryDoorIsOneUser: one unionid through the official
// account, the mini program, the native app and the website is one user;
// userInfo lists each openid and how the user registered.
func TestOnePersonThroughEveryDoorIsOneUser(t *testing.T) {
	t.Parallel()
	s := startDoorsServer(t, nil)
	// The app first: the user registers through it.
	p := s.appLogin(loginQuery(tUserDomain, tMobileAppID, s.fake.IssueCode(tMobileAppID, wechatfake.User{OpenID: "o-app-bob", UnionID: "u-bob"}), "")).pair(t)
	uid := claims(t, p.AccessToken.Token)["uid"]
	oa := s.loginAs(tAppID, wechatfake.User{OpenID: "o-oa-bob", UnionID: "u-bob"})
	mini := s.miniLoginAs(wechatfake.User{OpenID: "o-mini-bob", UnionID: "u-bob"})
	nonce, st := s.startWebsite(t, s.url)
	web := s.websiteLogin(s.url, map[string]string{"userDomain": tUserDomain, "appId": tWebAppID, "state": st,
		"code": s.qrCode(wechatfake.User{OpenID: "o-web-bob", UnionID: "u-bob"})}, nonce).pair(t)
	for name, pair := range map[string]tokenPair{"official account": oa, "mini program": mini, "website": web} {
		if got := claims(t, pair.AccessToken.Token)["uid"]; got != uid {
			t.Errorf("%s: uid %v, want the app's %v", name, got, uid)
		}
	}
	info := s.userInfoOf(p.AccessToken.Token)
	raw := s.do(http.MethodGet, pathUserInfo, nil, "Authorization", web.AccessToken.Token)
	var all map[string]any
	if err := json.Unmarshal(raw.Data, &all); err != nil {
		t.Fatal(err)
	}
	if info.LogonMode != "wechatApp" || info.WechatUnionID != "u-bob" || info.WechatOffiaccountUserID != "o-oa-bob" ||
		info.WechatMiniprogramUserID != "o-mini-bob" || all["wechatAppUserId"] != "o-app-bob" || all["wechatWebsiteUserId"] != "o-web-bob" {
		t.Fatalf("userInfo: %+v %v", info, all)
	}
	t.Run("a website first login registers through the website", func(t *testing.T) {
		nonce, st := s.startWebsite(t, s.url)
		p := s.websiteLogin(s.url, map[string]string{"userDomain": tUserDomain, "appId": tWebAppID, "state": st,
			"code": s.qrCode(wechatfake.User{OpenID: "o-web-carol"})}, nonce).pair(t)
		if got := s.userInfoOf(p.AccessToken.Token).LogonMode; got != "wechatWebsite" {
			t.Fatalf("logonMode %q", got)
		}
		waitDoorAudit(t, s, "website", tWebAppID)
	})
}

// startWebsite asks base for a state as a new browser and returns the
// browser's nonce (its cookie) and the state.
func (s *server) startWebsite(t *testing.T, base string) (string, string) {
	t.Helper()
	w := s.websiteState(base, stateQuery(tUserDomain, tWebAppID, tRedirect), "")
	if w.Code != 200 || w.Cookie == nil {
		t.Fatalf("state: %d %q cookie %v", w.Code, w.Msg, w.Cookie)
	}
	return w.Cookie.Value, w.State
}

// TestWebsiteStateEveryBusinessCode: the state endpoint's codes in the
// contract's order, its answer and its cookie.
func TestWebsiteStateEveryBusinessCode(t *testing.T) {
	t.Parallel()
	s := startDoorsServer(t, nil)
	q := func(ud, app, redirect string) url.Values { return stateQuery(ud, app, redirect) }
	for _, tc := range []struct {
		name string
		q    url.Values
		code int
		msg  string
	}{
		{"userDomain missing", url.Values{"appId": {tWebAppID}, "redirectUri": {tRedirect}}, 5023, "Please enter user domain"},
		{"userDomain malformed", q("C.DM.1", tWebAppID, tRedirect), 5013, "User domain format incorrect"},
		{"appId missing", url.Values{"userDomain": {tUserDomain}, "redirectUri": {tRedirect}}, 5218, "Please enter appid"},
		{"redirectUri missing", url.Values{"userDomain": {tUserDomain}, "appId": {tWebAppID}}, 5379, "Authentication request error"},
		{"redirectUri missing beats an unknown user domain", url.Values{"userDomain": {"C.DM.99999.9"}, "appId": {tWebAppID}}, 5379, "Authentication request error"},
		{"user domain unknown", q("C.DM.99999.9", tWebAppID, tRedirect), 5015, "User domain does not exist"},
		{"user domain disabled", q(tDisabled, tWebAppID, tRedirect), 5104, "User domain has been disabled"},
		{"no website app", q(tUserDomain, "wxnoweb", tRedirect), 5378, "Secret of the application is not configured by the enterprise"},
		{"a mobile app's appId", q(tUserDomain, tMobileAppID, tRedirect), 5378, "Secret of the application is not configured by the enterprise"},
		{"an unknown app beats a wrong redirect", q(tUserDomain, "wxnoweb", "https://evil.example.com/"), 5378, "Secret of the application is not configured by the enterprise"},
		{"redirectUri not registered", q(tUserDomain, tWebAppID, "https://evil.example.com/wechat/callback"), 5379, "Authentication request error"},
		{"redirectUri: a trailing slash is another URI", q(tUserDomain, tWebAppID, tRedirect+"/"), 5379, "Authentication request error"},
		{"redirectUri: another query is another URI", q(tUserDomain, tWebAppID, "https://console.example.com/other?x=2"), 5379, "Authentication request error"},
	} {
		w := s.websiteState(s.url, tc.q, "")
		if w.Code != tc.code || w.Msg != tc.msg || w.Cookie != nil {
			t.Errorf("%s: want %d %q and no cookie, got %d %q cookie %v", tc.name, tc.code, tc.msg, w.Code, w.Msg, w.Cookie)
		}
	}
	for _, redirect := range []string{tRedirect, tRedirect2} {
		w := s.websiteState(s.url, q(tUserDomain, tWebAppID, redirect), "")
		if w.Code != 200 || len(w.State) != domain.WebsiteStateLen {
			t.Fatalf("%s: %d %q %q", redirect, w.Code, w.Msg, w.State)
		}
		want := "https://open.weixin.qq.com/connect/qrconnect?appid=" + tWebAppID + "&redirect_uri=" + url.QueryEscape(redirect) +
			"&response_type=code&scope=snsapi_login&state=" + w.State + "#wechat_redirect"
		if w.AuthorizeURL != want {
			t.Errorf("authorizeUrl\n got %s\nwant %s", w.AuthorizeURL, want)
		}
		if left := time.Until(time.Unix(w.Expiration, 0)); left < 9*time.Minute || left > 11*time.Minute {
			t.Errorf("expirationTime %d is not 10 minutes away", w.Expiration)
		}
		c := w.Cookie
		if c == nil || !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.MaxAge != 600 {
			t.Fatalf("cookie %+v: HttpOnly, Secure, SameSite=Lax, Path=/, Max-Age=600", c)
		}
		if b, err := base64.RawURLEncoding.DecodeString(c.Value); err != nil || len(b) != 32 {
			t.Fatalf("the nonce %q is not 32 random bytes", c.Value)
		}
	}
	t.Run("a browser's nonce is kept", func(t *testing.T) {
		nonce, _ := s.startWebsite(t, s.url)
		if w := s.websiteState(s.url, q(tUserDomain, tWebAppID, tRedirect), nonce); w.Cookie == nil || w.Cookie.Value != nonce {
			t.Fatalf("a second state for the same browser changed its nonce: %+v", w.Cookie)
		}
		if w := s.websiteState(s.url, q(tUserDomain, tWebAppID, tRedirect), "not-a-nonce"); w.Cookie == nil || w.Cookie.Value == "not-a-nonce" {
			t.Fatalf("a malformed nonce is replaced: %+v", w.Cookie)
		}
	})
}

// TestWebsiteLogin: the login's codes in the contract's order, login CSRF,
// replay and expiry (5399 before any WeChat call), across two instances.
func TestWebsiteLogin(t *testing.T) {
	t.Parallel()
	redisURL, prefix := redisPrefix(t)
	s := startDoorsServer(t, map[string]string{"ENDUSER_REDIS_URL": redisURL, "ENDUSER_REDIS_PREFIX": prefix})
	key := domain.DeriveWebsiteStateKey(bytes.Repeat([]byte{7}, 32)) // testMasterKey's
	alice := wechatfake.User{OpenID: "o-web-alice", UnionID: "u-web-alice"}
	body := func(ud, app, code, state string) map[string]string {
		return map[string]string{"userDomain": ud, "appId": app, "code": code, "state": state}
	}
	// forged is a state the module's key signs for another user domain or
	// app, bound to nonce: what the checks after 5399 need.
	forged := func(ud, app, nonce string) string {
		return domain.IssueWebsiteState(key, ud, app, tRedirect, nonce, time.Now().Add(5*time.Minute))
	}
	start := func() (string, string) { return s.startWebsite(t, s.url) }

	type tc struct {
		name   string
		body   map[string]string
		cookie string
		code   int
	}
	var cases []tc
	add := func(name string, code int, mk func() (map[string]string, string)) {
		b, c := mk()
		cases = append(cases, tc{name, b, c, code})
	}
	add("userDomain missing", 5023, func() (map[string]string, string) {
		n, st := start()
		b := body(tUserDomain, tWebAppID, s.qrCode(alice), st)
		delete(b, "userDomain")
		return b, n
	})
	add("userDomain malformed", 5013, func() (map[string]string, string) {
		n, st := start()
		return body("C.DM.1", tWebAppID, s.qrCode(alice), st), n
	})
	add("appId missing", 5218, func() (map[string]string, string) {
		n, st := start()
		return body(tUserDomain, "", s.qrCode(alice), st), n
	})
	add("code missing", 5372, func() (map[string]string, string) {
		n, st := start()
		return body(tUserDomain, tWebAppID, "", st), n
	})
	add("code missing beats a missing state", 5372, func() (map[string]string, string) {
		return body(tUserDomain, tWebAppID, "", ""), ""
	})
	add("state missing", 5399, func() (map[string]string, string) {
		n, _ := start()
		return body(tUserDomain, tWebAppID, s.qrCode(alice), ""), n
	})
	add("state malformed", 5399, func() (map[string]string, string) {
		n, _ := start()
		return body(tUserDomain, tWebAppID, s.qrCode(alice), "not-a-state"), n
	})
	add("no cookie", 5399, func() (map[string]string, string) {
		_, st := start()
		return body(tUserDomain, tWebAppID, s.qrCode(alice), st), ""
	})
	add("a state forged with another key", 5399, func() (map[string]string, string) {
		n, _ := start()
		return body(tUserDomain, tWebAppID, s.qrCode(alice),
			domain.IssueWebsiteState(domain.DeriveWebsiteStateKey([]byte("another")), tUserDomain, tWebAppID, tRedirect, n, time.Now().Add(time.Minute))), n
	})
	add("expired", 5399, func() (map[string]string, string) {
		n, _ := start()
		return body(tUserDomain, tWebAppID, s.qrCode(alice), domain.IssueWebsiteState(key, tUserDomain, tWebAppID, tRedirect, n, time.Now().Add(-time.Second))), n
	})
	add("a state of another app", 5399, func() (map[string]string, string) {
		n, st := start()
		return body(tUserDomain, tMobileAppID, s.qrCode(alice), st), n
	})
	add("user domain unknown", 5015, func() (map[string]string, string) {
		n, _ := start()
		return body("C.DM.99999.9", tWebAppID, s.qrCode(alice), forged("C.DM.99999.9", tWebAppID, n)), n
	})
	add("user domain disabled", 5104, func() (map[string]string, string) {
		n, _ := start()
		return body(tDisabled, tWebAppID, s.qrCode(alice), forged(tDisabled, tWebAppID, n)), n
	})
	add("mcc unknown", 6085, func() (map[string]string, string) {
		n, st := start()
		b := body(tUserDomain, tWebAppID, s.qrCode(alice), st)
		b["mcc"] = "999"
		return b, n
	})
	add("mcc of another data center", 6084, func() (map[string]string, string) {
		n, st := start()
		b := body(tUserDomain, tWebAppID, s.qrCode(alice), st)
		b["mcc"] = "262"
		return b, n
	})
	add("no website app", 5378, func() (map[string]string, string) {
		n, _ := start()
		return body(tUserDomain, tMobileAppID, "c1", forged(tUserDomain, tMobileAppID, n)), n
	})
	add("WeChat: invalid code", 5368, func() (map[string]string, string) {
		n, st := start()
		return body(tUserDomain, tWebAppID, "never-issued", st), n
	})
	add("success", 200, func() (map[string]string, string) {
		n, st := start()
		return body(tUserDomain, tWebAppID, s.qrCode(alice), st), n
	})
	for _, c := range cases {
		before := s.fake.Requests()
		a := s.websiteLogin(s.url, c.body, c.cookie)
		if a.Code != c.code {
			t.Errorf("%s: want %d, got %d %q %s", c.name, c.code, a.Code, a.Msg, deref(a.ExtMsg))
		}
		// Every refusal before the exchange (5399 included) asks WeChat
		// nothing.
		if called := s.fake.Requests() - before; c.code != 200 && c.code < 5367 && called != 0 {
			t.Errorf("%s: WeChat was called %d times", c.name, called)
		}
	}

	t.Run("login CSRF: browser B's cookie with browser A's state and code", func(t *testing.T) {
		_, stateA := start() // the attacker's browser
		codeA := s.qrCode(wechatfake.User{OpenID: "o-web-mallory"})
		nonceB, _ := start() // the victim's browser
		before := s.fake.Requests()
		if a := s.websiteLogin(s.url, body(tUserDomain, tWebAppID, codeA, stateA), nonceB); a.Code != 5399 {
			t.Fatalf("want 5399, got %d %q", a.Code, a.Msg)
		}
		if n := s.fake.Requests() - before; n != 0 {
			t.Fatalf("the forged login reached WeChat %d times", n)
		}
		var n int
		if err := s.sql(t).QueryRow(`SELECT count(*) FROM enduser_wechat_identities WHERE open_id = 'o-web-mallory'`).Scan(&n); err != nil || n != 0 {
			t.Fatalf("the attacker's identity was bound (%d, %v)", n, err)
		}
	})
	t.Run("replay: a state is single use", func(t *testing.T) {
		nonce, st := start()
		s.websiteLogin(s.url, body(tUserDomain, tWebAppID, s.qrCode(alice), st), nonce).pair(t)
		before := s.fake.Requests()
		if a := s.websiteLogin(s.url, body(tUserDomain, tWebAppID, s.qrCode(alice), st), nonce); a.Code != 5399 {
			t.Fatalf("a spent state: %d %q", a.Code, a.Msg)
		}
		if n := s.fake.Requests() - before; n != 0 {
			t.Fatalf("the replay reached WeChat %d times", n)
		}
	})
	t.Run("two instances: the state from one, the login on the other", func(t *testing.T) {
		other := s.boot(t)
		w := s.websiteState(other, stateQuery(tUserDomain, tWebAppID, tRedirect), "")
		if w.Code != 200 {
			t.Fatalf("state on the other instance: %d", w.Code)
		}
		s.websiteLogin(s.url, body(tUserDomain, tWebAppID, s.qrCode(alice), w.State), w.Cookie.Value).pair(t)
		if a := s.websiteLogin(other, body(tUserDomain, tWebAppID, s.qrCode(alice), w.State), w.Cookie.Value); a.Code != 5399 {
			t.Fatalf("the state spent on one instance is spent on the other: %d", a.Code)
		}
	})
	t.Run("a flood of state requests stores nothing", func(t *testing.T) {
		before := tableRows(t, s)
		for i := 0; i < 200; i++ {
			if w := s.websiteState(s.url, stateQuery(tUserDomain, tWebAppID, tRedirect), ""); w.Code != 200 {
				t.Fatalf("state %d: %d", i, w.Code)
			}
		}
		after := tableRows(t, s)
		for table, n := range after {
			if table != "enduser_audit_events" && n != before[table] {
				t.Errorf("%s: %d rows before the flood, %d after", table, before[table], n)
			}
		}
	})
}

// tableRows counts the rows of every table of the module.
func tableRows(t *testing.T, s *server) map[string]int {
	t.Helper()
	db := s.sql(t)
	rows, err := db.Query(`SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_name LIKE 'enduser%' AND table_type = 'BASE TABLE'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		names = append(names, n)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, n := range names {
		var c int
		if err := db.QueryRow(`SELECT count(*) FROM ` + n).Scan(&c); err != nil {
			t.Fatal(err)
		}
		out[n] = c
	}
	return out
}

// TestWebsiteCORSWithCredentials: the two website endpoints answer CORS with
// credentials for the configured origins; the other endpoints without.
func TestWebsiteCORSWithCredentials(t *testing.T) {
	t.Parallel()
	const origin = "https://console.example.com"
	s := startDoorsServer(t, map[string]string{"ENDUSER_CORS_ORIGINS": origin})
	preflight := func(path, from string) http.Header {
		req, _ := http.NewRequest(http.MethodOptions, s.url+path, nil)
		req.Header.Set("Origin", from)
		req.Header.Set("Access-Control-Request-Method", http.MethodPost)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.Header
	}
	for _, p := range []string{pathWebState, pathWebLogin} {
		h := preflight(p, origin)
		if h.Get("Access-Control-Allow-Origin") != origin || h.Get("Access-Control-Allow-Credentials") != "true" {
			t.Errorf("%s: %v", p, h)
		}
		if h := preflight(p, "https://evil.example.com"); h.Get("Access-Control-Allow-Origin") != "" || h.Get("Access-Control-Allow-Credentials") != "" {
			t.Errorf("%s from another origin: %v", p, h)
		}
	}
	for _, p := range []string{pathAppLogin, "/v2/enduser/enduserapi/wechatOffiaccountAuthLogin", pathUserInfo} {
		if h := preflight(p, origin); h.Get("Access-Control-Allow-Origin") != origin || h.Get("Access-Control-Allow-Credentials") != "" {
			t.Errorf("%s: CORS without credentials: %v", p, h)
		}
	}
}
