package wire

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"gorm.io/gorm"

	"github.com/iotplatform/enduser-auth/adapters/httpapi"
	"github.com/iotplatform/enduser-auth/adapters/postgres"
	"github.com/iotplatform/enduser-auth/adapters/ratelimit"
	"github.com/iotplatform/enduser-auth/adapters/secretbox"
	"github.com/iotplatform/enduser-auth/adapters/tracing"
	"github.com/iotplatform/enduser-auth/adapters/wechat"
	"github.com/iotplatform/enduser-auth/application"
)

// Host is what the host lends the module: its database, and the parts of its
// world the module's logs, metrics and traces belong to. Only DB is
// required.
type Host struct {
	// DB is the host's database handle; the module uses a session of it
	// (the same pool) whose GORM logger is the module's, so that its SQL
	// errors go to Logger, never to GORM's stdout logger.
	DB *gorm.DB
	// HTTPClient calls WeChat (nil: wechat.NewHTTPClient with the
	// configured timeout, which keeps many idle connections and follows no
	// redirect).
	HTTPClient *http.Client
	// Logger receives the module's log lines (nil: discarded). Lines logged
	// during a request carry its request id and client IP.
	Logger *slog.Logger
	// Metrics registers the module's metrics (nil: none), with
	// Config.MetricsLabels added to each.
	Metrics prometheus.Registerer
	// TracerProvider and Propagator are the host's OpenTelemetry ones (nil:
	// otel's globals): a span the host started around a request is the
	// parent of the module's.
	TracerProvider trace.TracerProvider
	Propagator     propagation.TextMapPropagator
	// Redis shares the limits' state between instances (nil: a client of
	// Config.Limits.RedisURL when set, else each instance's memory). The
	// module never closes a client the host lent it.
	Redis redis.UniversalClient
}

// errNoDB is NewModule's refusal without a database.
var errNoDB = errors.New("enduser module: Host.DB is nil: the module needs the host's *gorm.DB")

// moduleLogger is the host's logger (or one that discards), whose lines
// logged during a request carry its request id and client IP.
func moduleLogger(h Host) *slog.Logger {
	log := h.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return slog.New(application.ContextLogHandler(log.Handler()))
}

// moduleDB is the module's session of the host's database.
func moduleDB(h Host, log *slog.Logger) (*gorm.DB, error) {
	if h.DB == nil {
		return nil, errNoDB
	}
	return postgres.WithModuleLogger(h.DB, log), nil
}

// moduleHTTPClient is the client that calls WeChat.
func moduleHTTPClient(c Config, h Host) *http.Client {
	if h.HTTPClient != nil {
		return h.HTTPClient
	}
	return wechat.NewHTTPClient(c.WeChat.Timeout)
}

// moduleRegisterer is the host's registerer with the configured labels (nil:
// no metrics).
func moduleRegisterer(c Config, h Host) prometheus.Registerer {
	if h.Metrics == nil {
		return nil
	}
	reg := h.Metrics
	if len(c.MetricsLabels) > 0 {
		reg = prometheus.WrapRegistererWith(prometheus.Labels(c.MetricsLabels), reg)
	}
	return hintingRegisterer{reg}
}

// hintingRegisterer says, when a metric is already registered, how two
// module instances share one registerer.
type hintingRegisterer struct{ prometheus.Registerer }

func (r hintingRegisterer) Register(c prometheus.Collector) error {
	err := r.Registerer.Register(c)
	var dup prometheus.AlreadyRegisteredError
	if errors.As(err, &dup) {
		return fmt.Errorf("%w (another module instance on this registerer? give each its own Config.MetricsLabels)", err)
	}
	return err
}

func (r hintingRegisterer) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		if err := r.Register(c); err != nil {
			panic(err)
		}
	}
}

// moduleTracing is the host's tracer provider and propagator.
func moduleTracing(h Host) tracing.Options {
	return tracing.Options{Provider: h.TracerProvider, Propagator: h.Propagator}
}

// moduleBox is the secret box: the master key seals, it and the older keys
// open.
func moduleBox(c Config) (*secretbox.Box, error) {
	if len(c.MasterKey) == 0 {
		return nil, errors.New("enduser module: no master key: set ENDUSER_MASTER_KEY (Config.MasterKey) to 32 random bytes (openssl rand -base64 32)")
	}
	return secretbox.NewKeyring(c.MasterKey, c.OlderMasterKeys...)
}

// httpOptions are the HTTP adapter's settings.
func httpOptions(c Config, tr tracing.Options) httpapi.Options {
	return httpapi.Options{TrustedProxies: c.HTTP.TrustedProxies, CORSOrigins: c.HTTP.CORSOrigins, Tracing: tr,
		InsecureLoopbackCookie: c.HTTP.InsecureLoopbackCookie}
}

// RedisConn is the Redis client of the limits: the host's, or one the module
// opened from Config.Limits.RedisURL (which Stop closes), or none.
type RedisConn struct {
	Client redis.UniversalClient
	owned  bool
}

// moduleRedis is the limits' Redis client. Building a client does no I/O:
// it connects on its first command.
func moduleRedis(c Config, h Host) (RedisConn, error) {
	if h.Redis != nil {
		if rc, ok := h.Redis.(*redis.Client); !ok || rc != nil {
			return RedisConn{Client: h.Redis}, nil
		}
	}
	if c.Limits.RedisURL == "" {
		return RedisConn{}, nil
	}
	rdb, err := NewRedisClient(c.Limits.RedisURL)
	if err != nil {
		return RedisConn{}, err
	}
	return RedisConn{Client: rdb, owned: true}, nil
}

// Close closes the client when the module opened it.
func (r RedisConn) Close() error {
	if r.owned && r.Client != nil {
		return r.Client.Close()
	}
	return nil
}

// limitSettings are the limits' settings on rc.
func limitSettings(c Config, rc RedisConn) ratelimit.Settings {
	prefix := c.Limits.RedisPrefix
	if prefix == "" {
		prefix = DefaultRedisPrefix
	}
	return ratelimit.Settings{Enabled: !c.Limits.Off, Config: c.Limits.Thresholds, Redis: rc.Client, Prefix: prefix,
		RedisTimeout: c.Limits.RedisTimeout, SyncInterval: c.Limits.SyncInterval}
}

// NewRedisClient opens the Redis client of a redis:// URL with short timeouts
// and no retries unless the URL sets them: a failing Redis must cost a request
// little before the limits fall back to memory. It connects on first use.
func NewRedisClient(rawURL string) (*redis.Client, error) {
	opts, err := redis.ParseURL(rawURL)
	if err != nil {
		return nil, errors.New("ENDUSER_REDIS_URL: " + err.Error())
	}
	q := ""
	if u, err := url.Parse(rawURL); err == nil {
		q = u.RawQuery
	}
	if !strings.Contains(q, "dial_timeout") {
		opts.DialTimeout = 500 * time.Millisecond
	}
	if !strings.Contains(q, "read_timeout") {
		opts.ReadTimeout = 250 * time.Millisecond
	}
	if !strings.Contains(q, "write_timeout") {
		opts.WriteTimeout = 250 * time.Millisecond
	}
	if !strings.Contains(q, "max_retries") {
		opts.MaxRetries = -1
	}
	opts.DialerRetries = 1
	// The socket honours the limits' own deadline (Limits.RedisTimeout)
	// through the context, so no watcher is needed per call.
	opts.ContextTimeoutEnabled = true
	return redis.NewClient(opts), nil
}
