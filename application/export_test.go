package application_test

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/iotplatform/enduser-auth/application"
	"github.com/iotplatform/enduser-auth/domain"
)

// UserExportData lets a test make the export's reading fail.
func (f *faultyStore) UserExportData(ctx context.Context, uid string) (application.StoredUserData, error) {
	if err := f.fault("UserExportData"); err != nil {
		return application.StoredUserData{}, err
	}
	return f.Store.UserExportData(ctx, uid)
}

// fakeAuditTrail is an AuditReader over a fixed list; it remembers its
// queries.
type fakeAuditTrail struct {
	mu      sync.Mutex
	records []application.AuditRecord
	err     error
	asked   []string // "userDomain/uid/limit"
}

func (a *fakeAuditTrail) UserAuditRecords(_ context.Context, userDomain, uid string, limit int) ([]application.AuditRecord, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.asked = append(a.asked, userDomain+"/"+uid+"/"+strconv.Itoa(limit))
	if a.err != nil {
		return nil, a.err
	}
	var out []application.AuditRecord
	for _, r := range a.records {
		if r.UserDomain == userDomain && r.UID == uid && len(out) < limit {
			out = append(out, r)
		}
	}
	return out, nil
}

// TestExportUser: the export maps everything stored about the user (two apps
// joined by unionid, the profile, a refreshed and a logged-out session, a
// pending deletion, the audit records) into the document, in UTC, with no
// token in it; it is itself audited; an unknown or empty uid and failing
// stores are clear errors.
func TestExportUser(t *testing.T) {
	h := newHarness(t)
	rec := &recordingAudit{}
	trail := &fakeAuditTrail{}
	h.svc.Machinery.SetAuditLog(rec)
	h.svc.Machinery.SetAuditReader(trail)

	first := h.login(signed(appID, "code-alice"))
	h.clock.Advance(time.Minute)
	second := h.login(signed(app2ID, "code-alice-app2"))
	if second.UID != first.UID {
		t.Fatalf("unionid joins: %s and %s", first.UID, second.UID)
	}
	bob := h.login(signed(appID, "code-bob"))
	must(t, h.svc.EndUsers.SetUserInfo(h.ctx, first.Tokens.Access.Value, profileText(t, map[string]string{"nikeName": "Alice", "timezone": "8"})))
	h.clock.Advance(time.Minute)
	refreshed := h.refresh(second.Tokens.Refresh.Value)
	h.clock.Advance(time.Minute)
	must(t, h.svc.EndUsers.LogoutDevice(h.ctx, first.Tokens.Access.Value, "apns-device-1"))
	loc := time.FixedZone("CST", 8*3600)
	trail.records = []application.AuditRecord{
		{Time: start.In(loc), Event: application.AuditLogin, UserDomain: tenant, UID: first.UID, OpenIDHash: "h1"},
		{Time: start.Add(time.Minute), Event: application.AuditLogin, UserDomain: tenant, UID: bob.UID, OpenIDHash: "h2"},
		{Time: start.Add(3 * time.Minute), Event: application.AuditLogout, UserDomain: "C.DM.10271.6", UID: first.UID},
	}
	rec.take()

	x, err := h.svc.Operators.ExportUser(h.ctx, " "+first.UID+" ")
	must(t, err)
	if got := trail.asked; len(got) != 1 || got[0] != tenant+"/"+first.UID+"/"+strconv.Itoa(application.MaxExportedAuditRecords+1) {
		t.Errorf("audit trail asked %v", got)
	}
	u := x.User
	if u.UID != first.UID || u.UserDomain != tenant || u.Status != 1 || u.RegisteredVia != "offiaccount" || u.DeletionDueAt != nil ||
		!u.RegisteredAt.Equal(start) || !u.LastLoginAt.Equal(start.Add(time.Minute)) {
		t.Errorf("user: %+v", u)
	}
	if !x.ExportedAt.Equal(start.Add(3*time.Minute)) || x.ExportedAt.Location() != time.UTC {
		t.Errorf("exportedAt %v", x.ExportedAt)
	}
	if p := x.Profile; p.NikeName == nil || *p.NikeName != "Alice" || p.Timezone == nil || *p.Timezone != 8 || p.City != nil || p.Sex != nil {
		t.Errorf("profile: %+v", p)
	}
	if len(x.Identities) != 2 || x.Identities[0].AppID != appID || x.Identities[0].OpenID != "o1-alice" ||
		x.Identities[1].AppID != app2ID || x.Identities[1].OpenID != "o2-alice" || x.Identities[1].UnionID == nil ||
		*x.Identities[1].UnionID != "u-alice" || !x.Identities[1].BoundAt.Equal(start.Add(time.Minute)) || x.Identities[0].AppKind != "offiaccount" {
		t.Errorf("identities: %+v", x.Identities)
	}
	if len(x.Sessions) != 2 {
		t.Fatalf("sessions: %+v", x.Sessions)
	}
	out, live := x.Sessions[0], x.Sessions[1]
	if out.AppID != appID || out.RevokedAt == nil || !out.RevokedAt.Equal(start.Add(3*time.Minute)) || out.RevokeReason == nil ||
		*out.RevokeReason != "logout" || out.LogoutDeviceID == nil || *out.LogoutDeviceID != "apns-device-1" || out.RotatedAt != nil {
		t.Errorf("logged-out session: %+v", out)
	}
	if live.AppID != app2ID || live.RevokedAt != nil || live.RevokeReason != nil || live.LogoutDeviceID != nil || live.RotatedAt == nil ||
		!live.RotatedAt.Equal(start.Add(2*time.Minute)) || !live.CreatedAt.Equal(start.Add(time.Minute)) {
		t.Errorf("live session: %+v", live)
	}
	if len(x.AuditRecords) != 1 || x.AuditRecords[0].OpenIDHash != "h1" || x.AuditRecords[0].Time.Location() != time.UTC || x.AuditTruncated {
		t.Errorf("audit records: %+v (truncated %t)", x.AuditRecords, x.AuditTruncated)
	}
	doc, err := json.Marshal(x)
	must(t, err)
	for _, tok := range []string{first.Tokens.Access.Value, first.Tokens.Refresh.Value, second.Tokens.Access.Value,
		second.Tokens.Refresh.Value, refreshed.Access.Value, refreshed.Refresh.Value, tenantSecret, appSecret, app2Secret} {
		if strings.Contains(string(doc), tok) {
			t.Errorf("the document holds a secret %q: %s", tok, doc)
		}
	}
	if strings.Contains(string(doc), bob.UID) {
		t.Errorf("another user in the document: %s", doc)
	}
	if ev := rec.take(); len(ev) != 1 || ev[0].Event != application.AuditUserExported || ev[0].UID != first.UID || ev[0].UserDomain != tenant {
		t.Errorf("audit of the export: %+v", ev)
	}

	// A pending deletion shows; more records than the cap are cut and said so.
	h.deleteAccount(second, domain.DeletionAfterCoolingOff)
	trail.records = make([]application.AuditRecord, application.MaxExportedAuditRecords+5)
	for i := range trail.records {
		trail.records[i] = application.AuditRecord{Time: start, Event: application.AuditLogin, UserDomain: tenant, UID: first.UID}
	}
	x, err = h.svc.Operators.ExportUser(h.ctx, first.UID)
	must(t, err)
	if x.User.DeletionDueAt == nil || !x.User.DeletionDueAt.Equal(start.Add(3*time.Minute+domain.DefaultDeletionCoolingOff)) {
		t.Errorf("deletion due at %v", x.User.DeletionDueAt)
	}
	if len(x.AuditRecords) != application.MaxExportedAuditRecords || !x.AuditTruncated {
		t.Errorf("%d records, truncated %t", len(x.AuditRecords), x.AuditTruncated)
	}
	rec.take()

	// Errors.
	_, err = h.svc.Operators.ExportUser(h.ctx, "uid-nobody")
	wantKind(t, "unknown uid", err, domain.KindUserNotFound)
	if !strings.Contains(domain.DetailOf(err), "uid-nobody") {
		t.Errorf("unknown uid: detail %q", domain.DetailOf(err))
	}
	_, err = h.svc.Operators.ExportUser(h.ctx, "  ")
	wantKind(t, "no uid", err, domain.KindInvalid)
	trail.err = errDatabase
	_, err = h.svc.Operators.ExportUser(h.ctx, first.UID)
	wantInternal(t, "audit trail down", err, domain.KindInternal)
	trail.err = nil
	h.store.failOn("UserExportData")
	_, err = h.svc.Operators.ExportUser(h.ctx, first.UID)
	wantInternal(t, "store down", err, domain.KindInternal)
	if ev := rec.take(); len(ev) != 0 {
		t.Errorf("failed exports audited: %+v", ev)
	}

	// Without an audit reader the export has an empty list, not null.
	h.store.faults = map[string]error{}
	svc := h.newService()
	x, err = svc.Operators.ExportUser(h.ctx, first.UID)
	must(t, err)
	if x.AuditRecords == nil || len(x.AuditRecords) != 0 {
		t.Errorf("audit records without a reader: %#v", x.AuditRecords)
	}
}
