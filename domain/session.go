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

// StartedAt is the session's start as its id records it (the Unix
// millisecond of a version-7 id: the login time, truncated to the
// millisecond). An id of another version (none is made any more) reports
// false: its start is unknown, so any scope revocation covers it.
func (id SessionID) StartedAt() (time.Time, bool) {
	if id[6]>>4 != 7 {
		return time.Time{}, false
	}
	var ms [8]byte
	copy(ms[2:], id[:6])
	return time.UnixMilli(int64(binary.BigEndian.Uint64(ms[:]))).UTC(), true
}

// RevokedBy reports whether a scope revocation "every session started at
// or before revokedBefore has ended" covers a session that started at
// started: compared at millisecond precision (what a session id records),
// so that a verification, which knows the start from the id, and a refresh,
// which reads the stored start, decide alike.
func RevokedBy(started, revokedBefore time.Time) bool {
	if revokedBefore.IsZero() {
		return false
	}
	return !revokedBefore.Before(started.Truncate(time.Millisecond))
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
//
// The secret key is of one of two kinds, which decides the version of the
// session's tokens for its whole life:
//
//   - version 1 (NewSession): a random key of the session's own, stored
//     (encrypted) with it, so a refresh must read it before it can check a
//     token;
//   - version 2 (NewSessionV2): a key derived with HKDF-SHA-256 from a
//     RefreshMasterKey and the session id. Nothing is stored (RefreshKey is
//     empty), the token names its master key, and a refresh checks it in
//     memory before it touches the database. A version-2 session read back
//     from storage has no key until WithMasterKey gives it one.
type Session struct {
	id               SessionID
	userID           string
	userDomainID     int64
	userDomain       string
	appID            string
	refreshKey       []byte // v1: the stored key; v2: the derived key (nil until WithMasterKey)
	derived          bool   // version 2: refreshKey is derived from master key keyID
	keyID            uint32
	counter          int64
	createdAt        time.Time
	expiresAt        time.Time
	refreshExpiresAt time.Time
	rotatedAt        time.Time
	revokedAt        time.Time
}

// NewSession starts a version-1 session (a random refresh key of its own,
// stored with it) at now; its first refresh token lives refreshTTL, and the
// session itself at most absoluteTTL. Logins start version-2 sessions
// (NewSessionV2); version 1 is what sessions started before refresh master
// keys existed are.
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

// NewSessionV2 starts a version-2 session at now, like NewSession, whose
// refresh tokens are keyed by a key derived from mk and the session id.
func NewSessionV2(userID string, userDomainID int64, userDomain, appID string, now time.Time, refreshTTL, absoluteTTL time.Duration,
	mk RefreshMasterKey) Session {
	s := Session{
		id: newSessionIDAt(now), userID: userID, userDomainID: userDomainID, userDomain: userDomain, appID: appID,
		counter: 1, createdAt: now, expiresAt: now.Add(absoluteTTL),
	}
	s.refreshExpiresAt = minTime(now.Add(refreshTTL), s.expiresAt)
	s.derived, s.keyID, s.refreshKey = true, mk.id, mk.sessionKey(s.id)
	return s
}

// UnmarshalSessionFromDatabase rehydrates a stored session. An empty
// refreshKey (what RefreshKey stores for a version-2 session) makes a
// version-2 session without its key: see WithMasterKey.
func UnmarshalSessionFromDatabase(id SessionID, userID string, userDomainID int64, userDomain, appID string, refreshKey []byte,
	counter int64, createdAt, expiresAt, refreshExpiresAt, rotatedAt, revokedAt time.Time) Session {
	s := Session{id: id, userID: userID, userDomainID: userDomainID, userDomain: userDomain, appID: appID,
		refreshKey: refreshKey, counter: counter, createdAt: createdAt, expiresAt: expiresAt,
		refreshExpiresAt: refreshExpiresAt, rotatedAt: rotatedAt, revokedAt: revokedAt}
	if len(refreshKey) == 0 {
		s.derived, s.refreshKey = true, nil
	}
	return s
}

// WithMasterKey returns the version-2 session s with its refresh key, derived
// from mk (the master key its tokens name). A version-1 session has a key
// of its own and no master key: KindTokenInvalid.
func (s Session) WithMasterKey(mk RefreshMasterKey) (Session, error) {
	if !s.derived || len(mk.secret) != RefreshMasterKeySize {
		return Session{}, E(KindTokenInvalid)
	}
	s.keyID, s.refreshKey = mk.id, mk.sessionKey(s.id)
	return s, nil
}

// ID is the session's id.
func (s Session) ID() SessionID { return s.id }

// UserID is the id of the session's user.
func (s Session) UserID() string { return s.userID }

// UserDomainID is the id of the user's user domain.
func (s Session) UserDomainID() int64 { return s.userDomainID }

// UserDomain is the name of the user's user domain.
func (s Session) UserDomain() string { return s.userDomain }

// AppID is the official account the session was started through.
func (s Session) AppID() string { return s.appID }

// RefreshKey is the key to store with the session: a version-1 session's own
// key; nothing (nil) for a version-2 session, whose key is derived.
func (s Session) RefreshKey() []byte {
	if s.derived {
		return nil
	}
	return s.refreshKey
}

// TokenVersion is the version of the session's refresh tokens (1 or 2).
func (s Session) TokenVersion() int {
	if s.derived {
		return RefreshTokenV2
	}
	return RefreshTokenV1
}

// MasterKeyID is the id of the master key a version-2 session's key is
// derived from (0 for version 1, and for a version-2 session without its key).
func (s Session) MasterKeyID() uint32 { return s.keyID }

// Counter is the number of the session's current refresh token.
func (s Session) Counter() int64 { return s.counter }

// CreatedAt is when the session was started.
func (s Session) CreatedAt() time.Time { return s.createdAt }

// ExpiresAt is when the session ends at the latest (its absolute lifetime).
func (s Session) ExpiresAt() time.Time { return s.expiresAt }

// RefreshExpiresAt is when the current refresh token expires.
func (s Session) RefreshExpiresAt() time.Time { return s.refreshExpiresAt }

// RotatedAt is when the refresh token was last rotated.
func (s Session) RotatedAt() time.Time { return s.rotatedAt }

// RevokedAt is when the session was revoked (zero if it was not).
func (s Session) RevokedAt() time.Time { return s.revokedAt }

// Revoked tells whether the session was revoked.
func (s Session) Revoked() bool { return !s.revokedAt.IsZero() }

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

// RefreshToken returns the session's current refresh token. A version-2
// session without its key (see WithMasterKey) has none: the zero Token.
func (s Session) RefreshToken() Token {
	v := s.refreshTokenFor(s.counter)
	if v == "" {
		return Token{}
	}
	return Token{Value: v, ExpiresAt: s.refreshExpiresAt}
}

// Refresh token versions.
const (
	RefreshTokenV1 = 1
	RefreshTokenV2 = 2
)

// Refresh token layouts (then base64url without padding):
//
//	v1: 0x01 | session id(16) | counter(8)              | HMAC-SHA256(session's key, the bytes before)(32)  57 bytes
//	v2: 0x02 | master key id(4) | session id(16) | counter(8) | HMAC-SHA256(derived key, the bytes before)(32)  61 bytes
const (
	refreshTokenLen   = 1 + 16 + 8 + sha256.Size
	refreshTokenV2Len = 1 + 4 + 16 + 8 + sha256.Size
)

func (s Session) refreshTokenFor(counter int64) string {
	if len(s.refreshKey) != RefreshKeySize {
		return "" // a version-2 session read back without its key: nothing to sign with
	}
	var buf []byte
	if s.derived {
		buf = make([]byte, refreshTokenV2Len)
		buf[0] = RefreshTokenV2
		binary.BigEndian.PutUint32(buf[1:5], s.keyID)
		copy(buf[5:21], s.id[:])
		binary.BigEndian.PutUint64(buf[21:29], uint64(counter))
	} else {
		buf = make([]byte, refreshTokenLen)
		buf[0] = RefreshTokenV1
		copy(buf[1:17], s.id[:])
		binary.BigEndian.PutUint64(buf[17:25], uint64(counter))
	}
	body := len(buf) - sha256.Size
	m := hmac.New(sha256.New, s.refreshKey)
	m.Write(buf[:body])
	copy(buf[body:], m.Sum(nil))
	return base64.RawURLEncoding.EncodeToString(buf)
}

// PresentedRefreshToken is a refresh token's parsed, not yet verified, content.
type PresentedRefreshToken struct {
	// Version is RefreshTokenV1 or RefreshTokenV2.
	Version int
	// MasterKeyID names the master key of a version-2 token (0 for version 1).
	MasterKeyID uint32
	SessionID   SessionID
	Counter     int64
	raw         []byte
}

// ParseRefreshToken decodes a refresh token of either version (an optional
// "Bearer " prefix is accepted). It does not verify it: see Session.Verify
// and RefreshMasterKey.Verify.
func ParseRefreshToken(s string) (PresentedRefreshToken, error) {
	s = StripBearer(s)
	if len(s) > base64.RawURLEncoding.EncodedLen(refreshTokenV2Len) {
		return PresentedRefreshToken{}, E(KindTokenInvalid)
	}
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(raw) == 0 {
		return PresentedRefreshToken{}, E(KindTokenInvalid)
	}
	var p PresentedRefreshToken
	var rest []byte
	switch {
	case raw[0] == RefreshTokenV1 && len(raw) == refreshTokenLen:
		p.Version, rest = RefreshTokenV1, raw[1:]
	case raw[0] == RefreshTokenV2 && len(raw) == refreshTokenV2Len:
		p.Version, p.MasterKeyID, rest = RefreshTokenV2, binary.BigEndian.Uint32(raw[1:5]), raw[5:]
	default:
		return PresentedRefreshToken{}, E(KindTokenInvalid)
	}
	copy(p.SessionID[:], rest[0:16])
	c := binary.BigEndian.Uint64(rest[16:24])
	if c == 0 || c > 1<<62 {
		return PresentedRefreshToken{}, E(KindTokenInvalid)
	}
	p.Counter = int64(c)
	p.raw = raw
	return p, nil
}

// Verify checks in constant time that the token was minted by this session:
// its version and master key are the session's, and its HMAC is right.
func (s Session) Verify(p PresentedRefreshToken) error {
	if p.SessionID != s.id || p.Version != s.TokenVersion() || (s.derived && p.MasterKeyID != s.keyID) {
		return E(KindTokenInvalid)
	}
	return checkRefreshMAC(s.refreshKey, p)
}

// checkRefreshMAC checks the HMAC of p under key, in constant time.
func checkRefreshMAC(key []byte, p PresentedRefreshToken) error {
	want := refreshTokenLen
	if p.Version == RefreshTokenV2 {
		want = refreshTokenV2Len
	}
	if len(key) != RefreshKeySize || len(p.raw) != want {
		return E(KindTokenInvalid)
	}
	body := len(p.raw) - sha256.Size
	m := hmac.New(sha256.New, key)
	m.Write(p.raw[:body])
	if !hmac.Equal(m.Sum(nil), p.raw[body:]) {
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
