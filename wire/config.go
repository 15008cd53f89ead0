// Package wire assembles the module: its one configuration (Config,
// LoadConfig), what the host lends it (Host), provider sets per layer and the
// injector, and the Module a host embeds (Start, Stop, the facades). Every
// constructor it uses is a plain function, so hand-wiring stays trivial
// (wire_gen.go is exactly that); `go tool wire diff ./wire/...` checks it is
// current.
package wire

import (
	"errors"
	"log/slog"
	"net/netip"
	"strings"
	"time"

	"github.com/iotplatform/enduser-auth/adapters/postgres"
	"github.com/iotplatform/enduser-auth/adapters/ratelimit"
	"github.com/iotplatform/enduser-auth/adapters/token"
	"github.com/iotplatform/enduser-auth/adapters/wechat"
	"github.com/iotplatform/enduser-auth/application"
)

// Config is the module's configuration: the one type a host fills in Go and
// LoadConfig reads from the documented ENDUSER_* variables (the enduser
// binary calls LoadConfig too, so a host that does gets the binary's
// behaviour). In every field zero means the default (DefaultConfig shows
// them; each is defined once, in the package that uses it); a setting that
// may be switched off has an Off field of its own. Two settings have no
// default: MasterKey (NewModule fails without one) and
// Application.DataCenter (Start fails without one).
type Config struct {
	// MasterKey encrypts secrets and keys at rest (32 bytes;
	// ENDUSER_MASTER_KEY's first key).
	MasterKey []byte
	// OlderMasterKeys only decrypt what earlier master keys sealed, during a
	// master key rotation (ENDUSER_MASTER_KEY's other keys).
	OlderMasterKeys [][]byte
	// Application is the policy: the data center (ENDUSER_DATA_CENTER, no
	// default), token and session lifetimes, caches, deletion, WeChat's
	// cool-down.
	Application application.Config
	// WeChat is WeChat's API base URL and the bound on one exchange.
	WeChat wechat.Config
	// SigningKeys says when a rotated-in signing key starts signing.
	SigningKeys SigningKeysConfig
	// Audit configures the audit trail (on by default).
	Audit AuditConfig
	// HTTP holds the HTTP adapter's settings.
	HTTP HTTPConfig
	// Limits are the abuse limits (on, in memory, by default) and where
	// their state is shared.
	Limits LimitsConfig
	// MigrateOnStart makes Start apply the module's pending migrations
	// instead of refusing a schema that is behind.
	MigrateOnStart bool
	// MetricsLabels are constant labels added to every metric of the module,
	// so that two module instances share one Prometheus registerer (each
	// with labels of its own) without colliding.
	MetricsLabels map[string]string
	// Binary holds the settings only the enduser binary reads (a host has
	// its own server, database and log level).
	Binary BinaryConfig
}

// SigningKeysConfig says when a rotated-in signing key starts signing.
type SigningKeysConfig struct {
	// PublishDelay is how long a new key is only published in the JWKS
	// before it signs (default token.DefaultPublishDelay: the JWKS's max-age
	// plus the key reload); PublishOff makes it sign at once.
	PublishDelay time.Duration
	PublishOff   bool
}

// AuditConfig configures the audit trail.
type AuditConfig struct {
	// Off switches the audit trail off: nothing is recorded.
	Off bool
	// Retention is how long records are kept (default
	// postgres.DefaultAuditRetention, 90 days).
	Retention time.Duration
	// QueueSize bounds the records waiting to be written (default 10,000).
	QueueSize int
}

// HTTPConfig holds the HTTP adapter's settings.
type HTTPConfig struct {
	// TrustedProxies are the load balancers: from them the client IP is the
	// right-most X-Forwarded-For hop outside the list, from anyone else the
	// peer; only their traceparent is continued and only their X-Request-Id
	// kept. It is the module's one client IP rule: the HTTP adapter offers it
	// to the host as an Echo IPExtractor.
	TrustedProxies []netip.Prefix
	// CORSOrigins are the browser origins allowed on the module's endpoints
	// (with credentials on the website login's two endpoints only).
	CORSOrigins []string
	// InsecureLoopbackCookie lets the website login's nonce cookie go
	// without Secure over plain HTTP on loopback (enduser dev sets it; no
	// variable).
	InsecureLoopbackCookie bool
}

// LimitsConfig configures the abuse limits and the code replay guard.
type LimitsConfig struct {
	// Off switches every abuse limit off (load tests; a gateway that limits
	// already). The code replay guard stays on whatever it says.
	Off bool
	// Thresholds are the limits' rates and counts (zero fields:
	// ratelimit.DefaultConfig's).
	Thresholds ratelimit.Config
	// RedisURL, when set (and the host lends no Redis client), shares the
	// limits' and the replay guard's state through Redis, so that N
	// instances allow what one would; otherwise each instance keeps its own
	// in memory.
	RedisURL string
	// RedisPrefix starts every Redis key (default "enduser:").
	RedisPrefix string
	// RedisTimeout bounds each Redis call of the limits (default
	// ratelimit.DefaultRedisTimeout), whatever client the host lent: past it
	// the decision is taken in memory, counted as a fall-back.
	RedisTimeout time.Duration
	// SyncInterval, with Redis, is how often each instance reconciles the
	// per-IP buckets it decides in memory with Redis (default
	// ratelimit.DefaultSyncInterval; see ratelimit.Local for the tolerance);
	// negative: every admission decided in Redis, one round trip more per
	// request, exact.
	SyncInterval time.Duration
}

// BinaryConfig holds the enduser binary's own settings.
type BinaryConfig struct {
	// DatabaseURL is PostgreSQL's URL (default DefaultDatabaseURL).
	DatabaseURL string
	// HTTPAddr is the listen address (default ":8080").
	HTTPAddr string
	// AdminAddr is the admin listener's address ("": the command's default;
	// "off": none).
	AdminAddr string
	// LogLevel is the log's level (default info).
	LogLevel slog.Level
	// InsecureDevKey lets serve and the admin commands use the public
	// development key when no master key is set.
	InsecureDevKey bool
	// HTTPReadTimeout bounds reading one request, body included (default
	// DefaultHTTPReadTimeout); HTTPIdleTimeout is how long an idle
	// keep-alive connection is held (default DefaultHTTPIdleTimeout);
	// HTTPMaxConns caps the connections served at once (default
	// DefaultHTTPMaxConns; past it new ones wait in the accept queue).
	HTTPReadTimeout time.Duration
	HTTPIdleTimeout time.Duration
	HTTPMaxConns    int
}

// The defaults that belong to this package.
const (
	// DefaultDatabaseURL is the binary's database when none is configured.
	DefaultDatabaseURL = "postgres://postgres@127.0.0.1:5432/enduser?sslmode=disable"
	// DefaultHTTPAddr is the binary's listen address.
	DefaultHTTPAddr = ":8080"
	// DefaultRedisPrefix starts the module's Redis keys.
	DefaultRedisPrefix = "enduser:"
	// DefaultHTTPReadTimeout, DefaultHTTPIdleTimeout and DefaultHTTPMaxConns
	// bound the binary's HTTP server.
	DefaultHTTPReadTimeout = 15 * time.Second
	DefaultHTTPIdleTimeout = 30 * time.Second
	DefaultHTTPMaxConns    = 4096
)

// DefaultConfig returns the configuration with every default spelled out
// (the values the zero Config takes): what LoadConfig starts from. The
// master key and the data center have none.
func DefaultConfig() Config {
	app := application.DefaultConfig()
	app.DataCenter = "" // none: a deployment must say which it is
	return Config{
		Application: app,
		WeChat:      wechat.Config{BaseURL: wechat.DefaultBaseURL, Timeout: wechat.DefaultTimeout},
		SigningKeys: SigningKeysConfig{PublishDelay: token.DefaultPublishDelay},
		Audit:       AuditConfig{Retention: postgres.DefaultAuditRetention},
		Limits: LimitsConfig{Thresholds: ratelimit.DefaultConfig(), RedisPrefix: DefaultRedisPrefix,
			RedisTimeout: ratelimit.DefaultRedisTimeout},
		Binary: BinaryConfig{DatabaseURL: DefaultDatabaseURL, HTTPAddr: DefaultHTTPAddr},
	}
}

// errNoDataCenter is Start's refusal when no data center is configured.
var errNoDataCenter = errors.New("enduser module: no data center configured: set ENDUSER_DATA_CENTER (Config.Application.DataCenter) to this deployment's data center code, as registered with `enduser datacenter set` (for example CN); every mcc check depends on it")

// checkStart is what Start checks of the configuration before it touches the
// database: a data center must be configured. It warns when the limits count
// per client IP but no proxy is trusted (behind a load balancer every user
// would share the balancer's bucket).
func (c Config) checkStart(log *slog.Logger) error {
	if strings.TrimSpace(c.Application.DataCenter) == "" {
		return errNoDataCenter
	}
	if !c.Limits.Off && len(c.HTTP.TrustedProxies) == 0 && log != nil {
		log.Warn("abuse limits are on and no trusted proxy is listed: the client IP is the peer's; behind a load balancer every user shares its bucket (set ENDUSER_TRUSTED_PROXIES, Config.HTTP.TrustedProxies)")
	}
	return nil
}

// tokenConfig is the issuer's configuration: its TTL is the service's
// effective access-token TTL, so the two agree.
func tokenConfig(c Config) token.Config {
	return token.Config{AccessTokenTTL: c.Application.WithDefaults().AccessTokenTTL,
		PublishDelay: c.SigningKeys.PublishDelay, PublishOff: c.SigningKeys.PublishOff}
}

// applicationConfig is the service's policy.
func applicationConfig(c Config) application.Config { return c.Application }

// wechatConfig is the WeChat client's configuration.
func wechatConfig(c Config) wechat.Config { return c.WeChat }
