package wire_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"gorm.io/gorm"

	"github.com/iotplatform/enduser-auth/adapters/postgres/pgtest"
	"github.com/iotplatform/enduser-auth/adapters/token"
	"github.com/iotplatform/enduser-auth/adapters/wechat"
	"github.com/iotplatform/enduser-auth/application"
	modwire "github.com/iotplatform/enduser-auth/wire"
)

func newLifecycleModule(t *testing.T, db *gorm.DB) *modwire.Module {
	t.Helper()
	cfg := testConfig(4, "http://127.0.0.1:1")
	cfg.SigningKeys.PublishDelay = token.DefaultPublishDelay
	mod, err := modwire.NewModule(cfg, modwire.Host{DB: db, HTTPClient: wechat.NewHTTPClient(0)})
	if err != nil {
		t.Fatal(err)
	}
	return mod
}

func readyz(mod *modwire.Module) (int, string) {
	rec := httptest.NewRecorder()
	mod.ReadyHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	return rec.Code, strings.TrimSpace(rec.Body.String())
}

// TestModuleLifecycle: not ready before Run; ready once Run has loaded the
// keys and the revocations (the first signing key is created); Run returns
// when its context ends, after its loops have stopped and the audit writer
// has written what was queued; not ready after.
func TestModuleLifecycle(t *testing.T) {
	db := pgtest.Open(t)
	mod := newLifecycleModule(t, db)
	if mod.Ready() {
		t.Fatal("ready before Run")
	}
	if code, body := readyz(mod); code != http.StatusServiceUnavailable || body != `{"status":"starting"}` {
		t.Fatalf("readyz before Run: %d %s", code, body)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- mod.Run(ctx) }()
	select {
	case <-mod.Started():
	case err := <-done:
		t.Fatalf("Run returned before it started: %v", err)
	}
	if !mod.Ready() {
		t.Fatal("not ready once started")
	}
	if code, body := readyz(mod); code != http.StatusOK || body != `{"status":"ready"}` {
		t.Fatalf("readyz once started: %d %s", code, body)
	}
	var keys int64
	if err := db.Table("enduser_signing_keys").Count(&keys).Error; err != nil || keys != 1 {
		t.Fatalf("signing keys after Run started: %d %v, want 1", keys, err)
	}
	if err := mod.Run(ctx); err == nil {
		t.Error("a second Run must be refused")
	}
	// An audited use case while the module runs: its record is queued.
	ud, err := mod.Service.CreateUserDomain(ctx, "L.DM.1.1", "")
	if err != nil {
		t.Fatal(err)
	}
	if err := mod.Service.SetUserDomainEnabled(ctx, ud.Name(), false); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run after its context ended: %v", err)
	}
	if mod.Ready() {
		t.Error("still ready after Run returned")
	}
	if code, body := readyz(mod); code != http.StatusServiceUnavailable || body != `{"status":"stopped"}` {
		t.Errorf("readyz after Run returned: %d %s, want 503 stopped", code, body)
	}
	var n int64
	if err := db.Table("enduser_audit_events").Where("event = ?", application.AuditUserDomainDisabled).Count(&n).Error; err != nil || n != 1 {
		t.Errorf("audit records of the disable after Run returned: %d %v, want 1 (the writer flushes before Run returns)", n, err)
	}
}

// TestModuleRunFailsWhenTheKeysCannotLoad: Run reports a start-up failure at
// once and the module never becomes ready.
func TestModuleRunFailsWhenTheKeysCannotLoad(t *testing.T) {
	db := pgtest.Open(t)
	mod := newLifecycleModule(t, db)
	sqlDB, err := db.DB()
	if err != nil {
		t.Fatal(err)
	}
	_ = sqlDB.Close()
	err = mod.Run(t.Context())
	if err == nil || !strings.Contains(err.Error(), "signing keys") {
		t.Fatalf("Run on a closed database: %v, want a signing keys error", err)
	}
	if mod.Ready() {
		t.Error("ready after a failed start")
	}
	select {
	case <-mod.Started():
		t.Error("Started closed after a failed start")
	default:
	}
}
