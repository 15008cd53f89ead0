package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/iotplatform/enduser-auth/adapters/telemetry"
)

func cmdServe(ctx context.Context, args []string, e env) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	addr := fs.String("addr", "", "listen address (default $ENDUSER_HTTP_ADDR or :8080)")
	dbURL := fs.String("database-url", "", "PostgreSQL URL (default $ENDUSER_DATABASE_URL)")
	migrate := fs.Bool("migrate", true, "apply pending migrations before serving")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usageErr("serve takes no positional arguments, got %q", pos)
	}
	cfg, err := loadConfig(e.getenv)
	if err != nil {
		return err
	}
	if *addr != "" {
		cfg.HTTPAddr = *addr
	}
	if *dbURL != "" {
		cfg.DatabaseURL = *dbURL
	}
	if err := cfg.requireDataCenter(); err != nil {
		return err
	}
	log := slog.New(telemetry.LogHandler(slog.NewJSONHandler(e.stderr, &slog.HandlerOptions{Level: cfg.LogLevel})))
	a, err := openApp(ctx, cfg, e, setupOptions{migrate: *migrate, logger: log})
	if err != nil {
		return err
	}
	defer a.Close()
	return a.serve(ctx, e, cfg.HTTPAddr, func(addr string) {
		fmt.Fprintf(e.stdout, "enduser: serving on http://%s (data center %s)\n", addr, cfg.App.DataCenter)
	})
}

// newEcho builds the host's Echo instance: health endpoints and the module's
// routes on a group. The host keeps Echo's own error handler; the module
// answers its own errors.
func (a *app) newEcho() *echo.Echo {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.GET("/healthz", func(c echo.Context) error {
		return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
	})
	e.GET("/readyz", func(c echo.Context) error {
		ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
		defer cancel()
		if err := a.module.Store.Ping(ctx); err != nil {
			return c.JSON(http.StatusServiceUnavailable, map[string]string{"status": "database unavailable"})
		}
		return c.JSON(http.StatusOK, map[string]string{"status": "ready"})
	})
	e.GET("/metrics", echo.WrapHandler(promhttp.HandlerFor(a.metrics, promhttp.HandlerOpts{})))
	a.module.HTTP.Register(e.Group(""))
	return e
}

// serve loads the signing keys, starts the revocation sync and serves HTTP on
// addr until ctx ends, then finishes in-flight requests.
func (a *app) serve(ctx context.Context, e env, addr string, announce func(addr string)) error {
	stopTracing, tracing, err := telemetry.Setup(ctx, e.getenv, e.stderr)
	if err != nil {
		return err
	}
	defer func() {
		shutCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = stopTracing(shutCtx) // flushes the spans still batched
	}()
	if tracing != "" {
		a.log.Info("tracing on", slog.String("exporter", tracing))
	}
	if err := a.module.Tokens.Init(ctx); err != nil {
		return fmt.Errorf("signing keys: %w", err)
	}
	// Load the revocations before the first request, so that none is
	// verified against an empty cache.
	if err := a.module.Service.SyncRevocations(ctx); err != nil {
		return fmt.Errorf("load revocations: %w", err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	srv := &http.Server{
		Handler:           a.newEcho(),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
	}
	runCtx, stopRun := context.WithCancel(context.WithoutCancel(ctx))
	defer stopRun()
	go func() { _ = a.module.Service.Run(runCtx) }()

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	bound := ln.Addr().String()
	if announce != nil {
		announce(bound)
	}
	if e.ready != nil {
		e.ready(bound)
	}
	select {
	case err := <-errc:
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}
	a.log.Info("shutting down: finishing in-flight requests")
	shutCtx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}
