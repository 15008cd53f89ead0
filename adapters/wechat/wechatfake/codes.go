package wechatfake

import (
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"time"
)

// This file is the fake's codes: issued ones (single use, CodeTTL), and the
// permissive mode's, remembered in a two-generation set.

// maxCodeLen bounds the codes the fake remembers in permissive mode.
const maxCodeLen = 256

// sweepInterval is how often forgotten codes are dropped.
const sweepInterval = time.Minute

// issued is the state of one code.
type issued struct {
	path     string // the exchange that redeems it
	appID    string
	user     User
	issuedAt time.Time
	used     bool
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

// OpenIDForLabel is the openid the permissive mode gives the label's person
// under appID: "o" and 27 characters, like a real openid.
func OpenIDForLabel(appID, label string) string {
	sum := sha256.Sum256([]byte(appID + "\x00" + label))
	return "o" + base64.RawURLEncoding.EncodeToString(sum[:])[:27]
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
