package application_test

import (
	"context"
	"sync"
	"testing"

	"github.com/iotplatform/enduser-auth/application"
	"github.com/iotplatform/enduser-auth/domain"
)

// recordingAudit is an AuditLog that keeps what it is given.
type recordingAudit struct {
	mu     sync.Mutex
	events []application.AuditEvent
}

func (r *recordingAudit) Record(_ context.Context, e application.AuditEvent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

func (r *recordingAudit) take() []application.AuditEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.events
	r.events = nil
	return out
}

// TestAuditEvents: the use cases record one event per security event, with
// the request's metadata from the context.
func TestAuditEvents(t *testing.T) {
	h := newHarness(t)
	rec := &recordingAudit{}
	h.svc.Machinery.SetAuditLog(rec)
	meta := application.RequestMeta{ClientIP: "198.51.100.9", UserAgent: "ua/1", RequestID: "rid-1"}
	ctx := application.WithRequestMeta(h.ctx, meta)

	res, err := h.svc.EndUsers.LoginWithWeChatOfficialAccount(ctx, signed(appID, "code-alice"))
	must(t, err)
	bad := signed(appID, "code-bob")
	bad.Signature = "00"
	_, _ = h.svc.EndUsers.LoginWithWeChatOfficialAccount(ctx, bad)
	_, _ = h.svc.EndUsers.LoginWithWeChatOfficialAccount(ctx, signed(appID, "code-used"))
	ev := rec.take()
	if len(ev) != 3 {
		t.Fatalf("%d events, want 3: %+v", len(ev), ev)
	}
	if e := ev[0]; e.Event != application.AuditLogin || e.Outcome != "" || e.UID != res.UID || e.OpenID != "o1-alice" ||
		e.UserDomain != tenant || e.AppID != appID || e.RequestMeta != meta || !e.Time.Equal(h.clock.Now()) {
		t.Errorf("successful login: %+v", e)
	}
	if e := ev[1]; e.Outcome != domain.KindSignatureInvalid || e.UID != "" || e.OpenID != "" {
		t.Errorf("bad signature: %+v", e)
	}
	if e := ev[2]; e.Outcome != domain.KindWeChatRejected || e.WeChatErrcode != 40163 {
		t.Errorf("WeChat's errcode: %+v", e)
	}

	must(t, h.svc.EndUsers.Logout(ctx, res.Tokens.Access.Value))
	_ = h.svc.EndUsers.Logout(ctx, "forged")
	ev = rec.take()
	if len(ev) != 2 || ev[0].Event != application.AuditLogout || ev[0].Outcome != "" || ev[0].UID != res.UID ||
		ev[1].Outcome != domain.KindTokenInvalid || ev[1].UID != "" {
		t.Errorf("logouts: %+v", ev)
	}

	h.svc.Machinery.RecordLockout(ctx, tenant, "")
	h.svc.Machinery.RecordLockout(ctx, tenant, "203.0.113.5")
	ev = rec.take()
	if len(ev) != 2 || ev[0].Event != application.AuditLockout || ev[0].ClientIP != meta.ClientIP || ev[0].UserDomain != tenant ||
		ev[1].ClientIP != "203.0.113.5" || ev[1].RequestID != "rid-1" {
		t.Errorf("lockouts: %+v", ev)
	}
}

// TestAuditRecordsTheTrimmedNames: a user domain or appId padded with blanks
// (which the login trims) is recorded as the login used it, so a search of
// the audit trail by user domain finds it.
func TestAuditRecordsTheTrimmedNames(t *testing.T) {
	h := newHarness(t)
	rec := &recordingAudit{}
	h.svc.Machinery.SetAuditLog(rec)
	ok := signed(appID, "code-alice")
	ok.UserDomain, ok.AppID = " "+tenant+"\t", appID+" "
	_, err := h.svc.EndUsers.LoginWithWeChatOfficialAccount(h.ctx, ok)
	must(t, err)
	bad := signed(appID, "code-bob")
	bad.UserDomain, bad.Signature = "\t"+tenant, "00"
	_, _ = h.svc.EndUsers.LoginWithWeChatOfficialAccount(h.ctx, bad)
	ev := rec.take()
	if len(ev) != 2 {
		t.Fatalf("%d events, want 2: %+v", len(ev), ev)
	}
	for i, e := range ev {
		if e.UserDomain != tenant || e.AppID != appID {
			t.Errorf("event %d recorded user domain %q appId %q, want %q %q", i, e.UserDomain, e.AppID, tenant, appID)
		}
	}
}
