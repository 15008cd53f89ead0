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
	// lostAnswerPause is how long a client waits before it presents a refresh
	// token again after its answer was lost (a 5000 or a transport error).
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
	waitFor(t, "answers 200 before the failover", func() bool { return l.okIn(before) >= okBefore })
	if got := readyz(srv.admin); got != http.StatusOK {
		t.Fatalf("/readyz answers %d before the failover, want 200", got)
	}

	// During: the primary dies; the standby answers but is read-only.
	l.setPhase(during)
	killed := time.Now()
	c.killPrimary()
	readyDuring := map[int]int{}
	waitFor(t, "5000 answers while no primary accepts writes", func() bool {
		readyDuring[readyz(srv.admin)]++
		return l.codeIn(during, 5000) >= unavailableDuring
	})
	if r, err := c.inRecovery(c.standby); err != nil || !r {
		t.Fatalf("the standby should still answer, in recovery, before its promotion (in recovery %v, %v)", r, err)
	}
	readyDuring[readyz(srv.admin)]++

	promoting := time.Now()
	c.promote()
	promoted := time.Now()
	var readyAgain time.Time
	waitFor(t, "an answer 200 and /readyz 200 after the promotion", func() bool {
		if readyAgain.IsZero() && readyz(srv.admin) == http.StatusOK {
			readyAgain = time.Now()
		}
		return !readyAgain.IsZero() && !l.firstOKAfter(promoted).IsZero()
	})
	servedAgain := l.firstOKAfter(promoted)

	// After: the promoted standby is the primary.
	l.setPhase(after)
	waitFor(t, "answers 200 after the failover", func() bool { return l.okIn(after) >= okAfter })
	stopLoad()

	// Every session a login or a refresh answered 200 for refreshes once
	// more with the last token its client holds (the child of its last 200).
	var sessions, found int
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
	l.mu.Lock()
	for p := before; p < numPhases; p++ {
		t.Logf("failover: answers %-6s %4d (logins %d, refreshes %d), codes %s, transport errors %d",
			phaseNames[p], l.answers[p], l.logins[p], l.refreshes[p], codeList(l.codes[p]), l.transport[p])
	}
	t.Logf("failover: /readyz while no primary accepts writes: %s", codeList(readyDuring))
	t.Logf("failover: kill -> promote issued %.2fs; pg_ctl promote (with the reset of synchronous_standby_names) took %.2fs",
		promoting.Sub(killed).Seconds(), promoted.Sub(promoting).Seconds())
	t.Logf("failover: seconds to recover after the promotion: first answer 200 %.3fs, /readyz 200 %.3fs; outage seen by clients %.2fs",
		servedAgain.Sub(promoted).Seconds(), readyAgain.Sub(promoted).Seconds(), servedAgain.Sub(killed).Seconds())
	t.Logf("failover: sessions verified afterwards %d of %d (logins answered 200: %d, refreshes answered 200: %d); refreshes presented again after a lost answer: %d, answered 200: %d; revoked as a reuse: %d",
		found, sessions, l.loginsOK, l.refreshesOK, l.retried, l.retriedOK, reused)
	violations := l.violations
	l.mu.Unlock()

	// The assertions: counts only.
	for _, v := range violations {
		t.Error(v)
	}
	if readyDuring[http.StatusServiceUnavailable] == 0 || len(readyDuring) != 1 {
		t.Errorf("/readyz while no primary accepts writes answered %s, want 503 only", codeList(readyDuring))
	}
	if l.codeIn(during, 5000) < unavailableDuring {
		t.Errorf("%d answers 5000 during the outage, want at least %d", l.codeIn(during, 5000), unavailableDuring)
	}
	if l.retried != l.retriedOK {
		t.Errorf("%d refreshes presented again after a lost answer, %d answered 200", l.retried, l.retriedOK)
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

// The phases of the run: the harness moves from one to the next; each
// answer counts in the phase it arrived in.
type phase int32

const (
	before phase = iota // the primary serves
	during              // from the kill until the module serves again
	after               // the promoted standby serves
	numPhases
)

var phaseNames = [numPhases]string{"before", "during", "after"}

// load is the clients' shared record.
type load struct {
	base     string
	client   *http.Client
	phase    atomic.Int32
	stopping atomic.Bool

	mu                    sync.Mutex
	answers               [numPhases]int
	logins, refreshes     [numPhases]int
	codes                 [numPhases]map[int]int // business code (0: none) -> answers
	transport             [numPhases]int
	okTimes               []time.Time // when each answer 200 arrived
	loginsOK, refreshesOK int
	retried, retriedOK    int
	violations            []string
}

func newLoad(base string) *load {
	l := &load{base: base, client: &http.Client{Timeout: clientTimeout,
		Transport: &http.Transport{MaxIdleConnsPerHost: clients * 2}}}
	for p := range l.codes {
		l.codes[p] = map[int]int{}
	}
	return l
}

func (l *load) setPhase(p phase) { l.phase.Store(int32(p)) }

func (l *load) okIn(p phase) int { return l.codeIn(p, 200) }

func (l *load) codeIn(p phase, code int) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.codes[p][code]
}

// firstOKAfter is when the first answer 200 after t arrived (zero: none yet).
func (l *load) firstOKAfter(t time.Time) time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, at := range l.okTimes {
		if at.After(t) {
			return at
		}
	}
	return time.Time{}
}

// session is a session a client holds: the last refresh token it received.
type session struct {
	label     string
	token     string
	refreshed int
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
	switch {
	case ok:
		return &session{label: label, token: a.refreshToken()}
	case a.unavailable():
		time.Sleep(lostAnswerPause)
	}
	return nil
}

// refresh spends s's token. A lost answer (a 5000 or a transport error) is
// what the docs tell a client to retry: the same token again, within the
// grace window, which gets the same child or a valid pair. When the load
// stops meanwhile, the token stays held: the final check presents it.
func (l *load) refresh(s *session) {
	for attempt := 0; ; attempt++ {
		a, ok := l.call(http.MethodPut, refreshPath+"?"+url.Values{"refreshToken": {s.token}}.Encode(), false)
		if ok {
			s.token = a.refreshToken()
			s.refreshed++
			if attempt > 0 {
				l.mu.Lock()
				l.retriedOK++
				l.mu.Unlock()
			}
			return
		}
		if !a.unavailable() {
			return // a violation, recorded
		}
		if attempt == 0 {
			l.mu.Lock()
			l.retried++
			l.mu.Unlock()
		}
		if l.stopping.Load() {
			return
		}
		time.Sleep(lostAnswerPause)
	}
}

// finalRefresh presents s's token once more after the load: it must answer
// 200 (a 5000 is presented again, a bounded number of times).
func (l *load) finalRefresh(s *session) bool {
	for range finalAttempts {
		a, ok := l.call(http.MethodPut, refreshPath+"?"+url.Values{"refreshToken": {s.token}}.Encode(), false)
		if ok {
			return true
		}
		if !a.unavailable() {
			return false
		}
		time.Sleep(lostAnswerPause)
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
	resp, err := l.client.Do(req)
	if err == nil {
		body, err = io.ReadAll(resp.Body)
		_ = resp.Body.Close()
	}
	now := time.Now()
	p := phase(l.phase.Load())
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
			problem = fmt.Sprintf("HTTP %d code %d (%s): %.200s", resp.StatusCode, *env.Code, phaseNames[p], body)
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
	defer l.mu.Unlock()
	l.answers[p]++
	if isLogin {
		l.logins[p]++
	} else {
		l.refreshes[p]++
	}
	if a.transport {
		l.transport[p]++
	} else {
		l.codes[p][a.code]++
	}
	if ok {
		l.okTimes = append(l.okTimes, now)
		if isLogin {
			l.loginsOK++
		} else {
			l.refreshesOK++
		}
	}
	if problem != "" && len(l.violations) < 20 {
		l.violations = append(l.violations, problem)
	}
	return a, ok
}

// signature is the login's: hex(SHA-256(appId + code + userDomainSecret)).
func signature(appID, code string) string {
	sum := sha256.Sum256([]byte(appID + code + udSecret))
	return hex.EncodeToString(sum[:])
}
