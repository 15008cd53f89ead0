package wire_test

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/iotplatform/enduser-auth/adapters/wechat"
	"github.com/iotplatform/enduser-auth/application"
	modwire "github.com/iotplatform/enduser-auth/wire"
)

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestLoadConfig(t *testing.T) {
	c, err := modwire.LoadConfig(envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Binary.DatabaseURL != modwire.DefaultDatabaseURL || c.Binary.HTTPAddr != ":8080" || c.WeChat.Timeout != 5*time.Second ||
		c.Application.AccessTokenTTL != 2*time.Hour || c.Application.RefreshTokenTTL != 720*time.Hour || c.MasterKey != nil {
		t.Fatalf("defaults: %+v", c)
	}
	c, err = modwire.LoadConfig(envOf(map[string]string{"ENDUSER_ACCESS_TOKEN_TTL": "1s", "ENDUSER_REFRESH_TOKEN_TTL": "720h",
		"ENDUSER_MASTER_KEY": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "ENDUSER_DATA_CENTER": "EU"}))
	if err != nil || c.Application.AccessTokenTTL != time.Second || len(c.MasterKey) != 32 || c.Application.DataCenter != "EU" {
		t.Fatalf("overrides: %+v %v", c, err)
	}
	if c.Application.SessionPurgeInterval != 10*time.Minute {
		t.Fatalf("session purge interval: %v, want the default 10m", c.Application.SessionPurgeInterval)
	}
	c, err = modwire.LoadConfig(envOf(map[string]string{"ENDUSER_SIGNING_KEY_PUBLISH_DELAY": "0", "ENDUSER_TENANT_CACHE_TTL": "0",
		"ENDUSER_SESSION_PURGE_INTERVAL": "0"}))
	if err != nil || c.SigningKeys.PublishDelay != 0 || c.Application.TenantCacheTTL != 0 || c.Application.SessionPurgeInterval != 0 {
		t.Fatalf("zero where zero is allowed: %+v %v", c, err)
	}
	for name, val := range map[string]string{
		"ENDUSER_WECHAT_TIMEOUT":            "5",
		"ENDUSER_ACCESS_TOKEN_TTL":          "-2h",
		"ENDUSER_REFRESH_TOKEN_TTL":         "forever",
		"ENDUSER_MASTER_KEY":                "c2hvcnQ=",
		"ENDUSER_DATABASE_URL":              "mysql://x",
		"ENDUSER_WECHAT_API_BASE_URL":       "api.weixin.qq.com",
		"ENDUSER_INSECURE_DEV_KEY":          "yes",
		"ENDUSER_LOG_LEVEL":                 "loud",
		"ENDUSER_SIGNING_KEY_PUBLISH_DELAY": "soon",
		"ENDUSER_REFRESH_REUSE_GRACE":       "0s",
		"ENDUSER_TENANT_CACHE_TTL":          "-1s",
		"ENDUSER_SESSION_PURGE_INTERVAL":    "hourly",
	} {
		_, err := modwire.LoadConfig(envOf(map[string]string{name: val}))
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s=%q: want an error naming the variable, got %v", name, val, err)
		}
	}
}

func TestLoadConfigLimits(t *testing.T) {
	c, err := modwire.LoadConfig(envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Limits.Off || c.Limits.Thresholds.IPRate != 10 || c.Limits.Thresholds.IPBurst != 20 || c.Limits.Thresholds.LockoutFailures != 10 ||
		c.Limits.Thresholds.LockoutWindow != 10*time.Minute || c.Limits.Thresholds.LockoutDuration != 20*time.Minute || c.Limits.Thresholds.ExchangeRate != 100 ||
		c.Application.WeChatCoolDown != 0 || c.Limits.RedisURL != "" || c.Limits.RedisPrefix != "enduser:" || len(c.HTTP.TrustedProxies) != 0 {
		t.Fatalf("limit defaults: %+v", c)
	}
	c, err = modwire.LoadConfig(envOf(map[string]string{
		"ENDUSER_RATE_LIMITS": "off", "ENDUSER_IP_RATE": "0.5", "ENDUSER_IP_BURST": "3", "ENDUSER_LOCKOUT_FAILURES": "4",
		"ENDUSER_LOCKOUT_WINDOW": "1m", "ENDUSER_LOCKOUT_DURATION": "2m", "ENDUSER_EXCHANGE_RATE": "7",
		"ENDUSER_EXCHANGE_RATE_OVERRIDES": "wxa=5, wxb=9", "ENDUSER_WECHAT_COOLDOWN": "30s",
		"ENDUSER_TRUSTED_PROXIES": "10.0.0.0/8, 192.0.2.7, ::ffff:10.1.0.0/112", "ENDUSER_REDIS_URL": "redis://127.0.0.1:6379/2",
		"ENDUSER_REDIS_PREFIX": "x:",
	}))
	if err != nil {
		t.Fatal(err)
	}
	want := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.0.2.7/32"), netip.MustParsePrefix("10.1.0.0/16")}
	if !c.Limits.Off || c.Limits.Thresholds.IPRate != 0.5 || c.Limits.Thresholds.IPBurst != 3 || c.Limits.Thresholds.LockoutFailures != 4 ||
		c.Limits.Thresholds.LockoutWindow != time.Minute || c.Limits.Thresholds.LockoutDuration != 2*time.Minute || c.Limits.Thresholds.ExchangeRate != 7 ||
		c.Limits.Thresholds.ExchangeRates["wxa"] != 5 || c.Limits.Thresholds.ExchangeRates["wxb"] != 9 || c.Application.WeChatCoolDown != 30*time.Second ||
		len(c.HTTP.TrustedProxies) != 3 || c.HTTP.TrustedProxies[0] != want[0] || c.HTTP.TrustedProxies[1] != want[1] || c.HTTP.TrustedProxies[2] != want[2] ||
		c.Limits.RedisURL != "redis://127.0.0.1:6379/2" || c.Limits.RedisPrefix != "x:" {
		t.Fatalf("limit overrides: %+v", c)
	}
	for name, val := range map[string]string{
		"ENDUSER_RATE_LIMITS":             "maybe",
		"ENDUSER_IP_RATE":                 "-1",
		"ENDUSER_IP_BURST":                "0",
		"ENDUSER_LOCKOUT_FAILURES":        "ten",
		"ENDUSER_LOCKOUT_WINDOW":          "0",
		"ENDUSER_LOCKOUT_DURATION":        "20",
		"ENDUSER_EXCHANGE_RATE":           "1.5",
		"ENDUSER_EXCHANGE_RATE_OVERRIDES": "wxa",
		"ENDUSER_WECHAT_COOLDOWN":         "soon",
		"ENDUSER_TRUSTED_PROXIES":         "10.0.0.0/33",
		"ENDUSER_REDIS_URL":               "http://127.0.0.1:6379",
	} {
		_, err := modwire.LoadConfig(envOf(map[string]string{name: val}))
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s=%q: want an error naming the variable, got %v", name, val, err)
		}
	}
}

// TestZeroVariablesSetTheOffFields: the variables whose documented 0 means
// "off" set the Off fields (in the Go structs zero is "the default"); unset,
// the settings are on with their defaults.
func TestZeroVariablesSetTheOffFields(t *testing.T) {
	c, err := modwire.LoadConfig(envOf(map[string]string{"ENDUSER_SIGNING_KEY_PUBLISH_DELAY": "0", "ENDUSER_TENANT_CACHE_TTL": "0",
		"ENDUSER_SESSION_PURGE_INTERVAL": "0"}))
	if err != nil || !c.SigningKeys.PublishOff || !c.Application.TenantCacheOff || !c.Application.PurgeOff {
		t.Fatalf("0 must switch the settings off: %+v %v", c, err)
	}
	eff := c.Application.WithDefaults()
	if eff.TenantCacheTTL != 0 || eff.SessionPurgeInterval != 0 {
		t.Fatalf("effective config with the settings off: %+v", eff)
	}
	c, err = modwire.LoadConfig(envOf(map[string]string{}))
	if err != nil || c.SigningKeys.PublishOff || c.Application.TenantCacheOff || c.Application.PurgeOff {
		t.Fatalf("unset variables must leave the settings on: %+v %v", c, err)
	}
	def := application.DefaultConfig()
	if c.Application.TenantCacheTTL != def.TenantCacheTTL || c.Application.SessionPurgeInterval != def.SessionPurgeInterval ||
		c.WeChat.Timeout != wechat.DefaultTimeout {
		t.Fatalf("defaults: %+v", c)
	}
	c, err = modwire.LoadConfig(envOf(map[string]string{"ENDUSER_TENANT_CACHE_TTL": "1s"}))
	if err != nil || c.Application.TenantCacheOff || c.Application.TenantCacheTTL != time.Second {
		t.Fatalf("a positive TTL keeps the cache on: %+v %v", c, err)
	}
}
