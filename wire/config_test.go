package wire_test

import (
	"testing"
	"time"

	"github.com/iotplatform/enduser-auth/adapters/token"
	"github.com/iotplatform/enduser-auth/application"
	modwire "github.com/iotplatform/enduser-auth/wire"
)

// TestZeroConfigIsTheDefaults: the zero Config takes the defaults (a
// rotated-in key is published first; the issuer's TTL is the service's),
// PublishOff signs at once, and the issuer follows the service's
// access-token TTL.
func TestZeroConfigIsTheDefaults(t *testing.T) {
	c := modwire.TokenConfigForTest(modwire.Config{})
	if c.PublishDelay > 0 && c.PublishDelay != token.DefaultPublishDelay || c.AccessTokenTTL != application.DefaultConfig().AccessTokenTTL {
		t.Fatalf("Config{} gives the issuer %+v", c)
	}
	c = modwire.TokenConfigForTest(modwire.Config{SigningKeys: modwire.SigningKeysConfig{PublishOff: true, PublishDelay: time.Hour},
		Application: application.Config{AccessTokenTTL: time.Minute}})
	if !c.PublishOff || c.AccessTokenTTL != time.Minute {
		t.Fatalf("PublishOff / TTL: %+v", c)
	}
	if c = modwire.TokenConfigForTest(modwire.Config{SigningKeys: modwire.SigningKeysConfig{PublishDelay: time.Hour}}); c.PublishDelay != time.Hour {
		t.Fatalf("PublishDelay: %+v", c)
	}
	if d := modwire.DefaultConfig(); d.SigningKeys.PublishDelay != token.DefaultPublishDelay || d.Application.DataCenter != "" || d.Limits.Off {
		t.Fatalf("DefaultConfig: %+v", d)
	}
}
