package failover

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/iotplatform/enduser-auth/adapters/httpapi/openapitest"
	"github.com/iotplatform/enduser-auth/adapters/wechat/wechatfake"
)

// The tenant the test provisions with the CLI.
const (
	userDomain = "C.DM.10271.5"
	udSecret   = "failover-test-user-domain-secret"
	appID      = "wxfailover000001"
	appSecret  = "failover-app-secret-0001"
)

const (
	loginPath   = "/v2/enduser/enduserapi/wechatOffiaccountAuthLogin"
	refreshPath = "/v2/enduser/enduserapi/refreshToken"
)

// The load: a few clients, bounded by counts. The machine is small and
// shared; the figures are about what is lost, not about throughput.
const (
	clients = 4
	// okBefore and okAfter are the answers 200 the clients must receive
	// before the primary is killed and after the module serves again.
	okBefore = 60
	okAfter  = 60
	// unavailableDuring is how many 5000 answers the clients must receive
	// while no primary accepts writes before the standby is promoted: the
	// outage is seen under load, by every client or nearly.
	unavailableDuring = 2 * clients
	// finalAttempts bounds the presentations of each held refresh token in
	// the final check (a 5000 is presented again).
	finalAttempts = 50
	// lostAnswerPause is how long a client waits after a lost answer (a 5000
	// or a transport error) before its next request.
	lostAnswerPause = 50 * time.Millisecond
)

// Safety deadlines: a step that does not happen within them fails the test
// instead of hanging it. No assertion is about time.
const (
	stepDeadline  = 60 * time.Second
	clientTimeout = 20 * time.Second // a request without an answer by then is a hang
)

// reuseGrace is the module's ENDUSER_REFRESH_REUSE_GRACE here: longer than
// this test's outage on any machine, so that a client whose refresh answer
// was lost presents its token again within the window, as the docs tell it
// to. docs/operations-failover.md says how to choose it for a real cluster.
const reuseGrace = "60s"

// TestFailoverUnderLoad kills the primary under load, promotes the
// synchronous standby, and checks that nothing acknowledged is lost: see
// package failover and docs/operations-failover.md.
func TestFailoverUnderLoad(t *testing.T) {
	pgBin, err := findPGBin()
	if err != nil {
		t.Fatal(err) // CI installs PostgreSQL: missing binaries are a failure, never a skip
	}
	bin := buildEnduser(t)
	c := newCluster(t, pgBin)

	fake := wechatfake.New()
	fake.AddAccount(appID, appSecret)
	fake.AcceptAnyCode(true)
	fakeSrv := httptest.NewServer(fake)
	t.Cleanup(fakeSrv.Close)

	dbURL := fmt.Sprintf("postgres://postgres@%s,%s/enduser?sslmode=disable&target_session_attrs=read-write",
		c.primary.addr(), c.standby.addr())
	vars := map[string]string{
		"ENDUSER_DATABASE_URL":        dbURL,
		"ENDUSER_MASTER_KEY":          base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32)),
		"ENDUSER_DATA_CENTER":         "CN",
		"ENDUSER_WECHAT_API_BASE_URL": fakeSrv.URL,
		"ENDUSER_WECHAT_TIMEOUT":      "5s",
		"ENDUSER_HTTP_ADDR":           "127.0.0.1:0",
		"ENDUSER_ADMIN_ADDR":          "127.0.0.1:0",
		"ENDUSER_LOG_LEVEL":           "warn",
		"ENDUSER_RATE_LIMITS":         "off", // one client IP
		"ENDUSER_AUDIT":               "on",
		"ENDUSER_REFRESH_REUSE_GRACE": reuseGrace,
	}
	cli(t, bin, vars, "migrate", "up")
	cli(t, bin, vars, "userdomain", "create", userDomain, "--secret", udSecret)
	cli(t, bin, vars, "officialaccount", "add", "--user-domain", userDomain, "--app-id", appID, "--app-secret", appSecret)
	cli(t, bin, vars, "datacenter", "set", "CN", "--api-url", "https://cn.example.com", "--mcc", "460,461")
	srv := startServe(t, bin, vars)

	l := newLoad(srv.url)
	var wg sync.WaitGroup
	held := make([][]*session, clients)
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			held[i] = l.run(i)
		}()
	}
	stopped := false
	stopLoad := func() {
		if !stopped {
			stopped = true
			l.stopping.Store(true)
			wg.Wait()
		}
	}
	defer stopLoad()

	// Before: the primary and its synchronous standby serve.
	start := time.Now()
	waitFor(t, "answers 200 before the failover", func() bool { return l.count(start, forever, 200) >= okBefore })
	if got := readyz(srv.admin); got != http.StatusOK {
		t.Fatalf("/readyz answers %d before the failover, want 200", got)
	}

	// During: the primary dies; the standby answers but is read-only. A
	// prober asks /readyz all along.
	probe := startProber(srv.admin)
	defer probe.stop()
	killed := time.Now()
	c.killPrimary()
	gone := time.Now()
	waitFor(t, "5000 answers and /readyz answers while no primary accepts writes", func() bool {
		return l.count(gone, forever, 5000) >= unavailableDuring && probe.count(gone, forever, http.StatusServiceUnavailable) >= 3
	})
	if r, err := c.inRecovery(c.standby); err != nil || !r {
		t.Fatalf("the standby should still answer, in recovery, before its promotion (in recovery %v, %v)", r, err)
	}

	promoting, promoted := c.promote()
	waitFor(t, "an answer 200 and /readyz 200 after the promotion", func() bool {
		return !l.firstOKAfter(promoting).IsZero() && !probe.firstAfter(promoting, http.StatusOK).IsZero()
	})
	probe.stop()
	readyAgain := probe.firstAfter(promoting, http.StatusOK)
	readyDuring := probe.codes(gone, promoting)
	servedAgain := l.firstOKAfter(promoting)

	// After: the promoted standby is the primary.
	waitFor(t, "answers 200 after the failover", func() bool { return l.count(servedAgain, forever, 200) >= okAfter })
	stopLoad()

	// Every session a login or a refresh answered 200 for refreshes once
	// more with the last token its client holds (the child of its last 200).
	var sessions, found int
	finalFrom := time.Now()
	for _, ss := range held {
		for _, s := range ss {
			sessions++
			if l.finalRefresh(s) {
				found++
			} else {
				t.Errorf("session of %s (%d refreshes answered 200) does not refresh after the failover", s.label, s.refreshed)
			}
		}
	}

	// No session was revoked as a reuse: in the database and in the log.
	var reused int
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	newPrimary := strings.Replace(c.standby.adminURL(), "/postgres?", "/enduser?", 1)
	if err := queryURL(ctx, newPrimary, "SELECT count(*) FROM enduser_sessions WHERE revoke_reason = 'refresh_token_reuse'", &reused); err != nil {
		t.Fatal(err)
	}
	if reused != 0 {
		t.Errorf("%d sessions revoked as a refresh token reuse", reused)
	}
	if n := countLines(srv.logs.String(), "refresh token reuse"); n != 0 {
		t.Errorf("%d refresh token reuses logged", n)
	}

	// The figures (the test asserts counts only, never seconds).
	for _, w := range []struct {
		name     string
		from, to time.Time
	}{
		{"before", start, killed},
		{"killing", killed, gone},
		{"during", gone, promoting},
		{"promote", promoting, servedAgain},
		{"after", servedAgain, finalFrom},
		{"final", finalFrom, forever},
	} {
		t.Logf("failover: answers %-7s %4d (logins %d, refreshes %d), codes %s, transport errors %d",
			w.name, l.count(w.from, w.to, anyAnswer), l.countLogins(w.from, w.to), l.count(w.from, w.to, anyAnswer)-l.countLogins(w.from, w.to),
			codeList(l.codes(w.from, w.to)), l.count(w.from, w.to, transportError))
	}
	t.Logf("failover: /readyz while no primary accepts writes: %s", codeList(readyDuring))
	t.Logf("failover: pg_ctl stop -m immediate %.2fs; kill -> pg_ctl promote %.2fs; pg_ctl promote %.2fs",
		gone.Sub(killed).Seconds(), promoting.Sub(killed).Seconds(), promoted.Sub(promoting).Seconds())
	t.Logf("failover: seconds to recover after pg_ctl promote was issued: first answer 200 %.3fs, /readyz 200 %.3fs; outage seen by clients (kill -> first 200) %.2fs",
		servedAgain.Sub(promoting).Seconds(), readyAgain.Sub(promoting).Seconds(), servedAgain.Sub(killed).Seconds())
	l.mu.Lock()
	t.Logf("failover: sessions verified afterwards %d of %d (logins answered 200: %d, refreshes answered 200: %d); refreshes presented again after a lost answer: %d, answered 200: %d; revoked as a reuse: %d",
		found, sessions, l.loginsOK, l.refreshesOK, l.retried, l.retriedOK, reused)
	violations := l.violations
	retried, retriedOK := l.retried, l.retriedOK
	l.mu.Unlock()

	// The assertions: counts only.
	for _, v := range violations {
		t.Error(v)
	}
	if readyDuring[http.StatusServiceUnavailable] < 3 || len(readyDuring) != 1 {
		t.Errorf("/readyz while no primary accepts writes answered %s, want 503 only", codeList(readyDuring))
	}
	if n := l.countWithin(gone, promoting, 5000); n < unavailableDuring {
		t.Errorf("%d answers 5000 during the outage, want at least %d", n, unavailableDuring)
	}
	if n := l.countWithin(gone, promoting, 200); n != 0 {
		t.Errorf("%d answers 200 while no primary accepted writes: %s", n, l.describe(gone, promoting, 200, promoting))
	}
	if retried != retriedOK {
		t.Errorf("%d refreshes presented again after a lost answer, %d answered 200", retried, retriedOK)
	}
	if found != sessions || sessions == 0 {
		t.Errorf("%d of %d sessions found after the failover", found, sessions)
	}
}

// waitFor polls cond until it holds, failing the test after stepDeadline.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(stepDeadline)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within %s", what, stepDeadline)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// prober asks /readyz every 20 ms until it is stopped.
type prober struct {
	mu      sync.Mutex
	answers []record // code: the HTTP status (0: no answer)
	done    chan struct{}
	once    sync.Once
	wg      sync.WaitGroup
}

func startProber(admin string) *prober {
	p := &prober{done: make(chan struct{})}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			sent := time.Now()
			status := readyz(admin)
			p.mu.Lock()
			p.answers = append(p.answers, record{sent: sent, at: time.Now(), code: status})
			p.mu.Unlock()
			select {
			case <-p.done:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	return p
}

func (p *prober) stop() {
	p.once.Do(func() { close(p.done) })
	p.wg.Wait()
}

// codes counts the statuses of the probes sent and answered in [from, to).
func (p *prober) codes(from, to time.Time) map[int]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	m := map[int]int{}
	for _, r := range p.answers {
		if r.within(from, to) {
			m[r.code]++
		}
	}
	return m
}

func (p *prober) count(from, to time.Time, status int) int { return p.codes(from, to)[status] }

// firstAfter is when status was first answered after t (zero: not yet).
func (p *prober) firstAfter(t time.Time, status int) time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, r := range p.answers {
		if r.code == status && r.at.After(t) {
			return r.at
		}
	}
	return time.Time{}
}

// readyz is the admin listener's /readyz status (0: no answer).
func readyz(admin string) int {
	resp, err := probeClient.Get(admin + "/readyz")
	if err != nil {
		return 0
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode
}

var probeClient = &http.Client{Timeout: clientTimeout}

// codeList is a count map as "code×count ..." in code order.
func codeList(m map[int]int) string {
	keys := make([]int, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Ints(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%d×%d", k, m[k]))
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// forever is a window's open end.
var forever = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)

// Pseudo codes for count: every answer, and the transport errors.
const (
	anyAnswer      = -1
	transportError = -2
)

// load is the clients' shared record.
type load struct {
	base     string
	client   *http.Client
	stopping atomic.Bool

	mu                    sync.Mutex
	answers               []record
	loginsOK, refreshesOK int
	retried, retriedOK    int
	violations            []string
}

// record is one answer: when its request was sent and when it arrived, to
// what, and its code (0 and transport: none).
type record struct {
	sent, at  time.Time
	login     bool
	code      int
	transport bool
}

// in says whether r was answered in [from, to): the figures' windows.
func (r record) in(from, to time.Time) bool { return !r.at.Before(from) && r.at.Before(to) }

// within says whether r's request was sent and answered in [from, to): the
// assertions about a window (a request sent just before the promotion may be
// answered 200 after it; one sent just before the kill, answered 200 after
// it, was served by the old primary).
func (r record) within(from, to time.Time) bool { return !r.sent.Before(from) && r.at.Before(to) }

func newLoad(base string) *load {
	return &load{base: base, client: &http.Client{Timeout: clientTimeout,
		Transport: &http.Transport{MaxIdleConnsPerHost: clients * 2}}}
}

// count counts the answers that arrived in [from, to) with code (anyAnswer,
// transportError: every answer, the transport errors).
func (l *load) count(from, to time.Time, code int) int {
	return l.countIf(code, func(r record) bool { return r.in(from, to) })
}

// countWithin counts the requests sent and answered in [from, to) with code.
func (l *load) countWithin(from, to time.Time, code int) int {
	return l.countIf(code, func(r record) bool { return r.within(from, to) })
}

func (l *load) countIf(code int, in func(record) bool) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, r := range l.answers {
		if in(r) && (code == anyAnswer || code == transportError && r.transport || !r.transport && r.code == code) {
			n++
		}
	}
	return n
}

func (l *load) countLogins(from, to time.Time) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, r := range l.answers {
		if r.in(from, to) && r.login {
			n++
		}
	}
	return n
}

// codes counts the business codes of the answers that arrived in [from, to).
func (l *load) codes(from, to time.Time) map[int]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	m := map[int]int{}
	for _, r := range l.answers {
		if r.in(from, to) && !r.transport {
			m[r.code]++
		}
	}
	return m
}

// describe lists the answers with code to the requests sent and answered in
// [from, to):
// when each was sent and answered, in seconds from origin.
func (l *load) describe(from, to time.Time, code int, origin time.Time) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var b strings.Builder
	for _, r := range l.answers {
		if r.within(from, to) && !r.transport && r.code == code {
			fmt.Fprintf(&b, " [login %v sent %+.3fs answered %+.3fs]", r.login, r.sent.Sub(origin).Seconds(), r.at.Sub(origin).Seconds())
		}
	}
	return b.String()
}

// firstOKAfter is when the first answer 200 after t arrived (zero: none yet).
func (l *load) firstOKAfter(t time.Time) time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, r := range l.answers {
		if r.code == 200 && r.at.After(t) {
			return r.at
		}
	}
	return time.Time{}
}

// session is a session a client holds: the last refresh token it received.
type session struct {
	label     string
	token     string
	refreshed int
	lost      bool // the answer to the last presentation of token was lost
}

// run is one client: it logs in and refreshes until the load stops: a login every fourth
// operation (or while it holds fewer than two sessions), otherwise a refresh
// of its sessions in turn. It returns the sessions it holds.
func (l *load) run(id int) []*session {
	var held []*session
	for n := 0; !l.stopping.Load(); n++ {
		if len(held) < 2 || n%4 == 0 {
			// Seven people per client, each logging in again now and then.
			label := fmt.Sprintf("p%d-%d", id, n%7)
			if s := l.login(label, fmt.Sprintf("%s.%d", label, n)); s != nil {
				held = append(held, s)
			}
			continue
		}
		l.refresh(held[n%len(held)])
	}
	return held
}

// login logs label's code in; a 5000 or a transport error loses the login
// (the WeChat code is spent: a client starts over with a new one).
func (l *load) login(label, code string) *session {
	q := url.Values{"userDomain": {userDomain}, "appId": {appID}, "code": {code}, "signature": {signature(appID, code)}}
	a, ok := l.call(http.MethodPost, loginPath+"?"+q.Encode(), true)
	if !ok {
		return nil
	}
	return &session{label: label, token: a.refreshToken()}
}

// refresh spends s's token. A lost answer (a 5000 or a transport error) is
// what the docs tell a client to retry: the same token again, within the
// grace window, which gets the same child or a valid pair. The client
// presents it again on the session's next turn (it logs in and refreshes its
// other sessions meanwhile); when the load stops first, the final check
// presents it.
func (l *load) refresh(s *session) {
	a, ok := l.call(http.MethodPut, refreshPath+"?"+url.Values{"refreshToken": {s.token}}.Encode(), false)
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case ok:
		s.token = a.refreshToken()
		s.refreshed++
		if s.lost {
			s.lost = false
			l.retriedOK++
		}
	case a.unavailable():
		if !s.lost {
			s.lost = true
			l.retried++
		}
	}
}

// finalRefresh presents s's token once more after the load: it must answer
// 200 (a 5000 is presented again, a bounded number of times).
func (l *load) finalRefresh(s *session) bool {
	for range finalAttempts {
		a, ok := l.call(http.MethodPut, refreshPath+"?"+url.Values{"refreshToken": {s.token}}.Encode(), false)
		if ok {
			l.mu.Lock()
			if s.lost {
				s.lost = false
				l.retriedOK++
			}
			l.mu.Unlock()
			return true
		}
		if !a.unavailable() {
			return false
		}
	}
	return false
}

// answer is one answer as a client saw it.
type answer struct {
	status    int // HTTP status (0: transport error)
	code      int // the envelope's code
	data      json.RawMessage
	transport bool
}

// unavailable says that the answer was lost or said "try again": a
// transport error, or the envelope's 5000.
func (a answer) unavailable() bool { return a.transport || a.code == 5000 }

func (a answer) refreshToken() string {
	var d struct {
		RefreshToken struct {
			Token string `json:"token"`
		} `json:"refreshToken"`
	}
	_ = json.Unmarshal(a.data, &d)
	return d.RefreshToken.Token
}

// call sends one request and records its answer; ok is an answer 200 with a
// token pair. Anything but a pair or the 5000 envelope (HTTP 500, or 503
// with Retry-After), or an answer the OpenAPI document does not describe, is
// a violation.
func (l *load) call(method, path string, isLogin bool) (answer, bool) {
	req, err := http.NewRequest(method, l.base+path, nil)
	if err != nil {
		panic(err)
	}
	var a answer
	var body []byte
	sent := time.Now()
	resp, err := l.client.Do(req)
	if err == nil {
		body, err = io.ReadAll(resp.Body)
		_ = resp.Body.Close()
	}
	now := time.Now()
	problem := ""
	if err != nil {
		a.transport = true
		problem = fmt.Sprintf("%s %s: transport error (the server is up: a hang or a crash): %v", method, path[:strings.IndexByte(path, '?')], err)
	} else {
		a.status = resp.StatusCode
		var env struct {
			Code *int            `json:"code"`
			Data json.RawMessage `json:"data"`
		}
		switch {
		case json.Unmarshal(body, &env) != nil || env.Code == nil:
			problem = fmt.Sprintf("HTTP %d outside the envelope: %.200q", resp.StatusCode, body)
		case *env.Code == 200 && resp.StatusCode == http.StatusOK:
			a.code, a.data = 200, env.Data
		case *env.Code == 5000 && (resp.StatusCode == http.StatusInternalServerError ||
			resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") != ""):
			a.code = 5000
		default:
			a.code = *env.Code
			problem = fmt.Sprintf("HTTP %d code %d: %.200s", resp.StatusCode, *env.Code, body)
		}
		if problem == "" {
			if verr := openapitest.ValidateResponse(req, resp.StatusCode, resp.Header, body); verr != nil {
				problem = fmt.Sprintf("answer not in the OpenAPI document: %v", verr)
			}
		}
	}
	ok := a.code == 200 && a.refreshToken() != ""
	if a.code == 200 && !ok && problem == "" {
		problem = fmt.Sprintf("answer 200 without a refresh token: %.200s", body)
	}

	l.mu.Lock()
	l.answers = append(l.answers, record{sent: sent, at: now, login: isLogin, code: a.code, transport: a.transport})
	if ok {
		if isLogin {
			l.loginsOK++
		} else {
			l.refreshesOK++
		}
	}
	if problem != "" && len(l.violations) < 20 {
		l.violations = append(l.violations, problem)
	}
	l.mu.Unlock()
	if a.unavailable() {
		time.Sleep(lostAnswerPause) // a client does not hammer a module that cannot serve
	}
	return a, ok
}

// signature is the login's: hex(SHA-256(appId + code + userDomainSecret)).
func signature(appID, code string) string {
	sum := sha256.Sum256([]byte(appID + code + udSecret))
	return hex.EncodeToString(sum[:])
}
