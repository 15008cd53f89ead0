// Package moduleparts gives the module's own binary (cmd/enduser: the admin
// commands, dev's demo data, the import) the concrete adapters of an
// assembled wire.Module. It is internal, so a host that embeds the module
// cannot import it: a host sees the facade, the HTTP handler, the lifecycle
// and the migrations, never the store or the issuer.
package moduleparts

import (
	"github.com/iotplatform/enduser-auth/adapters/postgres"
	"github.com/iotplatform/enduser-auth/adapters/ratelimit"
	"github.com/iotplatform/enduser-auth/adapters/token"
)

// Parts are a module's concrete adapters.
type Parts struct {
	// Store is the persistence adapter.
	Store *postgres.Store
	// Tokens is the access-token issuer.
	Tokens *token.Issuer
	// Audit writes the audit trail (nil when the audit is off; its methods
	// accept a nil receiver).
	Audit *postgres.AuditWriter
	// Limits are the abuse limits.
	Limits *ratelimit.Limits
}

// Of returns the parts of module, a *wire.Module. Package wire sets it at
// initialisation (this package cannot import wire: wire imports it).
var Of func(module any) Parts
