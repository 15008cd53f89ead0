package main

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/iotplatform/enduser-auth/adapters/wechat/wechatfake"
)

const (
	pathRefresh  = "/v2/enduser/enduserapi/refreshToken"
	pathLogout   = "/v2/enduser/enduserapi/userLogout"
	pathUserInfo = "/v2/enduser/enduserapi/userInfo"
)

func (s *server) refresh(tok string) answer {
	s.t.Helper()
	return s.do(http.MethodPut, pathRefresh+"?"+url.Values{"refreshToken": {tok}}.Encode(), nil)
}

func TestSessionLifecycle(t *testing.T) {
	t.Parallel()
	s := startServer(t, map[string]string{"ENDUSER_REFRESH_REUSE_GRACE": "1s"})
	dave := wechatfake.User{OpenID: "o-dave", UnionID: "u-dave"}
	p := s.loginAs(tAppID, dave)

	t.Run("userInfo", func(t *testing.T) {
		for _, auth := range []string{p.AccessToken.Token, strings.TrimPrefix(p.AccessToken.Token, "Bearer ")} {
			a := s.do(http.MethodGet, pathUserInfo, nil, "Authorization", auth)
			if a.Code != 200 {
				t.Fatalf("userInfo: %d %q", a.Code, a.Msg)
			}
			var info map[string]any
			_ = json.Unmarshal(a.Data, &info)
			if info["uid"] != claims(t, p.AccessToken.Token)["uid"] || info["wechatOffiaccountUserId"] != "o-dave" ||
				info["wechatUnionId"] != "u-dave" || info["status"] != float64(1) {
				t.Fatalf("userInfo data: %s", a.Data)
			}
			if reg, _ := info["registerTime"].(float64); reg < float64(time.Now().Add(-time.Hour).UnixMilli()) {
				t.Fatalf("registerTime is not in ms: %v", info["registerTime"])
			}
		}
		if a := s.do(http.MethodGet, pathUserInfo, nil); a.Code != 5106 {
			t.Fatalf("no token: want 5106, got %d", a.Code)
		}
		if a := s.do(http.MethodGet, pathUserInfo, nil, "Authorization", "Bearer not.a.jwt"); a.Code != 5032 {
			t.Fatalf("garbage token: want 5032, got %d", a.Code)
		}
	})

	t.Run("refresh rotates", func(t *testing.T) {
		if a := s.refresh(""); a.Code != 5115 {
			t.Fatalf("missing: want 5115, got %d", a.Code)
		}
		for _, bad := range []string{"garbage", "Bearer " + strings.Repeat("A", 75), p.AccessToken.Token} {
			if a := s.refresh(bad); a.Code != 5032 {
				t.Fatalf("%q: want 5032, got %d", bad, a.Code)
			}
		}
		q := s.login(loginQuery(tUserDomain, tAppID, s.fake.IssueCode(tAppID, dave), "")).pair(t)
		r1 := s.refresh(q.RefreshToken.Token).pair(t)
		if r1.RefreshToken.Token == q.RefreshToken.Token {
			t.Fatal("refresh returned the same refresh token")
		}
		if r1.AccessToken.ExpirationTime-time.Now().Unix() > 2*3600+5 {
			t.Fatalf("access token lives longer than 2h: %d", r1.AccessToken.ExpirationTime)
		}
		// Within the grace window the spent token gets the identical child back.
		again := s.refresh(q.RefreshToken.Token).pair(t)
		if again.RefreshToken.Token != r1.RefreshToken.Token {
			t.Fatal("within the grace window a spent token must return the current child")
		}
		// The child keeps working; after the window the spent token is a reuse
		// and revokes the whole family, the newest token included.
		r2 := s.refresh(r1.RefreshToken.Token).pair(t)
		time.Sleep(1200 * time.Millisecond)
		if a := s.refresh(q.RefreshToken.Token); a.Code != 5032 {
			t.Fatalf("reuse after the window: want 5032, got %d", a.Code)
		}
		if a := s.refresh(r2.RefreshToken.Token); a.Code != 5032 {
			t.Fatalf("after a reuse the newest token must be dead too, got %d", a.Code)
		}
		if a := s.do(http.MethodGet, pathUserInfo, nil, "Authorization", r2.AccessToken.Token); a.Code != 5032 {
			t.Fatalf("after a reuse the session's access token must be dead on this instance, got %d", a.Code)
		}
		// Other sessions of the same user are untouched.
		if a := s.do(http.MethodGet, pathUserInfo, nil, "Authorization", p.AccessToken.Token); a.Code != 200 {
			t.Fatalf("another session died with the reused one: %d", a.Code)
		}
	})

	t.Run("concurrent refreshes of one token get the same child", func(t *testing.T) {
		q := s.loginAs(tAppID, dave)
		const n = 12
		got := make([]string, n)
		var wg sync.WaitGroup
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				a := s.refresh(q.RefreshToken.Token)
				if a.Code != 200 {
					t.Errorf("refresh %d: %d", i, a.Code)
					return
				}
				var p tokenPair
				_ = json.Unmarshal(a.Data, &p)
				got[i] = p.RefreshToken.Token
			}(i)
		}
		wg.Wait()
		for i := range got {
			if got[i] != got[0] {
				t.Fatalf("refresh %d forked the family: %q vs %q", i, got[i], got[0])
			}
		}
		if a := s.refresh(got[0]); a.Code != 200 {
			t.Fatalf("the child must work: %d", a.Code)
		}
	})

	t.Run("logout", func(t *testing.T) {
		q := s.loginAs(tAppID, dave)
		if a := s.do(http.MethodDelete, pathLogout, nil); a.Code != 5106 {
			t.Fatalf("no token: want 5106, got %d", a.Code)
		}
		if a := s.do(http.MethodDelete, pathLogout, nil, "Authorization", "Bearer x.y.z"); a.Code != 5032 {
			t.Fatalf("bad token: want 5032, got %d", a.Code)
		}
		if a := s.do(http.MethodDelete, pathLogout, nil, "Authorization", q.AccessToken.Token); a.Code != 200 {
			t.Fatalf("logout: %d %q", a.Code, a.Msg)
		}
		if a := s.do(http.MethodGet, pathUserInfo, nil, "Authorization", q.AccessToken.Token); a.Code != 5032 {
			t.Fatalf("access token after logout: want 5032, got %d", a.Code)
		}
		if a := s.refresh(q.RefreshToken.Token); a.Code != 5032 {
			t.Fatalf("refresh token after logout: want 5032, got %d", a.Code)
		}
		if a := s.do(http.MethodDelete, pathLogout, nil, "Authorization", q.AccessToken.Token); a.Code != 5032 {
			t.Fatalf("second logout: want 5032, got %d", a.Code)
		}
	})

	t.Run("userInfo of a deleted user", func(t *testing.T) {
		q := s.loginAs(tAppID, wechatfake.User{OpenID: "o-erin"})
		uid := claims(t, q.AccessToken.Token)["uid"]
		if _, err := s.sql(t).Exec(`DELETE FROM enduser_users WHERE id = $1`, uid); err != nil {
			t.Fatal(err)
		}
		if a := s.do(http.MethodGet, pathUserInfo, nil, "Authorization", q.AccessToken.Token); a.Code != 5033 {
			t.Fatalf("want 5033, got %d", a.Code)
		}
	})

	t.Run("jwks", func(t *testing.T) {
		resp, err := docClient.Get(s.url + "/.well-known/jwks.json")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var set struct {
			Keys []map[string]string `json:"keys"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&set); err != nil || len(set.Keys) == 0 {
			t.Fatalf("jwks: %v %+v", err, set)
		}
		k := set.Keys[0]
		if k["kty"] != "OKP" || k["crv"] != "Ed25519" || k["kid"] == "" || k["x"] == "" {
			t.Fatalf("jwks key: %+v", k)
		}
		if _, hasPrivate := k["d"]; hasPrivate {
			t.Fatal("jwks leaks the private key")
		}
	})
}
