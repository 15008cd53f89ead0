package main

import (
	"context"
	"crypto/sha256"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/iotplatform/enduser-auth/adapters/token"
	modwire "github.com/iotplatform/enduser-auth/wire"
)

// config is the module's one configuration (wire.Config), read from the
// ENDUSER_* variables by the module's own loader (wire.LoadConfig, which a
// host calls too); flags may override some of it. What only the binary
// decides (the development key, the data center check's wording) lives here.
type config struct{ modwire.Config }

// loadConfig reads the environment (wire.LoadConfig).
func loadConfig(getenv func(string) string) (config, error) {
	c, err := modwire.LoadConfig(getenv)
	return config{c}, err
}

// devMasterKey is the fixed, public, insecure key `enduser dev` uses when no
// master key is configured. Never use it for real data.
var devMasterKey = func() []byte { k := sha256.Sum256([]byte("enduser-auth INSECURE development master key")); return k[:] }()

// masterKeyFor returns the key a command uses. serve and the admin commands
// need ENDUSER_MASTER_KEY, or ENDUSER_INSECURE_DEV_KEY=1 to use the fixed
// development key; dev falls back to the development key on its own.
func (c config) masterKeyFor(allowDevFallback bool) ([]byte, bool, error) {
	if c.MasterKey != nil {
		return c.MasterKey, false, nil
	}
	if allowDevFallback || c.Binary.InsecureDevKey {
		return devMasterKey, true, nil
	}
	return nil, false, fmt.Errorf("ENDUSER_MASTER_KEY is not set: set it to 32 random bytes in base64 (openssl rand -base64 32), or set ENDUSER_INSECURE_DEV_KEY=1 to use the public development key (never in production)")
}

// requireDataCenter is serve's check before it opens anything: a deployment
// must say which data center it is, or every mcc check would answer for the
// wrong one (the module's Start checks it too).
func (c config) requireDataCenter() error {
	if strings.TrimSpace(c.Application.DataCenter) == "" {
		return fmt.Errorf("ENDUSER_DATA_CENTER is not set: set it to this deployment's data center code (for example CN), as registered with enduser datacenter set")
	}
	return nil
}

// publishDelay is how long a rotated-in signing key waits before it signs.
func (c config) publishDelay() time.Duration {
	switch {
	case c.SigningKeys.PublishOff:
		return 0
	case c.SigningKeys.PublishDelay > 0:
		return c.SigningKeys.PublishDelay
	}
	return token.DefaultPublishDelay
}

// silentRedisLog quiets go-redis's own logger, which prints every failed
// dial: the limits log their fall-backs, rate-limited, instead.
type silentRedisLog struct{}

func (silentRedisLog) Printf(context.Context, string, ...any) {}

// redact hides a password in a URL before it is printed.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable)"
	}
	return u.Redacted()
}
