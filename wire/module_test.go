package wire_test

import (
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

// TestModuleLifecycle: not ready before Start; ready once Start has loaded
// the keys and the revocations (the first signing key is created); Stop
// returns after the loops have stopped and the audit writer has written what
// was queued; not ready after.
func TestModuleLifecycle(t *testing.T) {
	db := pgtest.Open(t)
	mod := newLifecycleModule(t, db)
	if mod.Ready() {
		t.Fatal("ready before Start")
	}
	if code, body := readyz(mod); code != http.StatusServiceUnavailable || body != `{"status":"starting"}` {
		t.Fatalf("readyz before Start: %d %s", code, body)
	}
	ctx := t.Context()
	if err := mod.Start(ctx); err != nil {
		t.Fatalf("Start: %v", err)
	}
	if !mod.Ready() {
		t.Fatal("not ready once started")
	}
	if code, body := readyz(mod); code != http.StatusOK || body != `{"status":"ready"}` {
		t.Fatalf("readyz once started: %d %s", code, body)
	}
	var keys int64
	if err := db.Table("enduser_signing_keys").Count(&keys).Error; err != nil || keys != 1 {
		t.Fatalf("signing keys after Start: %d %v, want 1", keys, err)
	}
	if err := mod.Start(ctx); err == nil {
		t.Error("a second Start must be refused")
	}
	// An audited use case while the module runs: its record is queued.
	ud, err := mod.Operators.CreateUserDomain(ctx, "L.DM.1.1", "")
	if err != nil {
		t.Fatal(err)
	}
	if err := mod.Operators.SetUserDomainEnabled(ctx, ud.Name(), false); err != nil {
		t.Fatal(err)
	}
	if err := mod.Stop(ctx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if mod.Ready() {
		t.Error("still ready after Stop")
	}
	if code, body := readyz(mod); code != http.StatusServiceUnavailable || body != `{"status":"stopped"}` {
		t.Errorf("readyz after Stop: %d %s, want 503 stopped", code, body)
	}
	var n int64
	if err := db.Table("enduser_audit_events").Where("event = ?", application.AuditUserDomainDisabled).Count(&n).Error; err != nil || n != 1 {
		t.Errorf("audit records of the disable after Stop: %d %v, want 1 (the writer flushes before Stop returns)", n, err)
	}
	if err := mod.Stop(ctx); err != nil {
		t.Errorf("a second Stop: %v, want nil (harmless)", err)
	}
}

// TestModuleStartFailsWhenTheKeysCannotLoad: Start reports a start-up failure
// at once (the stored signing key is sealed under another master key), the
// module never becomes ready, and Stop afterwards returns.
func TestModuleStartFailsWhenTheKeysCannotLoad(t *testing.T) {
	db := pgtest.Open(t)
	first := newLifecycleModule(t, db)
	if err := first.Start(t.Context()); err != nil { // creates the first signing key under master key 4
		t.Fatal(err)
	}
	if err := first.Stop(t.Context()); err != nil {
		t.Fatal(err)
	}
	mod, err := modwire.NewModule(testConfig(5, "http://127.0.0.1:1"), modwire.Host{DB: db, HTTPClient: wechat.NewHTTPClient(0)})
	if err != nil {
		t.Fatal(err)
	}
	err = mod.Start(t.Context())
	if err == nil || !strings.Contains(err.Error(), "signing keys") {
		t.Fatalf("Start with keys sealed under another master key: %v, want a signing keys error", err)
	}
	if mod.Ready() {
		t.Error("ready after a failed start")
	}
	if code, _ := readyz(mod); code != http.StatusServiceUnavailable {
		t.Errorf("readyz after a failed start: %d, want 503", code)
	}
	if err := mod.Stop(t.Context()); err != nil {
		t.Errorf("Stop after a failed start: %v", err)
	}
}
