package wechatfake

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// This file is WeChat's wire format: its errcodes and messages, the success
// and error bodies, sent as text/plain JSON.

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
