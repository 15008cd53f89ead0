package application_test

import (
	"testing"
	"time"

	"github.com/iotplatform/enduser-auth/application"
	"github.com/iotplatform/enduser-auth/domain"
)

// TestRemoveWeChatApp: the facade's removal bites at once on its own
// instance (it clears the tenant cache, which holds the app after a login),
// on another instance within the TTL; it keeps the users (re-adding the app
// logs the same person in as the same user), refuses an app of another kind
// or an unknown one with the kind's missing code, and records one
// wechat_app_removed event, none for a refused removal.
func TestRemoveWeChatApp(t *testing.T) {
	h := newHarness(t, func(c *application.Config) { c.TenantCacheTTL = 5 * time.Second })
	rec := &recordingAudit{}
	h.svc.Machinery.SetAuditLog(rec)
	other := h.newService()
	ops := h.svc.Operators
	first := h.login(signed(appID, "code-alice")) // the app is cached now
	if _, err := other.EndUsers.LoginWithWeChatOfficialAccount(h.ctx, signed(appID, "code-alice-again")); err != nil {
		t.Fatal(err)
	}
	rec.take()

	for _, tc := range []struct {
		kind              domain.AppKind
		userDomain, appID string
		want              domain.Kind
	}{
		{domain.AppKindMiniProgram, tenant, appID, domain.KindMiniProgramMissing},
		{domain.AppKindMobileApp, tenant, appID, domain.KindAppSecretMissing},
		{domain.AppKindOfficialAccount, tenant, "wx-nobody", domain.KindOfficialAccountMissing},
		{domain.AppKindOfficialAccount, "C.DM.404.1", appID, domain.KindUserDomainNotFound},
		{domain.AppKindOfficialAccount, tenant, "", domain.KindInvalid},
		{"bogus", tenant, appID, domain.KindInvalid},
	} {
		wantKind(t, "RemoveWeChatApp("+string(tc.kind)+" "+tc.userDomain+" "+tc.appID+")",
			ops.RemoveWeChatApp(h.ctx, tc.kind, tc.userDomain, tc.appID), tc.want)
	}
	if got := rec.take(); len(got) != 0 {
		t.Fatalf("refused removals audited: %+v", got)
	}
	list, err := ops.WeChatApps(h.ctx, tenant, domain.AppKindOfficialAccount)
	must(t, err)
	if len(list) != 2 || list[0].AppID != app2ID || list[1].AppID != appID {
		t.Fatalf("official accounts before the removal: %+v", list)
	}

	must(t, ops.RemoveWeChatApp(h.ctx, domain.AppKindOfficialAccount, " "+tenant+" ", appID))
	_, err = h.svc.EndUsers.LoginWithWeChatOfficialAccount(h.ctx, signed(appID, "code-alice-again"))
	wantKind(t, "a login here after the removal", err, domain.KindOfficialAccountMissing)
	// Another instance serves its cached app until the TTL ends.
	if _, err := other.EndUsers.LoginWithWeChatOfficialAccount(h.ctx, signed(appID, "code-bob")); err != nil {
		t.Fatalf("another instance within the TTL: %v", err)
	}
	h.clock.Advance(5 * time.Second)
	_, err = other.EndUsers.LoginWithWeChatOfficialAccount(h.ctx, signed(appID, "code-alice-again"))
	wantKind(t, "another instance after the TTL", err, domain.KindOfficialAccountMissing)

	var got []application.AuditEvent
	for _, e := range rec.take() {
		if e.Event != application.AuditLogin {
			got = append(got, e)
		}
	}
	if len(got) != 1 || got[0].Event != application.AuditWeChatAppRemoved || got[0].UserDomain != tenant ||
		got[0].AppID != appID || got[0].AppKind != domain.AppKindOfficialAccount {
		t.Fatalf("audit records %+v, want one %s of %s in %s", got, application.AuditWeChatAppRemoved, appID, tenant)
	}
	list, err = ops.WeChatApps(h.ctx, tenant, domain.AppKindOfficialAccount)
	must(t, err)
	if len(list) != 1 || list[0].AppID != app2ID {
		t.Fatalf("official accounts after the removal: %+v", list)
	}
	_, err = ops.WeChatApps(h.ctx, "C.DM.404.1", domain.AppKindOfficialAccount)
	wantKind(t, "WeChatApps(unknown user domain)", err, domain.KindUserDomainNotFound)
	_, err = ops.WeChatApps(h.ctx, tenant, "bogus")
	wantKind(t, "WeChatApps(bogus kind)", err, domain.KindInvalid)

	// Re-added: the same person is the same user.
	must(t, ops.PutWeChatApp(h.ctx, domain.AppKindOfficialAccount, tenant, appID, appSecret))
	again := h.login(signed(appID, "code-alice-again"))
	if again.UID != first.UID {
		t.Fatalf("after re-adding: uid %s, want %s", again.UID, first.UID)
	}
}
