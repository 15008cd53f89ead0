// Command monolith is a host monolith that embeds enduser-auth as the README
// says: its HTTP server mounts the module's routes, its own module (devices:
// its own table, its own goose migrations, its own routes) trusts the
// module's access tokens through the middleware and forgets the users the
// module erases, and goose runs the module's migrations beside its own.
//
//	go run ./examples/monolith --fake-wechat   # a local try: a fake WeChat, a demo tenant, a curl that logs in
//
// Configuration: MONOLITH_DATABASE_URL (the host's database, created when
// missing), MONOLITH_ADDR (default 127.0.0.1:8090), and the module's own
// ENDUSER_* variables (docs/configuration.md), read by wire.LoadConfig.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	gormpg "gorm.io/driver/postgres"
	"gorm.io/gorm"

	"github.com/iotplatform/enduser-auth/adapters/httpapi"
	"github.com/iotplatform/enduser-auth/examples/monolith/devices"
	"github.com/iotplatform/enduser-auth/migrations"
	authwire "github.com/iotplatform/enduser-auth/wire"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr, nil)
	stop()
	os.Exit(code)
}

// run is the whole program; a failure is one line on stderr and status 1.
// ready, when set (tests), is told the address served once the host serves.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer, ready func(addr string)) int {
	fs := flag.NewFlagSet("monolith", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fakeWeChat := fs.Bool("fake-wechat", false, "a local try: start a fake WeChat and provision a demo tenant")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if err := serve(ctx, getenv, *fakeWeChat, stdout, stderr, ready); err != nil {
		fmt.Fprintf(stderr, "monolith: %v\n", err)
		return 1
	}
	return 0
}

// serve runs the host until ctx ends.
func serve(ctx context.Context, getenv func(string) string, fakeWeChat bool, stdout, stderr io.Writer,
	ready func(string)) (err error) {
	log := slog.New(slog.NewJSONHandler(stderr, nil))
	var demo *demoTenant
	if fakeWeChat {
		if demo, err = startFakeWeChat(); err != nil {
			return err
		}
		defer demo.Close()
		getenv = demo.env(getenv)
	}
	dsn := orDefault(getenv("MONOLITH_DATABASE_URL"), "postgres://postgres@127.0.0.1:5432/monolith?sslmode=disable")
	if err := ensureDatabase(ctx, dsn); err != nil {
		return err
	}
	db, err := gorm.Open(gormpg.Open(dsn), &gorm.Config{})
	if err != nil {
		return fmt.Errorf("database: %w", err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		return fmt.Errorf("database: %w", err)
	}
	defer sqlDB.Close()
	if err := devices.Migrate(ctx, sqlDB); err != nil {
		return err
	}
	devs := devices.New(db)
	metrics := prometheus.NewRegistry()
	e := echo.New()
	e.HideBanner, e.HidePort = true, true

	// --- enduser-auth ---
	cfg, err := authwire.LoadConfig(getenv) // the ENDUSER_* variables over the defaults (limits on, audit on)
	if err != nil {
		return err
	}
	auth, err := authwire.NewModule(cfg, authwire.Host{DB: db, Logger: log, Metrics: metrics}) // no I/O yet
	if err != nil {
		return err
	}
	if err := migrations.Up(ctx, sqlDB); err != nil { // the module's tables, under its own version table
		return err
	}
	if err := auth.Start(ctx); err != nil { // keys, revocations, audit key; then its background loops
		return err
	}
	defer func() { // after the HTTP server has drained (the audit trail flushes), before the database closes
		stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		err = errors.Join(err, auth.Stop(stopCtx))
	}()
	e.IPExtractor = auth.HTTP.IPExtractor()                                                // one client IP rule: ENDUSER_TRUSTED_PROXIES
	auth.HTTP.Register(e.Group(""))                                                        // the end-user endpoints, in the platform's envelope
	e.GET("/readyz", echo.WrapHandler(auth.ReadyHandler()))                                // 503 until started, when the database is gone, or a loop failed
	auth.Auth.OnUserErased(devs.EraseOwner)                                                // the host's module forgets an erased user
	devs.Register(e.Group("/devices", auth.HTTP.RequireAccessToken(httpapi.RefuseToHost))) // 401 via e's error handler
	// --- end ---

	if demo != nil {
		if err := demo.provision(ctx, auth); err != nil {
			return err
		}
	}
	return listenAndServe(ctx, e, orDefault(getenv("MONOLITH_ADDR"), "127.0.0.1:8090"), func(addr string) {
		fmt.Fprintf(stdout, "monolith: serving on http://%s\n", addr)
		if demo != nil {
			fmt.Fprint(stdout, demo.banner(addr))
		}
		if ready != nil {
			ready(addr)
		}
	})
}

// listenAndServe serves e on addr until ctx ends, then drains the requests in
// flight.
func listenAndServe(ctx context.Context, e *echo.Echo, addr string, announce func(string)) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	srv := &http.Server{Handler: e, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 15 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: 60 * time.Second, MaxHeaderBytes: 64 << 10}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	announce(ln.Addr().String())
	select {
	case err := <-errc:
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}
	shutCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 20*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
