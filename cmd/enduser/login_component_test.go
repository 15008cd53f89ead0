package main

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/iotplatform/enduser-auth/adapters/wechat/wechatfake"
	"github.com/iotplatform/enduser-auth/domain"
)

// TestLoginEveryBusinessCode drives every code of the contract over real HTTP,
// through the real binary, a real Postgres and a fake WeChat.
func TestLoginEveryBusinessCode(t *testing.T) {
	t.Parallel()
	s := startServer(t, map[string]string{"ENDUSER_WECHAT_TIMEOUT": "1s"})
	alice := wechatfake.User{OpenID: "o-alice"}
	fresh := func() string { return s.fake.IssueCode(tAppID, alice) }
	scripted := func(f wechatfake.Failure) string {
		c := fresh()
		s.fake.SetFailure(c, f)
		return c
	}
	without := func(q url.Values, k string) url.Values { q.Del(k); return q }
	with := func(q url.Values, k, v string) url.Values { q.Set(k, v); return q }
	ok := func() url.Values { return loginQuery(tUserDomain, tAppID, fresh(), "") }

	cases := []struct {
		name   string
		q      url.Values
		code   int
		extHas string
	}{
		{"userDomain missing", without(ok(), "userDomain"), 5023, ""},
		{"userDomain blank", with(ok(), "userDomain", "   "), 5023, ""},
		{"userDomain malformed", with(ok(), "userDomain", "C.DM.10271"), 5013, ""},
		{"userDomain two letters", with(ok(), "userDomain", "CC.DM.1.2"), 5013, ""},
		{"userDomain malformed beats missing appId", without(with(ok(), "userDomain", "x"), "appId"), 5013, ""},
		{"appId missing", without(ok(), "appId"), 5218, ""},
		{"code missing", without(ok(), "code"), 5372, ""},
		{"code missing beats missing signature", without(without(ok(), "code"), "signature"), 5372, ""},
		{"signature missing", without(ok(), "signature"), 5550, ""},
		{"user domain unknown", with(ok(), "userDomain", "C.DM.99999.9"), 5015, ""},
		{"user domain disabled", loginQuery(tDisabled, tAppID, fresh(), ""), 5104, ""},
		{"signature wrong", with(ok(), "signature", strings.Repeat("ab", 32)), 5420, ""},
		{"signature not hex", with(ok(), "signature", "zz"), 5420, ""},
		{"signature over another code", with(ok(), "signature", domain.LoginSignature(tAppID, "other", tSecret)), 5420, ""},
		{"mcc not an integer", loginQuery(tUserDomain, tAppID, fresh(), "abc"), 6085, ""},
		{"mcc served by nobody", loginQuery(tUserDomain, tAppID, fresh(), "999"), 6085, ""},
		{"mcc of another data center", loginQuery(tUserDomain, tAppID, fresh(), "262"), 6084, "https://eu.example.com"},
		{"official account not configured", loginQuery(tUserDomain, "wxunknown", "c1", ""), 5375, ""},
		{"appId with a NUL byte", loginQuery(tUserDomain, "wx\x00a", "c1", ""), 5375, ""},
		{"appId not UTF-8", loginQuery(tUserDomain, "wx\xffa", "c1", ""), 5375, ""},
		{"appId of 300 characters", loginQuery(tUserDomain, strings.Repeat("w", 300), "c1", ""), 5375, ""},
		{"code with a NUL byte reaches WeChat escaped", loginQuery(tUserDomain, tAppID, "c\x00d", ""), 5368, "40029"},
		{"WeChat answers 502", loginQuery(tUserDomain, tAppID, scripted(wechatfake.Failure{Status: 502}), ""), 5367, ""},
		{"WeChat times out", loginQuery(tUserDomain, tAppID, scripted(wechatfake.Failure{Delay: 4 * time.Second}), ""), 5367, ""},
		{"WeChat rejects the code", loginQuery(tUserDomain, tAppID, "never-issued", ""), 5368, "40029"},
		{"WeChat is busy", loginQuery(tUserDomain, tAppID, scripted(wechatfake.Failure{ErrCode: -1}), ""), 5368, "-1"},
		{"snapshot user", loginQuery(tUserDomain, tAppID, s.fake.IssueCode(tAppID, wechatfake.User{OpenID: "o-snap", Snapshot: true}), ""), 5368, "is_snapshotuser"},
		{"openid with control bytes", loginQuery(tUserDomain, tAppID, s.fake.IssueCode(tAppID, wechatfake.User{OpenID: "o\x00\x01x"}), ""), 5369, ""},
		{"no openid", loginQuery(tUserDomain, tAppID, s.fake.IssueCode(tAppID, wechatfake.User{}), ""), 5368, ""},
		{"WeChat body is garbage", loginQuery(tUserDomain, tAppID, scripted(wechatfake.Failure{Body: []byte("<html>oops")}), ""), 5369, ""},
		{"success", ok(), 200, ""},
		{"success, own data center's mcc", loginQuery(tUserDomain, tAppID, fresh(), "460"), 200, ""},
		{"success, upper-case signature", with(ok(), "signature", ""), 200, ""},
	}
	// The upper-case case needs the signature of its own code.
	last := cases[len(cases)-1].q
	last.Set("signature", strings.ToUpper(domain.LoginSignature(tAppID, last.Get("code"), tSecret)))

	for _, tc := range cases {
		a := s.login(tc.q)
		if a.Status != http.StatusOK || a.Code != tc.code {
			t.Errorf("%s: want HTTP 200 code %d, got HTTP %d code %d %q", tc.name, tc.code, a.Status, a.Code, a.Msg)
			continue
		}
		if tc.code != 200 && (a.Msg == "" || string(a.Data) != "null") {
			t.Errorf("%s: failure needs a msg and data null, got msg %q data %s", tc.name, a.Msg, a.Data)
		}
		if tc.extHas != "" && !strings.Contains(deref(a.ExtMsg), tc.extHas) {
			t.Errorf("%s: extMsg %q should contain %q", tc.name, deref(a.ExtMsg), tc.extHas)
		}
		if tc.code == 200 {
			p := a.pair(t)
			if !strings.HasPrefix(p.AccessToken.Token, "Bearer ") || !strings.HasPrefix(p.RefreshToken.Token, "Bearer ") {
				t.Errorf("%s: tokens need the Bearer prefix: %+v", tc.name, p)
			}
		}
	}

	t.Run("a code exchanged twice is refused by WeChat", func(t *testing.T) {
		c := fresh()
		s.login(loginQuery(tUserDomain, tAppID, c, "")).pair(t)
		a := s.login(loginQuery(tUserDomain, tAppID, c, ""))
		if a.Code != 5368 || !strings.Contains(deref(a.ExtMsg), "40163") {
			t.Fatalf("want 5368 with 40163, got %d %v", a.Code, deref(a.ExtMsg))
		}
	})
	t.Run("unsigned requests never reach WeChat", func(t *testing.T) {
		before := s.fake.Requests()
		for i := 0; i < 5; i++ {
			s.login(with(ok(), "signature", strings.Repeat("00", 32)))
		}
		if got := s.fake.Requests() - before; got != 0 {
			t.Fatalf("WeChat got %d exchanges for unsigned requests", got)
		}
	})
	t.Run("messages in Chinese when Accept-Language prefers zh", func(t *testing.T) {
		a := s.login(without(ok(), "userDomain"), "Accept-Language", "zh-CN,zh;q=0.9,en;q=0.8")
		if a.Code != 5023 || a.Msg != "请输入用户域" {
			t.Fatalf("got %d %q", a.Code, a.Msg)
		}
		a = s.login(without(ok(), "userDomain"), "Accept-Language", "en-US,zh;q=0.5")
		if a.Msg != "Please enter user domain" {
			t.Fatalf("got %q", a.Msg)
		}
	})
}

// TestLoginParametersFromBodyAndMetrics: the binary reads a login's
// parameters from a form or a JSON body and counts every answer in the
// metrics, which the host serves on the admin listener only. How the adapter
// reads parameters (query over body, JSON types, empty, malformed and
// oversized bodies) is tested in adapters/httpapi (TestParametersQueryFormAndJSON).
func TestLoginParametersFromBodyAndMetrics(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	bob := wechatfake.User{OpenID: "o-bob"}
	path := "/v2/enduser/enduserapi/wechatOffiaccountAuthLogin"

	form := loginQuery(tUserDomain, tAppID, s.fake.IssueCode(tAppID, bob), "460")
	a := s.do(http.MethodPost, path, strings.NewReader(form.Encode()), "Content-Type", "application/x-www-form-urlencoded")
	uidForm := claims(t, a.pair(t).AccessToken.Token)["uid"]

	c := s.fake.IssueCode(tAppID, bob)
	body := `{"userDomain":"` + tUserDomain + `","appId":"` + tAppID + `","code":"` + c + `","signature":"` +
		domain.LoginSignature(tAppID, c, tSecret) + `","mcc":460}`
	a = s.do(http.MethodPost, path, strings.NewReader(body), "Content-Type", "application/json; charset=utf-8")
	if uid := claims(t, a.pair(t).AccessToken.Token)["uid"]; uid != uidForm {
		t.Fatalf("same person, two uids: %v %v", uidForm, uid)
	}
	a = s.login(loginQuery(tUserDomain, tAppID, s.fake.IssueCode(tAppID, bob), ""))
	a.pair(t)

	// Five refusals for the metrics.
	for range 5 {
		if a = s.do(http.MethodPost, path, strings.NewReader(""), "Content-Type", "application/json"); a.Code != 5023 {
			t.Errorf("empty body: want 5023, got %d", a.Code)
		}
	}

	// The host serves the module's metrics, on the admin listener only.
	if code := undocumentedStatus(t, s.url+"/metrics"); code != http.StatusNotFound {
		t.Errorf("/metrics on the public listener: want 404, got %d", code)
	}
	resp, err := docClient.Get(s.admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	metrics, _ := io.ReadAll(resp.Body)
	for _, want := range []string{`enduser_auth_requests_total{code="200",endpoint="login"} 3`, `enduser_auth_requests_total{code="5023",endpoint="login"} 5`,
		"enduser_auth_request_duration_seconds_bucket", "go_goroutines"} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

// TestConcurrentFirstLoginsMakeOneUser: dozens of first logins of one person
// at once, over HTTP, make exactly one user.
func TestConcurrentFirstLoginsMakeOneUser(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	const n = 32
	carol := wechatfake.User{OpenID: "o-carol", UnionID: "u-carol"}
	codes := make([]url.Values, n)
	for i := range codes {
		app := tAppID
		if i%2 == 1 {
			app = tAppID2 // the same person through a second official account, same unionid
			carol.OpenID = "o-carol-2"
		} else {
			carol.OpenID = "o-carol"
		}
		codes[i] = loginQuery(tUserDomain, app, s.fake.IssueCode(app, carol), "")
	}
	uids := make([]any, n)
	var wg sync.WaitGroup
	for i := range codes {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			a := s.login(codes[i])
			if a.Code != 200 {
				t.Errorf("login %d: code %d %q", i, a.Code, a.Msg)
				return
			}
			var p tokenPair
			_ = jsonUnmarshal(a.Data, &p)
			c, err := decodeClaims(p.AccessToken.Token)
			if err != nil {
				t.Errorf("login %d: %v", i, err)
				return
			}
			uids[i] = c["uid"]
		}(i)
	}
	wg.Wait()
	for i := range uids {
		if uids[i] != uids[0] {
			t.Fatalf("login %d got uid %v, login 0 got %v", i, uids[i], uids[0])
		}
	}
	if got := countRows(t, s.dbURL, "enduser_users"); got != 1 {
		t.Fatalf("want 1 user row, got %d", got)
	}
}
