package main

import (
	"testing"
	"time"

	"github.com/iotplatform/enduser-auth/adapters/wechat"
	"github.com/iotplatform/enduser-auth/application"
)

// TestZeroVariablesSetTheOffFields: the variables whose documented 0 means
// "off" set the Off fields (in the Go structs zero is "the default"); unset,
// the settings are on with their defaults.
func TestZeroVariablesSetTheOffFields(t *testing.T) {
	c, err := loadConfig(envOf(map[string]string{"ENDUSER_SIGNING_KEY_PUBLISH_DELAY": "0", "ENDUSER_TENANT_CACHE_TTL": "0",
		"ENDUSER_SESSION_PURGE_INTERVAL": "0"}))
	if err != nil || !c.SigningKeyPublishOff || !c.App.TenantCacheOff || !c.App.PurgeOff {
		t.Fatalf("0 must switch the settings off: %+v %v", c, err)
	}
	eff := c.App.WithDefaults()
	if eff.TenantCacheTTL != 0 || eff.SessionPurgeInterval != 0 {
		t.Fatalf("effective config with the settings off: %+v", eff)
	}
	c, err = loadConfig(envOf(map[string]string{}))
	if err != nil || c.SigningKeyPublishOff || c.App.TenantCacheOff || c.App.PurgeOff {
		t.Fatalf("unset variables must leave the settings on: %+v %v", c, err)
	}
	def := application.DefaultConfig()
	if c.App.TenantCacheTTL != def.TenantCacheTTL || c.App.SessionPurgeInterval != def.SessionPurgeInterval ||
		c.WeChatTimeout != wechat.DefaultTimeout {
		t.Fatalf("defaults: %+v", c)
	}
	c, err = loadConfig(envOf(map[string]string{"ENDUSER_TENANT_CACHE_TTL": "1s"}))
	if err != nil || c.App.TenantCacheOff || c.App.TenantCacheTTL != time.Second {
		t.Fatalf("a positive TTL keeps the cache on: %+v %v", c, err)
	}
}
