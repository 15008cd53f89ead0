package wire

import (
	"context"
	"log/slog"

	"github.com/google/wire"
	"github.com/prometheus/client_golang/prometheus"
	"gorm.io/gorm"

	"github.com/iotplatform/enduser-auth/adapters/httpapi"
	"github.com/iotplatform/enduser-auth/adapters/postgres"
	"github.com/iotplatform/enduser-auth/adapters/ratelimit"
	"github.com/iotplatform/enduser-auth/adapters/token"
	"github.com/iotplatform/enduser-auth/adapters/tracing"
	"github.com/iotplatform/enduser-auth/adapters/wechat"
	"github.com/iotplatform/enduser-auth/application"
)

// StoreMetrics marks the persistence adapter's metrics as registered:
// enduser_auth_db_retries_total (statements or transactions run again after
// a serialization failure or a deadlock) and
// enduser_auth_db_retries_exhausted_total (those that still failed after 10
// attempts: the caller answered 5000).
type StoreMetrics struct{}

// NewStoreMetrics registers the Store's retry counts on reg (nil: none).
func NewStoreMetrics(reg prometheus.Registerer, s *postgres.Store) (StoreMetrics, error) {
	if reg == nil {
		return StoreMetrics{}, nil
	}
	for _, c := range []prometheus.Collector{
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "enduser_auth_db_retries_total",
			Help: "Database statements or transactions run again after a serialization failure (40001) or a deadlock (40P01).",
		}, func() float64 { return float64(s.RetryCounts().Retries) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "enduser_auth_db_retries_exhausted_total",
			Help: "Database statements or transactions that still failed with 40001 or 40P01 after 10 attempts.",
		}, func() float64 { return float64(s.RetryCounts().Exhausted) }),
	} {
		if err := reg.Register(c); err != nil {
			return StoreMetrics{}, err
		}
	}
	return StoreMetrics{}, nil
}

// NewSystemClock provides the wall clock.
func NewSystemClock() application.Clock { return application.SystemClock{} }

// PersistenceSet provides the Postgres adapter behind every repository port,
// on a session of the host's *gorm.DB.
var PersistenceSet = wire.NewSet(
	moduleDB,
	moduleBox,
	postgres.NewStore,
	NewStoreMetrics,
	wire.Bind(new(application.UserDomainRepository), new(*postgres.Store)),
	wire.Bind(new(application.WeChatAppRepository), new(*postgres.Store)),
	wire.Bind(new(application.DataCenterRepository), new(*postgres.Store)),
	wire.Bind(new(application.UserRepository), new(*postgres.Store)),
	wire.Bind(new(application.SessionRepository), new(*postgres.Store)),
	wire.Bind(new(token.KeyRepository), new(*postgres.Store)),
	wire.Bind(new(application.AuditReader), new(*postgres.Store)),
	wire.Bind(new(application.AuditLister), new(*postgres.Store)),
	wire.Bind(new(application.SecretResealer), new(*postgres.Store)),
	wire.Bind(new(application.UserImporter), new(*postgres.Store)),
)

// NewLimits assembles the abuse limits and the code replay guard's memory.
func NewLimits(cfg Config, rc RedisConn, clock application.Clock, log *slog.Logger, reg prometheus.Registerer) (*ratelimit.Limits, error) {
	return ratelimit.New(limitSettings(cfg, rc), clock, log, reg)
}

// WeChatSet provides the WeChat OAuth client (the code replay guard is the
// service's ExchangeGate, ratelimit.Limits, which claims each code just
// before the call). It takes the host's *http.Client.
var WeChatSet = wire.NewSet(
	wechatConfig,
	moduleHTTPClient,
	wechat.NewClient,
	wire.Bind(new(application.WeChatOAuth), new(*wechat.Client)),
)

// LimitsSet provides the abuse limits.
var LimitsSet = wire.NewSet(
	moduleRedis,
	NewLimits,
)

// TokenSet provides the access-token issuer.
var TokenSet = wire.NewSet(
	tokenConfig,
	token.NewIssuer,
	wire.Bind(new(application.TokenIssuer), new(*token.Issuer)),
)

// ApplicationSet provides the facades and their HTTP adapter (with its
// metrics on the host's Prometheus registerer).
var ApplicationSet = wire.NewSet(
	applicationConfig,
	NewSystemClock,
	NewAuditWriter,
	NewApplicationDeps,
	application.New,
	httpapi.NewMetrics,
	NewHTTPHandler,
)

// NewAuditWriter provides the audit trail's writer (nil when cfg.Audit.Off)
// and counts its losses on reg. Its openid hashing key is the one stored
// sealed in the database (store.AuditOpenIDKey), first derived from the
// master key, so that it outlives a master key rotation; it is read at
// Module.Start (or at the first write), never here: building the module does
// no I/O.
func NewAuditWriter(cfg Config, store *postgres.Store, db *gorm.DB, log *slog.Logger, reg prometheus.Registerer) (*postgres.AuditWriter, error) {
	if cfg.Audit.Off {
		return nil, nil //nolint:nilnil // audit off: a nil *AuditWriter is the valid "no trail" value
	}
	seed := postgres.DeriveAuditKey(cfg.MasterKey)
	w := postgres.NewAuditWriter(db, postgres.AuditConfig{Retention: cfg.Audit.Retention, QueueSize: cfg.Audit.QueueSize,
		LoadOpenIDKey: func(ctx context.Context) ([]byte, error) { return store.AuditOpenIDKey(ctx, seed) },
		Code:          httpapi.CodeOf}, log)
	if reg != nil {
		for reason, f := range map[string]func() uint64{"queue_full": w.Dropped, "write_failed": w.Failed, "shutdown": w.Abandoned} {
			c := prometheus.NewCounterFunc(prometheus.CounterOpts{
				Name: "enduser_auth_audit_dropped_total",
				Help: "Audit records lost: the queue was full (queue_full), the database refused the batch (write_failed) " +
					"or they were still queued when the shutdown's deadline passed (shutdown).",
				ConstLabels: prometheus.Labels{"reason": reason},
			}, func() float64 { return float64(f()) })
			if err := reg.Register(c); err != nil {
				return nil, err
			}
		}
	}
	return w, nil
}

// NewApplicationDeps gathers the facades' ports: the one store behind every
// repository (the unblock requests', the import's, the audit listing's and
// the master key re-encryption's too), the issuer, the WeChat client, the
// abuse limiter (its in-memory lockouts, which the unblock requests lift,
// and the shared ones in Redis, which an operator's unblock lifts at once),
// the exchange gate (cap, cool-down and code replay guard) and the audit
// trail (when there is one; user exports read it even when recording is
// off: the records kept from before are the user's).
func NewApplicationDeps(clock application.Clock, wechat application.WeChatOAuth, store *postgres.Store, tokens application.TokenIssuer,
	log *slog.Logger, limits *ratelimit.Limits, audit *postgres.AuditWriter) application.Deps {
	d := application.Deps{Clock: clock, WeChat: wechat, Domains: store, Apps: store, DataCenters: store, Users: store,
		Sessions: store, Tokens: tokens, Log: log, Limiter: limits.Limiter,
		Exchanges: limits, AuditTrail: store, IPUnblocks: store, Lockouts: limits,
		SharedLockouts: limits, Importer: store, AuditList: store, Secrets: store, ForcedRefreshes: store}
	if p, ok := wechat.(application.WeChatPhoneAPI); ok { // the WeChat client speaks the phone number's calls too
		d.WeChatPhone = p
	}
	if audit != nil { // a nil *AuditWriter must not become a non-nil AuditLog
		d.Audit = audit
	}
	return d
}

// NewHTTPHandler provides the HTTP adapter of the end users' facade (and of
// the other modules', for its token checks) with its settings.
func NewHTTPHandler(app application.Facades, log *slog.Logger, metrics *httpapi.Metrics, cfg Config, tr tracing.Options) *httpapi.Handler {
	return httpapi.NewHandler(app.EndUsers, app.Auth, log, metrics, httpOptions(cfg, tr))
}

// HostSet provides what the module takes of its host's world (Host): the
// logger, the metrics registerer with the module's labels, the tracer
// provider and propagator.
var HostSet = wire.NewSet(
	moduleLogger,
	moduleRegisterer,
	moduleTracing,
)

// ModuleSet is everything; its inputs are Config and Host.
var ModuleSet = wire.NewSet(
	HostSet,
	PersistenceSet,
	WeChatSet,
	TokenSet,
	LimitsSet,
	ApplicationSet,
	newModule,
)
