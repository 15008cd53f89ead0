package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/iotplatform/enduser-auth/adapters/httpapi/openapitest"
	"github.com/iotplatform/enduser-auth/adapters/ratelimit/redistest"
	"github.com/iotplatform/enduser-auth/adapters/wechat/wechatfake"
	"github.com/iotplatform/enduser-auth/domain"
)

// Component tests of the abuse limits and the code replay guard, over real
// HTTP through the real binary. Clients dial from distinct loopback
// addresses (127.0.0.2, 127.0.0.3), which the server sees as distinct IPs.

const pathLogin = "/v2/enduser/enduserapi/wechatOffiaccountAuthLogin"

// clientFrom is an HTTP client whose connections leave from localIP; every
// answer it gets is validated against the API document.
func clientFrom(localIP string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(localIP)}, Timeout: 10 * time.Second}
	return &http.Client{Timeout: 30 * time.Second, Transport: openapitest.Transport(&http.Transport{DialContext: d.DialContext})}
}

// reply is an answer with its headers.
type reply struct {
	answer
	header http.Header
}

// call sends one request and decodes the envelope (goroutine-safe: errors are returned).
func call(hc *http.Client, method, u string, headers ...string) (reply, error) {
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		return reply{}, err
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := hc.Do(req)
	if err != nil {
		return reply{}, err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := reply{header: resp.Header}
	r.Status = resp.StatusCode
	if err := json.Unmarshal(raw, &r.answer); err != nil {
		return r, fmt.Errorf("%s %s: HTTP %d, not the envelope: %q", method, u, resp.StatusCode, raw)
	}
	r.Status = resp.StatusCode
	return r, nil
}

func mustCall(t *testing.T, hc *http.Client, method, u string, headers ...string) reply {
	t.Helper()
	r, err := call(hc, method, u, headers...)
	if err != nil {
		t.Fatal(err)
	}
	if r.Code == 5000 || r.Status != http.StatusOK {
		t.Fatalf("%s %s: %d (HTTP %d): never 5000", method, u, r.Code, r.Status)
	}
	return r
}

// cheap is a request every limited endpoint answers without WeChat or a
// session: a refresh with a token that is not one (5032).
func cheap(t *testing.T, hc *http.Client, base string, headers ...string) reply {
	t.Helper()
	return mustCall(t, hc, http.MethodPut, base+pathRefresh+"?refreshToken=not-a-token", headers...)
}

func loginURL(base string, q url.Values) string { return base + pathLogin + "?" + q.Encode() }

// retryAfter returns the Retry-After header in seconds (fails when absent).
func retryAfter(t *testing.T, r reply) int {
	t.Helper()
	v := r.header.Get("Retry-After")
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		t.Fatalf("code %d: Retry-After %q must be a positive number of seconds", r.Code, v)
	}
	return n
}

// redisPrefix returns the shared Redis's URL and a key prefix of this test's
// own, whose keys are deleted at the end (the shared Redis is never flushed).
func redisPrefix(t *testing.T) (string, string) {
	t.Helper()
	return redistest.Prefix(t)
}

// TestIPRateLimit: the per-IP bucket refuses with 5148 and Retry-After, per
// client IP; the JWKS is never limited; the bucket recovers.
func TestIPRateLimit(t *testing.T) {
	t.Parallel()
	// 0.01/s: nothing refills during the test, however slow the machine.
	s := startServer(t, map[string]string{"ENDUSER_RATE_LIMITS": "on", "ENDUSER_IP_RATE": "0.01", "ENDUSER_IP_BURST": "3"})
	two, three := clientFrom("127.0.0.2"), clientFrom("127.0.0.3")
	for i := range 3 {
		if r := cheap(t, two, s.url); r.Code != 5032 {
			t.Fatalf("request %d within the burst: %d", i+1, r.Code)
		}
	}
	r := cheap(t, two, s.url)
	if r.Code != 5148 {
		t.Fatalf("over the burst: want 5148, got %d", r.Code)
	}
	if n := retryAfter(t, r); n > 100 {
		t.Fatalf("Retry-After %d s, want at most one emission interval (100 s)", n)
	}
	// Every limited endpoint shares the bucket, the login included, before WeChat.
	before := s.fake.Requests()
	if r := mustCall(t, two, http.MethodPost, loginURL(s.url, loginQuery(tUserDomain, tAppID, s.fake.IssueCode(tAppID, wechatfake.User{OpenID: "o-rl"}), ""))); r.Code != 5148 {
		t.Fatalf("login over the limit: want 5148, got %d", r.Code)
	}
	if r := mustCall(t, two, http.MethodGet, s.url+pathUserInfo); r.Code != 5148 {
		t.Fatalf("userInfo over the limit: want 5148, got %d", r.Code)
	}
	if got := s.fake.Requests() - before; got != 0 {
		t.Fatalf("a refused login reached WeChat %d times", got)
	}
	if r := cheap(t, three, s.url); r.Code != 5032 {
		t.Fatalf("another IP has its own bucket: got %d", r.Code)
	}
	for i := range 10 {
		resp, err := two.Get(s.url + "/.well-known/jwks.json")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("JWKS request %d from a limited IP: HTTP %d, the JWKS is never limited", i, resp.StatusCode)
		}
	}

	// Recovery, on an instance with a fast rate (polled, never timed).
	fast := startServer(t, map[string]string{"ENDUSER_RATE_LIMITS": "on", "ENDUSER_IP_RATE": "5", "ENDUSER_IP_BURST": "1"})
	tripped := false
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		code := cheap(t, two, fast.url).Code
		if code == 5148 {
			tripped = true
		} else if tripped {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the bucket did not trip and recover within 20 s (tripped=%v)", tripped)
		}
	}
}

// TestTrustedProxies: behind a listed proxy the client is the right-most
// untrusted X-Forwarded-For hop; from any other peer (loopback included)
// X-Forwarded-For is ignored.
func TestTrustedProxies(t *testing.T) {
	t.Parallel()
	s := startServer(t, map[string]string{"ENDUSER_RATE_LIMITS": "on", "ENDUSER_IP_RATE": "0.01", "ENDUSER_IP_BURST": "1",
		"ENDUSER_TRUSTED_PROXIES": "127.0.0.2/32"})
	proxy, other, local := clientFrom("127.0.0.2"), clientFrom("127.0.0.3"), clientFrom("127.0.0.1")
	xff := func(hc *http.Client, v string) int { return cheap(t, hc, s.url, "X-Forwarded-For", v).Code }
	steps := []struct {
		name string
		hc   *http.Client
		xff  string
		want int
	}{
		{"first request of a client behind the proxy", proxy, "203.0.113.9", 5032},
		{"its second is over its burst", proxy, "203.0.113.9", 5148},
		{"another client behind the proxy", proxy, "203.0.113.10", 5032},
		{"a trusted hop in the chain is skipped", proxy, "203.0.113.9, 127.0.0.2", 5148},
		{"a spoofed left part is ignored: the right-most untrusted hop counts", proxy, "203.0.113.9, 198.51.100.7", 5032},
		{"an untrusted peer is the client", other, "203.0.113.11", 5032},
		{"its X-Forwarded-For cannot make it a new client", other, "203.0.113.12", 5148},
		{"loopback is not trusted unless listed", local, "203.0.113.20", 5032},
		{"loopback's X-Forwarded-For is ignored", local, "203.0.113.21", 5148},
	}
	for _, st := range steps {
		if got := xff(st.hc, st.xff); got != st.want {
			t.Fatalf("%s (X-Forwarded-For %q): want %d, got %d", st.name, st.xff, st.want, got)
		}
	}
}

// TestLockoutAndUnblock: 10 (here 3) signature failures of one (IP, user
// domain) lock it out before any WeChat work, on every instance sharing
// Redis; other IPs and other user domains are not; `enduser ip unblock`
// lifts it everywhere.
func TestLockoutAndUnblock(t *testing.T) {
	t.Parallel()
	redisURL, prefix := redisPrefix(t)
	s := startServer(t, map[string]string{"ENDUSER_RATE_LIMITS": "on", "ENDUSER_IP_RATE": "1000", "ENDUSER_IP_BURST": "1000",
		"ENDUSER_LOCKOUT_FAILURES": "3", "ENDUSER_REDIS_URL": redisURL, "ENDUSER_REDIS_PREFIX": prefix})
	other := s.boot(t)
	two, three := clientFrom("127.0.0.2"), clientFrom("127.0.0.3")
	bad := func() url.Values {
		q := loginQuery(tUserDomain, tAppID, "whatever", "")
		q.Set("signature", strings.Repeat("ab", 32))
		return q
	}
	for i := range 3 {
		base := s.url
		if i == 1 {
			base = other // failures count across instances
		}
		if r := mustCall(t, two, http.MethodPost, loginURL(base, bad())); r.Code != 5420 {
			t.Fatalf("failure %d: want 5420, got %d", i+1, r.Code)
		}
	}
	code := s.fake.IssueCode(tAppID, wechatfake.User{OpenID: "o-locked"})
	before := s.fake.Requests()
	for _, base := range []string{s.url, other} {
		r := mustCall(t, two, http.MethodPost, loginURL(base, loginQuery(tUserDomain, tAppID, code, "")))
		if r.Code != 5148 {
			t.Fatalf("%s: a locked-out IP with a valid request: want 5148, got %d", base, r.Code)
		}
		if n := retryAfter(t, r); n < 19*60 || n > 20*60 {
			t.Fatalf("Retry-After %d s, want about the 20-minute lockout", n)
		}
	}
	if got := s.fake.Requests() - before; got != 0 {
		t.Fatalf("a locked-out login reached WeChat %d times", got)
	}
	if r := mustCall(t, two, http.MethodPost, loginURL(s.url, loginQuery(tDisabled, tAppID, "c", ""))); r.Code != 5104 {
		t.Fatalf("another user domain from the same IP is not locked out: want 5104, got %d", r.Code)
	}
	if r := mustCall(t, three, http.MethodPost, loginURL(s.url, loginQuery(tUserDomain, tAppID, s.fake.IssueCode(tAppID, wechatfake.User{OpenID: "o-free"}), ""))); r.Code != 200 {
		t.Fatalf("another IP logs in: got %d", r.Code)
	}
	out := s.mustCLI("ip", "unblock", "127.0.0.2")
	if !strings.Contains(out, "1 lockout(s) lifted") {
		t.Fatalf("ip unblock printed %q", out)
	}
	if r := mustCall(t, two, http.MethodPost, loginURL(other, loginQuery(tUserDomain, tAppID, code, ""))); r.Code != 200 {
		t.Fatalf("after ip unblock the IP logs in (the code was never spent): got %d %v", r.Code, deref(r.ExtMsg))
	}
	if c, _, errs := s.cli("ip", "unblock", "not-an-ip"); c != 2 || !strings.Contains(errs, "not an IP address") {
		t.Fatalf("ip unblock of garbage: exit %d %q", c, errs)
	}
}

// TestLockoutEnds: in memory, a lockout ends by itself.
func TestLockoutEnds(t *testing.T) {
	t.Parallel()
	s := startServer(t, map[string]string{"ENDUSER_RATE_LIMITS": "on", "ENDUSER_IP_RATE": "1000", "ENDUSER_IP_BURST": "1000",
		"ENDUSER_LOCKOUT_FAILURES": "2", "ENDUSER_LOCKOUT_DURATION": "1s"})
	two := clientFrom("127.0.0.2")
	q := loginQuery(tUserDomain, tAppID, "whatever", "")
	q.Set("signature", strings.Repeat("cd", 32))
	for range 2 {
		mustCall(t, two, http.MethodPost, loginURL(s.url, q))
	}
	good := loginQuery(tUserDomain, tAppID, s.fake.IssueCode(tAppID, wechatfake.User{OpenID: "o-wait"}), "")
	if r := mustCall(t, two, http.MethodPost, loginURL(s.url, good)); r.Code != 5148 {
		t.Fatalf("locked out: want 5148, got %d", r.Code)
	}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		r := mustCall(t, two, http.MethodPost, loginURL(s.url, good))
		if r.Code == 200 {
			break
		}
		if r.Code != 5148 || time.Now().After(deadline) {
			t.Fatalf("a 1 s lockout must end and the code log in: got %d after polling", r.Code)
		}
	}
}

// TestUnblockWithoutRedis: without Redis each instance holds its own
// lockouts; `enduser ip unblock` stores a request that both instances apply
// within their sync interval (polled, never timed), in every user domain;
// another IP stays locked out on both; the request is audited.
func TestUnblockWithoutRedis(t *testing.T) {
	t.Parallel()
	s := startServer(t, map[string]string{"ENDUSER_RATE_LIMITS": "on", "ENDUSER_IP_RATE": "1000", "ENDUSER_IP_BURST": "1000",
		"ENDUSER_REVOCATION_SYNC_INTERVAL": "200ms"})
	other := s.boot(t)
	two, three := clientFrom("127.0.0.2"), clientFrom("127.0.0.3")
	bad := loginQuery(tUserDomain, tAppID, "whatever", "")
	bad.Set("signature", strings.Repeat("ef", 32))
	for _, base := range []string{s.url, other} {
		for _, hc := range []*http.Client{two, three} {
			for i := range 10 { // the default threshold, counted by each instance alone
				if r := mustCall(t, hc, http.MethodPost, loginURL(base, bad)); r.Code != 5420 {
					t.Fatalf("%s: failure %d: want 5420, got %d", base, i+1, r.Code)
				}
			}
		}
	}
	codes := map[string]string{}
	for _, base := range []string{s.url, other} {
		codes[base] = s.fake.IssueCode(tAppID, wechatfake.User{OpenID: "o-unblocked"})
		for _, hc := range []*http.Client{two, three} {
			if r := mustCall(t, hc, http.MethodPost, loginURL(base, loginQuery(tUserDomain, tAppID, codes[base], ""))); r.Code != 5148 {
				t.Fatalf("%s: locked out: want 5148, got %d", base, r.Code)
			}
		}
	}

	out := s.mustCLI("ip", "unblock", "127.0.0.2")
	if !strings.Contains(out, "unblock requested") || !strings.Contains(out, "ENDUSER_REVOCATION_SYNC_INTERVAL") {
		t.Fatalf("ip unblock printed %q", out)
	}
	for _, base := range []string{s.url, other} {
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			// A locked-out login spends no code: the same one logs in once lifted.
			r := mustCall(t, two, http.MethodPost, loginURL(base, loginQuery(tUserDomain, tAppID, codes[base], "")))
			if r.Code == 200 {
				break
			}
			if r.Code != 5148 || time.Now().After(deadline) {
				t.Fatalf("%s: the unblocked IP must log in within the sync interval: got %d after polling", base, r.Code)
			}
		}
		code := s.fake.IssueCode(tAppID, wechatfake.User{OpenID: "o-still-locked"})
		if r := mustCall(t, three, http.MethodPost, loginURL(base, loginQuery(tUserDomain, tAppID, code, ""))); r.Code != 5148 {
			t.Fatalf("%s: another IP stays locked out: want 5148, got %d", base, r.Code)
		}
	}

	db := s.sql(t)
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM enduser_audit_events WHERE event = 'ip_unblocked' AND client_ip = '127.0.0.2'`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("ip_unblocked audit records of 127.0.0.2: %d, %v; want 1", n, err)
	}
	if err := db.QueryRow(`SELECT count(*) FROM enduser_ip_unblocks WHERE ip = '127.0.0.2'`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("unblock requests of 127.0.0.2: %d, %v; want 1", n, err)
	}
	if c, _, errs := s.cli("ip", "unblock", "not-an-ip"); c != 2 || !strings.Contains(errs, "not an IP address") {
		t.Fatalf("ip unblock of garbage: exit %d %q", c, errs)
	}
}

// TestExchangeCap: over the (user domain, appId) cap a login answers 5367
// rateLimited with Retry-After, without calling WeChat and without spending
// the code, which logs in when retried.
func TestExchangeCap(t *testing.T) {
	t.Parallel()
	s := startServer(t, map[string]string{"ENDUSER_RATE_LIMITS": "on", "ENDUSER_IP_RATE": "1000", "ENDUSER_IP_BURST": "1000",
		"ENDUSER_EXCHANGE_RATE": "1", "ENDUSER_EXCHANGE_RATE_OVERRIDES": tAppID2 + "=1000"})
	hc := clientFrom("127.0.0.2")
	const n = 12
	codes := make([]string, n)
	for i := range codes {
		codes[i] = s.fake.IssueCode(tAppID, wechatfake.User{OpenID: fmt.Sprintf("o-cap-%d", i)})
	}
	before := s.fake.Requests()
	replies := make([]reply, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range codes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			replies[i], errs[i] = call(hc, http.MethodPost, loginURL(s.url, loginQuery(tUserDomain, tAppID, codes[i], "")))
		}()
	}
	wg.Wait()
	var ok, limited []int
	for i, r := range replies {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		switch {
		case r.Code == 200:
			ok = append(ok, i)
		case r.Code == 5367 && deref(r.ExtMsg) == `{"reason":"rateLimited"}`:
			retryAfter(t, r)
			limited = append(limited, i)
		default:
			t.Fatalf("login %d: want 200 or 5367 rateLimited, got %d %v", i, r.Code, deref(r.ExtMsg))
		}
	}
	if len(limited) == 0 || len(ok) == 0 {
		t.Fatalf("%d concurrent logins at a cap of 1/s: %d passed, %d limited; want both", n, len(ok), len(limited))
	}
	if got := s.fake.Requests() - before; got != len(ok) {
		t.Fatalf("WeChat got %d exchanges for %d logins that passed the cap", got, len(ok))
	}
	// The override lifts the cap of the second account.
	for i := range 5 {
		c := s.fake.IssueCode(tAppID2, wechatfake.User{OpenID: fmt.Sprintf("o-big-%d", i)})
		if r := mustCall(t, hc, http.MethodPost, loginURL(s.url, loginQuery(tUserDomain, tAppID2, c, ""))); r.Code != 200 {
			t.Fatalf("an account whose cap is 1000/s: got %d", r.Code)
		}
	}
	// A refused code was not used up: it logs in once the cap allows.
	c := codes[limited[0]]
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		r := mustCall(t, hc, http.MethodPost, loginURL(s.url, loginQuery(tUserDomain, tAppID, c, "")))
		if r.Code == 200 {
			break
		}
		if r.Code != 5367 || time.Now().After(deadline) {
			t.Fatalf("the refused code must log in later: got %d %v", r.Code, deref(r.ExtMsg))
		}
	}
}

// TestWeChatRateLimitCoolDown: after WeChat's 45011 the appId cools down:
// logins answer 5367 rateLimited without calling WeChat, until it ends.
func TestWeChatRateLimitCoolDown(t *testing.T) {
	t.Parallel()
	s := startServer(t, map[string]string{"ENDUSER_RATE_LIMITS": "on", "ENDUSER_IP_RATE": "1000", "ENDUSER_IP_BURST": "1000",
		"ENDUSER_WECHAT_COOLDOWN": "1s"})
	hc := clientFrom("127.0.0.2")
	first := s.fake.IssueCode(tAppID, wechatfake.User{OpenID: "o-quota"})
	s.fake.SetFailure(first, wechatfake.Failure{ErrCode: wechatfake.ErrRateLimited})
	if r := mustCall(t, hc, http.MethodPost, loginURL(s.url, loginQuery(tUserDomain, tAppID, first, ""))); r.Code != 5368 || !strings.Contains(deref(r.ExtMsg), "45011") {
		t.Fatalf("WeChat's 45011: want 5368 with it, got %d %v", r.Code, deref(r.ExtMsg))
	}
	code := s.fake.IssueCode(tAppID, wechatfake.User{OpenID: "o-quota"})
	before := s.fake.Requests()
	r := mustCall(t, hc, http.MethodPost, loginURL(s.url, loginQuery(tUserDomain, tAppID, code, "")))
	if r.Code != 5367 || deref(r.ExtMsg) != `{"reason":"rateLimited"}` {
		t.Fatalf("cooling down: want 5367 rateLimited, got %d %v", r.Code, deref(r.ExtMsg))
	}
	retryAfter(t, r)
	if got := s.fake.Requests() - before; got != 0 {
		t.Fatalf("a cooling-down appId reached WeChat %d times", got)
	}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		r := mustCall(t, hc, http.MethodPost, loginURL(s.url, loginQuery(tUserDomain, tAppID, code, "")))
		if r.Code == 200 {
			break
		}
		if r.Code != 5367 || time.Now().After(deadline) {
			t.Fatalf("the cool-down must end and the unspent code log in: got %d", r.Code)
		}
	}
}

// TestReplayedCodeMakesNoWeChatCall: with the limits off (the guard is not a
// limit), a code goes to WeChat once: replays and concurrent duplicates
// answer 5368 40163 without another call.
func TestReplayedCodeMakesNoWeChatCall(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	code := s.fake.IssueCode(tAppID, wechatfake.User{OpenID: "o-replay"})
	u := loginURL(s.url, loginQuery(tUserDomain, tAppID, code, ""))
	if r := mustCall(t, s.client, http.MethodPost, u); r.Code != 200 {
		t.Fatalf("first use: %d", r.Code)
	}
	before := s.fake.Requests()
	for range 5 {
		r := mustCall(t, s.client, http.MethodPost, u)
		if r.Code != 5368 || deref(r.ExtMsg) != `{"errcode":40163,"errmsg":"code been used"}` {
			t.Fatalf("replay: want 5368 40163, got %d %v", r.Code, deref(r.ExtMsg))
		}
	}
	if got := s.fake.Requests() - before; got != 0 {
		t.Fatalf("replays made %d WeChat calls", got)
	}
	// The same code under another appId is another code.
	if r := mustCall(t, s.client, http.MethodPost, loginURL(s.url, loginQuery(tUserDomain, tAppID2, code, ""))); r.Code != 5368 || !strings.Contains(deref(r.ExtMsg), "40029") {
		t.Fatalf("the code under another appId goes to WeChat (which does not know it): got %d %v", r.Code, deref(r.ExtMsg))
	}

	dup := loginURL(s.url, loginQuery(tUserDomain, tAppID, s.fake.IssueCode(tAppID, wechatfake.User{OpenID: "o-dup"}), ""))
	before = s.fake.Requests()
	const n = 10
	codes := make([]int, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := call(s.client, http.MethodPost, dup)
			codes[i], errs[i] = r.Code, err
		}()
	}
	wg.Wait()
	oks := 0
	for i, c := range codes {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		switch c {
		case 200:
			oks++
		case 5368:
		default:
			t.Fatalf("a concurrent duplicate answered %d", c)
		}
	}
	if got := s.fake.Requests() - before; got != 1 || oks != 1 {
		t.Fatalf("%d concurrent duplicates: %d WeChat calls and %d logins, want exactly 1 and 1", n, got, oks)
	}
}

// TestLimitsSharedThroughRedis: two instances on one Redis (and prefix)
// allow what one would, and know each other's codes.
func TestLimitsSharedThroughRedis(t *testing.T) {
	t.Parallel()
	redisURL, prefix := redisPrefix(t)
	s := startServer(t, map[string]string{"ENDUSER_RATE_LIMITS": "on", "ENDUSER_IP_RATE": "0.01", "ENDUSER_IP_BURST": "4",
		"ENDUSER_REDIS_URL": redisURL, "ENDUSER_REDIS_PREFIX": prefix})
	other := s.boot(t)
	two := clientFrom("127.0.0.2")
	passed := 0
	for i := range 10 {
		base := s.url
		if i%2 == 1 {
			base = other
		}
		switch r := cheap(t, two, base); r.Code {
		case 5032:
			passed++
		case 5148:
			retryAfter(t, r)
		default:
			t.Fatalf("got %d", r.Code)
		}
	}
	// The per-IP bucket is decided in each instance's memory and reconciled
	// with Redis every ENDUSER_LIMITS_SYNC_INTERVAL (ratelimit.Local): two
	// instances allow one's burst, plus at most (N−1)×(IPBurst +
	// ⌈IPRate×2×interval⌉) = 1×(4+1) between two syncs.
	const burst, tolerance = 4, 1 * (4 + 1)
	if passed < burst || passed > burst+tolerance {
		t.Fatalf("two instances sharing Redis let %d of 10 requests through, want one burst, 4, plus at most the tolerance, %d", passed, tolerance)
	}
	three := clientFrom("127.0.0.3")
	code := s.fake.IssueCode(tAppID, wechatfake.User{OpenID: "o-shared"})
	if r := mustCall(t, three, http.MethodPost, loginURL(s.url, loginQuery(tUserDomain, tAppID, code, ""))); r.Code != 200 {
		t.Fatalf("login: %d", r.Code)
	}
	before := s.fake.Requests()
	if r := mustCall(t, three, http.MethodPost, loginURL(other, loginQuery(tUserDomain, tAppID, code, ""))); r.Code != 5368 || !strings.Contains(deref(r.ExtMsg), "40163") {
		t.Fatalf("a code replayed on the other instance: want 5368 40163, got %d %v", r.Code, deref(r.ExtMsg))
	}
	if got := s.fake.Requests() - before; got != 0 {
		t.Fatalf("the replay on the other instance reached WeChat %d times", got)
	}
}

// TestRedisStoppedMidTest: when the instance's Redis dies, the limits and
// the replay guard fall back to memory: no request answers 5000.
func TestRedisStoppedMidTest(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Fatal("redis-server is needed on PATH for this test")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cmd := exec.Command("redis-server", "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	kill := func() { once.Do(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }) }
	t.Cleanup(kill)
	redisURL := fmt.Sprintf("redis://127.0.0.1:%d/0", port)
	opts, _ := redis.ParseURL(redisURL)
	rdb := redis.NewClient(opts)
	defer rdb.Close()
	for deadline := time.Now().Add(20 * time.Second); rdb.Ping(context.Background()).Err() != nil; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("own redis-server did not answer within 20 s")
		}
	}
	s := startServer(t, map[string]string{"ENDUSER_RATE_LIMITS": "on", "ENDUSER_IP_RATE": "1000", "ENDUSER_IP_BURST": "1000",
		"ENDUSER_REDIS_URL": redisURL, "ENDUSER_REDIS_PREFIX": "mid:"})
	hc := clientFrom("127.0.0.2")
	login := func(code string) reply {
		return mustCall(t, hc, http.MethodPost, loginURL(s.url, loginQuery(tUserDomain, tAppID, code, "")))
	}
	if r := login(s.fake.IssueCode(tAppID, wechatfake.User{OpenID: "o-before"})); r.Code != 200 {
		t.Fatalf("with Redis up: %d", r.Code)
	}
	if n := rdb.Exists(context.Background(), "rate:mid:ip|127.0.0.2").Val(); n != 1 {
		t.Fatal("with Redis up the per-IP bucket must live in Redis")
	}
	kill()
	for i := range 5 {
		code := s.fake.IssueCode(tAppID, wechatfake.User{OpenID: fmt.Sprintf("o-after-%d", i)})
		if r := login(code); r.Code != 200 {
			t.Fatalf("login %d with Redis down: %d", i, r.Code)
		}
		if r := login(code); r.Code != 5368 {
			t.Fatalf("replay %d with Redis down: want 5368 from the memory guard, got %d", i, r.Code)
		}
	}
	q := loginQuery(tUserDomain, tAppID, "c", "")
	q.Set("signature", domain.LoginSignature(tAppID, "other", tSecret))
	if r := mustCall(t, hc, http.MethodPost, loginURL(s.url, q)); r.Code != 5420 {
		t.Fatalf("bad signature with Redis down: %d", r.Code)
	}
	if r := cheap(t, hc, s.url); r.Code != 5032 {
		t.Fatalf("refresh with Redis down: %d", r.Code)
	}
}
