package main

import (
	"context"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"math"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/iotplatform/enduser-auth/adapters/postgres"
	"github.com/redis/go-redis/v9"

	"github.com/iotplatform/enduser-auth/adapters/ratelimit"
	"github.com/iotplatform/enduser-auth/adapters/secretbox"
	"github.com/iotplatform/enduser-auth/adapters/token"
	"github.com/iotplatform/enduser-auth/adapters/wechat"
	"github.com/iotplatform/enduser-auth/application"
)

// config is the process configuration, read from ENDUSER_* variables; flags
// may override some of it. Hand-written rather than a library because every
// error must name the variable and there are a dozen of them.
type config struct {
	DatabaseURL   string
	HTTPAddr      string
	WeChatBaseURL string
	WeChatTimeout time.Duration
	// MasterKey is nil when ENDUSER_MASTER_KEY is not set.
	MasterKey []byte
	// OlderMasterKeys are the keys after the first in ENDUSER_MASTER_KEY:
	// they only decrypt (a master key rotation in progress).
	OlderMasterKeys [][]byte
	InsecureDevKey  bool
	LogLevel        slog.Level
	App             application.Config
	// SigningKeyPublishDelay is how long a rotated-in signing key is only
	// published (JWKS) before it signs; SigningKeyPublishOff (the variable
	// set to 0) signs at once.
	SigningKeyPublishDelay time.Duration
	SigningKeyPublishOff   bool
	// AdminAddr is the admin listener's address (/metrics, /healthz, /readyz);
	// "" takes the command's default, "off" turns it off.
	AdminAddr string
	// AuditOff switches the audit trail off; AuditRetention is how long its
	// records are kept.
	AuditOff       bool
	AuditRetention time.Duration
	// CORSOrigins are the browser origins allowed on the module's endpoints.
	CORSOrigins []string

	// RateLimits switches the abuse limits on (ENDUSER_RATE_LIMITS).
	RateLimits bool
	Limits     ratelimit.Config
	// WeChatCoolDown is the pause after WeChat's 45011 (0: until the next minute).
	WeChatCoolDown time.Duration
	TrustedProxies []netip.Prefix
	// RedisURL, when set, shares the limits' state through Redis.
	RedisURL    string
	RedisPrefix string
}

const (
	defaultDatabaseURL = "postgres://postgres@127.0.0.1:5432/enduser?sslmode=disable"
	defaultHTTPAddr    = ":8080"
	defaultWeChatBase  = "https://api.weixin.qq.com"
)

// devMasterKey is the fixed, public, insecure key `enduser dev` uses when no
// master key is configured. Never use it for real data.
var devMasterKey = func() []byte { k := sha256.Sum256([]byte("enduser-auth INSECURE development master key")); return k[:] }()

// loadConfig reads the environment. A malformed value is an error naming its
// variable; a missing one takes its default.
func loadConfig(getenv func(string) string) (config, error) {
	def := application.DefaultConfig()
	def.DataCenter = "" // no default: serve requires it (see requireDataCenter)
	c := config{
		DatabaseURL:   defaultDatabaseURL,
		HTTPAddr:      defaultHTTPAddr,
		WeChatBaseURL: defaultWeChatBase,
		WeChatTimeout: wechat.DefaultTimeout,
		App:           def,

		SigningKeyPublishDelay: token.DefaultPublishDelay,
		AuditRetention:         postgres.DefaultAuditRetention,

		RateLimits:  true,
		Limits:      ratelimit.DefaultConfig(),
		RedisPrefix: defaultRedisPrefix,
	}
	var errs []string
	r := envReader{getenv: getenv, errs: &errs}
	str, dur, durOrZero := r.str, r.dur, r.durOrZero
	str("ENDUSER_DATABASE_URL", &c.DatabaseURL)
	str("ENDUSER_HTTP_ADDR", &c.HTTPAddr)
	str("ENDUSER_DATA_CENTER", &c.App.DataCenter)
	str("ENDUSER_WECHAT_API_BASE_URL", &c.WeChatBaseURL)
	dur("ENDUSER_WECHAT_TIMEOUT", &c.WeChatTimeout)
	dur("ENDUSER_ACCESS_TOKEN_TTL", &c.App.AccessTokenTTL)
	dur("ENDUSER_REFRESH_TOKEN_TTL", &c.App.RefreshTokenTTL)
	dur("ENDUSER_SESSION_MAX_LIFETIME", &c.App.SessionMaxLifetime)
	dur("ENDUSER_REFRESH_REUSE_GRACE", &c.App.RefreshReuseGrace)
	dur("ENDUSER_REVOCATION_SYNC_INTERVAL", &c.App.RevocationSyncInterval)
	durOrZero("ENDUSER_TENANT_CACHE_TTL", &c.App.TenantCacheTTL, true)
	durOrZero("ENDUSER_SESSION_PURGE_INTERVAL", &c.App.SessionPurgeInterval, true)
	durOrZero("ENDUSER_DELETION_COOLING_OFF", &c.App.DeletionCoolingOff, true)
	durOrZero("ENDUSER_ERASURE_INTERVAL", &c.App.ErasureInterval, true)
	durOrZero("ENDUSER_SIGNING_KEY_PUBLISH_DELAY", &c.SigningKeyPublishDelay, true)
	// The documented 0 of these variables is "off"; in the Go structs zero is
	// "the default", so 0 maps to the Off fields.
	c.App.TenantCacheOff = c.App.TenantCacheTTL == 0
	c.App.PurgeOff = c.App.SessionPurgeInterval == 0
	c.SigningKeyPublishOff = c.SigningKeyPublishDelay == 0
	str("ENDUSER_ADMIN_ADDR", &c.AdminAddr)
	dur("ENDUSER_AUDIT_RETENTION", &c.AuditRetention)
	if v, ok := lookup(getenv, "ENDUSER_AUDIT"); ok {
		switch strings.ToLower(v) {
		case "on", "1", "true":
		case "off", "0", "false":
			c.AuditOff = true
		default:
			errs = append(errs, fmt.Sprintf("ENDUSER_AUDIT: %q must be on or off", v))
		}
	}
	if v, ok := lookup(getenv, "ENDUSER_CORS_ORIGINS"); ok {
		c.CORSOrigins = r.corsOrigins(v)
	}
	if v, ok := lookup(getenv, "ENDUSER_MASTER_KEY"); ok {
		keys, err := secretbox.ParseKeyList(v)
		if err == nil {
			_, err = secretbox.NewKeyring(keys[0], keys[1:]...) // a key listed twice
		}
		if err != nil {
			errs = append(errs, fmt.Sprintf("ENDUSER_MASTER_KEY: must be 32 bytes in base64 (openssl rand -base64 32), or a comma-separated list of such keys (the first encrypts, all decrypt): %v", err))
		} else {
			c.MasterKey, c.OlderMasterKeys = keys[0], keys[1:]
		}
	}
	if v, ok := lookup(getenv, "ENDUSER_INSECURE_DEV_KEY"); ok {
		switch v {
		case "1", "true":
			c.InsecureDevKey = true
		case "0", "false":
		default:
			errs = append(errs, fmt.Sprintf("ENDUSER_INSECURE_DEV_KEY: %q must be 1 or 0", v))
		}
	}
	r.limits(&c)
	str("ENDUSER_REDIS_URL", &c.RedisURL)
	str("ENDUSER_REDIS_PREFIX", &c.RedisPrefix)
	if c.RedisURL != "" {
		if _, err := redis.ParseURL(c.RedisURL); err != nil {
			errs = append(errs, fmt.Sprintf("ENDUSER_REDIS_URL: %q is not a redis:// URL: %v", redact(c.RedisURL), err))
		}
	}
	if v, ok := lookup(getenv, "ENDUSER_LOG_LEVEL"); ok {
		if err := c.LogLevel.UnmarshalText([]byte(v)); err != nil {
			errs = append(errs, fmt.Sprintf("ENDUSER_LOG_LEVEL: %q must be debug, info, warn or error", v))
		}
	}
	if err := checkURL(c.DatabaseURL, "postgres", "postgresql"); err != nil {
		errs = append(errs, "ENDUSER_DATABASE_URL: "+err.Error())
	}
	if err := checkURL(c.WeChatBaseURL, "http", "https"); err != nil {
		errs = append(errs, "ENDUSER_WECHAT_API_BASE_URL: "+err.Error())
	}
	if len(errs) > 0 {
		return c, fmt.Errorf("configuration: %s", strings.Join(errs, "; "))
	}
	return c, nil
}

const defaultRedisPrefix = "enduser:"

// envReader reads the environment for loadConfig, collecting a message for
// every malformed value in errs.
type envReader struct {
	getenv func(string) string
	errs   *[]string
}

func (r envReader) fail(msg string) { *r.errs = append(*r.errs, msg) }

func (r envReader) str(name string, dst *string) {
	if v, ok := lookup(r.getenv, name); ok {
		*dst = v
	}
}

func (r envReader) durOrZero(name string, dst *time.Duration, zeroOK bool) {
	v, ok := lookup(r.getenv, name)
	if !ok {
		return
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 || (d == 0 && !zeroOK) {
		kind := "a positive"
		if zeroOK {
			kind = "a non-negative"
		}
		r.fail(fmt.Sprintf("%s: %q is not %s Go duration (for example 5s, 2h, 720h)", name, v, kind))
		return
	}
	*dst = d
}

func (r envReader) dur(name string, dst *time.Duration) { r.durOrZero(name, dst, false) }

func (r envReader) posInt(name string, dst *int) {
	v, ok := lookup(r.getenv, name)
	if !ok {
		return
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		r.fail(fmt.Sprintf("%s: %q is not a positive integer", name, v))
		return
	}
	*dst = n
}

// corsOrigins parses ENDUSER_CORS_ORIGINS' value v.
func (r envReader) corsOrigins(v string) []string {
	var origins []string
	for _, o := range strings.Split(v, ",") {
		o = strings.TrimRight(strings.TrimSpace(o), "/")
		if o == "" {
			continue
		}
		if u, err := url.Parse(o); o != "*" && (err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "") {
			r.fail(fmt.Sprintf("ENDUSER_CORS_ORIGINS: %q is not an origin (scheme://host[:port], comma-separated)", o))
			continue
		}
		origins = append(origins, o)
	}
	return origins
}

// limits reads the rate limits' variables into c.
func (r envReader) limits(c *config) {
	if v, ok := lookup(r.getenv, "ENDUSER_RATE_LIMITS"); ok {
		switch v {
		case "on", "1", "true":
			c.RateLimits = true
		case "off", "0", "false":
			c.RateLimits = false
		default:
			r.fail(fmt.Sprintf("ENDUSER_RATE_LIMITS: %q must be on or off", v))
		}
	}
	if v, ok := lookup(r.getenv, "ENDUSER_IP_RATE"); ok {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || !(f > 0) || math.IsInf(f, 0) {
			r.fail(fmt.Sprintf("ENDUSER_IP_RATE: %q is not a positive number of requests per second", v))
		} else {
			c.Limits.IPRate = f
		}
	}
	r.posInt("ENDUSER_IP_BURST", &c.Limits.IPBurst)
	r.posInt("ENDUSER_LOCKOUT_FAILURES", &c.Limits.LockoutFailures)
	r.dur("ENDUSER_LOCKOUT_WINDOW", &c.Limits.LockoutWindow)
	r.dur("ENDUSER_LOCKOUT_DURATION", &c.Limits.LockoutDuration)
	r.posInt("ENDUSER_EXCHANGE_RATE", &c.Limits.ExchangeRate)
	if v, ok := lookup(r.getenv, "ENDUSER_EXCHANGE_RATE_OVERRIDES"); ok {
		m, err := parseRateOverrides(v)
		if err != nil {
			r.fail("ENDUSER_EXCHANGE_RATE_OVERRIDES: " + err.Error())
		}
		c.Limits.ExchangeRates = m
	}
	r.durOrZero("ENDUSER_WECHAT_COOLDOWN", &c.WeChatCoolDown, true)
	if v, ok := lookup(r.getenv, "ENDUSER_TRUSTED_PROXIES"); ok {
		p, err := parseCIDRs(v)
		if err != nil {
			r.fail("ENDUSER_TRUSTED_PROXIES: " + err.Error())
		}
		c.TrustedProxies = p
	}
}

// parseRateOverrides parses "appId=N,appId=N".
func parseRateOverrides(v string) (map[string]int, error) {
	m := map[string]int{}
	for _, f := range strings.Split(v, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		app, n, ok := strings.Cut(f, "=")
		rate, err := strconv.Atoi(strings.TrimSpace(n))
		if !ok || strings.TrimSpace(app) == "" || err != nil || rate <= 0 {
			return nil, fmt.Errorf("%q must be appId=N (N exchanges per second, N > 0), comma-separated", f)
		}
		m[strings.TrimSpace(app)] = rate
	}
	return m, nil
}

// parseCIDRs parses comma-separated CIDRs (a bare address is one host).
func parseCIDRs(v string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(v, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if !strings.Contains(f, "/") {
			a, err := netip.ParseAddr(f)
			if err != nil {
				return nil, fmt.Errorf("%q is not a CIDR (for example 10.0.0.0/8) or an IP address", f)
			}
			out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			return nil, fmt.Errorf("%q is not a CIDR (for example 10.0.0.0/8) or an IP address", f)
		}
		if p.Addr().Is4In6() {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// newRedis opens the Redis client of ENDUSER_REDIS_URL (nil when unset), with
// short timeouts and no retries unless the URL sets them: a failing Redis
// must cost a request little before the limits fall back to memory.
func (c config) newRedis() (*redis.Client, error) {
	if c.RedisURL == "" {
		return nil, nil //nolint:nilnil // no Redis configured: nil is the valid "limits in memory" value
	}
	opts, err := redis.ParseURL(c.RedisURL)
	if err != nil {
		return nil, fmt.Errorf("ENDUSER_REDIS_URL: %w", err)
	}
	q := ""
	if u, err := url.Parse(c.RedisURL); err == nil {
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
	// go-redis prints every failed dial itself; the limits log their
	// fall-backs, rate-limited, instead.
	redis.SetLogger(silentRedisLog{})
	return redis.NewClient(opts), nil
}

type silentRedisLog struct{}

func (silentRedisLog) Printf(context.Context, string, ...any) {}

func lookup(getenv func(string) string, name string) (string, bool) {
	v := strings.TrimSpace(getenv(name))
	return v, v != ""
}

func checkURL(raw string, schemes ...string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("%q is not a URL", redact(raw))
	}
	for _, s := range schemes {
		if u.Scheme == s && u.Host != "" {
			return nil
		}
	}
	return fmt.Errorf("%q must be a %s:// URL", redact(raw), schemes[0])
}

// redact hides a password in a URL before it is printed.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable)"
	}
	return u.Redacted()
}

// masterKeyFor returns the key a command uses. serve and the admin commands
// need ENDUSER_MASTER_KEY, or ENDUSER_INSECURE_DEV_KEY=1 to use the fixed
// development key; dev falls back to the development key on its own.
func (c config) masterKeyFor(allowDevFallback bool) ([]byte, bool, error) {
	if c.MasterKey != nil {
		return c.MasterKey, false, nil
	}
	if allowDevFallback || c.InsecureDevKey {
		return devMasterKey, true, nil
	}
	return nil, false, fmt.Errorf("ENDUSER_MASTER_KEY is not set: set it to 32 random bytes in base64 (openssl rand -base64 32), or set ENDUSER_INSECURE_DEV_KEY=1 to use the public development key (never in production)")
}

// requireDataCenter is serve's check: a deployment must say which data center
// it is, or every mcc check would answer for the wrong one.
func (c config) requireDataCenter() error {
	if strings.TrimSpace(c.App.DataCenter) == "" {
		return fmt.Errorf("ENDUSER_DATA_CENTER is not set: set it to this deployment's data center code (for example CN), as registered with enduser datacenter set")
	}
	return nil
}
