package application_test

import (
	"testing"
	"time"

	"github.com/iotplatform/enduser-auth/adapters/ratelimit"
	"github.com/iotplatform/enduser-auth/application"
	"github.com/iotplatform/enduser-auth/domain"
)

const (
	miniID     = "wx-mini-program-1"
	miniSecret = "app-secret-of-the-mini-program"
)

// withMiniProgram provisions the harness's tenant with a mini program
// (through the facade, as the CLI does).
func withMiniProgram(h *harness) {
	h.t.Helper()
	must(h.t, h.svc.Operators.PutMiniProgram(h.ctx, tenant, miniID, miniSecret))
}

func miniSigned(appID, jsCode string) application.WeChatMiniProgramLogin {
	return application.WeChatMiniProgramLogin{UserDomain: tenant, AppID: appID, JSCode: jsCode,
		Signature: domain.LoginSignature(appID, jsCode, tenantSecret)}
}

// TestMiniProgramLoginUsesJSCode2Session: the mini program login exchanges
// through jscode2session with the mini program's secret, and the person
// (one unionid) is the user the official account login knows.
func TestMiniProgramLoginUsesJSCode2Session(t *testing.T) {
	h := newHarness(t)
	withMiniProgram(h)
	h.wechat.codes["js-alice"] = person{openID: "om-alice", unionID: "u-alice"}
	oa, err := h.svc.EndUsers.LoginWithWeChatOfficialAccount(h.ctx, signed(appID, "code-alice"))
	must(t, err)
	if h.wechat.JSCalls() != 0 {
		t.Fatal("the official account login used jscode2session")
	}
	mp, err := h.svc.EndUsers.LoginWithWeChatMiniProgram(h.ctx, miniSigned(miniID, "js-alice"))
	must(t, err)
	if h.wechat.JSCalls() != 1 || h.wechat.secrets[len(h.wechat.secrets)-1] != miniSecret {
		t.Fatalf("jscode2session calls %d, secrets %v", h.wechat.JSCalls(), h.wechat.secrets)
	}
	if mp.UID != oa.UID || mp.Outcome != domain.LoginJoinedByUnionID || mp.Registered {
		t.Fatalf("mini program login: uid %s (%s), want the official account's %s joined by unionid", mp.UID, mp.Outcome, oa.UID)
	}
}

// TestAppKindsAreNotInterchangeable: an appId of the other kind answers the
// login's own "not configured" kind without a WeChat call, and provisioning
// refuses it.
func TestAppKindsAreNotInterchangeable(t *testing.T) {
	h := newHarness(t)
	withMiniProgram(h)
	h.wechat.codes["js-alice"] = person{openID: "om-alice"}
	if _, err := h.svc.EndUsers.LoginWithWeChatMiniProgram(h.ctx, miniSigned(appID, "js-alice")); !domain.IsKind(err, domain.KindMiniProgramMissing) {
		t.Fatalf("an official account's appId at the mini program login: %v", err)
	}
	if _, err := h.svc.EndUsers.LoginWithWeChatOfficialAccount(h.ctx, signed(miniID, "code-alice")); !domain.IsKind(err, domain.KindOfficialAccountMissing) {
		t.Fatalf("a mini program's appId at the official account login: %v", err)
	}
	if _, err := h.svc.EndUsers.LoginWithWeChatMiniProgram(h.ctx, miniSigned("wx bad", "js-alice")); !domain.IsKind(err, domain.KindMiniProgramMissing) {
		t.Fatalf("an impossible appId: %v", err)
	}
	if h.wechat.Calls() != 0 {
		t.Fatalf("WeChat was called %d times", h.wechat.Calls())
	}
	if err := h.svc.Operators.PutMiniProgram(h.ctx, tenant, appID, "s"); !domain.IsKind(err, domain.KindInvalid) {
		t.Fatalf("PutMiniProgram(an official account's appId): %v", err)
	}
	if err := h.svc.Operators.PutOfficialAccount(h.ctx, disabledTenant, miniID, "s"); !domain.IsKind(err, domain.KindInvalid) {
		t.Fatalf("PutOfficialAccount(a mini program's appId, another user domain): %v", err)
	}
	in := miniSigned(miniID, "")
	if _, err := h.svc.EndUsers.LoginWithWeChatMiniProgram(h.ctx, in); !domain.IsKind(err, domain.KindCodeRequired) {
		t.Fatalf("no jsCode: %v", err)
	}
}

// TestMiniProgramLookupIsCached: the tenant cache holds the mini program as
// it holds official accounts (one store lookup per appId within the TTL),
// and provisioning clears it.
func TestMiniProgramLookupIsCached(t *testing.T) {
	h := newHarness(t)
	withMiniProgram(h)
	h.wechat.codes["js-1"] = person{openID: "om-alice"}
	h.wechat.codes["js-2"] = person{openID: "om-alice"}
	h.wechat.codes["js-3"] = person{openID: "om-alice"}
	_, err := h.svc.EndUsers.LoginWithWeChatMiniProgram(h.ctx, miniSigned(miniID, "js-1"))
	must(t, err)
	lookups := h.store.calls("WeChatApp")
	_, err = h.svc.EndUsers.LoginWithWeChatMiniProgram(h.ctx, miniSigned(miniID, "js-2"))
	must(t, err)
	if n := h.store.calls("WeChatApp") - lookups; n != 0 {
		t.Fatalf("a second login within the TTL looked the mini program up %d times", n)
	}
	must(t, h.svc.Operators.PutMiniProgram(h.ctx, tenant, miniID, "a-new-secret"))
	_, err = h.svc.EndUsers.LoginWithWeChatMiniProgram(h.ctx, miniSigned(miniID, "js-3"))
	must(t, err)
	if got := h.wechat.secrets[len(h.wechat.secrets)-1]; got != "a-new-secret" {
		t.Fatalf("after PutMiniProgram the login used secret %q", got)
	}
}

// TestMiniProgramLoginHasTheLimits: the lockout counts the mini program's
// signature failures, the exchange cap and WeChat's 45011 cool-down apply to
// its appId.
func TestMiniProgramLoginHasTheLimits(t *testing.T) {
	h := newHarness(t, func(c *application.Config) { c.TenantCacheOff = true })
	withMiniProgram(h)
	h.wechat.codes["js-quota"] = person{err: domain.WeChatRejected(45011, `{"errcode":45011,"errmsg":"api minute-quota reach limit"}`)}
	h.wechat.codes["js-alice"] = person{openID: "om-alice"}
	svc, calls := limitedService(h, ratelimit.Config{LockoutFailures: 2, LockoutDuration: 20 * time.Minute, ExchangeRate: 1})

	ctx := fromIP(h.ctx, "192.0.2.9")
	bad := miniSigned(miniID, "js-alice")
	bad.Signature = domain.LoginSignature(miniID, "js-alice", "not-the-secret")
	for range 2 {
		if _, err := svc.EndUsers.LoginWithWeChatMiniProgram(ctx, bad); !domain.IsKind(err, domain.KindSignatureInvalid) {
			t.Fatalf("want signature_invalid, got %v", err)
		}
	}
	if _, err := svc.EndUsers.LoginWithWeChatMiniProgram(ctx, miniSigned(miniID, "js-alice")); !domain.IsKind(err, domain.KindClientBlocked) || len(*calls) != 1 {
		t.Fatalf("locked out after 2 failures: %v (%d lockouts)", err, len(*calls))
	}

	h.clock.Advance(20 * time.Second) // 08:00:20
	if _, err := svc.EndUsers.LoginWithWeChatMiniProgram(h.ctx, miniSigned(miniID, "js-quota")); !domain.IsKind(err, domain.KindWeChatRejected) {
		t.Fatalf("WeChat's own 45011: %v", err)
	}
	before := h.wechat.Calls()
	_, err := svc.EndUsers.LoginWithWeChatMiniProgram(h.ctx, miniSigned(miniID, "js-alice"))
	if !domain.IsKind(err, domain.KindWeChatUnavailable) || domain.DetailOf(err) != `{"reason":"rateLimited"}` || domain.RetryAfterOf(err) <= 0 {
		t.Fatalf("cooling down (or capped): want wechat_unavailable rateLimited, got %v", err)
	}
	if h.wechat.Calls() != before {
		t.Fatal("a refused exchange reached WeChat")
	}
	h.clock.Advance(40 * time.Second) // the next minute; the cap's second has passed too
	if _, err := svc.EndUsers.LoginWithWeChatMiniProgram(h.ctx, miniSigned(miniID, "js-alice")); err != nil {
		t.Fatalf("after the cool-down: %v", err)
	}
	// The cap: one exchange a second for (user domain, mini program).
	h.wechat.codes["js-alice-2"] = person{openID: "om-alice"}
	_, err = svc.EndUsers.LoginWithWeChatMiniProgram(h.ctx, miniSigned(miniID, "js-alice-2"))
	if !domain.IsKind(err, domain.KindWeChatUnavailable) || domain.DetailOf(err) != `{"reason":"rateLimited"}` {
		t.Fatalf("over the exchange cap: %v", err)
	}
}
