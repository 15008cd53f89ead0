package wire_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	gormpg "gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/iotplatform/enduser-auth/adapters/postgres/pgtest"
	"github.com/iotplatform/enduser-auth/adapters/wechat"
	"github.com/iotplatform/enduser-auth/adapters/wechat/wechatfake"
	"github.com/iotplatform/enduser-auth/application"
	"github.com/iotplatform/enduser-auth/domain"
	"github.com/iotplatform/enduser-auth/migrations"
	modwire "github.com/iotplatform/enduser-auth/wire"
)

// emptyDatabase creates a brand-new database with no table at all (not the
// migrated template pgtest clones), dropped when the test ends, and returns
// a GORM handle on it and its *sql.DB.
func emptyDatabase(t *testing.T) (*gorm.DB, *sql.DB) {
	t.Helper()
	adminURL := os.Getenv(pgtest.EnvDatabaseURL)
	if adminURL == "" {
		adminURL = pgtest.DefaultDatabaseURL
	}
	admin, err := sql.Open("pgx", adminURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = admin.Close() })
	var b [8]byte
	_, _ = rand.Read(b[:])
	name := "enduser_empty_" + hex.EncodeToString(b[:])
	if _, err := admin.ExecContext(t.Context(), `CREATE DATABASE `+name); err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(adminURL)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	db, err := gorm.Open(gormpg.Open(u.String()), &gorm.Config{Logger: logger.Discard})
	if err != nil {
		t.Fatal(err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = sqlDB.Close()
		_, _ = admin.ExecContext(context.Background(), `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`)
	})
	return db, sqlDB
}

// logBuf is a logger's output, safe for the module's goroutines.
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// lifecycleConfig is a module's configuration with master key 6 and WeChat
// at wechatURL.
func lifecycleConfig(wechatURL string) modwire.Config {
	return testConfig(6, wechatURL)
}

// latestVersion is the module's latest migration.
func latestVersion(t *testing.T, sqlDB *sql.DB) int64 {
	t.Helper()
	p, err := migrations.NewProvider(sqlDB)
	if err != nil {
		t.Fatal(err)
	}
	var v int64
	for _, s := range p.ListSources() {
		v = max(v, s.Version)
	}
	return v
}

// TestNewModuleDoesNoIO: the module is built on a database handle whose
// connection cannot even be opened (nothing listens on its port), so
// building it touches no database; on a brand-new empty database, the
// README's order (NewModule, migrations.Up, Start) works the first time and
// a person logs in.
func TestNewModuleDoesNoIO(t *testing.T) {
	unreachable, err := gorm.Open(gormpg.Open("postgres://nobody@127.0.0.1:1/nothing?sslmode=disable&connect_timeout=1"),
		&gorm.Config{DisableAutomaticPing: true, Logger: logger.Discard})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := modwire.NewModule(lifecycleConfig("http://127.0.0.1:1"), modwire.Host{DB: unreachable, HTTPClient: wechat.NewHTTPClient(0), Metrics: prometheus.NewRegistry()}); err != nil {
		t.Fatalf("NewModule on a database it cannot reach: %v, want no error (no I/O at construction)", err)
	}

	fake := wechatfake.New()
	fake.AddAccount("wxempty", "empty-secret")
	wx := httptest.NewServer(fake)
	defer wx.Close()
	db, sqlDB := emptyDatabase(t)
	ctx := t.Context()
	mod, err := modwire.NewModule(lifecycleConfig(wx.URL), modwire.Host{DB: db, HTTPClient: wechat.NewHTTPClient(0), Metrics: prometheus.NewRegistry()})
	if err != nil {
		t.Fatalf("NewModule on an empty database: %v", err)
	}
	if err := migrations.Up(ctx, sqlDB); err != nil {
		t.Fatal(err)
	}
	if err := mod.Start(ctx); err != nil {
		t.Fatalf("Start on a freshly migrated database: %v", err)
	}
	defer func() {
		if err := mod.Stop(context.Background()); err != nil {
			t.Error(err)
		}
	}()
	ud, err := mod.Operators.CreateUserDomain(ctx, "N.DM.1.1", "")
	if err != nil {
		t.Fatal(err)
	}
	if err := mod.Operators.PutOfficialAccount(ctx, ud.Name(), "wxempty", "empty-secret"); err != nil {
		t.Fatal(err)
	}
	if err := mod.Operators.PutDataCenter(ctx, "CN", "https://cn.example.com", []domain.MCC{460}); err != nil {
		t.Fatal(err)
	}
	code := fake.IssueCode("wxempty", wechatfake.User{OpenID: "o-empty"})
	res, err := mod.EndUsers.LoginWithWeChatOfficialAccount(ctx, application.WeChatLogin{UserDomain: ud.Name(), AppID: "wxempty",
		Code: code, Signature: domain.LoginSignature("wxempty", code, ud.Secret()), MCC: "460"})
	if err != nil {
		t.Fatalf("login on the empty database's first start: %v", err)
	}
	if p, err := mod.Auth.VerifyAccessToken(ctx, res.Tokens.Access.Value); err != nil || p.UID != res.UID {
		t.Fatalf("VerifyAccessToken: %+v %v", p, err)
	}
}

// TestStartRefusesASchemaBehind: a database migrated up, then down two
// versions (an upgrade's database before its migration): Start fails at once
// naming the version it has, the one it needs and how to migrate; with
// MigrateOnStart it migrates and starts.
func TestStartRefusesASchemaBehind(t *testing.T) {
	db, sqlDB := emptyDatabase(t)
	ctx := t.Context()
	if err := migrations.Up(ctx, sqlDB); err != nil {
		t.Fatal(err)
	}
	p, err := migrations.NewProvider(sqlDB)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := p.Down(ctx); err != nil {
			t.Fatal(err)
		}
	}
	want := latestVersion(t, sqlDB)
	// Where the two downs left it (two versions behind, or further when the
	// numbers have a gap, as while parallel branches land out of order).
	behind, err := p.GetDBVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	mod, err := modwire.NewModule(lifecycleConfig("http://127.0.0.1:1"), modwire.Host{DB: db, HTTPClient: wechat.NewHTTPClient(0)})
	if err != nil {
		t.Fatal(err)
	}
	err = mod.Start(ctx)
	if err == nil {
		t.Fatal("Start on a schema two versions behind: no error")
	}
	for _, s := range []string{"version " + strconv.FormatInt(behind, 10), "version " + strconv.FormatInt(want, 10), "migrations.Up", "enduser migrate up", "MigrateOnStart"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("Start's error %q does not say %q", err, s)
		}
	}
	if mod.Ready() {
		t.Error("ready after a refused start")
	}
	if err := mod.Stop(ctx); err != nil {
		t.Errorf("Stop after a refused start: %v", err)
	}

	cfg := lifecycleConfig("http://127.0.0.1:1")
	cfg.MigrateOnStart = true
	migrating, err := modwire.NewModule(cfg, modwire.Host{DB: db, HTTPClient: wechat.NewHTTPClient(0)})
	if err != nil {
		t.Fatal(err)
	}
	if err := migrating.Start(ctx); err != nil {
		t.Fatalf("Start with MigrateOnStart: %v", err)
	}
	if err := migrating.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if v, err := p.GetDBVersion(ctx); err != nil || v != want {
		t.Fatalf("schema version after MigrateOnStart: %d %v, want %d", v, err, want)
	}
}

// TestStartAcceptsASchemaAhead: a schema a newer instance already migrated
// (a rolling deploy: a higher version row in the module's goose table) still
// starts, with a warning.
func TestStartAcceptsASchemaAhead(t *testing.T) {
	db, sqlDB := emptyDatabase(t)
	ctx := t.Context()
	if err := migrations.Up(ctx, sqlDB); err != nil {
		t.Fatal(err)
	}
	ahead := latestVersion(t, sqlDB) + 1
	if _, err := sqlDB.ExecContext(ctx, `INSERT INTO `+migrations.VersionTable+` (version_id, is_applied) VALUES ($1, true)`, ahead); err != nil {
		t.Fatal(err)
	}
	var logs logBuf
	mod, err := modwire.NewModule(lifecycleConfig("http://127.0.0.1:1"), modwire.Host{DB: db, HTTPClient: wechat.NewHTTPClient(0), Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if err := mod.Start(ctx); err != nil {
		t.Fatalf("Start on a schema ahead of the module: %v", err)
	}
	if err := mod.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "ahead of this module") || !strings.Contains(logs.String(), "schemaVersion="+strconv.FormatInt(ahead, 10)) {
		t.Errorf("no warning about the schema ahead:\n%s", logs.String())
	}
}

// TestLoopFailureAfterStart: a background loop that fails after Start is
// logged at ERROR, closes Failed, turns /readyz to 503 "failed", and Stop
// returns its error.
func TestLoopFailureAfterStart(t *testing.T) {
	db := pgtest.Open(t)
	var logs logBuf
	mod, err := modwire.NewModule(lifecycleConfig("http://127.0.0.1:1"), modwire.Host{DB: db, HTTPClient: wechat.NewHTTPClient(0), Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	boom := errors.New("injected failure")
	mod.AddLoopForTest("injected loop", func(context.Context) error { return boom })
	if err := mod.Start(t.Context()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	<-mod.Failed()
	if mod.Ready() {
		t.Error("ready after a loop failed")
	}
	if code, body := readyz(mod); code != http.StatusServiceUnavailable || body != `{"status":"failed"}` {
		t.Errorf("readyz after a loop failed: %d %s, want 503 failed", code, body)
	}
	if l := logs.String(); !strings.Contains(l, "level=ERROR") || !strings.Contains(l, "injected loop") {
		t.Errorf("the failure is not logged at ERROR:\n%s", l)
	}
	if err := mod.Stop(t.Context()); !errors.Is(err, boom) {
		t.Fatalf("Stop: %v, want the loop's error", err)
	}
	if err := mod.Stop(t.Context()); !errors.Is(err, boom) {
		t.Errorf("a second Stop: %v, want the same error", err)
	}
}

// TestStopFlushesTheAuditTrail: Stop writes the queued audit records, started
// or not (an admin command does not start the module); with a ctx already
// ended, the queued records are counted as dropped (reason shutdown) and
// logged, never silently lost.
func TestStopFlushesTheAuditTrail(t *testing.T) {
	db := pgtest.Open(t)
	ctx := t.Context()
	countDisables := func() int64 {
		t.Helper()
		var n int64
		if err := db.Table("enduser_audit_events").Where("event = ?", application.AuditUserDomainDisabled).Count(&n).Error; err != nil {
			t.Fatal(err)
		}
		return n
	}
	disable := func(mod *modwire.Module, name string) {
		t.Helper()
		if _, err := mod.Operators.CreateUserDomain(ctx, name, ""); err != nil {
			t.Fatal(err)
		}
		if err := mod.Operators.SetUserDomainEnabled(ctx, name, false); err != nil {
			t.Fatal(err)
		}
	}

	started := newLifecycleModule(t, db)
	if err := started.Start(ctx); err != nil {
		t.Fatal(err)
	}
	disable(started, "F.DM.1.1")
	if err := started.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if n := countDisables(); n != 1 {
		t.Fatalf("audit records after Stop of a started module: %d, want 1", n)
	}

	admin := newLifecycleModule(t, db) // as an admin command: never started
	disable(admin, "F.DM.1.2")
	if err := admin.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if n := countDisables(); n != 2 {
		t.Fatalf("audit records after Stop of a module never started: %d, want 2", n)
	}

	var logs logBuf
	reg := prometheus.NewRegistry()
	late, err := modwire.NewModule(lifecycleConfig("http://127.0.0.1:1"), modwire.Host{DB: db, HTTPClient: wechat.NewHTTPClient(0), Logger: slog.New(slog.NewTextHandler(&logs, nil)), Metrics: reg})
	if err != nil {
		t.Fatal(err)
	}
	disable(late, "F.DM.1.3")
	disable(late, "F.DM.1.4")
	ended, cancel := context.WithCancel(ctx)
	cancel()
	if err := late.Stop(ended); err != nil {
		t.Fatal(err)
	}
	if n := countDisables(); n != 2 {
		t.Errorf("audit records after a Stop whose ctx had ended: %d, want still 2", n)
	}
	if got := late.AuditForTest().Abandoned(); got != 2 {
		t.Errorf("records counted as lost at the shutdown: %d, want 2", got)
	}
	want := `
		# HELP enduser_auth_audit_dropped_total Audit records lost: the queue was full (queue_full), the database refused the batch (write_failed) or they were still queued when the shutdown's deadline passed (shutdown).
		# TYPE enduser_auth_audit_dropped_total counter
		enduser_auth_audit_dropped_total{reason="queue_full"} 0
		enduser_auth_audit_dropped_total{reason="shutdown"} 2
		enduser_auth_audit_dropped_total{reason="write_failed"} 0
	`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "enduser_auth_audit_dropped_total"); err != nil {
		t.Error(err)
	}
	if l := logs.String(); !strings.Contains(l, "level=ERROR") || !strings.Contains(l, "audit records lost") || !strings.Contains(l, "records=2") {
		t.Errorf("the loss is not logged at ERROR with its number:\n%s", l)
	}
}
