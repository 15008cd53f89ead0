package main

import (
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestLoadConfigLimits(t *testing.T) {
	c, err := loadConfig(envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	if !c.RateLimits || c.Limits.IPRate != 10 || c.Limits.IPBurst != 20 || c.Limits.LockoutFailures != 10 ||
		c.Limits.LockoutWindow != 10*time.Minute || c.Limits.LockoutDuration != 20*time.Minute || c.Limits.ExchangeRate != 100 ||
		c.WeChatCoolDown != 0 || c.RedisURL != "" || c.RedisPrefix != "enduser:" || len(c.TrustedProxies) != 0 {
		t.Fatalf("limit defaults: %+v", c)
	}
	c, err = loadConfig(envOf(map[string]string{
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
	if c.RateLimits || c.Limits.IPRate != 0.5 || c.Limits.IPBurst != 3 || c.Limits.LockoutFailures != 4 ||
		c.Limits.LockoutWindow != time.Minute || c.Limits.LockoutDuration != 2*time.Minute || c.Limits.ExchangeRate != 7 ||
		c.Limits.ExchangeRates["wxa"] != 5 || c.Limits.ExchangeRates["wxb"] != 9 || c.WeChatCoolDown != 30*time.Second ||
		len(c.TrustedProxies) != 3 || c.TrustedProxies[0] != want[0] || c.TrustedProxies[1] != want[1] || c.TrustedProxies[2] != want[2] ||
		c.RedisURL != "redis://127.0.0.1:6379/2" || c.RedisPrefix != "x:" {
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
		_, err := loadConfig(envOf(map[string]string{name: val}))
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s=%q: want an error naming the variable, got %v", name, val, err)
		}
	}
}
