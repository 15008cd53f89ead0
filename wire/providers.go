package wire

import (
	"log/slog"
	"time"

	"github.com/google/wire"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/iotplatform/enduser-auth/adapters/httpapi"
	"github.com/iotplatform/enduser-auth/adapters/postgres"
	"github.com/iotplatform/enduser-auth/adapters/ratelimit"
	"github.com/iotplatform/enduser-auth/adapters/secretbox"
	"github.com/iotplatform/enduser-auth/adapters/token"
	"github.com/iotplatform/enduser-auth/adapters/wechat"
	"github.com/iotplatform/enduser-auth/application"
)

// Module is the assembled module, as a host uses it.
type Module struct {
	// Service is the facade other modules call in-process.
	Service *application.Service
	// HTTP registers the endpoints on a group and offers the auth middleware.
	HTTP *httpapi.Handler
	// Store is the persistence adapter (readiness checks use its Ping).
	Store *postgres.Store
	// Tokens is the access-token issuer (Init loads or creates the signing key).
	Tokens *token.Issuer
	// Limits are the abuse limits (Unblock lifts a lockout).
	Limits *ratelimit.Limits
}

// NewBox builds the secret box from the master key.
func NewBox(key MasterKey) (*secretbox.Box, error) { return secretbox.New(key) }

// NewSystemClock provides the wall clock.
func NewSystemClock() application.Clock { return application.SystemClock{} }

// PersistenceSet provides the Postgres adapter behind every repository port.
// It takes the host's *gorm.DB.
var PersistenceSet = wire.NewSet(
	NewBox,
	postgres.NewStore,
	wire.Bind(new(application.UserDomainRepository), new(*postgres.Store)),
	wire.Bind(new(application.OfficialAccountRepository), new(*postgres.Store)),
	wire.Bind(new(application.DataCenterRepository), new(*postgres.Store)),
	wire.Bind(new(application.UserRepository), new(*postgres.Store)),
	wire.Bind(new(application.SessionRepository), new(*postgres.Store)),
	wire.Bind(new(application.SigningKeyRepository), new(*postgres.Store)),
)

// NewLimits assembles the abuse limits and the code replay guard's memory.
func NewLimits(cfg Config, clock application.Clock, log *slog.Logger, reg prometheus.Registerer) (*ratelimit.Limits, error) {
	return ratelimit.New(cfg.Limits, clock, log, reg)
}

// NewGuardedWeChat is the WeChat port the service uses: the client behind
// the code replay guard (a code goes to WeChat once).
func NewGuardedWeChat(c *wechat.Client, l *ratelimit.Limits) application.WeChatOAuth {
	return l.Guard(c)
}

// NewServiceOptions gives the service its limiter and WeChat cool-down.
func NewServiceOptions(cfg Config, l *ratelimit.Limits) []application.Option {
	opts := []application.Option{application.WithLimiter(l.Limiter)}
	if d := cfg.WeChatCoolDown; d > 0 {
		opts = append(opts, application.WithCoolDown(func(now time.Time) time.Time { return now.Add(d) }))
	}
	return opts
}

// NewHTTPOptions gives the HTTP adapter the trusted proxies.
func NewHTTPOptions(cfg Config) []httpapi.Option {
	return []httpapi.Option{httpapi.TrustProxies(cfg.TrustedProxies)}
}

// WeChatSet provides the WeChat OAuth client behind the code replay guard.
// It takes the host's *http.Client.
var WeChatSet = wire.NewSet(
	wechat.NewClient,
	NewGuardedWeChat,
)

// LimitsSet provides the abuse limits.
var LimitsSet = wire.NewSet(
	NewLimits,
	NewServiceOptions,
	NewHTTPOptions,
)

// TokenSet provides the access-token issuer.
var TokenSet = wire.NewSet(
	token.NewIssuer,
	wire.Bind(new(application.TokenIssuer), new(*token.Issuer)),
)

// ApplicationSet provides the facade and its HTTP adapter (with its metrics
// on the host's Prometheus registerer).
var ApplicationSet = wire.NewSet(
	NewSystemClock,
	application.NewService,
	httpapi.NewMetrics,
	httpapi.NewHandler,
)

// ModuleSet is everything; its inputs are Config, *gorm.DB, *http.Client,
// *slog.Logger and prometheus.Registerer (nil: no metrics).
var ModuleSet = wire.NewSet(
	wire.FieldsOf(new(Config), "MasterKey", "Application", "WeChat", "Token"),
	PersistenceSet,
	WeChatSet,
	TokenSet,
	LimitsSet,
	ApplicationSet,
	wire.Struct(new(Module), "*"),
)
