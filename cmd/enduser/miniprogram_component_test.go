package main

import (
	"database/sql"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/iotplatform/enduser-auth/adapters/wechat/wechatfake"
	"github.com/iotplatform/enduser-auth/domain"
)

// The mini program the mini program tests provision next to the official
// accounts of the component tenant.
const (
	tMiniAppID     = "wxcomponentmini1"
	tMiniAppSecret = "component-mini-secret-0001"
	pathMiniLogin  = "/v2/enduser/enduserapi/wechatMiniprogramAuthLogin"
)

// startMiniServer is startServer with a mini program provisioned through
// `enduser miniprogram add` (the AppSecret from the environment) in the
// tenant and in the fake WeChat.
func startMiniServer(t *testing.T, extra map[string]string) *server {
	t.Helper()
	s := startServer(t, extra)
	s.fake.AddMiniProgram(tMiniAppID, tMiniAppSecret)
	var out, errb strings.Builder
	vars := map[string]string{"ENDUSER_APP_SECRET": tMiniAppSecret}
	code := run(t.Context(), []string{"miniprogram", "add", "--user-domain", tUserDomain, "--app-id", tMiniAppID},
		func(k string) string {
			if v, ok := vars[k]; ok {
				return v
			}
			return s.getenv(k)
		}, &out, &errb)
	if code != 0 || !strings.Contains(out.String(), "mini program "+tMiniAppID+" of user domain "+tUserDomain+" saved") {
		t.Fatalf("miniprogram add: %d %q %q", code, out.String(), errb.String())
	}
	return s
}

// miniQuery builds the mini program login's query for jsCode, signed with the
// tenant's secret over appId + jsCode.
func miniQuery(userDomain, appID, jsCode, mcc string) url.Values {
	q := url.Values{"userDomain": {userDomain}, "appId": {appID}, "jsCode": {jsCode},
		"signature": {domain.LoginSignature(appID, jsCode, tSecret)}}
	if mcc != "" {
		q.Set("mcc", mcc)
	}
	return q
}

func (s *server) miniLogin(q url.Values, headers ...string) answer {
	s.t.Helper()
	return s.do(http.MethodPost, pathMiniLogin+"?"+q.Encode(), nil, headers...)
}

// miniLoginAs logs a fresh jsCode of u in through the mini program.
func (s *server) miniLoginAs(u wechatfake.User) tokenPair {
	s.t.Helper()
	return s.miniLogin(miniQuery(tUserDomain, tMiniAppID, s.fake.IssueJSCode(tMiniAppID, u), "")).pair(s.t)
}

// userInfoOf is userInfo's data for the access token.
type userInfoData struct {
	UID                     string `json:"uid"`
	WechatMiniprogramUserID string `json:"wechatMiniprogramUserId"`
	WechatOffiaccountUserID string `json:"wechatOffiaccountUserId"`
	WechatUnionID           string `json:"wechatUnionId"`
	LogonMode               string `json:"logonMode"`
}

func (s *server) userInfoOf(token string) userInfoData {
	s.t.Helper()
	a := s.do(http.MethodGet, pathUserInfo, nil, "Authorization", token)
	if a.Code != 200 {
		s.t.Fatalf("userInfo: %d %q", a.Code, a.Msg)
	}
	var d userInfoData
	if err := json.Unmarshal(a.Data, &d); err != nil {
		s.t.Fatalf("userInfo data: %s", a.Data)
	}
	return d
}

// TestMiniProgramLoginEveryBusinessCode drives every code of the mini program
// login over real HTTP, in the contract's order, through the real binary, a
// real Postgres and the fake WeChat's jscode2session.
func TestMiniProgramLoginEveryBusinessCode(t *testing.T) {
	t.Parallel()
	s := startMiniServer(t, map[string]string{"ENDUSER_WECHAT_TIMEOUT": "1s", "ENDUSER_LOG_LEVEL": "debug"})
	alice := wechatfake.User{OpenID: "o-mini-alice", UnionID: "u-mini-alice"}
	fresh := func() string { return s.fake.IssueJSCode(tMiniAppID, alice) }
	scripted := func(f wechatfake.Failure) string {
		c := fresh()
		s.fake.SetFailure(c, f)
		return c
	}
	without := func(q url.Values, k string) url.Values { q.Del(k); return q }
	with := func(q url.Values, k, v string) url.Values { q.Set(k, v); return q }
	ok := func() url.Values { return miniQuery(tUserDomain, tMiniAppID, fresh(), "") }

	cases := []struct {
		name   string
		q      url.Values
		code   int
		msg    string
		extHas string
	}{
		{"userDomain missing", without(ok(), "userDomain"), 5023, "Please enter user domain", ""},
		{"userDomain malformed", with(ok(), "userDomain", "C.DM.10271"), 5013, "User domain format incorrect", ""},
		{"appId missing", without(ok(), "appId"), 5218, "Please enter appid", ""},
		{"jsCode missing", without(ok(), "jsCode"), 5372, "Please enter jsCode", ""},
		{"the official account's code parameter is no jsCode", with(without(ok(), "jsCode"), "code", "c1"), 5372, "Please enter jsCode", ""},
		{"jsCode missing beats missing signature", without(without(ok(), "jsCode"), "signature"), 5372, "Please enter jsCode", ""},
		{"signature missing", without(ok(), "signature"), 5550, "Please enter signature", ""},
		{"user domain unknown", with(ok(), "userDomain", "C.DM.99999.9"), 5015, "User domain does not exist", ""},
		{"user domain disabled", miniQuery(tDisabled, tMiniAppID, fresh(), ""), 5104, "User domain has been disabled", ""},
		{"signature wrong", with(ok(), "signature", strings.Repeat("ab", 32)), 5420, "Signature verification failed", ""},
		{"signature over another jsCode", with(ok(), "signature", domain.LoginSignature(tMiniAppID, "other", tSecret)), 5420, "Signature verification failed", ""},
		{"mcc not an integer", miniQuery(tUserDomain, tMiniAppID, fresh(), "abc"), 6085, "Failed to query data center for MCC", ""},
		{"mcc of another data center", miniQuery(tUserDomain, tMiniAppID, fresh(), "262"), 6084, "MCC does not belong to current data center", "https://eu.example.com"},
		{"mini program unknown", miniQuery(tUserDomain, "wxunknown", "c1", ""), 5373, "The mini program's secret is not configured", ""},
		{"an official account's appId", miniQuery(tUserDomain, tAppID, "c1", ""), 5373, "The mini program's secret is not configured", ""},
		{"appId of 300 characters", miniQuery(tUserDomain, strings.Repeat("w", 300), "c1", ""), 5373, "The mini program's secret is not configured", ""},
		{"WeChat answers 502", miniQuery(tUserDomain, tMiniAppID, scripted(wechatfake.Failure{Status: 502}), ""), 5367, "Exception in requesting user OpenID", ""},
		{"WeChat: invalid code", miniQuery(tUserDomain, tMiniAppID, "never-issued", ""), 5368, "Failed to get user OpenID", "40029"},
		{"WeChat: high-risk user", miniQuery(tUserDomain, tMiniAppID, scripted(wechatfake.Failure{ErrCode: wechatfake.ErrHighRiskUser}), ""), 5368, "Failed to get user OpenID", "40226"},
		{"WeChat is busy", miniQuery(tUserDomain, tMiniAppID, scripted(wechatfake.Failure{ErrCode: -1}), ""), 5368, "Failed to get user OpenID", "-1"},
		{"no openid", miniQuery(tUserDomain, tMiniAppID, s.fake.IssueJSCode(tMiniAppID, wechatfake.User{}), ""), 5368, "Failed to get user OpenID", ""},
		{"WeChat body is garbage", miniQuery(tUserDomain, tMiniAppID, scripted(wechatfake.Failure{Body: []byte("<html>oops")}), ""), 5369, "Failed to parse user OpenID", ""},
		{"success", ok(), 200, "", ""},
		{"success, own data center's mcc", miniQuery(tUserDomain, tMiniAppID, fresh(), "460"), 200, "", ""},
	}
	for _, tc := range cases {
		a := s.miniLogin(tc.q)
		if a.Status != http.StatusOK || a.Code != tc.code || a.Msg != tc.msg {
			t.Errorf("%s: want HTTP 200 code %d %q, got HTTP %d code %d %q", tc.name, tc.code, tc.msg, a.Status, a.Code, a.Msg)
			continue
		}
		if tc.code != 200 && string(a.Data) != "null" {
			t.Errorf("%s: failure needs data null, got %s", tc.name, a.Data)
		}
		if tc.extHas != "" && !strings.Contains(deref(a.ExtMsg), tc.extHas) {
			t.Errorf("%s: extMsg %q should contain %q", tc.name, deref(a.ExtMsg), tc.extHas)
		}
		if tc.code == 200 {
			if p := a.pair(t); !strings.HasPrefix(p.AccessToken.Token, "Bearer ") || !strings.HasPrefix(p.RefreshToken.Token, "Bearer ") {
				t.Errorf("%s: tokens need the Bearer prefix: %+v", tc.name, p)
			}
		}
	}

	t.Run("the official account login answers 5375 for a mini program's appId", func(t *testing.T) {
		a := s.login(loginQuery(tUserDomain, tMiniAppID, "c1", ""))
		if a.Code != 5375 {
			t.Fatalf("want 5375, got %d %q", a.Code, a.Msg)
		}
		// and the official account login still words 5372 its own way
		q := loginQuery(tUserDomain, tAppID, "c1", "")
		q.Del("code")
		if a := s.login(q); a.Code != 5372 || a.Msg != "Please enter code" {
			t.Fatalf("official account login without code: %d %q", a.Code, a.Msg)
		}
	})
	t.Run("5372 in Chinese names jsCode", func(t *testing.T) {
		a := s.miniLogin(without(ok(), "jsCode"), "Accept-Language", "zh-CN")
		if a.Code != 5372 || a.Msg != "请输入jsCode" {
			t.Fatalf("got %d %q", a.Code, a.Msg)
		}
	})
	t.Run("a jsCode exchanged twice is refused without asking WeChat", func(t *testing.T) {
		c := fresh()
		s.miniLogin(miniQuery(tUserDomain, tMiniAppID, c, "")).pair(t)
		before := s.fake.Requests()
		a := s.miniLogin(miniQuery(tUserDomain, tMiniAppID, c, ""))
		if a.Code != 5368 || !strings.Contains(deref(a.ExtMsg), "40163") {
			t.Fatalf("want 5368 with 40163, got %d %v", a.Code, deref(a.ExtMsg))
		}
		if n := s.fake.Requests() - before; n != 0 {
			t.Fatalf("the replayed jsCode reached WeChat %d times", n)
		}
	})
	t.Run("WeChat's 45011 cools the mini program down", func(t *testing.T) {
		a := s.miniLogin(miniQuery(tUserDomain, tMiniAppID, scripted(wechatfake.Failure{ErrCode: wechatfake.ErrRateLimited}), ""))
		if a.Code != 5368 || !strings.Contains(deref(a.ExtMsg), "45011") {
			t.Fatalf("want 5368 with 45011, got %d %v", a.Code, deref(a.ExtMsg))
		}
	})
	t.Run("form and JSON bodies", func(t *testing.T) {
		form := ok().Encode()
		if a := s.do(http.MethodPost, pathMiniLogin, strings.NewReader(form), "Content-Type", "application/x-www-form-urlencoded"); a.Code != 200 {
			t.Fatalf("form body: %d %q", a.Code, a.Msg)
		}
		q := ok()
		body, _ := json.Marshal(map[string]any{"userDomain": q.Get("userDomain"), "appId": q.Get("appId"), "jsCode": q.Get("jsCode"),
			"signature": q.Get("signature"), "mcc": 460})
		if a := s.do(http.MethodPost, pathMiniLogin, strings.NewReader(string(body)), "Content-Type", "application/json"); a.Code != 200 {
			t.Fatalf("JSON body: %d %q", a.Code, a.Msg)
		}
	})
	t.Run("the session_key is never logged", func(t *testing.T) {
		logs := s.logs.String()
		if !strings.Contains(logs, "login.wechat_miniprogram") {
			t.Fatalf("the debug log has no mini program login line: %s", logs)
		}
		if strings.Contains(logs, wechatfake.SessionKeyPrefix) || strings.Contains(logs, "session_key") {
			t.Fatal("a session_key reached the log")
		}
	})
	t.Run("the session_key is never stored", func(t *testing.T) {
		db := s.sql(t)
		var n int
		// Every text column of every table of the module, searched for the fake's session keys.
		cols := textColumns(t, db)
		if len(cols) == 0 {
			t.Fatal("no column searched")
		}
		for _, c := range cols {
			q := `SELECT count(*) FROM "` + c[0] + `" WHERE position($1::bytea in convert_to("` + c[1] + `"::text, 'UTF8')) > 0`
			if err := db.QueryRow(q, wechatfake.SessionKeyPrefix).Scan(&n); err != nil {
				t.Fatalf("%s.%s: %v", c[0], c[1], err)
			}
			if n != 0 {
				t.Fatalf("%s.%s holds a session_key", c[0], c[1])
			}
		}
	})
	t.Run("the audit record says which kind of app", func(t *testing.T) {
		db := s.sql(t)
		// The audit trail is written in batches, after the answer: poll.
		deadline := time.Now().Add(30 * time.Second)
		for {
			var mini, official int
			if err := db.QueryRow(`SELECT count(*) FILTER (WHERE app_kind = 'miniprogram' AND app_id = $1),
					count(*) FILTER (WHERE app_kind = 'offiaccount' AND app_id = $1)
				FROM enduser_audit_events WHERE event = 'login' AND code = 200`, tMiniAppID).Scan(&mini, &official); err != nil {
				t.Fatal(err)
			}
			if official != 0 {
				t.Fatalf("%d mini program logins audited as an official account's", official)
			}
			if mini > 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("no audit record of a mini program login with app_kind miniprogram within 30s")
			}
			time.Sleep(50 * time.Millisecond)
		}
	})
}

// TestMiniProgramAndOfficialAccountAreOneUser: one person (one unionid) in
// one user domain is one user through an official account and the mini
// program, in either order; userInfo shows both openids and how the user
// registered.
func TestMiniProgramAndOfficialAccountAreOneUser(t *testing.T) {
	t.Parallel()
	s := startMiniServer(t, nil)
	uidOf := func(p tokenPair) string { return claims(t, p.AccessToken.Token)["uid"].(string) }

	t.Run("official account, then mini program", func(t *testing.T) {
		oa := s.loginAs(tAppID, wechatfake.User{OpenID: "o-oa-bob", UnionID: "u-bob"})
		mp := s.miniLoginAs(wechatfake.User{OpenID: "o-mp-bob", UnionID: "u-bob"})
		if uidOf(oa) != uidOf(mp) {
			t.Fatalf("two users for one unionid: %s and %s", uidOf(oa), uidOf(mp))
		}
		for _, tok := range []string{oa.AccessToken.Token, mp.AccessToken.Token} {
			info := s.userInfoOf(tok)
			if info.UID != uidOf(oa) || info.WechatOffiaccountUserID != "o-oa-bob" || info.WechatMiniprogramUserID != "o-mp-bob" ||
				info.WechatUnionID != "u-bob" || info.LogonMode != "wechatOffiaccount" {
				t.Fatalf("userInfo: %+v", info)
			}
		}
	})
	t.Run("mini program, then official account", func(t *testing.T) {
		mp := s.miniLoginAs(wechatfake.User{OpenID: "o-mp-carol", UnionID: "u-carol"})
		info := s.userInfoOf(mp.AccessToken.Token)
		if info.WechatMiniprogramUserID != "o-mp-carol" || info.WechatOffiaccountUserID != "" || info.LogonMode != "wechatMiniprogram" {
			t.Fatalf("userInfo before the official account: %+v", info)
		}
		oa := s.loginAs(tAppID2, wechatfake.User{OpenID: "o-oa-carol", UnionID: "u-carol"})
		if uidOf(oa) != uidOf(mp) {
			t.Fatalf("two users for one unionid: %s and %s", uidOf(mp), uidOf(oa))
		}
		info = s.userInfoOf(oa.AccessToken.Token)
		if info.WechatMiniprogramUserID != "o-mp-carol" || info.WechatOffiaccountUserID != "o-oa-carol" || info.LogonMode != "wechatMiniprogram" {
			t.Fatalf("userInfo: %+v", info)
		}
	})
	t.Run("without a unionid they stay two users", func(t *testing.T) {
		oa := s.loginAs(tAppID, wechatfake.User{OpenID: "o-oa-dan"})
		mp := s.miniLoginAs(wechatfake.User{OpenID: "o-mp-dan"})
		if uidOf(oa) == uidOf(mp) {
			t.Fatal("two openids without a unionid were joined")
		}
	})
	t.Run("20 concurrent first logins split across both are one user", func(t *testing.T) {
		const n = 20
		uids := make([]string, n)
		errs := make([]string, n)
		codes := make([]string, n)
		for i := range n {
			if i%2 == 0 {
				codes[i] = s.fake.IssueCode(tAppID, wechatfake.User{OpenID: "o-oa-erin", UnionID: "u-erin"})
			} else {
				codes[i] = s.fake.IssueJSCode(tMiniAppID, wechatfake.User{OpenID: "o-mp-erin", UnionID: "u-erin"})
			}
		}
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				path, q := "/v2/enduser/enduserapi/wechatOffiaccountAuthLogin", loginQuery(tUserDomain, tAppID, codes[i], "")
				if i%2 == 1 {
					path, q = pathMiniLogin, miniQuery(tUserDomain, tMiniAppID, codes[i], "")
				}
				resp, err := docClient.Post(s.url+path+"?"+q.Encode(), "", nil)
				if err != nil {
					errs[i] = err.Error()
					return
				}
				defer resp.Body.Close()
				var a struct {
					Code int       `json:"code"`
					Data tokenPair `json:"data"`
				}
				if err := json.NewDecoder(resp.Body).Decode(&a); err != nil || a.Code != 200 {
					errs[i] = "login answered " + resp.Status
					return
				}
				m, err := decodeClaims(a.Data.AccessToken.Token)
				if err != nil {
					errs[i] = err.Error()
					return
				}
				uids[i], _ = m["uid"].(string)
			}()
		}
		close(start)
		wg.Wait()
		for i, e := range errs {
			if e != "" {
				t.Fatalf("login %d: %s", i, e)
			}
		}
		for i, u := range uids {
			if u == "" || u != uids[0] {
				t.Fatalf("login %d got uid %q, login 0 %q: one person must be one user", i, u, uids[0])
			}
		}
		var users int
		if err := s.sql(t).QueryRow(`SELECT count(DISTINCT user_id) FROM enduser_wechat_identities WHERE open_id IN ('o-oa-erin', 'o-mp-erin')`).Scan(&users); err != nil {
			t.Fatal(err)
		}
		if users != 1 {
			t.Fatalf("%d users hold erin's openids", users)
		}
	})
}

// TestWeChatAppKindsAreExclusive: an appId is one kind only; the CLI refuses
// the other kind with a clear message, in this or another user domain.
func TestWeChatAppKindsAreExclusive(t *testing.T) {
	t.Parallel()
	s := startMiniServer(t, map[string]string{"ENDUSER_TENANT_CACHE_TTL": "0"})
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"miniprogram", "add", "--user-domain", tUserDomain, "--app-id", tAppID, "--app-secret", "s"}, "appId " + tAppID + " is a official account's"},
		{[]string{"miniprogram", "add", "--user-domain", tDisabled, "--app-id", tAppID, "--app-secret", "s"}, "one kind only"},
		{[]string{"officialaccount", "add", "--user-domain", tUserDomain, "--app-id", tMiniAppID, "--app-secret", "s"}, "is a mini program's"},
		{[]string{"officialaccount", "add", "--user-domain", tDisabled, "--app-id", tMiniAppID, "--app-secret", "s"}, "one kind only"},
		{[]string{"miniprogram", "add", "--user-domain", tUserDomain, "--app-id", "wxnew"}, "--app-secret"},
		{[]string{"miniprogram", "delete"}, `miniprogram add|list|remove --user-domain NAME ..., not "delete"`},
	} {
		code, out, errs := s.cli(tc.args...)
		if code == 0 || !strings.Contains(errs, tc.want) {
			t.Errorf("enduser %s: exit %d, stdout %q stderr %q; want a refusal saying %q", strings.Join(tc.args, " "), code, out, errs, tc.want)
		}
	}
	// Re-adding the mini program (a new AppSecret) is an update, from stdin.
	var out, errb strings.Builder
	code := runEnv(t.Context(), []string{"miniprogram", "add", "--user-domain", tUserDomain, "--app-id", tMiniAppID, "--app-secret-stdin"},
		env{getenv: s.getenv, stdout: &out, stderr: &errb, stdin: strings.NewReader("new-mini-secret\n")})
	if code != 0 {
		t.Fatalf("miniprogram add --app-secret-stdin: %d %q %q", code, out.String(), errb.String())
	}
	var kind string
	if err := s.sql(t).QueryRow(`SELECT kind FROM enduser_official_accounts WHERE app_id = $1`, tMiniAppID).Scan(&kind); err != nil || kind != "miniprogram" {
		t.Fatalf("stored kind %q %v", kind, err)
	}
	s.fake.AddMiniProgram(tMiniAppID, "new-mini-secret")
	s.miniLoginAs(wechatfake.User{OpenID: "o-mp-frank"}) // the tenant cache is off here: the new secret is used at once
}

// textColumns lists (table, column) of every text or bytea column of the
// module's tables.
func textColumns(t *testing.T, db *sql.DB) [][2]string {
	t.Helper()
	rows, err := db.Query(`SELECT table_name, column_name FROM information_schema.columns
		WHERE table_schema = 'public' AND table_name LIKE 'enduser_%' AND data_type IN ('text', 'bytea', 'character varying')`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var cols [][2]string
	for rows.Next() {
		var tb, c string
		if err := rows.Scan(&tb, &c); err != nil {
			t.Fatal(err)
		}
		cols = append(cols, [2]string{tb, c})
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return cols
}

// TestMiniProgramLoginDatabaseDown: 5000, the last code of the mini program
// login: with the database gone the login answers HTTP 500 code 5000 and
// leaks nothing.
func TestMiniProgramLoginDatabaseDown(t *testing.T) {
	t.Parallel()
	s := startMiniServer(t, map[string]string{"ENDUSER_TENANT_CACHE_TTL": "0"})
	s.miniLoginAs(wechatfake.User{OpenID: "o-mp-gina"})
	dbName := s.dbURL[strings.LastIndex(s.dbURL, "/")+1:]
	if i := strings.Index(dbName, "?"); i >= 0 {
		dbName = dbName[:i]
	}
	admin := adminDB(t)
	if _, err := admin.Exec(`ALTER DATABASE "` + dbName + `" ALLOW_CONNECTIONS false`); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = admin.Exec(`ALTER DATABASE "` + dbName + `" ALLOW_CONNECTIONS true`) })
	if _, err := admin.Exec(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`, dbName); err != nil {
		t.Fatal(err)
	}
	a := s.miniLogin(miniQuery(tUserDomain, tMiniAppID, s.fake.IssueJSCode(tMiniAppID, wechatfake.User{OpenID: "o-mp-gina"}), ""))
	if a.Code != 5000 || a.Status != http.StatusInternalServerError || a.Msg != "Service exception" || a.ExtMsg != nil {
		t.Fatalf("with the database down: want HTTP 500 code 5000, got HTTP %d code %d %q %q", a.Status, a.Code, a.Msg, deref(a.ExtMsg))
	}
}
