//go:build wireinject

package wire

import (
	"log/slog"
	"net/http"

	"github.com/google/wire"
	"github.com/prometheus/client_golang/prometheus"
	"gorm.io/gorm"
)

// NewModule assembles the module on the host's database, HTTP client, logger
// and Prometheus registerer (nil: no metrics).
func NewModule(cfg Config, db *gorm.DB, hc *http.Client, log *slog.Logger, reg prometheus.Registerer) (*Module, error) {
	panic(wire.Build(ModuleSet))
}
