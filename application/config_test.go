package application_test

import (
	"testing"
	"time"

	"github.com/iotplatform/enduser-auth/application"
)

// TestZeroConfigIsTheDefaults: in Config zero means the default in every
// field (DefaultConfig), and only the Off fields switch a setting off.
func TestZeroConfigIsTheDefaults(t *testing.T) {
	def := application.DefaultConfig()
	got := application.Config{DataCenter: def.DataCenter}.WithDefaults()
	if got != def {
		t.Fatalf("Config{}.WithDefaults() = %+v, want DefaultConfig() %+v", got, def)
	}
	if s := application.New(application.Config{}, application.Deps{}); s.Machinery.Config().TenantCacheTTL != def.TenantCacheTTL ||
		s.Machinery.Config().SessionPurgeInterval != def.SessionPurgeInterval || s.Machinery.Config().RefreshReuseGrace != def.RefreshReuseGrace {
		t.Fatalf("NewService(Config{}) = %+v, want the defaults", s.Machinery.Config())
	}
	off := application.Config{TenantCacheOff: true, PurgeOff: true, RefreshReuseGraceOff: true, VerifiedCacheOff: true,
		TenantCacheTTL: time.Minute}.WithDefaults()
	if off.TenantCacheTTL != 0 || off.SessionPurgeInterval != 0 || off.RefreshReuseGrace != 0 || off.VerifiedTokenCacheSize != 0 {
		t.Fatalf("the Off fields must switch the settings off: %+v", off)
	}
	if neg := (application.Config{TenantCacheTTL: -1, VerifiedTokenCacheSize: -1}).WithDefaults(); neg.TenantCacheTTL != def.TenantCacheTTL ||
		neg.VerifiedTokenCacheSize != def.VerifiedTokenCacheSize {
		t.Fatalf("a negative setting is no sentinel: %+v", neg)
	}
}
