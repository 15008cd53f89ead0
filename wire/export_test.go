package wire

import (
	"github.com/iotplatform/enduser-auth/adapters/postgres"
	"github.com/iotplatform/enduser-auth/adapters/token"
)

// The tests of this package reach the module's adapters, which hosts do not
// see.

// TokensForTest is the module's access-token issuer.
func (m *Module) TokensForTest() *token.Issuer { return m.parts.Tokens }

// StoreForTest is the module's persistence adapter.
func (m *Module) StoreForTest() *postgres.Store { return m.parts.Store }

// TokenConfigForTest is the issuer's configuration derived from c.
func TokenConfigForTest(c Config) token.Config { return tokenConfig(c) }
