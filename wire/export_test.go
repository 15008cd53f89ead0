package wire

import (
	"context"

	"github.com/iotplatform/enduser-auth/adapters/postgres"
	"github.com/iotplatform/enduser-auth/adapters/token"
	"github.com/iotplatform/enduser-auth/application"
)

// The tests of this package reach the module's adapters and machinery, which
// hosts do not see.

// TokensForTest is the module's access-token issuer.
func (m *Module) TokensForTest() *token.Issuer { return m.tokens }

// StoreForTest is the module's persistence adapter.
func (m *Module) StoreForTest() *postgres.Store { return m.store }

// AuditForTest is the module's audit writer (nil when the audit is off).
func (m *Module) AuditForTest() *postgres.AuditWriter { return m.audit }

// MachineryForTest is the module's own machinery (the background jobs).
func (m *Module) MachineryForTest() *application.Machinery { return m.machinery }

// AddLoopForTest makes Start run loop next to the module's own background
// loops (call it before Start): a test injects a failure after start.
func (m *Module) AddLoopForTest(name string, loop func(context.Context) error) {
	m.loops = append(m.loops, namedLoop{name: name, run: loop})
}

// TokenConfigForTest is the issuer's configuration derived from c.
func TokenConfigForTest(c Config) token.Config { return tokenConfig(c) }
