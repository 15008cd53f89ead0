package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/redis/go-redis/v9"

	"github.com/iotplatform/enduser-auth/adapters/postgres"
	"github.com/iotplatform/enduser-auth/adapters/telemetry"
	"github.com/iotplatform/enduser-auth/domain"
	"github.com/iotplatform/enduser-auth/migrations"
	modwire "github.com/iotplatform/enduser-auth/wire"
)

// app is an opened database and the assembled module.
type app struct {
	cfg    config
	sqlDB  *sql.DB
	module *modwire.Module
	log    *slog.Logger
	// metrics is the process's Prometheus registry, served on /metrics.
	metrics *prometheus.Registry
	// routes, when set, mounts more routes on the public Echo (dev's page).
	routes func(*echo.Echo)
}

// Close stops the module (for an admin command, which does not Start it:
// the audit records its operation queued are written) and closes the
// database and Redis.
func (a *app) Close() {
	if a.module != nil {
		ctx, cancel := context.WithTimeout(context.Background(), moduleStopTimeout)
		_ = a.module.Stop(ctx) // the module logs a loop's failure and any audit record lost
		cancel()
	}
	if a.sqlDB != nil {
		_ = a.sqlDB.Close()
	}
}

// moduleStopTimeout bounds the module's Stop (its loops' end and the audit
// records' flush).
const moduleStopTimeout = 10 * time.Second

type setupOptions struct {
	devKeyFallback bool
	migrate        bool
	logger         *slog.Logger
}

// openApp opens the database (creating it if missing), migrates it when asked
// and assembles the module with the injector.
func openApp(ctx context.Context, cfg config, e env, opts setupOptions) (*app, error) {
	key, isDev, err := cfg.masterKeyFor(opts.devKeyFallback)
	if err != nil {
		return nil, err
	}
	log := opts.logger
	if log == nil {
		log = slog.New(telemetry.LogHandler(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: cfg.Binary.LogLevel})))
	}
	if isDev {
		log.Warn("USING THE PUBLIC INSECURE DEVELOPMENT MASTER KEY: secrets in this database are not protected; set ENDUSER_MASTER_KEY for real data")
	}
	db, err := postgres.Open(ctx, cfg.Binary.DatabaseURL)
	if err != nil {
		return nil, err
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, fmt.Errorf("database: %w", err)
	}
	a := &app{cfg: cfg, sqlDB: sqlDB, log: log}
	if opts.migrate {
		if err := migrations.Up(ctx, sqlDB); err != nil {
			a.Close()
			return nil, err
		}
	} else if err := requireSchema(ctx, sqlDB); err != nil {
		a.Close()
		return nil, err
	}
	a.metrics = prometheus.NewRegistry()
	a.metrics.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	redis.SetLogger(silentRedisLog{})
	mcfg := cfg.Config
	mcfg.MasterKey = key
	if isDev {
		mcfg.OlderMasterKeys = nil
	}
	mod, err := modwire.NewModule(mcfg, modwire.Host{DB: db, Logger: log, Metrics: a.metrics})
	if err != nil {
		a.Close()
		return nil, err
	}
	a.module = mod
	return a, nil
}

// adminApp loads the configuration and opens the app for an admin command.
func adminApp(ctx context.Context, e env, databaseURL string) (*app, error) {
	cfg, err := loadConfig(e.getenv)
	if err != nil {
		return nil, err
	}
	if databaseURL != "" {
		cfg.Binary.DatabaseURL = databaseURL
	}
	// Admin commands never change the schema behind the operator's back.
	return openApp(ctx, cfg, e, setupOptions{migrate: false})
}

// requireSchema fails when the module's migrations are not all applied.
func requireSchema(ctx context.Context, db *sql.DB) error {
	p, err := migrations.NewProvider(db)
	if err != nil {
		return err
	}
	pending, err := p.HasPending(ctx)
	if err != nil {
		return fmt.Errorf("check the database schema: %w", err)
	}
	if pending {
		return errors.New("the database schema is not up to date: run `enduser migrate up` (or `enduser serve`, which migrates) first")
	}
	return nil
}

// adminErr turns a module error into one line for the operator.
func adminErr(err error) error {
	var de *domain.Error
	if errors.As(err, &de) && de.Kind != domain.KindInternal {
		if de.Detail != "" {
			return errors.New(de.Detail)
		}
		return errors.New(strings.ReplaceAll(string(de.Kind), "_", " "))
	}
	return err
}
