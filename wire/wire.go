//go:build wireinject

package wire

import (
	"log/slog"
	"net/http"

	"github.com/google/wire"
	"gorm.io/gorm"
)

// NewModule assembles the module on the host's database, HTTP client and logger.
func NewModule(cfg Config, db *gorm.DB, hc *http.Client, log *slog.Logger) (*Module, error) {
	panic(wire.Build(ModuleSet))
}
