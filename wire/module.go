package wire

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"
	"gorm.io/gorm"

	"github.com/iotplatform/enduser-auth/adapters/httpapi"
	"github.com/iotplatform/enduser-auth/adapters/postgres"
	"github.com/iotplatform/enduser-auth/adapters/ratelimit"
	"github.com/iotplatform/enduser-auth/adapters/token"
	"github.com/iotplatform/enduser-auth/application"
	"github.com/iotplatform/enduser-auth/migrations"
)

// Module is the assembled module, as a host uses it: a facade per audience,
// the HTTP adapter and one lifecycle (Start, Stop, Ready). Building it
// (NewModule) touches neither the database nor the network; Start does what
// must be read, Stop ends what Start started.
type Module struct {
	// EndUsers is what end users' clients trigger (logins, refresh, logout,
	// profile, deletion, JWKS); the HTTP adapter serves it.
	EndUsers *application.EndUsers
	// Auth is what the host's other modules call in-process:
	// VerifyAccessToken, UserInfo, OnLogout, OnUserErased.
	Auth *application.Auth
	// Operators is what operators do: tenants, WeChat apps, data centers,
	// users, keys, import, export, unblock, audit (the module's CLI).
	Operators *application.Operators
	// HTTP registers the endpoints on a group and offers the auth middleware.
	HTTP *httpapi.Handler

	machinery      *application.Machinery
	db             *gorm.DB
	store          *postgres.Store
	tokens         *token.Issuer
	audit          *postgres.AuditWriter
	log            *slog.Logger
	migrateOnStart bool
	cfg            Config
	redis          RedisConn
	// loops are more background loops Start runs next to the module's own
	// (tests inject a failing one).
	loops []namedLoop

	// mu serialises Start and Stop; state is where the lifecycle is.
	mu    sync.Mutex
	state lifecycle
	// The running loops: cancel ends them, loopsDone is closed when every
	// loop but the audit writer has returned, waited when all have.
	cancel    context.CancelFunc
	loopsDone chan struct{}
	waited    chan struct{}
	stopErr   error

	ready       atomic.Bool
	stoppedFlag atomic.Bool // Stop was called (ReadyHandler reads it without mu)
	// failed is closed, and failure set, when a loop fails after start.
	failed   chan struct{}
	failOnce sync.Once
	failure  atomic.Pointer[error]
}

type lifecycle int

const (
	idle lifecycle = iota
	running
	stopped
)

type namedLoop struct {
	name string
	run  func(context.Context) error
}

// newModule is the injector's last step.
func newModule(app application.Facades, h *httpapi.Handler, store *postgres.Store, tokens *token.Issuer,
	audit *postgres.AuditWriter, _ StoreMetrics, db *gorm.DB, log *slog.Logger, cfg Config, rc RedisConn,
	limits *ratelimit.Limits) *Module {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m := &Module{EndUsers: app.EndUsers, Auth: app.Auth, Operators: app.Operators, HTTP: h,
		machinery: app.Machinery, db: db, store: store, tokens: tokens, audit: audit, log: log,
		migrateOnStart: cfg.MigrateOnStart, cfg: cfg, redis: rc, failed: make(chan struct{})}
	if limits != nil && limits.Local() {
		// The local-first admission's sync and lockout mirror: until it
		// runs, every admission is decided in Redis.
		m.loops = append(m.loops, namedLoop{"limits sync", limits.Run})
	}
	return m
}

// Start makes the module ready, with ctx bounding the start only: it checks
// the database schema (migrating it first with Config.MigrateOnStart),
// loads the signing keys (creating the first one on an empty store), the
// audit trail's key and the revocations, then starts the background loops
// (the revocation sync, the purge of ended sessions, the erasure of deleted
// accounts, the audit writer) under a context of its own, which Stop ends.
// It returns nil once the module is Ready, or the reason it could not start
// (nothing is left running then). A schema behind the module's fails at once
// with both versions and how to migrate; a schema ahead (a newer instance of
// a rolling deploy migrated it) starts, with a warning.
func (m *Module) Start(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch m.state {
	case running:
		return errors.New("enduser module: Start called twice")
	case stopped:
		return errors.New("enduser module: Start after Stop")
	}
	if err := m.cfg.checkStart(m.log); err != nil {
		return err
	}
	if err := m.checkSchema(ctx); err != nil {
		return err
	}
	if err := m.tokens.Init(ctx); err != nil {
		return fmt.Errorf("enduser module: signing keys: %w", err)
	}
	if err := m.audit.Open(ctx); err != nil {
		return fmt.Errorf("enduser module: %w", err)
	}
	if err := m.machinery.SyncRevocations(ctx); err != nil {
		return fmt.Errorf("enduser module: load revocations: %w", err)
	}
	// The loops' context is the module's: the caller's ctx bounds the start
	// only (its values are kept, its end is not).
	loopCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	g, gctx := errgroup.WithContext(loopCtx)
	var loops sync.WaitGroup
	for _, l := range append([]namedLoop{{"background jobs", m.machinery.Run}}, m.loops...) {
		loops.Add(1)
		g.Go(func() error {
			defer loops.Done()
			return m.watch(gctx, l)
		})
	}
	if m.audit != nil {
		// Not under gctx: a failed loop must not stop the audit trail of the
		// requests still served; Stop ends it (AuditWriter.Stop), after the
		// other loops, so that their records are written too.
		g.Go(func() error { return m.watch(context.WithoutCancel(ctx), namedLoop{"audit writer", m.audit.Run}) })
	}
	m.cancel, m.loopsDone, m.waited = cancel, make(chan struct{}), make(chan struct{})
	go func() {
		loops.Wait()
		close(m.loopsDone)
	}()
	go func() {
		_ = g.Wait() // a loop's failure is m.failure already (watch records it)
		close(m.waited)
	}()
	m.state = running
	m.ready.Store(true)
	return nil
}

// watch runs l, turning a panic into an error, and reports its failure.
func (m *Module) watch(ctx context.Context, l namedLoop) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("panic: %v", v)
		}
		stopping := errors.Is(err, context.Canceled) && ctx.Err() != nil
		if err != nil && !stopping {
			err = fmt.Errorf("enduser module: %s: %w", l.name, err)
			m.fail(err)
		}
	}()
	return l.run(ctx)
}

// fail records the first failure of a loop after start: logged at ERROR,
// the module no longer ready (/readyz answers 503 "failed"), Failed closed.
func (m *Module) fail(err error) {
	m.failOnce.Do(func() {
		m.failure.Store(&err)
		m.ready.Store(false)
		m.log.Error("enduser module: a background loop failed: the module is not ready any more; stop it", slog.String("error", err.Error()))
		close(m.failed)
	})
}

// checkSchema compares the database's schema version with the module's
// latest migration (migrating first when the host asked for it).
func (m *Module) checkSchema(ctx context.Context) error {
	sqlDB, err := m.db.DB()
	if err != nil {
		return fmt.Errorf("enduser module: database: %w", err)
	}
	if m.migrateOnStart {
		if err := migrations.Up(ctx, sqlDB); err != nil {
			return fmt.Errorf("enduser module: migrate the database schema (Config.MigrateOnStart): %w", err)
		}
	}
	p, err := migrations.NewProvider(sqlDB)
	if err != nil {
		return fmt.Errorf("enduser module: %w", err)
	}
	var want int64
	for _, s := range p.ListSources() {
		want = max(want, s.Version)
	}
	have, err := p.GetDBVersion(ctx)
	if err != nil {
		return fmt.Errorf("enduser module: read the database schema version (table %s): %w", migrations.VersionTable, err)
	}
	switch {
	case have < want:
		return fmt.Errorf("enduser module: the database schema is at version %d and this module needs version %d: "+
			"migrate it first (migrations.Up(ctx, db) from the host, `enduser migrate up`, or Config.MigrateOnStart)", have, want)
	case have > want:
		m.log.Warn("enduser module: the database schema is ahead of this module (a newer instance migrated it): starting anyway",
			slog.Int64("schemaVersion", have), slog.Int64("moduleVersion", want))
	}
	return nil
}

// Stop ends the background loops, waits for them, then writes the audit
// records still queued, all within ctx: what is still queued when ctx ends
// is dropped, counted (enduser_auth_audit_dropped_total{reason="shutdown"})
// and logged. It returns the error of a loop that failed after Start (or,
// when ctx ended before the loops did, ctx's error). Without Start it only
// writes the queued audit records (an admin command). The host calls it after
// its last request, before it closes the database; Stop twice is harmless.
func (m *Module) Stop(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch m.state {
	case stopped:
		return m.stopErr
	case idle:
		m.state = stopped
		m.stoppedFlag.Store(true)
		m.audit.Stop(ctx)
		_ = m.redis.Close() // a client the module opened itself: nothing to report at the end
		return nil
	}
	m.state = stopped
	m.stoppedFlag.Store(true)
	m.ready.Store(false)
	m.cancel()
	done(ctx, m.loopsDone) // then the audit writer, so that the loops' records are written too
	listeners := make(chan struct{})
	go func() { m.machinery.WaitLogoutListeners(); close(listeners) }()
	done(ctx, listeners) // the logout listeners already called (a push module's), within ctx too
	m.audit.Stop(ctx)
	_ = m.redis.Close() // a client the module opened itself (the limits fall back to memory if still asked)
	if !done(ctx, m.waited) {
		m.stopErr = fmt.Errorf("enduser module: stop: the background loops did not end in time: %w", ctx.Err())
		return m.stopErr
	}
	if f := m.failure.Load(); f != nil {
		m.stopErr = *f
	}
	return m.stopErr
}

// done waits for c to be closed or ctx to end, and reports whether c was
// closed (a closed c wins over an ended ctx).
func done(ctx context.Context, c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
	}
	select {
	case <-c:
		return true
	case <-ctx.Done():
		return false
	}
}

// Ready reports whether Start has succeeded, no loop has failed since and
// Stop has not been called: the module may serve.
func (m *Module) Ready() bool { return m.ready.Load() && m.failure.Load() == nil }

// Failed is closed when a background loop fails after Start (the module is
// not Ready any more; Stop returns the failure). A host may watch it to stop
// serving.
func (m *Module) Failed() <-chan struct{} { return m.failed }

// ReadyHandler answers a readiness probe (a host mounts it as /readyz): 200
// {"status":"ready"} when the module is Ready and its database answers a
// ping within 2 s, else 503 with {"status":"starting"} (before Start),
// "failed" (a background loop failed), "stopped" (after Stop) or "database
// unavailable".
func (m *Module) ReadyHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		status, code := "ready", http.StatusOK
		switch {
		case m.failure.Load() != nil:
			status, code = "failed", http.StatusServiceUnavailable
		case !m.Ready():
			status, code = "starting", http.StatusServiceUnavailable
			if m.stoppedFlag.Load() {
				status = "stopped"
			}
		default:
			ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
			defer cancel()
			if err := m.store.Ping(ctx); err != nil {
				status, code = "database unavailable", http.StatusServiceUnavailable
			}
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(map[string]string{"status": status})
	})
}
