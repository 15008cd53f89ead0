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
	"sync"
	"sync/atomic"
	"time"
)

// CodeTTL is how long an issued code can be exchanged.
const CodeTTL = 5 * time.Minute

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
	phones    *phoneState // phone.go
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
