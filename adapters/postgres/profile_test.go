package postgres

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/iotplatform/enduser-auth/domain"
)

// The device a logout named lands in the same row as the revocation; a
// second logout changes neither.
func TestLogoutSessionStoresTheDevice(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newTestEnv(t)
	d := e.createUserDomain(t, "C.DM.1.1")
	now := testTime()
	withDevice := e.createSession(t, d, now)
	without := e.createSession(t, d, now)

	if ok, err := e.store.LogoutSession(ctx, withDevice.ID(), now.Add(time.Minute), "fcm:APA91b"); err != nil || !ok {
		t.Fatalf("logout = %v, %v", ok, err)
	}
	if ok, err := e.store.LogoutSession(ctx, withDevice.ID(), now.Add(time.Hour), "other"); err != nil || ok {
		t.Fatalf("second logout = %v, %v; want false", ok, err)
	}
	if ok, err := e.store.LogoutSession(ctx, without.ID(), now.Add(time.Minute), ""); err != nil || !ok {
		t.Fatalf("logout without device = %v, %v", ok, err)
	}
	read := func(id domain.SessionID) (string, sql.NullString) {
		t.Helper()
		var reason string
		var device sql.NullString
		if err := e.sql.QueryRow("SELECT revoke_reason, logout_device_id FROM enduser_sessions WHERE id = $1", id.String()).Scan(&reason, &device); err != nil {
			t.Fatal(err)
		}
		return reason, device
	}
	if reason, device := read(withDevice.ID()); reason != "logout" || device.String != "fcm:APA91b" {
		t.Fatalf("with device: reason %q device %+v", reason, device)
	}
	if reason, device := read(without.ID()); reason != "logout" || device.Valid {
		t.Fatalf("without device: reason %q device %+v, want NULL", reason, device)
	}
}
