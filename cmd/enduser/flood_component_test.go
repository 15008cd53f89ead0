package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/iotplatform/enduser-auth/adapters/wechat/wechatfake"
)

// TestFloodWritesAlmostNothing (issue 19, item 2): a flood of requests the
// abuse limits refuse, for each reason (the client IP's bucket 5148, a
// lockout 5148, 5367 rateLimited), writes a bounded number of audit records
// and log lines, the same for 30 refusals as for 300: the first refusal of a
// client is announced, the others are counted and reported in a summary
// (here at the stop, which flushes them; with a slow machine also once a
// minute). The summaries' counts add up to every refusal, and the limits'
// counter counts each. Through the real binary, on PostgreSQL; the lockout
// and the cool-down on Redis.
func TestFloodWritesAlmostNothing(t *testing.T) {
	t.Parallel()
	for _, n := range []int{30, 300} {
		t.Run(fmt.Sprintf("N=%d", n), func(t *testing.T) {
			t.Run("ip_bucket", func(t *testing.T) { floodIPBucket(t, n) })
			t.Run("lockout_and_rate_limited", func(t *testing.T) { floodLockoutAndCoolDown(t, n) })
		})
	}
}

// floodIPBucket is the attacker's flood: one IP, a malformed userDomain, no
// secret needed; every request past the burst is refused by the bucket.
func floodIPBucket(t *testing.T, n int) {
	s := startServer(t, map[string]string{"ENDUSER_RATE_LIMITS": "on", "ENDUSER_IP_RATE": "0.01", "ENDUSER_IP_BURST": "1",
		"ENDUSER_LOG_LEVEL": "info"})
	hc := clientFrom("127.0.0.2")
	malformed := url.Values{"userDomain": {"not a user domain!"}, "appId": {tAppID}, "code": {"c"}, "signature": {"s"}}
	if r := mustCall(t, hc, http.MethodPost, loginURL(s.url, malformed)); r.Code == 5148 {
		t.Fatal("the burst's request must pass the bucket")
	}
	began := time.Now()
	for i := range n {
		if r := mustCall(t, hc, http.MethodPost, loginURL(s.url, malformed)); r.Code != 5148 {
			t.Fatalf("request %d over the bucket: want 5148, got %d", i+1, r.Code)
		}
	}
	// Another endpoint's refusals share the key (the bucket is the IP's).
	if r := cheap(t, hc, s.url); r.Code != 5148 {
		t.Fatalf("refresh over the bucket: want 5148, got %d", r.Code)
	}
	elapsed := time.Since(began)
	s.wantMetric(t, `enduser_auth_limits_refused_total{reason="ip_bucket"}`, n+1)
	s.wantMetric(t, `enduser_auth_requests_total{code="5148",endpoint="login"}`, n)
	s.stop() // flushes the sampler's counts, then the audit trail
	s.wantRefusals(t, "127.0.0.2", "ip_bucket", 5148, n+1, true, elapsed)
	// The request that passed the bucket is the one login record.
	if got := s.auditCount(t, `event = 'login' AND client_ip = '127.0.0.2'`); got != 1 {
		t.Errorf("login records: %d, want 1 (refused requests write none)", got)
	}
}

// floodLockoutAndCoolDown: a locked-out (IP, user domain) and an appId
// cooling down after WeChat's 45011, on Redis.
func floodLockoutAndCoolDown(t *testing.T, n int) {
	redisURL, prefix := redisPrefix(t)
	s := startServer(t, map[string]string{"ENDUSER_RATE_LIMITS": "on", "ENDUSER_IP_RATE": "1000", "ENDUSER_IP_BURST": "100000",
		"ENDUSER_LOCKOUT_FAILURES": "3", "ENDUSER_WECHAT_COOLDOWN": "1h", "ENDUSER_REDIS_URL": redisURL, "ENDUSER_REDIS_PREFIX": prefix,
		"ENDUSER_LOG_LEVEL": "info"})
	locked, throttled := clientFrom("127.0.0.3"), clientFrom("127.0.0.4")
	bad := loginQuery(tUserDomain, tAppID, "whatever", "")
	bad.Set("signature", strings.Repeat("ab", 32))
	for i := range 3 {
		if r := mustCall(t, locked, http.MethodPost, loginURL(s.url, bad)); r.Code != 5420 {
			t.Fatalf("failure %d: want 5420, got %d", i+1, r.Code)
		}
	}
	quota := s.fake.IssueCode(tAppID, wechatfake.User{OpenID: "o-quota"})
	s.fake.SetFailure(quota, wechatfake.Failure{ErrCode: wechatfake.ErrRateLimited})
	if r := mustCall(t, throttled, http.MethodPost, loginURL(s.url, loginQuery(tUserDomain, tAppID, quota, ""))); r.Code != 5368 {
		t.Fatalf("WeChat's 45011: want 5368, got %d", r.Code)
	}
	began := time.Now()
	for i := range n {
		if r := mustCall(t, locked, http.MethodPost, loginURL(s.url, bad)); r.Code != 5148 {
			t.Fatalf("locked-out request %d: want 5148, got %d", i+1, r.Code)
		}
		q := loginQuery(tUserDomain, tAppID, fmt.Sprintf("code-%d", i), "")
		if r := mustCall(t, throttled, http.MethodPost, loginURL(s.url, q)); r.Code != 5367 || deref(r.ExtMsg) != `{"reason":"rateLimited"}` {
			t.Fatalf("cooling-down request %d: want 5367 rateLimited, got %d %s", i+1, r.Code, deref(r.ExtMsg))
		}
	}
	elapsed := time.Since(began)
	s.wantMetric(t, `enduser_auth_limits_refused_total{reason="lockout"}`, n)
	s.wantMetric(t, `enduser_auth_limits_refused_total{reason="rate_limited"}`, n)
	s.wantMetric(t, `enduser_auth_limits_refused_total{reason="ip_bucket"}`, 0)
	s.stop()
	// The lockout's start is its own record; its refusals are summarised only.
	if got := s.auditCount(t, `event = 'lockout' AND client_ip = '127.0.0.3'`); got != 1 {
		t.Errorf("lockout records: %d, want 1", got)
	}
	s.wantRefusals(t, "127.0.0.3", "lockout", 5148, n, false, elapsed)
	s.wantRefusals(t, "127.0.0.4", "rate_limited", 5367, n, true, elapsed)
	for ip, want := range map[string]int{"127.0.0.3": 3, "127.0.0.4": 1} { // the 5420s; the 45011
		if got := s.auditCount(t, `event = 'login' AND client_ip = '`+ip+`'`); got != want {
			t.Errorf("%s: %d login records, want %d (refused requests write none)", ip, got, want)
		}
	}
}

// wantMetric fails unless the admin listener's /metrics shows series = want.
func (s *server) wantMetric(t *testing.T, series string, want int) {
	t.Helper()
	resp, err := http.Get(s.admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	line := fmt.Sprintf("%s %d\n", series, want)
	if !strings.Contains(string(body), line) {
		var got []string
		for _, l := range strings.Split(string(body), "\n") {
			if strings.HasPrefix(l, strings.SplitN(series, "{", 2)[0]) {
				got = append(got, l)
			}
		}
		t.Errorf("/metrics: want %q; has %q", strings.TrimSpace(line), got)
	}
}

func (s *server) auditCount(t *testing.T, where string) int {
	t.Helper()
	var n int
	if err := s.sql(t).QueryRow(`SELECT count(*) FROM enduser_audit_events WHERE ` + where).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// wantRefusals checks the refusals records and log lines of (ip, reason)
// after n refusals that took elapsed: their counts add up to n; there are at
// most two (an announcement when announced, a summary) plus one summary and
// one announcement per minute the flood lasted, however large n; each
// record has its log line; no refused request logged a line of its own.
func (s *server) wantRefusals(t *testing.T, ip, reason string, code, n int, announced bool, elapsed time.Duration) {
	t.Helper()
	rows, err := s.sql(t).Query(`SELECT code, detail, request_id FROM enduser_audit_events
		WHERE event = 'refusals' AND client_ip = $1 ORDER BY at, id`, ip)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var records, announcements, sum int
	for rows.Next() {
		var c int
		var detail, requestID string
		if err := rows.Scan(&c, &detail, &requestID); err != nil {
			t.Fatal(err)
		}
		var d struct {
			Reason      string `json:"reason"`
			Count       int    `json:"count"`
			First, Last string
		}
		if err := json.Unmarshal([]byte(detail), &d); err != nil || d.Reason != reason || d.Count < 1 || c != code {
			t.Errorf("%s refusals record: code %d detail %q (%v)", ip, c, detail, err)
		}
		if d.First == "" { // an announcement: the refused request's own record
			announcements++
			if d.Count != 1 || requestID == "" {
				t.Errorf("%s announcement: count %d, request id %q", ip, d.Count, requestID)
			}
		}
		records++
		sum += d.Count
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	minutes := int(elapsed / time.Minute)
	bound := 2 + 2*minutes
	if !announced {
		bound = 1 + minutes
	}
	if sum != n || records < 1 || records > bound || (announced && announcements < 1) || (!announced && announcements != 0) {
		t.Errorf("%s %s: %d records (%d announcements) counting %d refusals; want their counts to add up to %d in at most %d records "+
			"(%s: %d whole minutes)", ip, reason, records, announcements, sum, n, bound, elapsed, minutes)
	}
	var lines int
	for _, l := range strings.Split(strings.TrimSpace(s.logs.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line is not JSON: %q", l)
		}
		if m["clientIp"] != ip {
			continue
		}
		switch {
		case m["event"] == "refusals" && m["reason"] == reason:
			lines++
		case m["outcome"] == "client_blocked" || strings.Contains(fmt.Sprint(m["error"]), "rateLimited"):
			t.Errorf("a refused request logged a line of its own: %s", l)
		}
	}
	t.Logf("%s %s: %d refusals in %s: %d audit records (%d announcements), %d log lines", ip, reason, n, elapsed.Round(time.Millisecond),
		records, announcements, lines)
	if lines != records {
		t.Errorf("%s %s: %d log lines for %d records: one each", ip, reason, lines, records)
	}
}
