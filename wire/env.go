package wire

import (
	"fmt"
	"math"
	"net/netip"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/iotplatform/enduser-auth/adapters/secretbox"
)

// LoadConfig reads the documented ENDUSER_* variables (docs/configuration.md)
// through getenv (os.Getenv) over DefaultConfig. A variable that is unset or
// blank keeps its default; a malformed one is an error naming it (every
// malformed variable is named, in one error). It reads nothing else: a host
// may set fields afterwards (its own proxies, Redis client, labels).
func LoadConfig(getenv func(string) string) (Config, error) {
	c := DefaultConfig()
	var errs []string
	for _, v := range envVars {
		raw := strings.TrimSpace(getenv(v.name))
		if raw == "" {
			continue
		}
		if err := v.set(&c, raw); err != nil {
			errs = append(errs, v.name+": "+err.Error())
		}
	}
	if len(errs) > 0 {
		return c, fmt.Errorf("configuration: %s", strings.Join(errs, "; "))
	}
	return c, nil
}

// ConfigVariables lists the variables LoadConfig reads, sorted.
func ConfigVariables() []string {
	names := make([]string, 0, len(envVars))
	for _, v := range envVars {
		names = append(names, v.name)
	}
	sort.Strings(names)
	return names
}

// envVar is one variable: its name and what its (trimmed, non-blank) value
// does to the configuration.
type envVar struct {
	name string
	set  func(c *Config, v string) error
}

// envVars are the variables LoadConfig reads, in the documentation's order.
var envVars = []envVar{
	{"ENDUSER_DATABASE_URL", func(c *Config, v string) error {
		return setURL(&c.Binary.DatabaseURL, v, "postgres", "postgresql")
	}},
	{"ENDUSER_HTTP_ADDR", func(c *Config, v string) error { c.Binary.HTTPAddr = v; return nil }},
	{"ENDUSER_ADMIN_ADDR", func(c *Config, v string) error { c.Binary.AdminAddr = v; return nil }},
	{"ENDUSER_HTTP_READ_TIMEOUT", func(c *Config, v string) error { return setDuration(&c.Binary.HTTPReadTimeout, nil, v) }},
	{"ENDUSER_HTTP_IDLE_TIMEOUT", func(c *Config, v string) error { return setDuration(&c.Binary.HTTPIdleTimeout, nil, v) }},
	{"ENDUSER_HTTP_MAX_CONNS", func(c *Config, v string) error { return setPositive(&c.Binary.HTTPMaxConns, v) }},
	{"ENDUSER_CORS_ORIGINS", func(c *Config, v string) (err error) { c.HTTP.CORSOrigins, err = parseOrigins(v); return err }},
	{"ENDUSER_AUDIT", func(c *Config, v string) (err error) { c.Audit.Off, err = parseOff(v); return err }},
	{"ENDUSER_AUDIT_RETENTION", func(c *Config, v string) error { return setDuration(&c.Audit.Retention, nil, v) }},
	{"ENDUSER_DATA_CENTER", func(c *Config, v string) error { c.Application.DataCenter = v; return nil }},
	{"ENDUSER_WECHAT_API_BASE_URL", func(c *Config, v string) error { return setURL(&c.WeChat.BaseURL, v, "http", "https") }},
	{"ENDUSER_WECHAT_AUTHORIZE_BASE_URL", func(c *Config, v string) error {
		return setURL(&c.Application.WeChatAuthorizeBaseURL, v, "http", "https")
	}},
	{"ENDUSER_WECHAT_TIMEOUT", func(c *Config, v string) error { return setDuration(&c.WeChat.Timeout, nil, v) }},
	{"ENDUSER_MASTER_KEY", func(c *Config, v string) error {
		keys, err := secretbox.ParseKeyList(v)
		if err == nil {
			_, err = secretbox.NewKeyring(keys[0], keys[1:]...) // a key listed twice
		}
		if err != nil {
			return fmt.Errorf("must be 32 bytes in base64 (openssl rand -base64 32), or a comma-separated list of such keys (the first encrypts, all decrypt): %w", err)
		}
		c.MasterKey, c.OlderMasterKeys = keys[0], keys[1:]
		return nil
	}},
	{"ENDUSER_INSECURE_DEV_KEY", func(c *Config, v string) error {
		switch v {
		case "1", "true":
			c.Binary.InsecureDevKey = true
		case "0", "false":
			c.Binary.InsecureDevKey = false
		default:
			return fmt.Errorf("%q must be 1 or 0", v)
		}
		return nil
	}},
	{"ENDUSER_ACCESS_TOKEN_TTL", func(c *Config, v string) error { return setDuration(&c.Application.AccessTokenTTL, nil, v) }},
	{"ENDUSER_REFRESH_TOKEN_TTL", func(c *Config, v string) error { return setDuration(&c.Application.RefreshTokenTTL, nil, v) }},
	{"ENDUSER_SESSION_MAX_LIFETIME", func(c *Config, v string) error {
		return setDuration(&c.Application.SessionMaxLifetime, nil, v)
	}},
	{"ENDUSER_REFRESH_REUSE_GRACE", func(c *Config, v string) error { return setDuration(&c.Application.RefreshReuseGrace, nil, v) }},
	{"ENDUSER_REVOCATION_SYNC_INTERVAL", func(c *Config, v string) error {
		return setDuration(&c.Application.RevocationSyncInterval, nil, v)
	}},
	// The documented 0 of these is "off"; in Go zero is "the default", so 0
	// sets the Off field.
	{"ENDUSER_SIGNING_KEY_PUBLISH_DELAY", func(c *Config, v string) error {
		return setDuration(&c.SigningKeys.PublishDelay, &c.SigningKeys.PublishOff, v)
	}},
	{"ENDUSER_SESSION_PURGE_INTERVAL", func(c *Config, v string) error {
		return setDuration(&c.Application.SessionPurgeInterval, &c.Application.PurgeOff, v)
	}},
	{"ENDUSER_TENANT_CACHE_TTL", func(c *Config, v string) error {
		return setDuration(&c.Application.TenantCacheTTL, &c.Application.TenantCacheOff, v)
	}},
	// Documented "0 = the default".
	{"ENDUSER_DELETION_COOLING_OFF", func(c *Config, v string) error {
		var zero bool
		return setDuration(&c.Application.DeletionCoolingOff, &zero, v)
	}},
	{"ENDUSER_ERASURE_INTERVAL", func(c *Config, v string) error {
		var zero bool
		return setDuration(&c.Application.ErasureInterval, &zero, v)
	}},
	{"ENDUSER_LOG_LEVEL", func(c *Config, v string) error {
		if err := c.Binary.LogLevel.UnmarshalText([]byte(v)); err != nil {
			return fmt.Errorf("%q must be debug, info, warn or error", v)
		}
		return nil
	}},
	{"ENDUSER_RATE_LIMITS", func(c *Config, v string) (err error) { c.Limits.Off, err = parseOff(v); return err }},
	{"ENDUSER_IP_RATE", func(c *Config, v string) error {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || !(f > 0) || math.IsInf(f, 0) {
			return fmt.Errorf("%q is not a positive number of requests per second", v)
		}
		c.Limits.Thresholds.IPRate = f
		return nil
	}},
	{"ENDUSER_IP_BURST", func(c *Config, v string) error { return setPositive(&c.Limits.Thresholds.IPBurst, v) }},
	{"ENDUSER_LOCKOUT_FAILURES", func(c *Config, v string) error { return setPositive(&c.Limits.Thresholds.LockoutFailures, v) }},
	{"ENDUSER_LOCKOUT_WINDOW", func(c *Config, v string) error { return setDuration(&c.Limits.Thresholds.LockoutWindow, nil, v) }},
	{"ENDUSER_LOCKOUT_DURATION", func(c *Config, v string) error {
		return setDuration(&c.Limits.Thresholds.LockoutDuration, nil, v)
	}},
	{"ENDUSER_EXCHANGE_RATE", func(c *Config, v string) error { return setPositive(&c.Limits.Thresholds.ExchangeRate, v) }},
	{"ENDUSER_EXCHANGE_RATE_OVERRIDES", func(c *Config, v string) (err error) {
		c.Limits.Thresholds.ExchangeRates, err = parseRateOverrides(v)
		return err
	}},
	{"ENDUSER_WECHAT_COOLDOWN", func(c *Config, v string) error {
		var zero bool // 0: until the next minute, the field's zero
		return setDuration(&c.Application.WeChatCoolDown, &zero, v)
	}},
	{"ENDUSER_TRUSTED_PROXIES", func(c *Config, v string) (err error) { c.HTTP.TrustedProxies, err = ParseCIDRs(v); return err }},
	{"ENDUSER_REDIS_URL", func(c *Config, v string) error {
		if _, err := redis.ParseURL(v); err != nil {
			return fmt.Errorf("%q is not a redis:// URL: %w", redact(v), err)
		}
		c.Limits.RedisURL = v
		return nil
	}},
	{"ENDUSER_REDIS_PREFIX", func(c *Config, v string) error { c.Limits.RedisPrefix = v; return nil }},
	{"ENDUSER_REDIS_TIMEOUT", func(c *Config, v string) error { return setDuration(&c.Limits.RedisTimeout, nil, v) }},
	{"ENDUSER_LIMITS_SYNC_INTERVAL", func(c *Config, v string) error {
		if v == "off" {
			c.Limits.SyncInterval = -1
			return nil
		}
		return setDuration(&c.Limits.SyncInterval, nil, v)
	}},
}

// setDuration parses a Go duration into dst: positive, or 0 when off is
// given (which it sets; nil off: 0 refused).
func setDuration(dst *time.Duration, off *bool, v string) error {
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 || (d == 0 && off == nil) {
		kind := "a positive"
		if off != nil {
			kind = "a non-negative"
		}
		return fmt.Errorf("%q is not %s Go duration (for example 5s, 2h, 720h)", v, kind)
	}
	*dst = d
	if off != nil {
		*off = d == 0
	}
	return nil
}

func setPositive(dst *int, v string) error {
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		return fmt.Errorf("%q is not a positive integer", v)
	}
	*dst = n
	return nil
}

// parseOff reads on/off (1/0, true/false) and reports whether it is off.
func parseOff(v string) (bool, error) {
	switch strings.ToLower(v) {
	case "on", "1", "true":
		return false, nil
	case "off", "0", "false":
		return true, nil
	}
	return false, fmt.Errorf("%q must be on or off", v)
}

func setURL(dst *string, raw string, schemes ...string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("%q is not a URL", redact(raw))
	}
	for _, s := range schemes {
		if u.Scheme == s && u.Host != "" {
			*dst = raw
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

// parseOrigins parses comma-separated browser origins.
func parseOrigins(v string) ([]string, error) {
	var origins []string
	var bad []string
	for _, o := range strings.Split(v, ",") {
		o = strings.TrimRight(strings.TrimSpace(o), "/")
		if o == "" {
			continue
		}
		if u, err := url.Parse(o); o != "*" && (err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "") {
			bad = append(bad, fmt.Sprintf("%q is not an origin (scheme://host[:port], comma-separated)", o))
			continue
		}
		origins = append(origins, o)
	}
	if len(bad) > 0 {
		return origins, fmt.Errorf("%s", strings.Join(bad, "; "))
	}
	return origins, nil
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

// ParseCIDRs parses comma-separated CIDRs (a bare address is one host), as
// ENDUSER_TRUSTED_PROXIES holds them.
func ParseCIDRs(v string) ([]netip.Prefix, error) {
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
