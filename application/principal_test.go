package application_test

import (
	"context"
	"testing"

	"github.com/iotplatform/enduser-auth/application"
	"github.com/iotplatform/enduser-auth/domain"
)

// TestPrincipalUseCases: after authentication every use case takes the
// principal: LogoutSession ends the principal's session (its tokens stop
// working, the listeners hear of it, the logout is audited) and
// UpdateUserInfo changes the principal's profile, as their token-taking
// wrappers do.
func TestPrincipalUseCases(t *testing.T) {
	h := newHarness(t)
	rec := &recordingAudit{}
	h.svc.Machinery.SetAuditLog(rec)
	var heard []application.LogoutEvent
	h.svc.Auth.OnLogout(func(_ context.Context, e application.LogoutEvent) { heard = append(heard, e) })
	res := h.login(signed(appID, "code-alice"))
	p := h.verify(res.Tokens.Access.Value)

	must(t, h.svc.EndUsers.UpdateUserInfo(h.ctx, p, profileText(t, map[string]string{"nikeName": "alice"})))
	wantKind(t, "bad sex", h.svc.EndUsers.UpdateUserInfo(h.ctx, p, profileText(t, map[string]string{"sex": "7"})), domain.KindSexInvalid)
	info, err := h.svc.EndUsers.UserInfo(h.ctx, p)
	must(t, err)
	if info.Profile.NikeName != "alice" {
		t.Fatalf("profile = %+v", info.Profile)
	}

	wantKind(t, "bad device", h.svc.EndUsers.LogoutSession(h.ctx, p, "bad device\n"), domain.KindLogoutFailed)
	must(t, h.svc.EndUsers.LogoutSession(h.ctx, p, "push-token-1"))
	h.svc.Machinery.WaitLogoutListeners()
	_, err = h.svc.Auth.VerifyAccessToken(h.ctx, res.Tokens.Access.Value)
	wantKind(t, "verify after logout", err, domain.KindTokenInvalid)
	_, err = h.svc.EndUsers.Refresh(h.ctx, res.Tokens.Refresh.Value)
	wantKind(t, "refresh after logout", err, domain.KindTokenInvalid)
	if len(heard) != 1 || heard[0].SessionID != p.SessionID || heard[0].DeviceID != "push-token-1" {
		t.Fatalf("listeners heard %+v", heard)
	}
	logouts := 0
	for _, e := range rec.take() {
		if e.Event == application.AuditLogout {
			logouts++
		}
	}
	if logouts != 2 { // the refused device and the logout
		t.Fatalf("%d logout audit records, want 2", logouts)
	}
}
