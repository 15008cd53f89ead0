package application_test

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/iotplatform/enduser-auth/adapters/ratelimit"
	"github.com/iotplatform/enduser-auth/application"
	"github.com/iotplatform/enduser-auth/domain"
)

type lockoutCall struct {
	ip, userDomain string
	until          time.Time
}

// limitedService is the harness's service with the memory limits (and the
// exchange gate: cap, cool-down, replay guard) on the harness's clock, and
// the lockouts its hook was told of.
func limitedService(h *harness, cfg ratelimit.Config) (application.Facades, *[]lockoutCall) {
	var calls []lockoutCall
	s := h.store
	l, err := ratelimit.New(ratelimit.Settings{Enabled: true, Config: cfg}, h.clock, nil, nil)
	if err != nil {
		panic(err)
	}
	svc := application.New(h.cfg, application.Deps{Clock: h.clock, WeChat: h.wechat, Domains: s, Apps: s, DataCenters: s, Users: s, Sessions: s, Tokens: h.tokens,
		Limiter: l.Limiter, Exchanges: l,
		OnLockout: func(_ context.Context, ip, ud string, until time.Time) {
			calls = append(calls, lockoutCall{ip, ud, until})
		}})
	return svc, &calls
}

func fromIP(ctx context.Context, ip string) context.Context {
	return application.WithClientIP(ctx, netip.MustParseAddr(ip))
}

// TestLockoutComesBeforeAnyWork: a locked-out (IP, user domain) is refused
// before the store or WeChat is asked; the hook hears of it once.
func TestLockoutComesBeforeAnyWork(t *testing.T) {
	h := newHarness(t, func(c *application.Config) { c.TenantCacheOff = true })
	svc, calls := limitedService(h, ratelimit.Config{LockoutFailures: 2, LockoutDuration: 20 * time.Minute})
	ctx := fromIP(h.ctx, "192.0.2.1")
	bad := signed(appID, "code-alice")
	bad.Signature = domain.LoginSignature(appID, "code-alice", "not-the-secret")
	for range 2 {
		if _, err := svc.EndUsers.LoginWithWeChatOfficialAccount(ctx, bad); !domain.IsKind(err, domain.KindSignatureInvalid) {
			t.Fatalf("want signature_invalid, got %v", err)
		}
	}
	if len(*calls) != 1 || (*calls)[0] != (lockoutCall{"192.0.2.1", tenant, start.Add(20 * time.Minute)}) {
		t.Fatalf("the hook must be told of the lockout once: %+v", *calls)
	}
	h.store.failOn("UserDomainByName")
	for range 3 {
		_, err := svc.EndUsers.LoginWithWeChatOfficialAccount(ctx, signed(appID, "code-alice"))
		if !domain.IsKind(err, domain.KindClientBlocked) || domain.RetryAfterOf(err) != 20*time.Minute {
			t.Fatalf("locked out: want client_blocked with RetryAfter 20m (the failing store never asked), got %v %v", err, domain.RetryAfterOf(err))
		}
	}
	if len(*calls) != 1 {
		t.Fatalf("refused requests must not report the lockout again: %d reports", len(*calls))
	}
	if _, err := svc.EndUsers.LoginWithWeChatOfficialAccount(fromIP(h.ctx, "192.0.2.2"), signed(appID, "code-alice")); !domain.IsKind(err, domain.KindInternal) {
		t.Fatalf("another IP reaches the (failing) store: got %v", err)
	}
	if h.wechat.Calls() != 0 {
		t.Fatalf("WeChat was called %d times", h.wechat.Calls())
	}
	h.clock.Advance(20 * time.Minute)
	if _, err := svc.EndUsers.LoginWithWeChatOfficialAccount(ctx, signed(appID, "code-alice")); !domain.IsKind(err, domain.KindInternal) {
		t.Fatalf("after the lockout the request reaches the store again: got %v", err)
	}
}

// TestWeChat45011CoolsTheAppIDDown: after WeChat's 45011 the appId's
// exchanges are refused (5367 rateLimited) until the next minute, without a
// call; other appIds go on.
func TestWeChat45011CoolsTheAppIDDown(t *testing.T) {
	h := newHarness(t)
	h.wechat.codes["code-quota"] = person{err: domain.WeChatRejected(45011, `{"errcode":45011,"errmsg":"api minute-quota reach limit"}`)}
	h.clock.Advance(20 * time.Second) // 08:00:20
	svc, _ := limitedService(h, ratelimit.Config{})
	if _, err := svc.EndUsers.LoginWithWeChatOfficialAccount(h.ctx, signed(appID, "code-quota")); !domain.IsKind(err, domain.KindWeChatRejected) {
		t.Fatalf("WeChat's own 45011 is answered as it is: %v", err)
	}
	calls := h.wechat.Calls()
	_, err := svc.EndUsers.LoginWithWeChatOfficialAccount(h.ctx, signed(appID, "code-alice"))
	if !domain.IsKind(err, domain.KindWeChatUnavailable) || domain.DetailOf(err) != `{"reason":"rateLimited"}` || domain.RetryAfterOf(err) != 40*time.Second {
		t.Fatalf("cooling down: want wechat_unavailable rateLimited, RetryAfter 40s, got %v %v", err, domain.RetryAfterOf(err))
	}
	if h.wechat.Calls() != calls {
		t.Fatal("a cooling-down appId must not reach WeChat")
	}
	if _, err := svc.EndUsers.LoginWithWeChatOfficialAccount(h.ctx, signed(app2ID, "code-alice-app2")); err != nil {
		t.Fatalf("another appId goes on: %v", err)
	}
	h.clock.Advance(40 * time.Second)
	if _, err := svc.EndUsers.LoginWithWeChatOfficialAccount(h.ctx, signed(appID, "code-alice")); err != nil {
		t.Fatalf("at the next minute the refused code logs in: %v", err)
	}
}

// TestInProcessCallersHaveNoIPLimits: without a client IP (another module
// calling the facade) the per-IP limit and the lockout do not apply.
func TestInProcessCallersHaveNoIPLimits(t *testing.T) {
	h := newHarness(t)
	svc, calls := limitedService(h, ratelimit.Config{IPRate: 1, IPBurst: 1, LockoutFailures: 1})
	for range 3 {
		if err := svc.EndUsers.Admit(h.ctx); err != nil {
			t.Fatalf("no IP, no per-IP limit: %v", err)
		}
	}
	bad := signed(appID, "code-alice")
	bad.Signature = domain.LoginSignature(appID, "code-alice", "wrong")
	svc.EndUsers.LoginWithWeChatOfficialAccount(h.ctx, bad)
	if len(*calls) != 0 {
		t.Fatal("no IP, no lockout")
	}
	ctx := fromIP(h.ctx, "192.0.2.5")
	if err := svc.EndUsers.Admit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := svc.EndUsers.Admit(ctx); !domain.IsKind(err, domain.KindClientBlocked) || domain.RetryAfterOf(err) <= 0 {
		t.Fatalf("with an IP the bucket (burst 1) refuses the second request: %v", err)
	}
}

// TestLimitKey: an IPv4 client is its address, an IPv6 one its /64 (whose
// addresses a subscriber may rotate at will to dodge a per-address limit).
func TestLimitKey(t *testing.T) {
	for in, want := range map[string]string{
		"203.0.113.7":               "203.0.113.7",
		"::ffff:203.0.113.7":        "203.0.113.7",
		"2001:db8:1:2:aaaa::1":      "2001:db8:1:2::/64",
		"2001:db8:1:2:ffff:ffff::9": "2001:db8:1:2::/64",
		"2001:db8:1:3::1":           "2001:db8:1:3::/64",
		"":                          "",
		"not an address":            "not an address",
	} {
		if got := application.LimitKey(in); got != want {
			t.Errorf("LimitKey(%q) = %q, want %q", in, got, want)
		}
	}
}

// lockedGate is an exchange gate that finds the request locked out (as the
// local-first admission's gate does when its mirror lagged).
type lockedGate struct{ calls int }

func (g *lockedGate) AdmitExchange(context.Context, string, string, string) application.ExchangeDecision {
	g.calls++
	return application.ExchangeDecision{Decision: application.Decision{RetryAfter: 7 * time.Minute, LockedOut: true}}
}

// TestGateLockedOutAnswersAsAdmission: a lockout the exchange gate finds
// answers 5148 (client_blocked) with its Retry-After, as admission would,
// and WeChat is not called.
func TestGateLockedOutAnswersAsAdmission(t *testing.T) {
	h := newHarness(t)
	gate := &lockedGate{}
	s := h.store
	svc := application.New(h.cfg, application.Deps{Clock: h.clock, WeChat: h.wechat, Domains: s, Apps: s, DataCenters: s, Users: s,
		Sessions: s, Tokens: h.tokens, Exchanges: gate})
	_, err := svc.EndUsers.LoginWithWeChatOfficialAccount(fromIP(h.ctx, "192.0.2.9"), signed(appID, "code-alice"))
	if !domain.IsKind(err, domain.KindClientBlocked) || domain.RetryAfterOf(err) != 7*time.Minute {
		t.Fatalf("want client_blocked with RetryAfter 7m, got %v %v", err, domain.RetryAfterOf(err))
	}
	if gate.calls != 1 || h.wechat.Calls() != 0 {
		t.Fatalf("gate calls %d, WeChat calls %d: want 1 and 0", gate.calls, h.wechat.Calls())
	}
}
