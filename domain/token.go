package domain

import (
	"strings"
	"time"
)

// AccessTokenType is the value of the access token's "type" claim.
const AccessTokenType = "AccessToken"

// Token is a bearer token and the instant after which it is invalid.
type Token struct {
	Value     string
	ExpiresAt time.Time
}

// TokenPair is what a login or a refresh returns.
type TokenPair struct {
	Access  Token
	Refresh Token
}

// AccessClaims are the claims of an access token.
type AccessClaims struct {
	UID        string
	UserDomain string
	AppID      string
	SessionID  SessionID
	TokenID    string
	IssuedAt   time.Time
	ExpiresAt  time.Time
}

// Principal is the authenticated caller behind a verified access token.
type Principal struct {
	UID        string
	UserDomain string
	AppID      string
	SessionID  SessionID
	ExpiresAt  time.Time
}

// StripBearer removes an optional, case-insensitive "Bearer " prefix.
func StripBearer(s string) string {
	s = strings.TrimSpace(s)
	if strings.EqualFold(s, "bearer") {
		return ""
	}
	if len(s) >= 7 && strings.EqualFold(s[:7], "bearer ") {
		s = strings.TrimSpace(s[7:])
	}
	return s
}

// SigningKeyAlgorithm is the JWS algorithm of access tokens: Ed25519.
const SigningKeyAlgorithm = "EdDSA"

// SigningKey is one key pair that signs access tokens. The newest key that is
// not retired signs; a retired key keeps verifying until every token it
// signed has expired (see VerifiesUntil).
type SigningKey struct {
	KID        string
	Algorithm  string
	PublicKey  []byte // Ed25519 public key, 32 bytes
	PrivateKey []byte // Ed25519 private key, 64 bytes (encrypted at rest)
	CreatedAt  time.Time
	RetiredAt  time.Time // zero while the key signs
}

// Retired reports whether the key has stopped signing.
func (k SigningKey) Retired() bool { return !k.RetiredAt.IsZero() }

// VerifiesUntil is the instant after which no token signed by the key can be
// valid: its retirement plus the longest access token lifetime plus slack
// (instances pick up a new signer with some delay, and verifiers allow leeway).
func (k SigningKey) VerifiesUntil(accessTTL, slack time.Duration) time.Time {
	if !k.Retired() {
		return time.Time{}
	}
	return k.RetiredAt.Add(accessTTL + slack)
}
