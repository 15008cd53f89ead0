package domain

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"regexp"
	"strings"
	"time"
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
	// previousSecret is the secret replaced by the last rotation; it is
	// accepted before previousUntil only ("" or a zero time: none).
	previousSecret string
	previousUntil  time.Time
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

// WithPreviousSecret returns the domain with the secret a rotation replaced,
// valid before until. Only repositories call it, to rehydrate a stored
// domain: it skips validation.
func (d UserDomain) WithPreviousSecret(secret string, until time.Time) UserDomain {
	d.previousSecret, d.previousUntil = secret, until
	return d
}

// PreviousSecret is the secret the last rotation replaced and the instant it
// stops being accepted; "" and a zero time when there is none.
func (d UserDomain) PreviousSecret() (string, time.Time) { return d.previousSecret, d.previousUntil }

// RotateSecret returns the domain signing with newSecret from now on, the
// current secret staying valid for overlap (until now+overlap, exclusive).
// Only the immediately previous secret is kept: rotating again during an
// overlap ends the older one. An overlap of 0 ends the current secret at
// once. Errors: KindInvalid for a short secret, a negative overlap, or a new
// secret equal to the current or the previous one.
func (d UserDomain) RotateSecret(newSecret string, now time.Time, overlap time.Duration) (UserDomain, error) {
	switch {
	case len(newSecret) < MinUserDomainSecretLen:
		return UserDomain{}, Errorf(KindInvalid, "user domain secret must be at least %d characters", MinUserDomainSecretLen)
	case overlap < 0:
		return UserDomain{}, Errorf(KindInvalid, "the overlap must not be negative")
	case subtle.ConstantTimeCompare([]byte(newSecret), []byte(d.secret)) == 1,
		d.previousSecret != "" && subtle.ConstantTimeCompare([]byte(newSecret), []byte(d.previousSecret)) == 1:
		return UserDomain{}, Errorf(KindInvalid, "the new secret must differ from the current and the previous one")
	}
	if overlap == 0 {
		d.previousSecret, d.previousUntil = "", time.Time{}
	} else {
		d.previousSecret, d.previousUntil = d.secret, now.Add(overlap)
	}
	d.secret = newSecret
	return d, nil
}

// secretsAt are the secrets a signature may be made with at now: the current
// one first, then the previous one while its overlap lasts.
func (d UserDomain) secretsAt(now time.Time) []string {
	if d.previousSecret != "" && now.Before(d.previousUntil) {
		return []string{d.secret, d.previousSecret}
	}
	return []string{d.secret}
}

// SetEnabled returns the domain with its enabled flag changed.
func (d UserDomain) SetEnabled(on bool) UserDomain { d.enabled = on; return d }

// LoginSignature computes lowercase_hex(SHA-256(appID + code + secret)).
func LoginSignature(appID, code, secret string) string {
	sum := sha256.Sum256([]byte(appID + code + secret))
	return hex.EncodeToString(sum[:])
}

// VerifyLoginSignature checks a client's signature at now in constant time;
// upper- and lower-case hex are both accepted. The current secret is
// compared first, then, during a rotation's overlap, the previous one; every
// valid secret is compared whichever matches, so the time taken does not
// tell which one did.
func (d UserDomain) VerifyLoginSignature(appID, code, signature string, now time.Time) error {
	got, err := hex.DecodeString(strings.TrimSpace(signature))
	if err != nil || len(got) != sha256.Size {
		return E(KindSignatureInvalid)
	}
	ok := 0
	for _, secret := range d.secretsAt(now) {
		h := sha256.New()
		h.Write([]byte(appID))
		h.Write([]byte(code))
		h.Write([]byte(secret))
		ok |= subtle.ConstantTimeCompare(h.Sum(nil), got)
	}
	if ok != 1 {
		return E(KindSignatureInvalid)
	}
	return nil
}
