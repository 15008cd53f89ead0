package wire_test

import (
	"testing"
	"time"

	"github.com/iotplatform/enduser-auth/adapters/token"
	"github.com/iotplatform/enduser-auth/application"
	modwire "github.com/iotplatform/enduser-auth/wire"
)

// TestNewConfigZeroIsTheDefaults: NewConfig's zero params take the
// defaults (a rotated-in key is published first; the issuer's TTL is the
// service's), KeyPublishOff signs at once, and the issuer follows the
// service's access-token TTL.
func TestNewConfigZeroIsTheDefaults(t *testing.T) {
	c := modwire.NewConfig(modwire.ConfigParams{})
	if c.Token.PublishDelay != token.DefaultPublishDelay || c.Token.AccessTokenTTL != application.DefaultConfig().AccessTokenTTL ||
		c.Application.AccessTokenTTL != c.Token.AccessTokenTTL {
		t.Fatalf("NewConfig(ConfigParams{}) = %+v", c)
	}
	c = modwire.NewConfig(modwire.ConfigParams{KeyPublishOff: true, KeyPublishDelay: time.Hour,
		Application: application.Config{AccessTokenTTL: time.Minute}})
	if !c.Token.PublishOff || c.Token.AccessTokenTTL != time.Minute {
		t.Fatalf("KeyPublishOff / TTL: %+v", c.Token)
	}
	if c = modwire.NewConfig(modwire.ConfigParams{KeyPublishDelay: time.Hour}); c.Token.PublishDelay != time.Hour {
		t.Fatalf("KeyPublishDelay: %+v", c.Token)
	}
}
