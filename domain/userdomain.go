package domain

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"regexp"
	"strings"
)

var userDomainPattern = regexp.MustCompile(`^[A-Za-z]\.DM\.[0-9]+\.[0-9]+$`)

// MinUserDomainSecretLen is the shortest secret accepted for a user domain.
const MinUserDomainSecretLen = 16

// ParseUserDomainName validates a user domain name such as C.DM.10271.5.
func ParseUserDomainName(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", E(KindUserDomainRequired)
	}
	if len(s) > 64 || !userDomainPattern.MatchString(s) {
		return "", E(KindUserDomainMalformed)
	}
	return s, nil
}

// UserDomain is a tenant of the platform: its end users, official accounts and
// the secret its clients sign login requests with.
type UserDomain struct {
	id      int64
	name    string
	secret  string
	enabled bool
}

// NewUserDomain validates a new, enabled user domain.
func NewUserDomain(name, secret string) (UserDomain, error) {
	n, err := ParseUserDomainName(name)
	if err != nil {
		return UserDomain{}, err
	}
	if len(secret) < MinUserDomainSecretLen {
		return UserDomain{}, Errorf(KindInvalid, "user domain secret must be at least %d characters", MinUserDomainSecretLen)
	}
	return UserDomain{name: n, secret: secret, enabled: true}, nil
}

// UnmarshalUserDomainFromDatabase rehydrates a stored user domain. Only
// repositories call it: it skips validation.
func UnmarshalUserDomainFromDatabase(id int64, name, secret string, enabled bool) UserDomain {
	return UserDomain{id: id, name: name, secret: secret, enabled: enabled}
}

// ID is the user domain's id.
func (d UserDomain) ID() int64 { return d.id }

// Name is the user domain's name.
func (d UserDomain) Name() string { return d.name }

// Secret is the user domain's secret.
func (d UserDomain) Secret() string { return d.secret }

// Enabled tells whether the user domain is enabled.
func (d UserDomain) Enabled() bool { return d.enabled }

// SetEnabled returns the domain with its enabled flag changed.
func (d UserDomain) SetEnabled(on bool) UserDomain { d.enabled = on; return d }

// LoginSignature computes lowercase_hex(SHA-256(appID + code + secret)).
func LoginSignature(appID, code, secret string) string {
	sum := sha256.Sum256([]byte(appID + code + secret))
	return hex.EncodeToString(sum[:])
}

// VerifyLoginSignature checks a client's signature in constant time; upper-
// and lower-case hex are both accepted.
func (d UserDomain) VerifyLoginSignature(appID, code, signature string) error {
	got, err := hex.DecodeString(strings.TrimSpace(signature))
	if err != nil || len(got) != sha256.Size {
		return E(KindSignatureInvalid)
	}
	h := sha256.New()
	h.Write([]byte(appID))
	h.Write([]byte(code))
	h.Write([]byte(d.secret))
	if subtle.ConstantTimeCompare(h.Sum(nil), got) != 1 {
		return E(KindSignatureInvalid)
	}
	return nil
}
