// Package token issues and verifies the access tokens: JWTs signed with
// Ed25519 keys that every instance shares through a KeyRepository (ports.go). It
// implements application.TokenIssuer.
//
// The JWT library is github.com/golang-jwt/jwt/v5: it is maintained, lets the
// verifier pin the accepted algorithms (WithValidMethods, so "none" and
// HS256-with-the-public-key confusion are rejected before any key is used)
// and validates the standard claims (exp, nbf, iat, iss) with a leeway and an
// injectable time. Ed25519 ("EdDSA") signs in about 18 µs on the target
// machine where RS256-2048 takes 715 µs, with small keys and tokens. The
// issuer's own tokens take a fast path (fastverify.go) with the same checks,
// so that a verification costs little more than its signature check; every
// other token goes through the library.
//
// The package's files: issuer.go (configuration, the Issuer), keyring.go (the
// key set and which key signs when), keycache.go (loading, refreshing,
// rotating and revoking keys), jwt.go (signing and parsing), fastverify.go
// (the fast path), jwks.go (the published key set), ports.go (the key
// repository it needs).
//
// A rotation publishes the new key before it signs: for Config.PublishDelay
// the new key is in the JWKS and verifies while the key it retired goes on
// signing, so that verifiers that cache the JWKS, and instances that have not
// reloaded the keys yet, know the new key before they meet its tokens.
package token

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/iotplatform/enduser-auth/application"
)

// Defaults of Config.
const (
	DefaultAccessTokenTTL     = 2 * time.Hour
	DefaultLeeway             = 30 * time.Second
	DefaultKeyRefreshInterval = time.Minute
	DefaultIssuer             = "enduser-auth"
	// DefaultPublishDelay is the JWKS endpoint's max-age (60s) plus
	// DefaultKeyRefreshInterval: by then every instance and every verifier
	// that caches the JWKS knows a new key.
	DefaultPublishDelay = 2 * time.Minute
)

const (
	// unknownKIDReloadInterval bounds the reloads that tokens with an unknown
	// kid can cause, so that a flood of garbage kids cannot hammer the store.
	unknownKIDReloadInterval = time.Second
	// refreshRetryInterval is how long a failed periodic refresh waits before
	// the next try; meanwhile the held keys keep serving.
	refreshRetryInterval = time.Second
	// maxTokenLen rejects absurd tokens before any decoding.
	maxTokenLen = 8 << 10
)

// Config configures the issuer. Zero fields take their defaults.
type Config struct {
	// AccessTokenTTL is the longest lifetime of an access token (default 2h).
	// It decides how long a retired key keeps verifying.
	AccessTokenTTL time.Duration
	// Leeway is the clock skew tolerated on exp, nbf and iat (default 30s).
	Leeway time.Duration
	// KeyRefreshInterval is how often the keys are reloaded from the store, so
	// that a rotation made elsewhere is picked up (default 1m).
	KeyRefreshInterval time.Duration
	// Issuer is the iss claim (default "enduser-auth").
	Issuer string
	// PublishDelay is how long a new key is only published (listed in the
	// JWKS, and accepted) before it signs, so that the instances and the
	// external verifiers that cache the JWKS know it before they meet its
	// tokens; meanwhile the key it retired keeps signing. Zero (or less) is
	// DefaultPublishDelay.
	PublishDelay time.Duration
	// PublishOff makes a new key sign as soon as it is stored (no publish
	// delay: a single instance without external verifiers, or tests).
	PublishOff bool
}

func (c Config) withDefaults() Config {
	if c.AccessTokenTTL <= 0 {
		c.AccessTokenTTL = DefaultAccessTokenTTL
	}
	if c.Leeway == 0 {
		c.Leeway = DefaultLeeway
	}
	if c.Leeway < 0 {
		c.Leeway = 0
	}
	if c.KeyRefreshInterval <= 0 {
		c.KeyRefreshInterval = DefaultKeyRefreshInterval
	}
	if c.Issuer == "" {
		c.Issuer = DefaultIssuer
	}
	switch {
	case c.PublishOff:
		c.PublishDelay = 0
	case c.PublishDelay <= 0:
		c.PublishDelay = DefaultPublishDelay
	}
	return c
}

// slack is how long a retired key must keep verifying beyond the lifetime of
// the last token it may have signed: other instances may sign with it until
// they reload (KeyRefreshInterval), and verifiers accept tokens Leeway past
// their exp.
func (c Config) slack() time.Duration { return c.KeyRefreshInterval + c.Leeway }

// verifySlack is how long after its retirement, beyond the token lifetime, a
// retired key keeps verifying: it signs for PublishDelay after its
// retirement, then slack applies.
func (c Config) verifySlack() time.Duration { return c.PublishDelay + c.slack() }

// Issuer signs and verifies access tokens. Keys are loaded lazily from the
// repository and cached; it is safe for concurrent use.
//
// The held keys are one immutable snapshot (keyState) behind an atomic
// pointer: signing and verifying read it without a lock. Loads from the
// repository (the first one, a due refresh, a rotation, a revocation, the
// revocation sync's reload, an unknown kid) are serialised by loadMu, so that
// there is never a thundering herd on the store; a due refresh is done by the
// one caller that claims it (see keys), the others go on with the held keys.
type Issuer struct {
	cfg   Config
	repo  KeyRepository
	clock application.Clock

	state atomic.Pointer[keyState]

	// loadMu serialises loads from the repository and guards lastKIDReload.
	loadMu        sync.Mutex
	lastKIDReload time.Time
}

// keyState is what the issuer holds: the key set and when it is due for a
// refresh. It is never modified once stored.
type keyState struct {
	set         *keySet
	nextRefresh time.Time
}

var (
	_ application.TokenIssuer        = (*Issuer)(nil)
	_ application.SigningKeyReloader = (*Issuer)(nil)
)

// NewIssuer returns an issuer. It does no I/O: keys are loaded on first use
// (or by Init). A nil clock is the wall clock.
func NewIssuer(cfg Config, keys KeyRepository, clock application.Clock) *Issuer {
	if clock == nil {
		clock = application.SystemClock{}
	}
	return &Issuer{cfg: cfg.withDefaults(), repo: keys, clock: clock}
}

// Init loads the keys now, creating the first signing key if there is none,
// so that a store that is down or misconfigured shows at start-up.
func (i *Issuer) Init(ctx context.Context) error {
	_, err := i.keys(ctx)
	return err
}
