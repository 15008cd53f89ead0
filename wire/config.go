// Package wire assembles the module: provider sets per layer and the injector.
// Every constructor it uses is a plain function, so hand-wiring stays trivial
// (wire_gen.go is exactly that); `go tool wire diff ./wire/...` checks it is current.
package wire

import (
	"net/netip"
	"time"

	"github.com/iotplatform/enduser-auth/adapters/ratelimit"
	"github.com/iotplatform/enduser-auth/adapters/token"
	"github.com/iotplatform/enduser-auth/adapters/wechat"
	"github.com/iotplatform/enduser-auth/application"
)

// Config is everything the module needs from its host's configuration. The
// host provides the shared infrastructure (*gorm.DB, *http.Client, logger).
type Config struct {
	// MasterKey encrypts secrets at rest (32 bytes).
	MasterKey   MasterKey
	Application application.Config
	WeChat      wechat.Config
	Token       token.Config
	// Limits are the abuse limits and the code replay guard (zero: limits
	// off, the replay guard in memory).
	Limits ratelimit.Settings
	// WeChatCoolDown is how long an appId's exchanges pause after WeChat
	// answers 45011 (zero: until the next wall-clock minute).
	WeChatCoolDown time.Duration
	// TrustedProxies are the peers whose X-Forwarded-For names the client
	// (empty: the client IP is always the peer).
	TrustedProxies []netip.Prefix
}

// MasterKey is the 32-byte key that encrypts secrets at rest.
type MasterKey []byte

// NewConfig derives the adapters' settings from the policy settings so they
// agree (the token issuer's TTL is the service's access-token TTL).
// keyPublishDelay is how long a new signing key is published before it signs
// (token.DefaultPublishDelay suits the served JWKS); zero or less means a new
// key signs at once.
func NewConfig(masterKey []byte, app application.Config, wechatBaseURL string, wechatTimeout, keyPublishDelay time.Duration) Config {
	if keyPublishDelay <= 0 {
		keyPublishDelay = token.NoPublishDelay // token.Config's zero is its default
	}
	if app.AccessTokenTTL <= 0 {
		// The issuer must use the service's effective TTL, not a default of its own.
		app.AccessTokenTTL = application.DefaultConfig().AccessTokenTTL
	}
	return Config{
		MasterKey:   masterKey,
		Application: app,
		WeChat:      wechat.Config{BaseURL: wechatBaseURL, Timeout: wechatTimeout},
		Token:       token.Config{AccessTokenTTL: app.AccessTokenTTL, PublishDelay: keyPublishDelay},
	}
}
