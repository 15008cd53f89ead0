//go:build wireinject

package wire

import (
	"github.com/google/wire"
)

// NewModule assembles the module of cfg on what the host lends it. It does
// no I/O: the database and Redis are first used by Start (and by the
// operators' facade), so a host may build the module before it migrates.
func NewModule(cfg Config, host Host) (*Module, error) {
	panic(wire.Build(ModuleSet))
}
