package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/iotplatform/enduser-auth/adapters/wechat/wechatfake"
)

const pathPhone = "/v2/enduser/enduserapi/wechatMiniprogramPhoneNumber"

// phoneData is the phone endpoint's success data.
type phoneData struct {
	Phone       string `json:"phone"`
	CountryCode string `json:"countryCode"`
}

// phoneAt posts the phone endpoint of the instance at base (JSON body).
func (s *server) phoneAt(base, token, appID, phoneCode string) answer {
	s.t.Helper()
	body, _ := json.Marshal(map[string]string{"appId": appID, "phoneCode": phoneCode})
	req, err := http.NewRequest(http.MethodPost, base+pathPhone, bytes.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", token)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		s.t.Fatalf("POST %s: %v", pathPhone, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var a answer
	if err := json.Unmarshal(raw, &a); err != nil {
		s.t.Fatalf("POST %s: HTTP %d, body is not the envelope: %q", pathPhone, resp.StatusCode, raw)
	}
	a.Status = resp.StatusCode
	return a
}

func (s *server) phone(token, appID, phoneCode string) answer {
	s.t.Helper()
	return s.phoneAt(s.url, token, appID, phoneCode)
}

// mustPhone binds phoneCode's number and returns the answer's data.
func (s *server) mustPhone(token, phoneCode string) phoneData {
	s.t.Helper()
	a := s.phone(token, tMiniAppID, phoneCode)
	if a.Code != 200 {
		s.t.Fatalf("phone %q: %d %q ext=%s", phoneCode, a.Code, a.Msg, deref(a.ExtMsg))
	}
	var d phoneData
	if err := json.Unmarshal(a.Data, &d); err != nil {
		s.t.Fatalf("phone data: %s", a.Data)
	}
	return d
}

// userPhone is userInfo's phone and phoneCountryCode.
func (s *server) userPhone(token string) (string, string) {
	s.t.Helper()
	a := s.do(http.MethodGet, pathUserInfo, nil, "Authorization", token)
	if a.Code != 200 {
		s.t.Fatalf("userInfo: %d %q", a.Code, a.Msg)
	}
	var d struct {
		Phone            string `json:"phone"`
		PhoneCountryCode string `json:"phoneCountryCode"`
	}
	if err := json.Unmarshal(a.Data, &d); err != nil {
		t := s.t
		t.Fatalf("userInfo data: %s", a.Data)
	}
	return d.Phone, d.PhoneCountryCode
}

// TestPhoneNumberEveryBusinessCode drives every code of
// wechatMiniprogramPhoneNumber over real HTTP, in the contract's order,
// through the real binary, a real Postgres and the fake WeChat.
func TestPhoneNumberEveryBusinessCode(t *testing.T) {
	t.Parallel()
	s := startMiniServer(t, map[string]string{"ENDUSER_WECHAT_TIMEOUT": "1s", "ENDUSER_LOG_LEVEL": "debug"})
	alice := s.miniLoginAs(wechatfake.User{OpenID: "o-phone-alice"}).AccessToken.Token
	bob := s.miniLoginAs(wechatfake.User{OpenID: "o-phone-bob"}).AccessToken.Token

	cases := []struct {
		name, token, appID, code string
		want                     int
		msg, extHas              string
	}{
		{"no token", "", tMiniAppID, "13800138000.a", 5106, "Please enter token", ""},
		{"bad token", "Bearer not-a-token", tMiniAppID, "13800138000.a", 5032, "Token is invalid or expired", ""},
		{"appId missing", alice, "", "13800138000.a", 5218, "Please enter appid", ""},
		{"appId missing beats phoneCode missing", alice, "", "", 5218, "Please enter appid", ""},
		{"phoneCode missing", alice, tMiniAppID, "", 5398, "Please input WeChat authorization code", ""},
		{"phoneCode over 128 characters", alice, tMiniAppID, strings.Repeat("1", 129), 5398, "Please input WeChat authorization code", ""},
		{"phoneCode missing beats unknown app", alice, "wxunknown", "", 5398, "Please input WeChat authorization code", ""},
		{"mini program unknown", alice, "wxunknown", "13800138000.a", 5373, "The mini program's secret is not configured", ""},
		{"an official account's appId", alice, tAppID, "13800138000.a", 5373, "The mini program's secret is not configured", ""},
		{"WeChat: invalid code", alice, tMiniAppID, "err.40029.a", 5403, "Failed to decrypt WeChat mobile number", "40029"},
		{"WeChat: code been used", alice, tMiniAppID, "err.40163.a", 5403, "Failed to decrypt WeChat mobile number", "40163"},
		{"WeChat: no phone", alice, tMiniAppID, "nophone.a", 5403, "Failed to decrypt WeChat mobile number", ""},
		{"WeChat: another app's watermark", alice, tMiniAppID, "otherapp.13800138000.a", 5403, "Failed to decrypt WeChat mobile number", ""},
		{"WeChat busy", alice, tMiniAppID, "err.-1.a", 5394, "Internal interface request failed", "-1"},
		{"WeChat's minute quota", alice, tMiniAppID, "err.45011.a", 5394, "Internal interface request failed", "45011"},
		{"success", alice, tMiniAppID, "13800138000.a", 200, "", ""},
		{"a replay makes no call", alice, tMiniAppID, "13800138000.a", 5398, "Please input WeChat authorization code", ""},
		{"the same number again", alice, tMiniAppID, "13800138000.b", 200, "", ""},
		{"another user's number", bob, tMiniAppID, "13800138000.c", 5002, "The mobile number is registered", ""},
	}
	for _, tc := range cases {
		before := s.fake.PhoneLookups()
		a := s.phone(tc.token, tc.appID, tc.code)
		if a.Code != tc.want || a.Msg != tc.msg || a.Status != http.StatusOK {
			t.Errorf("%s: got HTTP %d code %d %q ext=%s, want %d %q", tc.name, a.Status, a.Code, a.Msg, deref(a.ExtMsg), tc.want, tc.msg)
		}
		if tc.extHas != "" && !strings.Contains(deref(a.ExtMsg), tc.extHas) {
			t.Errorf("%s: extMsg %s lacks %q", tc.name, deref(a.ExtMsg), tc.extHas)
		}
		calls := s.fake.PhoneLookups() - before
		wantCalls := 1
		if tc.want != 200 && tc.want != 5002 && tc.want != 5403 && tc.want != 5394 {
			wantCalls = 0 // refused before any WeChat call
		}
		if calls != wantCalls {
			t.Errorf("%s: %d phone lookups, want %d", tc.name, calls, wantCalls)
		}
	}
	if p, cc := s.userPhone(alice); p != "138****8000" || cc != "86" {
		t.Fatalf("alice's userInfo phone = %q %q, want 138****8000 86", p, cc)
	}
	if p, cc := s.userPhone(bob); p != "" || cc != "" {
		t.Fatalf("bob's userInfo phone = %q %q after 5002, want none", p, cc)
	}
	// A new number replaces the old; a country code WeChat sends as a number.
	if d := s.mustPhone(alice, "852-61234567.d"); d.Phone != "612*4567" || d.CountryCode != "852" {
		t.Fatalf("852 number: %+v", d)
	}
	if p, cc := s.userPhone(alice); p != "612*4567" || cc != "852" {
		t.Fatalf("alice's userInfo phone = %q %q after the new number", p, cc)
	}
	// The old number is free again.
	if d := s.mustPhone(bob, "13800138000.e"); d.Phone != "138****8000" || d.CountryCode != "86" {
		t.Fatalf("bob: %+v", d)
	}
	// Short numbers: all but the last 2 masked.
	carol := s.miniLoginAs(wechatfake.User{OpenID: "o-phone-carol"}).AccessToken.Token
	if d := s.mustPhone(carol, "853-123456.f"); d.Phone != "****56" {
		t.Fatalf("short number: %+v", d)
	}
}

// TestPhoneNumberStorage: sealed with a keyed hash in the database, never in
// a log; unmasked in the export; freed by an operator's unbind and by the
// erasure; audit events without the number.
func TestPhoneNumberStorage(t *testing.T) {
	t.Parallel()
	s := startMiniServer(t, map[string]string{"ENDUSER_LOG_LEVEL": "debug"})
	pa := s.miniLoginAs(wechatfake.User{OpenID: "o-store-alice"})
	alice := pa.AccessToken.Token
	bob := s.miniLoginAs(wechatfake.User{OpenID: "o-store-bob"}).AccessToken.Token
	uid := claims(t, alice)["uid"].(string)
	const number = "13912345678"
	s.mustPhone(alice, number+".a")

	db := s.sql(t)
	var enc, hash []byte
	if err := db.QueryRow(`SELECT phone_enc, phone_hash FROM enduser_users WHERE id = $1`, uid).Scan(&enc, &hash); err != nil {
		t.Fatal(err)
	}
	if len(enc) == 0 || len(hash) != 32 || bytes.Contains(enc, []byte(number)) || bytes.Contains(hash, []byte(number)) {
		t.Fatalf("the phone is not sealed with a keyed hash: enc %d bytes, hash %d bytes", len(enc), len(hash))
	}
	out := s.mustCLI("user", "export", uid)
	if !strings.Contains(out, `"number": "`+number+`"`) && !strings.Contains(out, `"number":"`+number+`"`) {
		t.Fatalf("the export lacks the unmasked number: %s", out)
	}
	waitAudit(t, s, uid, "phone_bound")
	// Bob cannot take it; after the operator's unbind he can.
	if a := s.phone(bob, tMiniAppID, number+".b"); a.Code != 5002 {
		t.Fatalf("bob binding alice's number: %d", a.Code)
	}
	if out := s.mustCLI("user", "unbind-phone", uid); !strings.Contains(out, "removed") {
		t.Fatalf("unbind-phone: %s", out)
	}
	if out := s.mustCLI("user", "unbind-phone", uid); !strings.Contains(out, "has no phone number") {
		t.Fatalf("unbind-phone again: %s", out)
	}
	if p, _ := s.userPhone(alice); p != "" {
		t.Fatalf("userInfo after unbind: %q", p)
	}
	if code, _, _ := s.cli("user", "unbind-phone", "no-such-uid"); code == 0 {
		t.Fatal("unbind-phone of an unknown uid succeeded")
	}
	s.mustPhone(bob, number+".c")
	// Alice takes another number, then erases her account: it is free.
	s.mustPhone(alice, "13700000001.d")
	if a := s.do(http.MethodDelete, pathUserDelete+"?type=1", nil, "Authorization", alice); a.Code != 200 {
		t.Fatalf("userDelete: %d", a.Code)
	}
	dave := s.miniLoginAs(wechatfake.User{OpenID: "o-store-dave"}).AccessToken.Token
	s.mustPhone(dave, "13700000001.e")
	waitAudit(t, s, uid, "phone_bound", "phone_unbound")
	audit := s.mustCLI("audit", "--user-domain", tUserDomain, "--limit", "1000")
	// Never logged: the numbers, nor WeChat's access tokens.
	logs := s.logs.String()
	if !strings.Contains(logs, "phone.bind") {
		t.Fatalf("the logs at debug carry no phone.bind line: the check below would prove nothing")
	}
	for _, secret := range append([]string{number, "13700000001", "13800138000"}, s.fake.AccessTokens()...) {
		if strings.Contains(logs, secret) || strings.Contains(audit, secret) {
			t.Fatalf("a phone number or an access token is logged or audited: %q", secret)
		}
	}
	if len(s.fake.AccessTokens()) == 0 {
		t.Fatal("no access token was handed out: the check above proved nothing")
	}
}

// TestPhoneNumberConcurrentBinds: two users binding one number at once, one
// wins, the other gets 5002.
func TestPhoneNumberConcurrentBinds(t *testing.T) {
	t.Parallel()
	s := startMiniServer(t, nil)
	for round := range 5 {
		a := s.miniLoginAs(wechatfake.User{OpenID: "o-race-a" + string(rune('0'+round))}).AccessToken.Token
		b := s.miniLoginAs(wechatfake.User{OpenID: "o-race-b" + string(rune('0'+round))}).AccessToken.Token
		number := "1500000000" + string(rune('0'+round))
		var wg sync.WaitGroup
		codes := make([]int, 2)
		for i, tok := range []string{a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				codes[i] = s.phone(tok, tMiniAppID, number+".x"+string(rune('0'+i))).Code
			}()
		}
		wg.Wait()
		if (codes[0] != 200 || codes[1] != 5002) && (codes[0] != 5002 || codes[1] != 200) {
			t.Fatalf("round %d: codes %v, want one 200 and one 5002", round, codes)
		}
	}
}

// TestPhoneNumberAccessToken: the app's access_token is asked once and
// cached; on 40001 it is asked again without force and the lookup retried;
// forced only when WeChat hands back the token it refused, at most once per
// 10 minutes; stable_token's failures answer 5382 and 5383.
func TestPhoneNumberAccessToken(t *testing.T) {
	t.Parallel()
	s := startMiniServer(t, nil)
	alice := s.miniLoginAs(wechatfake.User{OpenID: "o-token-alice"}).AccessToken.Token
	calls := func() (int, int) { return s.fake.StableTokenCalls(tMiniAppID) }
	s.mustPhone(alice, "13800000001.a")
	s.mustPhone(alice, "13800000001.b")
	if plain, forced := calls(); plain != 1 || forced != 0 {
		t.Fatalf("two lookups: %d plain and %d forced stable_token calls, want 1 and 0 (cached)", plain, forced)
	}
	// Another caller's forced refresh: 40001, asked again without force.
	s.fake.RotateAccessToken(tMiniAppID)
	s.mustPhone(alice, "13800000001.c")
	if plain, forced := calls(); plain != 2 || forced != 0 {
		t.Fatalf("after a rotation: %d plain and %d forced, want 2 and 0", plain, forced)
	}
	// WeChat refuses the token it keeps handing out: one forced refresh.
	s.fake.RefuseAccessToken(tMiniAppID)
	s.mustPhone(alice, "13800000001.d")
	if plain, forced := calls(); plain != 3 || forced != 1 {
		t.Fatalf("after a refusal: %d plain and %d forced, want 3 and 1", plain, forced)
	}
	// Again within 10 minutes: no second forced refresh, 5382.
	s.fake.RefuseAccessToken(tMiniAppID)
	before := s.fake.PhoneLookups()
	if a := s.phone(alice, tMiniAppID, "13800000001.e"); a.Code != 5382 {
		t.Fatalf("a second refusal within 10 minutes: %d %q, want 5382", a.Code, a.Msg)
	}
	if plain, forced := calls(); plain != 4 || forced != 1 {
		t.Fatalf("after a second refusal: %d plain and %d forced, want 4 and 1", plain, forced)
	}
	if got := s.fake.PhoneLookups() - before; got != 1 {
		t.Fatalf("%d lookups, want 1 (the refused one)", got)
	}
	var n int
	if err := s.sql(t).QueryRow(`SELECT count(*) FROM enduser_wechat_forced_refreshes WHERE app_id = $1`, tMiniAppID).Scan(&n); err != nil || n != 1 {
		t.Fatalf("forced refresh rows: %d %v", n, err)
	}

	// stable_token's failures, on a second mini program with no token cached.
	const app2, secret2 = "wxcomponentmini2", "component-mini-secret-0002"
	s.fake.AddMiniProgram(app2, secret2)
	s.mustCLIEnv(map[string]string{"ENDUSER_APP_SECRET": secret2}, "miniprogram", "add", "--user-domain", tUserDomain, "--app-id", app2)
	for _, tc := range []struct {
		name string
		f    wechatfake.Failure
		want int
		ext  string
	}{
		{"40125 invalid AppSecret", wechatfake.Failure{ErrCode: wechatfake.ErrInvalidAppSecret}, 5382, "40125"},
		{"40164 IP not whitelisted", wechatfake.Failure{ErrCode: wechatfake.ErrIPNotWhitelisted}, 5382, "40164"},
		{"HTTP 502", wechatfake.Failure{Status: 502}, 5382, ""},
		{"garbage", wechatfake.Failure{Body: []byte("<html>")}, 5383, ""},
		{"no access_token", wechatfake.Failure{Body: []byte(`{"expires_in":7200}`)}, 5383, ""},
	} {
		s.fake.FailStableToken(app2, tc.f)
		before := s.fake.PhoneLookups()
		a := s.phone(alice, app2, "13800000002."+strings.ReplaceAll(tc.name, " ", "-"))
		if a.Code != tc.want || !strings.Contains(deref(a.ExtMsg), tc.ext) {
			t.Errorf("%s: %d %q ext=%s, want %d with %q", tc.name, a.Code, a.Msg, deref(a.ExtMsg), tc.want, tc.ext)
		}
		if s.fake.PhoneLookups() != before {
			t.Errorf("%s: a phone lookup without a token", tc.name)
		}
	}
	// The wrong AppSecret configured: WeChat's own 40125.
	const app3 = "wxcomponentmini3"
	s.fake.AddMiniProgram(app3, "component-mini-secret-0003")
	s.mustCLIEnv(map[string]string{"ENDUSER_APP_SECRET": "wrong-secret-000000000"}, "miniprogram", "add", "--user-domain", tUserDomain, "--app-id", app3)
	if a := s.phone(alice, app3, "13800000002.wrong"); a.Code != 5382 || !strings.Contains(deref(a.ExtMsg), "40125") {
		t.Fatalf("wrong AppSecret: %d ext=%s", a.Code, deref(a.ExtMsg))
	}
}

// mustCLIEnv is mustCLI with more environment variables.
func (s *server) mustCLIEnv(vars map[string]string, args ...string) string {
	s.t.Helper()
	var out, errb strings.Builder
	code := run(s.t.Context(), args, func(k string) string {
		if v, ok := vars[k]; ok {
			return v
		}
		return s.getenv(k)
	}, &out, &errb)
	if code != 0 {
		s.t.Fatalf("enduser %s: exit %d: %s%s", strings.Join(args, " "), code, out.String(), errb.String())
	}
	return out.String()
}

// TestPhoneNumberAcrossInstances: two instances sharing Redis know each
// other's phoneCodes (a replay on the other answers 5398 without a call);
// and WeChat's forced refresh is claimed once in PostgreSQL for both.
func TestPhoneNumberAcrossInstances(t *testing.T) {
	t.Parallel()
	redisURL, prefix := redisPrefix(t)
	s := startMiniServer(t, map[string]string{"ENDUSER_REDIS_URL": redisURL, "ENDUSER_REDIS_PREFIX": prefix})
	other := s.boot(t)
	alice := s.miniLoginAs(wechatfake.User{OpenID: "o-cluster-alice"}).AccessToken.Token
	if a := s.phoneAt(s.url, alice, tMiniAppID, "13600000001.a"); a.Code != 200 {
		t.Fatalf("first instance: %d", a.Code)
	}
	before := s.fake.PhoneLookups()
	if a := s.phoneAt(other, alice, tMiniAppID, "13600000001.a"); a.Code != 5398 {
		t.Fatalf("the replay on the other instance: %d %q, want 5398", a.Code, a.Msg)
	}
	if s.fake.PhoneLookups() != before {
		t.Fatal("the replay reached WeChat")
	}
	// Both instances hold the token; WeChat refuses it and keeps handing it out.
	if a := s.phoneAt(other, alice, tMiniAppID, "13600000001.b"); a.Code != 200 {
		t.Fatalf("second instance: %d", a.Code)
	}
	s.fake.RefuseAccessToken(tMiniAppID)
	if a := s.phoneAt(s.url, alice, tMiniAppID, "13600000001.c"); a.Code != 200 {
		t.Fatalf("first instance after the refusal: %d %q", a.Code, a.Msg)
	}
	if _, forced := s.fake.StableTokenCalls(tMiniAppID); forced != 1 {
		t.Fatalf("%d forced refreshes, want 1", forced)
	}
	// The forced token refused too: the other instance finds the next
	// forced refresh claimed (by the first) and answers 5382.
	s.fake.RefuseAccessToken(tMiniAppID)
	var codes []int
	for _, c := range []string{"13600000001.d", "13600000001.e"} {
		codes = append(codes, s.phoneAt(other, alice, tMiniAppID, c).Code)
	}
	if codes[len(codes)-1] != 5382 {
		t.Fatalf("the other instance: codes %v, want 5382 at last", codes)
	}
	if _, forced := s.fake.StableTokenCalls(tMiniAppID); forced != 1 {
		t.Fatalf("%d forced refreshes across two instances within 10 minutes, want 1", forced)
	}
}

// TestPhoneNumberCoolDown: WeChat's 45011 on a lookup cools the mini
// program down (lookups and logins answer rateLimited without calling
// WeChat, the phoneCode not spent), until it ends.
func TestPhoneNumberCoolDown(t *testing.T) {
	t.Parallel()
	s := startMiniServer(t, map[string]string{"ENDUSER_RATE_LIMITS": "on", "ENDUSER_IP_RATE": "1000", "ENDUSER_IP_BURST": "1000",
		"ENDUSER_WECHAT_COOLDOWN": "1s"})
	alice := s.miniLoginAs(wechatfake.User{OpenID: "o-cool-alice"}).AccessToken.Token
	if a := s.phone(alice, tMiniAppID, "err.45011.a"); a.Code != 5394 || !strings.Contains(deref(a.ExtMsg), "45011") {
		t.Fatalf("WeChat's 45011: %d %s, want 5394 with it", a.Code, deref(a.ExtMsg))
	}
	before := s.fake.PhoneLookups()
	a := s.phone(alice, tMiniAppID, "13500000001.a")
	if a.Code != 5394 || deref(a.ExtMsg) != `{"reason":"rateLimited"}` {
		t.Fatalf("cooling down: %d %s, want 5394 rateLimited", a.Code, deref(a.ExtMsg))
	}
	if s.fake.PhoneLookups() != before {
		t.Fatal("a cooling-down mini program reached WeChat")
	}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		a := s.phone(alice, tMiniAppID, "13500000001.a") // the same code: not spent while refused
		if a.Code == 200 {
			break
		}
		if a.Code != 5394 || time.Now().After(deadline) {
			t.Fatalf("the cool-down must end and the unspent phoneCode bind: got %d", a.Code)
		}
	}
}

// TestPhoneNumberDisabledUser: a disabled user's token answers 5041 here as
// on every token-taking endpoint, before any WeChat call.
func TestPhoneNumberDisabledUser(t *testing.T) {
	t.Parallel()
	s := startMiniServer(t, nil)
	tok := s.miniLoginAs(wechatfake.User{OpenID: "o-disabled-phone"}).AccessToken.Token
	uid := claims(t, tok)["uid"].(string)
	s.mustCLI("user", "disable", uid)
	untilCode(t, s.url, tok, 5041)
	before := s.fake.PhoneLookups()
	if a := s.phone(tok, tMiniAppID, "13300000001.a"); a.Code != 5041 {
		t.Fatalf("a disabled user's phone bind: %d %q, want 5041", a.Code, a.Msg)
	}
	if s.fake.PhoneLookups() != before {
		t.Fatal("a disabled user's phone bind reached WeChat")
	}
}
