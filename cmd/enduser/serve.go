package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/cobra"

	"github.com/iotplatform/enduser-auth/adapters/telemetry"
)

// newServeCmd is `enduser serve [--addr :8080] [--database-url URL] [--migrate=true]`.
func newServeCmd(e env) *cobra.Command {
	c := newLeaf("serve", "Migrate, then serve HTTP until SIGINT/SIGTERM")
	c.Long = `Apply the pending migrations (unless --migrate=false), then serve the end-user API
on --addr, and /metrics, /healthz and /readyz on the admin listener
(ENDUSER_ADMIN_ADDR, default 127.0.0.1:9090; off turns it off), until SIGINT or
SIGTERM; then finish the requests in flight and flush the audit trail.`
	var f serveFlags
	fs := c.Flags()
	fs.StringVar(&f.addr, "addr", "", "listen address (default $ENDUSER_HTTP_ADDR or :8080)")
	fs.StringVar(&f.dbURL, "database-url", "", "PostgreSQL URL (default $ENDUSER_DATABASE_URL)")
	fs.BoolVar(&f.migrate, "migrate", true, "apply pending migrations before serving")
	c.RunE = func(cmd *cobra.Command, pos []string) error {
		return cmdServe(cmd.Context(), pos, e, f)
	}
	return c
}

// serveFlags are serve's flags.
type serveFlags struct {
	addr, dbURL string
	migrate     bool
}

func cmdServe(ctx context.Context, pos []string, e env, f serveFlags) error {
	if len(pos) != 0 {
		return usageErr("serve takes no positional arguments, got %q", pos)
	}
	cfg, err := loadConfig(e.getenv)
	if err != nil {
		return err
	}
	if f.addr != "" {
		cfg.Binary.HTTPAddr = f.addr
	}
	if f.dbURL != "" {
		cfg.Binary.DatabaseURL = f.dbURL
	}
	if err := cfg.requireDataCenter(); err != nil {
		return err
	}
	log := slog.New(telemetry.LogHandler(slog.NewJSONHandler(e.stderr, &slog.HandlerOptions{Level: cfg.Binary.LogLevel})))
	a, err := openApp(ctx, cfg, e, setupOptions{migrate: f.migrate, logger: log})
	if err != nil {
		return err
	}
	defer a.Close()
	return a.serve(ctx, e, cfg.Binary.HTTPAddr, adminAddrOr(cfg.Binary.AdminAddr, defaultServeAdminAddr), func(addr, admin string) {
		fmt.Fprintf(e.stdout, "enduser: serving on http://%s (data center %s)\n", addr, cfg.Application.DataCenter)
		if admin != "" {
			fmt.Fprintf(e.stdout, "enduser: admin listener on http://%s (/metrics, /healthz, /readyz)\n", admin)
		}
	})
}

// The admin listener's default addresses: serve's is fixed, dev's (and the
// tests') a free loopback port, so that instances on one machine never clash.
const (
	defaultServeAdminAddr = "127.0.0.1:9090"
	defaultDevAdminAddr   = "127.0.0.1:0"
	adminOff              = "off"
)

func adminAddrOr(addr, def string) string {
	if addr == "" {
		return def
	}
	return addr
}

// health registers /healthz and /readyz on e (readiness: the module has
// started, none of its loops has failed, and the database answers).
func (a *app) health(e *echo.Echo) {
	e.GET("/healthz", func(c echo.Context) error {
		return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
	})
	e.GET("/readyz", echo.WrapHandler(a.module.ReadyHandler()))
}

// newAdminEcho is the admin listener: metrics (runtime and process data, not
// for the public) and the health endpoints.
func (a *app) newAdminEcho() *echo.Echo {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	a.health(e)
	e.GET("/metrics", echo.WrapHandler(promhttp.HandlerFor(a.metrics, promhttp.HandlerOpts{})))
	return e
}

// newEcho builds the host's Echo instance: health endpoints and the module's
// routes on a group. The host keeps Echo's own error handler; the module
// answers its own errors.
func (a *app) newEcho() *echo.Echo {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	a.health(e)
	a.module.HTTP.Register(e.Group(""))
	if a.routes != nil {
		a.routes(e)
	}
	return e
}

// serve starts the module (it checks the schema, loads the signing keys, the
// audit key and the revocations, then runs the revocation sync, the purges,
// the erasures and the audit writer), serves HTTP on addr (and the admin
// listener on adminAddr unless it is "off") once the module is ready, until
// ctx ends or a loop of the module fails, then finishes in-flight requests
// and stops the module (the audit writer flushes), so that the database is
// closed only after its last use.
func (a *app) serve(ctx context.Context, e env, addr, adminAddr string, announce func(addr, admin string)) (err error) {
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
	// The module runs until the last request is done (it is stopped after
	// the HTTP shutdown), so that the audit writer flushes the records of
	// every request.
	if err := a.module.Start(ctx); err != nil {
		if ctx.Err() != nil {
			return nil // Ctrl-C while it started
		}
		return err
	}
	defer func() {
		stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), moduleStopTimeout)
		defer cancel()
		if stopErr := a.module.Stop(stopCtx); stopErr != nil && err == nil {
			err = fmt.Errorf("module: %w", stopErr)
		}
	}()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	var adminLn net.Listener
	if adminAddr != adminOff {
		if adminLn, err = net.Listen("tcp", adminAddr); err != nil {
			_ = ln.Close() // failing anyway: the listen error is the one to report
			return fmt.Errorf("admin listener on %s (ENDUSER_ADMIN_ADDR; off turns it off): %w", adminAddr, err)
		}
	}
	newServer := func(h http.Handler) *http.Server { return newHTTPServer(h, a.cfg.Binary) }
	srv := newServer(a.newEcho())
	ln = limitConnections(ln, a.cfg.Binary.HTTPMaxConns)

	errc := make(chan error, 2)
	go func() { errc <- srv.Serve(ln) }()
	var adminSrv *http.Server
	adminBound := ""
	if adminLn != nil {
		adminSrv = newServer(a.newAdminEcho())
		adminBound = adminLn.Addr().String()
		go func() { errc <- adminSrv.Serve(adminLn) }()
	}
	bound := ln.Addr().String()
	if announce != nil {
		announce(bound, adminBound)
	}
	if e.adminReady != nil && adminBound != "" {
		e.adminReady(adminBound)
	}
	if e.ready != nil {
		e.ready(bound)
	}
	select {
	case err := <-errc:
		return fmt.Errorf("http server: %w", err)
	case <-a.module.Failed():
		// A background loop failed: stop serving; the deferred Stop reports it.
		a.log.Error("the module stopped: shutting down")
	case <-ctx.Done():
	}
	a.log.Info("shutting down: finishing in-flight requests")
	shutCtx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if adminSrv != nil {
		defer adminSrv.Shutdown(shutCtx) //nolint:errcheck // after the public listener
	}
	if err := srv.Shutdown(shutCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}
