package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"testing"
	"time"

	"github.com/iotplatform/enduser-auth/application"
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

// TestAuditRecordsWhetherALogoutNamedADevice: logouts carry deviceGiven,
// other events none, and the device id itself is stored nowhere in the audit.
func TestAuditRecordsWhetherALogoutNamedADevice(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	w := NewAuditWriter(env.store.db, AuditConfig{BatchSize: 100, FlushInterval: time.Hour}, nil)
	stop := runWriter(w)
	now := time.Now()
	w.Record(context.Background(), application.AuditEvent{Time: now, Event: application.AuditLogout, UserDomain: "L.DM.1.1", UID: "u1", DeviceGiven: true})
	w.Record(context.Background(), application.AuditEvent{Time: now.Add(time.Millisecond), Event: application.AuditLogout, UserDomain: "L.DM.1.1", UID: "u2"})
	w.Record(context.Background(), application.AuditEvent{Time: now.Add(2 * time.Millisecond), Event: application.AuditLogin, UserDomain: "L.DM.1.1", UID: "u3"})
	stop() // flushes
	recs, err := env.store.AuditEvents(context.Background(), application.AuditQuery{UserDomain: "L.DM.1.1", Since: now.Add(-time.Minute)})
	if err != nil || len(recs) != 3 {
		t.Fatalf("%d records, %v", len(recs), err)
	}
	got := map[string]string{}
	for _, r := range recs {
		got[r.UID] = "nil"
		if r.DeviceGiven != nil {
			got[r.UID] = fmt.Sprint(*r.DeviceGiven)
		}
	}
	if got["u1"] != "true" || got["u2"] != "false" || got["u3"] != "nil" {
		t.Fatalf("deviceGiven by uid: %v", got)
	}
}
