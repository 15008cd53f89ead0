// Package wire assembles the module: provider sets per layer and the injector.
// Every constructor it uses is a plain function, so hand-wiring stays trivial
// (wire_gen.go is exactly that); `go tool wire diff ./wire/...` checks it is current.
package wire

import (
	"time"

	"github.com/iotplatform/enduser-auth/adapters/httpapi"
	"github.com/iotplatform/enduser-auth/adapters/postgres"
	"github.com/iotplatform/enduser-auth/adapters/ratelimit"
	"github.com/iotplatform/enduser-auth/adapters/token"
	"github.com/iotplatform/enduser-auth/adapters/wechat"
	"github.com/iotplatform/enduser-auth/application"
)

// Config is everything the module needs from its host's configuration. The
// host provides the shared infrastructure (*gorm.DB, *http.Client, logger).
type Config struct {
	// MasterKey encrypts secrets at rest (32 bytes).
	MasterKey MasterKey
	// OlderMasterKeys open what earlier master keys sealed, during a master
	// key rotation (`enduser keys rotate-master` re-encrypts under MasterKey).
	OlderMasterKeys OlderMasterKeys
	Application     application.Config
	WeChat          wechat.Config
	Token           token.Config
	// Audit configures the audit trail (NewConfig: on, 90 days).
	Audit AuditConfig
	// HTTP holds the HTTP adapter's settings: the trusted proxies (whose
	// X-Forwarded-For names the client; empty: the client IP is always the
	// peer) and the CORS origins.
	HTTP httpapi.Options
	// Limits are the abuse limits and the code replay guard (zero: limits
	// off, the replay guard in memory).
	Limits ratelimit.Settings
	// MigrateOnStart makes Module.Start apply the module's pending
	// migrations (migrations.Up) before it checks the schema. Off (the
	// default), the host migrates (migrations.Up beside its own modules', or
	// `enduser migrate up`) and Start refuses a schema behind the module's.
	MigrateOnStart bool
}

// AuditConfig configures the audit trail.
type AuditConfig struct {
	// Off switches the audit trail off: nothing is recorded.
	Off bool
	// Retention is how long records are kept (0: 90 days).
	Retention time.Duration
	// QueueSize bounds the records waiting to be written (0: 10,000).
	QueueSize int
}

// MasterKey is the 32-byte key that encrypts secrets at rest.
type MasterKey []byte

// OlderMasterKeys are the master keys that only decrypt (each 32 bytes).
type OlderMasterKeys [][]byte

// ConfigParams are what NewConfig derives the module's Config from. Zero
// means the default in every field.
type ConfigParams struct {
	// MasterKey encrypts secrets at rest (32 bytes).
	MasterKey []byte
	// Application is the service's policy (zero fields: its defaults).
	Application application.Config
	// WeChatBaseURL is WeChat's API base ("": wechat.DefaultBaseURL) and
	// WeChatTimeout bounds one exchange (zero: wechat.DefaultTimeout).
	WeChatBaseURL string
	WeChatTimeout time.Duration
	// KeyPublishDelay is how long a rotated-in signing key is only published
	// (JWKS) before it signs (zero: token.DefaultPublishDelay, which suits
	// the served JWKS); KeyPublishOff makes a new key sign at once.
	KeyPublishDelay time.Duration
	KeyPublishOff   bool
}

// NewConfig derives the adapters' settings from the policy settings so they
// agree (the token issuer's TTL is the service's effective access-token TTL,
// defined once, in application.DefaultConfig).
func NewConfig(p ConfigParams) Config {
	publishDelay := p.KeyPublishDelay
	if publishDelay <= 0 {
		publishDelay = token.DefaultPublishDelay
	}
	app := p.Application
	// The issuer must use the service's effective TTL, not a default of its own.
	ttl := app.WithDefaults().AccessTokenTTL
	if app.AccessTokenTTL <= 0 {
		app.AccessTokenTTL = ttl
	}
	return Config{
		MasterKey:   p.MasterKey,
		Application: app,
		WeChat:      wechat.Config{BaseURL: p.WeChatBaseURL, Timeout: p.WeChatTimeout},
		Token:       token.Config{AccessTokenTTL: ttl, PublishDelay: publishDelay, PublishOff: p.KeyPublishOff},
		Audit:       AuditConfig{Retention: postgres.DefaultAuditRetention},
	}
}
