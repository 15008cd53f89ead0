package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/iotplatform/enduser-auth/adapters/wechat/wechatfake"
)

const pathSetUserInfo = "/v2/enduser/enduserapi/setUserInfo"

func (s *server) userInfo(t *testing.T, tok string) map[string]any {
	t.Helper()
	a := s.do(http.MethodGet, pathUserInfo, nil, "Authorization", tok)
	if a.Code != 200 {
		t.Fatalf("userInfo: %d %q", a.Code, a.Msg)
	}
	var info map[string]any
	if err := json.Unmarshal(a.Data, &info); err != nil {
		t.Fatal(err)
	}
	return info
}

// TestSetUserInfo: every code of setUserInfo over real HTTP, through the
// query, a form body and a JSON body, and the profile fields of userInfo.
func TestSetUserInfo(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	p := s.loginAs(tAppID, wechatfake.User{OpenID: "o-grace"})
	tok := p.AccessToken.Token
	profileFields := []string{"nikeName", "headimg", "sex", "address", "province", "city", "signature", "remark", "lang",
		"nationality", "timezone"}

	info := s.userInfo(t, tok)
	for _, f := range profileFields {
		if v, ok := info[f]; !ok || v != "" {
			t.Fatalf("unset %s = %#v (present %t), want \"\"", f, v, ok)
		}
	}

	put := func(query url.Values, contentType, body string, headers ...string) answer {
		t.Helper()
		path := pathSetUserInfo
		if len(query) > 0 {
			path += "?" + query.Encode()
		}
		h := append([]string{"Authorization", tok}, headers...)
		if contentType != "" {
			h = append(h, "Content-Type", contentType)
		}
		var r *strings.Reader
		if body != "" {
			r = strings.NewReader(body)
			return s.do(http.MethodPut, path, r, h...)
		}
		return s.do(http.MethodPut, path, nil, h...)
	}

	if a := s.do(http.MethodPut, pathSetUserInfo+"?nikeName=x", nil); a.Code != 5106 {
		t.Fatalf("no token: %d", a.Code)
	}
	if a := s.do(http.MethodPut, pathSetUserInfo+"?nikeName=x", nil, "Authorization", "Bearer not.a.jwt"); a.Code != 5032 {
		t.Fatalf("bad token: %d", a.Code)
	}

	// Every rule's code, from the query.
	for _, c := range []struct {
		name, value string
		code        int
	}{
		{"nikeName", strings.Repeat("名", 51), 5060},
		{"nikeName", "a\x07b", 5034},
		{"nikeName", "a\xffb", 5034},
		{"headImage", "ftp://x.example/a.png", 5034},
		{"headImage", "https://x.example/" + strings.Repeat("a", 1024), 5034},
		{"sex", "3", 5061},
		{"address", strings.Repeat("址", 255), 5076},
		{"province", strings.Repeat("省", 101), 5473},
		{"city", strings.Repeat("市", 101), 5474},
		{"signature", strings.Repeat("签", 201), 5475},
		{"remark", strings.Repeat("注", 501), 5476},
		{"lang", "100001", 5034},
		{"nationality", "-1", 5034},
		{"timezone", "eight", 5034},
	} {
		if a := put(url.Values{c.name: {c.value}}, "", ""); a.Code != c.code || a.ExtMsg == nil || !strings.Contains(*a.ExtMsg, c.name) {
			t.Fatalf("%s=%.20q: got %d %q ext %s, want %d naming the parameter", c.name, c.value, a.Code, a.Msg, deref(a.ExtMsg), c.code)
		}
	}
	// Several wrong: the first in the table's order answers; nothing is saved.
	if a := put(url.Values{"remark": {strings.Repeat("x", 501)}, "sex": {"9"}}, "", ""); a.Code != 5061 {
		t.Fatalf("sex and remark wrong: got %d, want 5061", a.Code)
	}
	if info := s.userInfo(t, tok); info["remark"] != "" || info["sex"] != "" {
		t.Fatalf("a refused change was saved: %v", info)
	}
	// JSON body: numbers and digit strings for ints; a JSON object for an int is 5061, never a 500.
	if a := put(nil, "application/json", `{"sex": {"a": 1}}`); a.Code != 5061 {
		t.Fatalf("JSON object sex: %d", a.Code)
	}
	if a := put(nil, "application/json", `{"lang": 1.5}`); a.Code != 5034 {
		t.Fatalf("JSON fraction lang: %d", a.Code)
	}
	if a := put(nil, "application/json", "{\"city\": \"a\xffb\"}"); a.Code != 5034 {
		t.Fatalf("JSON string that is not UTF-8: %d", a.Code)
	}
	if a := put(nil, "application/json", `{"city": "a\u0000b"}`); a.Code != 5034 {
		t.Fatalf("JSON escaped control character: %d", a.Code)
	}
	if a := put(nil, "application/x-www-form-urlencoded", "province=%FF"); a.Code != 5034 {
		t.Fatalf("form value that is not UTF-8: %d", a.Code)
	}
	if a := put(nil, "application/json", `[1,2]`); a.Code != 200 {
		t.Fatalf("a JSON body that is no object (nothing sent): %d", a.Code)
	}
	a := put(nil, "application/json", `{"nikeName":"格蕾丝 🙂","headImage":"https://cdn.example.com/g.png","sex":1,
		"address":"西湖区","province":"浙江","city":"杭州","signature":"你好","remark":"vip","lang":"86","nationality":86,"timezone":8}`)
	if a.Code != 200 {
		t.Fatalf("JSON body: %d %q %s", a.Code, a.Msg, deref(a.ExtMsg))
	}
	want := map[string]any{"nikeName": "格蕾丝 🙂", "headimg": "https://cdn.example.com/g.png", "sex": "1", "address": "西湖区",
		"province": "浙江", "city": "杭州", "signature": "你好", "remark": "vip", "lang": "86", "nationality": "86",
		"nationalityId": "86", "timezone": "8"}
	info = s.userInfo(t, tok)
	for k, v := range want {
		if info[k] != v {
			t.Fatalf("userInfo %s = %#v, want %#v", k, info[k], v)
		}
	}
	// A form body: only what is sent changes, an empty value clears; the query wins over the body.
	if a := put(url.Values{"city": {"宁波"}}, "application/x-www-form-urlencoded", "city=Hangzhou&remark=&sex=2&lang="); a.Code != 200 {
		t.Fatalf("form body: %d %s", a.Code, deref(a.ExtMsg))
	}
	want["city"], want["remark"], want["sex"], want["lang"] = "宁波", "", "2", ""
	info = s.userInfo(t, tok)
	for k, v := range want {
		if info[k] != v {
			t.Fatalf("after the form: userInfo %s = %#v, want %#v", k, info[k], v)
		}
	}
	// An empty query value clears too.
	if a := put(url.Values{"nikeName": {""}}, "", ""); a.Code != 200 {
		t.Fatalf("clear by query: %d", a.Code)
	}
	if info := s.userInfo(t, tok); info["nikeName"] != "" || info["province"] != "浙江" {
		t.Fatalf("after clearing nikeName: %v", info)
	}

	// 5042: the store refuses the change (a constraint added for the test).
	db := s.sql(t)
	if _, err := db.Exec(`ALTER TABLE enduser_users ADD CONSTRAINT test_refuse_boom CHECK (remark IS DISTINCT FROM 'boom')`); err != nil {
		t.Fatal(err)
	}
	if a := put(url.Values{"remark": {"boom"}}, "", ""); a.Code != 5042 || a.Status != http.StatusOK {
		t.Fatalf("a change the database refuses: HTTP %d code %d, want 200/5042", a.Status, a.Code)
	}
}

// TestSetUserInfoConcurrentPartialUpdates: concurrent requests changing
// different fields of one user all land.
func TestSetUserInfoConcurrentPartialUpdates(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	tok := s.loginAs(tAppID, wechatfake.User{OpenID: "o-heidi"}).AccessToken.Token
	fields := []string{"nikeName", "address", "province", "city", "signature", "remark", "lang", "timezone"}
	var wg sync.WaitGroup
	codes := make([]int, len(fields))
	start := make(chan struct{})
	for i, f := range fields {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			v := fmt.Sprint(100 + i)
			codes[i] = s.do(http.MethodPut, pathSetUserInfo+"?"+url.Values{f: {v}}.Encode(), nil, "Authorization", tok).Code
		}()
	}
	close(start)
	wg.Wait()
	info := s.userInfo(t, tok)
	for i, f := range fields {
		if codes[i] != 200 || info[f] != fmt.Sprint(100+i) {
			t.Fatalf("%s: code %d, stored %#v, want %d", f, codes[i], info[f], 100+i)
		}
	}
}
