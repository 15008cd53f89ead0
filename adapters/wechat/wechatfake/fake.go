// Package wechatfake is a fake of WeChat's code exchanges, the official
// account's OAuth (GET /sns/oauth2/access_token) and the mini program's login
// (GET /sns/jscode2session), that speaks the real wire format: HTTP 200,
// Content-Type text/plain, a JSON body; success bodies carry no errcode at all,
// errors carry errcode and an errmsg with a changing rid suffix.
//
// Tests and `enduser dev` (which the load generator drives) mount a *Server on an httptest
// server or a real listener. It is safe for concurrent use.
package wechatfake

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// CodeTTL is how long an issued code can be exchanged.
const CodeTTL = 5 * time.Minute

// maxCodeLen bounds the codes the fake remembers in permissive mode.
const maxCodeLen = 256

// sweepInterval is how often forgotten codes are dropped.
const sweepInterval = time.Minute

// WeChat's errcodes the fake answers with.
const (
	ErrSystemBusy       = -1
	ErrInvalidAppSecret = 40125
	ErrInvalidGrantType = 40002
	ErrInvalidAppID     = 40013
	ErrInvalidCode      = 40029
	ErrInvalidURL       = 40066
	ErrCodeBeenUsed     = 40163
	ErrMissingAppID     = 41002
	ErrMissingSecret    = 41004
	ErrMissingCode      = 41008
	ErrCodeExpired      = 42003
	ErrRequireGET       = 43001
	ErrRateLimited      = 45011
	ErrHighRiskUser     = 40226
)

var errMsgs = map[int]string{ //nolint:gosec // G101: WeChat's error messages, not credentials
	ErrSystemBusy:       "system error",
	ErrInvalidAppSecret: "invalid appsecret",
	ErrInvalidGrantType: "invalid grant_type",
	ErrInvalidAppID:     "invalid appid",
	ErrInvalidCode:      "invalid code",
	ErrInvalidURL:       "invalid url",
	ErrCodeBeenUsed:     "code been used",
	ErrMissingAppID:     "appid missing",
	ErrMissingSecret:    "appsecret missing",
	ErrMissingCode:      "missing code",
	ErrCodeExpired:      "code expired",
	ErrRequireGET:       "require GET method",
	ErrRateLimited:      "api minute-quota reach limit mustslower retry next minute",
	ErrHighRiskUser:     "invalid user, high risk",
}

// The paths the fake answers.
const (
	pathOAuth          = "/sns/oauth2/access_token"
	pathJSCode2Session = "/sns/jscode2session"
)

// User is the person a code stands for.
type User struct {
	// OpenID is the user's openid under the official account. Empty gives a
	// (malformed) success answer without openid.
	OpenID string
	// UnionID is sent only when non-empty.
	UnionID string
	// Snapshot marks a snapshot-page virtual user (is_snapshotuser = 1).
	Snapshot bool
	// Scope is snsapi_base when empty.
	Scope string
}

// Failure scripts an odd answer for one exchange of one code. The fields
// apply in this order: Delay, then Status or Body (the answer, whatever the
// query), then ErrCode (answered after the account and parameter checks,
// whether or not the code was issued; an issued code is spent, as WeChat
// spends it even when it answers -1).
type Failure struct {
	// Delay holds the answer back (the request's cancellation cuts it short).
	Delay time.Duration
	// Status, when not 0 or 200, is the HTTP status of the answer (e.g. 502),
	// with a small HTML body like a gateway's.
	Status int
	// Body, when non-nil, is sent verbatim with HTTP 200 (e.g. garbage).
	Body []byte
	// ErrCode, when non-zero, is answered as WeChat's error (e.g. -1, 45011);
	// ErrMsg defaults to WeChat's message for it.
	ErrCode int
	ErrMsg  string
}

// issued is the state of one code.
type issued struct {
	path     string // the exchange that redeems it
	appID    string
	user     User
	issuedAt time.Time
	used     bool
}

// Server is the fake. The zero value is not usable: call New.
type Server struct {
	requests atomic.Int64

	mu        sync.Mutex
	now       func() time.Time
	accounts  map[string]string // appid -> secret
	programs  map[string]string // mini program appid -> secret
	codes     map[string]*issued
	failures  map[string]Failure
	anyCode   bool
	anyUsed   *twoGenerationSet
	lastSweep time.Time
}

// New returns a fake with no account, no code and the wall clock.
func New() *Server {
	return &Server{
		now:      time.Now,
		accounts: map[string]string{},
		programs: map[string]string{},
		codes:    map[string]*issued{},
		failures: map[string]Failure{},
		anyUsed:  newTwoGenerationSet(CodeTTL),
	}
}

// SetClock replaces the clock that expires codes (tests).
func (s *Server) SetClock(now func() time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = now
}

// AddAccount registers (or updates) an official account.
func (s *Server) AddAccount(appID, appSecret string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.accounts[appID] = appSecret
}

// AddMiniProgram registers (or updates) a mini program, whose codes
// /sns/jscode2session exchanges (an appId registered here is unknown to the
// OAuth exchange, and the other way round, as at WeChat).
func (s *Server) AddMiniProgram(appID, appSecret string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.programs[appID] = appSecret
}

// IssueCode returns a fresh, random, single-use code that identifies u under
// appID for CodeTTL, as WeChat's authorize redirect would.
func (s *Server) IssueCode(appID string, u User) string {
	return s.issue(pathOAuth, appID, u)
}

// IssueJSCode returns a fresh, random, single-use jsCode that identifies u
// under the mini program appID for CodeTTL, as the mini program's wx.login()
// would (u.OpenID is the openid under the mini program; Snapshot and Scope
// are ignored).
func (s *Server) IssueJSCode(appID string, u User) string {
	return s.issue(pathJSCode2Session, appID, u)
}

func (s *Server) issue(path, appID string, u User) string {
	code := randomString(24)
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	s.sweep(now)
	s.codes[code] = &issued{path: path, appID: appID, user: u, issuedAt: now}
	return code
}

// SetFailure scripts the answer to the next exchange of code (which need not
// have been issued). The script is used once.
func (s *Server) SetFailure(code string, f Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures[code] = f
}

// AcceptAnyCode turns the permissive mode on or off. In it, a code that was
// not issued, of the form <label>.<anything>, is accepted once (for CodeTTL
// to CodeTTL×2, then forgotten) for the user whose openid is
// OpenIDForLabel(appID, label), without unionid: "demo.1" and "demo.2" are the
// same person. For `enduser dev` and load tests.
func (s *Server) AcceptAnyCode(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.anyCode = on
}

// Requests returns how many HTTP requests the fake has received.
func (s *Server) Requests() int { return int(s.requests.Load()) }

// OpenIDForLabel is the openid the permissive mode gives the label's person
// under appID: "o" and 27 characters, like a real openid.
func OpenIDForLabel(appID, label string) string {
	sum := sha256.Sum256([]byte(appID + "\x00" + label))
	return "o" + base64.RawURLEncoding.EncodeToString(sum[:])[:27]
}

// ServeHTTP answers GET /sns/oauth2/access_token and GET
// /sns/jscode2session; any other path gets 404 and any other method 405,
// each with an errcode body.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.requests.Add(1)
	if r.URL.Path != pathOAuth && r.URL.Path != pathJSCode2Session {
		s.writeError(w, http.StatusNotFound, ErrInvalidURL, "")
		return
	}
	if r.Method != http.MethodGet {
		s.writeError(w, http.StatusMethodNotAllowed, ErrRequireGET, "")
		return
	}
	s.exchange(w, r)
}

// exchange handles one code exchange, of either path.
func (s *Server) exchange(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	path := r.URL.Path
	codeParam := "code"
	if path == pathJSCode2Session {
		codeParam = "js_code"
	}
	appID, secret, code := q.Get("appid"), q.Get("secret"), q.Get(codeParam)

	f, scripted := s.takeFailure(code)
	if scripted && f.Delay > 0 {
		t := time.NewTimer(f.Delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	switch {
	case scripted && f.Status != 0 && f.Status != http.StatusOK:
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(f.Status)
		fmt.Fprintf(w, "<html><body><h1>%d %s</h1></body></html>\n", f.Status, http.StatusText(f.Status))
		return
	case scripted && f.Body != nil:
		writeBody(w, http.StatusOK, f.Body)
		return
	}

	if errCode := s.checkQuery(path, appID, secret, q.Get("grant_type"), code); errCode != 0 {
		s.writeError(w, http.StatusOK, errCode, "")
		return
	}
	errCode, u := s.spend(path, appID, code)
	switch {
	case scripted && f.ErrCode != 0:
		s.writeError(w, http.StatusOK, f.ErrCode, f.ErrMsg)
	case errCode != 0:
		s.writeError(w, http.StatusOK, errCode, "")
	case path == pathJSCode2Session:
		s.writeSession(w, u)
	default:
		s.writeSuccess(w, u)
	}
}

// takeFailure removes and returns the failure scripted for code.
func (s *Server) takeFailure(code string) (Failure, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.failures[code]
	if ok {
		delete(s.failures, code)
	}
	return f, ok
}

// checkQuery checks the query's account and parameters like WeChat does and
// returns a non-zero errcode when they are wrong.
func (s *Server) checkQuery(path, appID, secret, grantType, code string) int {
	s.mu.Lock()
	apps := s.accounts
	if path == pathJSCode2Session {
		apps = s.programs
	}
	want, known := apps[appID]
	s.mu.Unlock()
	switch {
	case appID == "":
		return ErrMissingAppID
	case !known:
		return ErrInvalidAppID
	case secret == "":
		return ErrMissingSecret
	case secret != want:
		return ErrInvalidAppSecret
	case grantType != "authorization_code":
		return ErrInvalidGrantType
	case code == "":
		return ErrMissingCode
	}
	return 0
}

// spend redeems code for appID: it returns the code's user, or a non-zero
// errcode when the code is unknown, used or expired.
func (s *Server) spend(path, appID, code string) (int, User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	s.sweep(now)

	if c, ok := s.codes[code]; ok && c.appID == appID && c.path == path {
		switch {
		case c.used:
			return ErrCodeBeenUsed, User{}
		case now.Sub(c.issuedAt) >= CodeTTL && path == pathJSCode2Session:
			return ErrInvalidCode, User{} // jscode2session says 40029 for an expired code
		case now.Sub(c.issuedAt) >= CodeTTL:
			return ErrCodeExpired, User{}
		}
		c.used = true
		return 0, c.user
	}
	if label, ok := anyCodeLabel(code); s.anyCode && ok {
		if !s.anyUsed.add(appID+"\x00"+code, now) {
			return ErrCodeBeenUsed, User{}
		}
		return 0, User{OpenID: OpenIDForLabel(appID, label)}
	}
	return ErrInvalidCode, User{}
}

// anyCodeLabel returns the label of a permissive-mode code <label>.<rest>.
func anyCodeLabel(code string) (string, bool) {
	if len(code) > maxCodeLen {
		return "", false
	}
	label, _, ok := strings.Cut(code, ".")
	return label, ok && label != ""
}

// sweep forgets issued codes that expired more than CodeTTL ago (so a late
// second exchange still gets 42003 or 40163 for a while). s.mu is held.
func (s *Server) sweep(now time.Time) {
	if now.Sub(s.lastSweep) < sweepInterval {
		return
	}
	s.lastSweep = now
	for code, c := range s.codes {
		if now.Sub(c.issuedAt) >= 2*CodeTTL {
			delete(s.codes, code)
		}
	}
}

// successBody is WeChat's success answer: no errcode field at all.
type successBody struct {
	AccessToken    string `json:"access_token"`
	ExpiresIn      int    `json:"expires_in"`
	RefreshToken   string `json:"refresh_token"`
	OpenID         string `json:"openid,omitempty"`
	Scope          string `json:"scope"`
	IsSnapshotUser int    `json:"is_snapshotuser,omitempty"`
	UnionID        string `json:"unionid,omitempty"`
}

func (s *Server) writeSuccess(w http.ResponseWriter, u User) {
	b := successBody{
		AccessToken:  randomString(48),
		ExpiresIn:    7200,
		RefreshToken: randomString(48),
		OpenID:       u.OpenID,
		Scope:        u.Scope,
		UnionID:      u.UnionID,
	}
	if b.Scope == "" {
		b.Scope = "snsapi_base"
	}
	if u.Snapshot {
		b.IsSnapshotUser = 1
	}
	writeJSON(w, http.StatusOK, b)
}

// sessionBody is jscode2session's success answer: no errcode field, a
// session_key (which the module must drop), the unionid only when the mini
// program is bound to an Open Platform account.
type sessionBody struct {
	OpenID     string `json:"openid,omitempty"`
	SessionKey string `json:"session_key"`
	UnionID    string `json:"unionid,omitempty"`
}

// SessionKeyPrefix starts every session_key the fake hands out, so tests can
// look for it where it must never be.
const SessionKeyPrefix = "fakeSessionKey"

func (s *Server) writeSession(w http.ResponseWriter, u User) {
	writeJSON(w, http.StatusOK, sessionBody{OpenID: u.OpenID, SessionKey: SessionKeyPrefix + randomString(16), UnionID: u.UnionID})
}

// errorBody is WeChat's error answer.
type errorBody struct {
	ErrCode int    `json:"errcode"`
	ErrMsg  string `json:"errmsg"`
}

// writeError answers an errcode; msg defaults to WeChat's message for it.
// The errmsg ends with a rid that changes with every answer, as WeChat's does.
func (s *Server) writeError(w http.ResponseWriter, status, errCode int, msg string) {
	if msg == "" {
		msg = errMsgs[errCode]
	}
	if msg == "" {
		msg = "error"
	}
	s.mu.Lock()
	now := s.now()
	s.mu.Unlock()
	writeJSON(w, status, errorBody{ErrCode: errCode, ErrMsg: msg + ", rid: " + rid(now)})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	writeBody(w, status, b)
}

// writeBody sends b as WeChat does: text/plain, whatever it holds.
func writeBody(w http.ResponseWriter, status int, b []byte) {
	w.Header().Set("Content-Type", "text/plain")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// rid looks like WeChat's request id: the time in hex and two random words.
func rid(now time.Time) string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%08x-%08x-%08x", uint32(now.Unix()), binary.BigEndian.Uint32(b[:4]), binary.BigEndian.Uint32(b[4:]))
}

// randomString returns n random bytes, base64url-encoded (no '.', so an issued
// code never looks like a permissive-mode one).
func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// twoGenerationSet remembers strings for between ttl and 2×ttl with O(1)
// forgetting: when the current generation is ttl old it becomes the previous
// one and the old previous one is dropped whole. Memory stays proportional
// to the rate of additions.
type twoGenerationSet struct {
	ttl       time.Duration
	cur, prev map[string]struct{}
	started   time.Time
}

func newTwoGenerationSet(ttl time.Duration) *twoGenerationSet {
	return &twoGenerationSet{ttl: ttl, cur: map[string]struct{}{}, prev: map[string]struct{}{}}
}

// add records k and reports whether it was new.
func (g *twoGenerationSet) add(k string, now time.Time) bool {
	switch age := now.Sub(g.started); {
	case age >= 2*g.ttl:
		g.prev, g.cur, g.started = map[string]struct{}{}, map[string]struct{}{}, now
	case age >= g.ttl:
		g.prev, g.cur, g.started = g.cur, map[string]struct{}{}, now
	}
	if _, ok := g.cur[k]; ok {
		return false
	}
	if _, ok := g.prev[k]; ok {
		return false
	}
	g.cur[k] = struct{}{}
	return true
}

// len returns how many strings are remembered.
func (g *twoGenerationSet) len() int { return len(g.cur) + len(g.prev) }
