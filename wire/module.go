package wire

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/iotplatform/enduser-auth/adapters/httpapi"
	"github.com/iotplatform/enduser-auth/adapters/postgres"
	"github.com/iotplatform/enduser-auth/adapters/ratelimit"
	"github.com/iotplatform/enduser-auth/adapters/token"
	"github.com/iotplatform/enduser-auth/application"
	"github.com/iotplatform/enduser-auth/internal/moduleparts"
)

// Module is the assembled module, as a host uses it: the facade, the HTTP
// adapter and one lifecycle (Run, Ready). Its adapters stay inside (the
// module's own binary reaches them through an internal package).
type Module struct {
	// Service is the facade other modules call in-process.
	Service *application.Service
	// HTTP registers the endpoints on a group and offers the auth middleware.
	HTTP *httpapi.Handler

	parts moduleparts.Parts
	// ready is true from the end of Run's start (keys loaded, revocations
	// synced) until its loops have stopped; started is closed at that end.
	ready   atomic.Bool
	started chan struct{}
	running atomic.Bool

	cfg   Config
	redis RedisConn
	log   *slog.Logger
}

func init() {
	moduleparts.Of = func(m any) moduleparts.Parts { return m.(*Module).parts }
}

// newModule is the injector's last step.
func newModule(svc *application.Service, h *httpapi.Handler, store *postgres.Store, tokens *token.Issuer,
	audit *postgres.AuditWriter, _ StoreMetrics, limits *ratelimit.Limits, cfg Config, rc RedisConn, log *slog.Logger) *Module {
	return &Module{Service: svc, HTTP: h, started: make(chan struct{}), cfg: cfg, redis: rc, log: log,
		parts: moduleparts.Parts{Store: store, Tokens: tokens, Audit: audit, Limits: limits}}
}

// Run is the module's lifecycle; the host calls it once, in its own
// goroutine, next to its HTTP server. It loads the signing keys (creating the
// first one on an empty store), loads the revocations (so that no request is
// verified against an empty cache), then is Ready and runs every background
// loop until ctx ends: the revocation sync, the purge of ended sessions, the
// erasure of deleted accounts, and the audit writer (which flushes what is
// queued when ctx ends, so the host cancels ctx after its last request). It
// returns when all of them have stopped: the host may close the database
// then. A failure to start is returned at once; a loop's failure stops the
// others and is returned.
func (m *Module) Run(ctx context.Context) error {
	if !m.running.CompareAndSwap(false, true) {
		return fmt.Errorf("enduser module: Run called twice")
	}
	if err := m.cfg.checkStart(m.log); err != nil {
		return err
	}
	defer m.redis.Close() //nolint:errcheck // closing a client the module opened, at the end
	if err := m.parts.Tokens.Init(ctx); err != nil {
		return fmt.Errorf("signing keys: %w", err)
	}
	if err := m.Service.SyncRevocations(ctx); err != nil {
		return fmt.Errorf("load revocations: %w", err)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return m.Service.Run(gctx) })
	g.Go(func() error { return m.parts.Audit.Run(gctx) })
	m.ready.Store(true)
	close(m.started)
	err := g.Wait()
	m.ready.Store(false)
	return err
}

// Ready reports whether Run has loaded the keys and the revocations and its
// loops are running: the module may serve.
func (m *Module) Ready() bool { return m.ready.Load() }

// Started is closed once Run is Ready (it stays closed after Run returns).
func (m *Module) Started() <-chan struct{} { return m.started }

// ReadyHandler answers a readiness probe (a host mounts it as /readyz): 200
// {"status":"ready"} when the module is Ready and its database answers a
// ping within 2 s, else 503 {"status":"starting"} or {"status":"database
// unavailable"}, or {"status":"stopped"} once Run has returned.
func (m *Module) ReadyHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		status, code := "ready", http.StatusOK
		if !m.Ready() {
			status, code = "starting", http.StatusServiceUnavailable
			select {
			case <-m.started:
				status = "stopped" // Run has returned
			default:
			}
		} else {
			ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
			defer cancel()
			if err := m.parts.Store.Ping(ctx); err != nil {
				status, code = "database unavailable", http.StatusServiceUnavailable
			}
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(map[string]string{"status": status})
	})
}

// OnLogout registers a host's listener of logouts (a push module, which
// stops pushing to the device the logout named): Service.OnLogout, which
// says how listeners are called.
func (m *Module) OnLogout(listener func(context.Context, application.LogoutEvent)) {
	m.Service.OnLogout(listener)
}
