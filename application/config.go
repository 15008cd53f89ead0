package application

// The service's policy settings and their defaults.

import (
	"time"

	"github.com/iotplatform/enduser-auth/domain"
)

// Config holds the service's policy settings. In every field zero means
// "the default" (DefaultConfig, the one place the defaults are defined); a
// setting that may be switched off has an Off field of its own.
type Config struct {
	// DataCenter is the code of the data center this deployment serves (no
	// default: a deployment must say which it is; wire's Start refuses an
	// empty one, naming ENDUSER_DATA_CENTER).
	DataCenter string
	// AccessTokenTTL is the access token lifetime (default 2h).
	AccessTokenTTL time.Duration
	// RefreshTokenTTL is each refresh token's lifetime (default 30 days).
	RefreshTokenTTL time.Duration
	// SessionMaxLifetime is a session's absolute lifetime from login, which no
	// rotation extends (default 365 days).
	SessionMaxLifetime time.Duration
	// RefreshReuseGrace is how long after its first use a refresh token still
	// returns its child instead of revoking the session (default 10s).
	// RefreshReuseGraceOff means no grace window (a duplicate that races the
	// rotation itself still gets the child).
	RefreshReuseGrace    time.Duration
	RefreshReuseGraceOff bool
	// RevocationSyncInterval bounds how long a revocation made by another
	// instance takes to reach this one (default 5s).
	RevocationSyncInterval time.Duration
	// TenantCacheTTL is how long user domains, WeChat apps and data centers
	// are cached (default 5s; TenantCacheOff: not cached). A change made by
	// another process (the CLI, another instance) takes effect within it.
	TenantCacheTTL time.Duration
	TenantCacheOff bool
	// SessionPurgeInterval is how often Run deletes the sessions that ended
	// more than PurgeHorizon ago (default 10m; PurgeOff: never).
	SessionPurgeInterval time.Duration
	PurgeOff             bool
	// VerifiedTokenCacheSize bounds how many verified access tokens
	// VerifyAccessToken remembers, each until its expiry (default 65,536,
	// about 20 MB when full; VerifiedCacheOff: no cache).
	VerifiedTokenCacheSize int
	VerifiedCacheOff       bool
	// DeletionCoolingOff is how long after a type 2 deletion request the
	// account is erased unless a login cancels it (default 7 days).
	DeletionCoolingOff time.Duration
	// ErasureInterval is how often Run erases the accounts whose deletion is
	// due and retries the announcements of erasures not yet delivered
	// (default 1 minute).
	ErasureInterval time.Duration
	// WeChatCoolDown is how long an appId's exchanges pause after WeChat
	// answers 45011 (default: until the start of the next wall-clock minute,
	// WeChat's "retry next minute").
	WeChatCoolDown time.Duration
	// WeChatAuthorizeBaseURL is where a website login's authorizeUrl sends
	// the browser (default DefaultWeChatAuthorizeBaseURL; dev points it at
	// its fake).
	WeChatAuthorizeBaseURL string
}

// DefaultConfig returns the documented defaults: the only place they are
// defined.
func DefaultConfig() Config {
	return Config{
		AccessTokenTTL:         2 * time.Hour,
		RefreshTokenTTL:        30 * 24 * time.Hour,
		SessionMaxLifetime:     365 * 24 * time.Hour,
		RefreshReuseGrace:      10 * time.Second,
		RevocationSyncInterval: 5 * time.Second,
		TenantCacheTTL:         5 * time.Second,
		SessionPurgeInterval:   10 * time.Minute,
		VerifiedTokenCacheSize: DefaultVerifiedTokenCacheSize,
		DeletionCoolingOff:     domain.DefaultDeletionCoolingOff,
		ErasureInterval:        time.Minute,
		WeChatAuthorizeBaseURL: DefaultWeChatAuthorizeBaseURL,
	}
}

// WithDefaults returns c with every zero (or negative) setting replaced by
// its default, and the settings that are off zeroed: the effective
// configuration (Machinery.Config). DataCenter and WeChatCoolDown (zero: the
// next minute) are kept as they are.
func (c Config) WithDefaults() Config {
	def := DefaultConfig()
	orDefault := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	orDefault(&c.AccessTokenTTL, def.AccessTokenTTL)
	orDefault(&c.RefreshTokenTTL, def.RefreshTokenTTL)
	orDefault(&c.SessionMaxLifetime, def.SessionMaxLifetime)
	orDefault(&c.RefreshReuseGrace, def.RefreshReuseGrace)
	orDefault(&c.RevocationSyncInterval, def.RevocationSyncInterval)
	orDefault(&c.TenantCacheTTL, def.TenantCacheTTL)
	orDefault(&c.SessionPurgeInterval, def.SessionPurgeInterval)
	orDefault(&c.DeletionCoolingOff, def.DeletionCoolingOff)
	orDefault(&c.ErasureInterval, def.ErasureInterval)
	if c.VerifiedTokenCacheSize <= 0 {
		c.VerifiedTokenCacheSize = def.VerifiedTokenCacheSize
	}
	if c.WeChatAuthorizeBaseURL == "" {
		c.WeChatAuthorizeBaseURL = DefaultWeChatAuthorizeBaseURL
	}
	if c.WeChatCoolDown < 0 {
		c.WeChatCoolDown = 0
	}
	if c.RefreshReuseGraceOff {
		c.RefreshReuseGrace = 0
	}
	if c.TenantCacheOff {
		c.TenantCacheTTL = 0
	}
	if c.PurgeOff {
		c.SessionPurgeInterval = 0
	}
	if c.VerifiedCacheOff {
		c.VerifiedTokenCacheSize = 0
	}
	return c
}
