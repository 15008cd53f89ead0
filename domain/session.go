package domain

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"time"
)

// SessionID identifies a login session (one device's refresh-token family).
type SessionID [16]byte

// NewSessionID returns a version-7 UUID of now (RFC 9562): a millisecond
// timestamp then random bits, so that sessions made close in time sit close
// in the primary key's index.
func NewSessionID() SessionID { return newSessionIDAt(time.Now()) }

func newSessionIDAt(now time.Time) SessionID {
	var id SessionID
	putTimeOrdered(id[:], now)
	id[6] = (id[6] & 0x0f) | 0x70
	id[8] = (id[8] & 0x3f) | 0x80
	return id
}

// ParseSessionID parses the canonical UUID text form.
func ParseSessionID(s string) (SessionID, error) {
	var id SessionID
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return id, fmt.Errorf("session id %q is not a UUID", s)
	}
	h := s[0:8] + s[9:13] + s[14:18] + s[19:23] + s[24:36]
	if _, err := hex.Decode(id[:], []byte(h)); err != nil {
		return id, fmt.Errorf("session id %q is not a UUID", s)
	}
	return id, nil
}

func (id SessionID) String() string {
	h := hex.EncodeToString(id[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// RefreshKeySize is the size of a session's refresh-token key (256 bits).
const RefreshKeySize = 32

// Session is one login of one user through one official account. Its refresh
// tokens form a family: token n is derived from the session's secret key and
// the counter n, so no token is ever stored; presenting token n spends it and
// issues token n+1 (rotation). The session has an absolute lifetime that no
// rotation extends.
type Session struct {
	id               SessionID
	userID           string
	userDomainID     int64
	userDomain       string
	appID            string
	refreshKey       []byte
	counter          int64
	createdAt        time.Time
	expiresAt        time.Time
	refreshExpiresAt time.Time
	rotatedAt        time.Time
	revokedAt        time.Time
}

// NewSession starts a session at now; its first refresh token lives
// refreshTTL, and the session itself at most absoluteTTL.
func NewSession(userID string, userDomainID int64, userDomain, appID string, now time.Time, refreshTTL, absoluteTTL time.Duration) Session {
	key := make([]byte, RefreshKeySize)
	_, _ = rand.Read(key)
	s := Session{
		id: newSessionIDAt(now), userID: userID, userDomainID: userDomainID, userDomain: userDomain, appID: appID,
		refreshKey: key, counter: 1, createdAt: now, expiresAt: now.Add(absoluteTTL),
	}
	s.refreshExpiresAt = minTime(now.Add(refreshTTL), s.expiresAt)
	return s
}

// UnmarshalSessionFromDatabase rehydrates a stored session.
func UnmarshalSessionFromDatabase(id SessionID, userID string, userDomainID int64, userDomain, appID string, refreshKey []byte,
	counter int64, createdAt, expiresAt, refreshExpiresAt, rotatedAt, revokedAt time.Time) Session {
	return Session{id: id, userID: userID, userDomainID: userDomainID, userDomain: userDomain, appID: appID,
		refreshKey: refreshKey, counter: counter, createdAt: createdAt, expiresAt: expiresAt,
		refreshExpiresAt: refreshExpiresAt, rotatedAt: rotatedAt, revokedAt: revokedAt}
}

func (s Session) ID() SessionID               { return s.id }
func (s Session) UserID() string              { return s.userID }
func (s Session) UserDomainID() int64         { return s.userDomainID }
func (s Session) UserDomain() string          { return s.userDomain }
func (s Session) AppID() string               { return s.appID }
func (s Session) RefreshKey() []byte          { return s.refreshKey }
func (s Session) Counter() int64              { return s.counter }
func (s Session) CreatedAt() time.Time        { return s.createdAt }
func (s Session) ExpiresAt() time.Time        { return s.expiresAt }
func (s Session) RefreshExpiresAt() time.Time { return s.refreshExpiresAt }
func (s Session) RotatedAt() time.Time        { return s.rotatedAt }
func (s Session) RevokedAt() time.Time        { return s.revokedAt }
func (s Session) Revoked() bool               { return !s.revokedAt.IsZero() }

// Active reports whether the session can still refresh at now.
func (s Session) Active(now time.Time) bool {
	return !s.Revoked() && now.Before(s.expiresAt) && now.Before(s.refreshExpiresAt)
}

// NextRefreshExpiry is the lifetime a child token gets when rotated at now:
// a fresh refreshTTL, capped by the session's absolute expiry.
func (s Session) NextRefreshExpiry(now time.Time, refreshTTL time.Duration) time.Time {
	return minTime(now.Add(refreshTTL), s.expiresAt)
}

// ForUser returns the session for the user uid: a login builds its session
// before it knows whether the person is a returning user or the candidate.
func (s Session) ForUser(uid string) Session {
	s.userID = uid
	return s
}

// Advanced returns the session after its current refresh token was spent at
// now: the counter moves to the child, which expires at refreshExpiresAt.
func (s Session) Advanced(now, refreshExpiresAt time.Time) Session {
	s.counter++
	s.rotatedAt = now
	s.refreshExpiresAt = refreshExpiresAt
	return s
}

// RefreshToken returns the session's current refresh token.
func (s Session) RefreshToken() Token {
	return Token{Value: s.refreshTokenFor(s.counter), ExpiresAt: s.refreshExpiresAt}
}

const refreshTokenVersion = 1

// refresh token layout: version(1) | session id(16) | counter(8) | HMAC-SHA256(key, version|id|counter)(32)
const refreshTokenLen = 1 + 16 + 8 + sha256.Size

func (s Session) refreshTokenFor(counter int64) string {
	buf := make([]byte, refreshTokenLen)
	buf[0] = refreshTokenVersion
	copy(buf[1:17], s.id[:])
	binary.BigEndian.PutUint64(buf[17:25], uint64(counter))
	m := hmac.New(sha256.New, s.refreshKey)
	m.Write(buf[:25])
	copy(buf[25:], m.Sum(nil))
	return base64.RawURLEncoding.EncodeToString(buf)
}

// PresentedRefreshToken is a refresh token's parsed, not yet verified, content.
type PresentedRefreshToken struct {
	SessionID SessionID
	Counter   int64
	raw       []byte
}

// ParseRefreshToken decodes a refresh token (an optional "Bearer " prefix is
// accepted). It does not verify it: see Session.Verify.
func ParseRefreshToken(s string) (PresentedRefreshToken, error) {
	raw, err := base64.RawURLEncoding.DecodeString(StripBearer(s))
	if err != nil || len(raw) != refreshTokenLen || raw[0] != refreshTokenVersion {
		return PresentedRefreshToken{}, E(KindTokenInvalid)
	}
	var p PresentedRefreshToken
	copy(p.SessionID[:], raw[1:17])
	c := binary.BigEndian.Uint64(raw[17:25])
	if c == 0 || c > 1<<62 {
		return PresentedRefreshToken{}, E(KindTokenInvalid)
	}
	p.Counter = int64(c)
	p.raw = raw
	return p, nil
}

// Verify checks in constant time that the token was minted by this session.
func (s Session) Verify(p PresentedRefreshToken) error {
	if p.SessionID != s.id || len(p.raw) != refreshTokenLen {
		return E(KindTokenInvalid)
	}
	m := hmac.New(sha256.New, s.refreshKey)
	m.Write(p.raw[:25])
	if !hmac.Equal(m.Sum(nil), p.raw[25:]) {
		return E(KindTokenInvalid)
	}
	return nil
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
