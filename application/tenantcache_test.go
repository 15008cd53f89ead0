package application_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/iotplatform/enduser-auth/application"
	"github.com/iotplatform/enduser-auth/domain"
)

// TestTenantCache: user domains and official accounts are cached for
// TenantCacheTTL; a change through the Service bites at once, a change made
// by another process within the TTL.
func TestTenantCache(t *testing.T) {
	h := newHarness(t, func(c *application.Config) { c.TenantCacheTTL = 5 * time.Second })
	h.login(signed(appID, "code-alice"))

	// Another process disables the tenant: this instance sees it after the TTL.
	must(t, h.store.SetUserDomainEnabled(h.ctx, tenant, false))
	h.login(signed(appID, "code-alice-again"))
	h.clock.Advance(5 * time.Second)
	_, err := h.svc.EndUsers.LoginWithWeChatOfficialAccount(h.ctx, signed(appID, "code-bob"))
	wantKind(t, "disabled elsewhere, after the TTL", err, domain.KindUserDomainDisabled)

	// Through the Service itself: at once.
	must(t, h.svc.Operators.SetUserDomainEnabled(h.ctx, tenant, true))
	h.login(signed(appID, "code-bob"))
	must(t, h.svc.Operators.SetUserDomainEnabled(h.ctx, tenant, false))
	_, err = h.svc.EndUsers.LoginWithWeChatOfficialAccount(h.ctx, signed(appID, "code-bob"))
	wantKind(t, "disabled here", err, domain.KindUserDomainDisabled)
}

// TestTenantCacheDisabled: with a zero TTL every login reads the store.
func TestTenantCacheDisabled(t *testing.T) {
	h := newHarness(t, func(c *application.Config) { c.TenantCacheOff = true })
	h.login(signed(appID, "code-alice"))
	must(t, h.store.SetUserDomainEnabled(h.ctx, tenant, false))
	_, err := h.svc.EndUsers.LoginWithWeChatOfficialAccount(h.ctx, signed(appID, "code-bob"))
	wantKind(t, "no cache", err, domain.KindUserDomainDisabled)
}

// countingDomains counts the store's user domain lookups.
type countingDomains struct {
	application.UserDomainRepository
	n int
}

func (c *countingDomains) UserDomainByName(ctx context.Context, name string) (domain.UserDomain, error) {
	c.n++
	return c.UserDomainRepository.UserDomainByName(ctx, name)
}

// TestTenantCacheNegativeEntries: "not found" answers are cached, capped
// apart from the real tenants, and refreshing one does not use up the cap.
func TestTenantCacheNegativeEntries(t *testing.T) {
	h := newHarness(t, func(c *application.Config) { c.TenantCacheTTL = 5 * time.Second })
	counter := &countingDomains{UserDomainRepository: h.store}
	s := h.store
	svc := application.New(h.cfg, application.Deps{Clock: h.clock, WeChat: h.wechat, Domains: counter, Apps: s, DataCenters: s, Users: s, Sessions: s, Tokens: h.tokens})
	login := func(domainName string) error {
		in := signed(appID, "code-alice")
		in.UserDomain = domainName
		_, err := svc.EndUsers.LoginWithWeChatOfficialAccount(h.ctx, in)
		return err
	}
	lookups := func(f func()) int {
		before := counter.n
		f()
		return counter.n - before
	}

	// One unknown name asked again and again, across many TTLs.
	for i := 0; i < 1100; i++ {
		wantKind(t, "unknown", login("C.DM.404.1"), domain.KindUserDomainNotFound)
		h.clock.Advance(6 * time.Second)
	}
	if n := lookups(func() {
		for i := 0; i < 3; i++ {
			_ = login("C.DM.404.2")
		}
	}); n != 1 {
		t.Fatalf("another unknown name within the TTL: %d store lookups, want 1 (the cap was used up by one name)", n)
	}

	// Many distinct unknown names fill the negative cap; the real tenant
	// stays cached, and names past the cap go to the store each time.
	_ = login(tenant)
	for i := 0; i < 1000; i++ {
		_ = login("C.DM.500." + strconv.Itoa(i))
	}
	if n := lookups(func() { _ = login(tenant) }); n != 0 {
		t.Fatalf("the real tenant was evicted by unknown names: %d lookups", n)
	}
	if n := lookups(func() { _ = login("C.DM.600.1"); _ = login("C.DM.600.1") }); n != 2 {
		t.Fatalf("past the cap, unknown names are not cached: want 2 lookups, got %d", n)
	}
}

// TestDataCenterCache: the MCC's data center is cached like the tenants: a
// change through the Service bites at once, one made elsewhere within the TTL.
func TestDataCenterCache(t *testing.T) {
	h := newHarness(t, func(c *application.Config) { c.TenantCacheTTL = 5 * time.Second })
	in := func(code string) application.WeChatLogin { l := signed(appID, code); l.MCC = "262"; return l }
	_, err := h.svc.EndUsers.LoginWithWeChatOfficialAccount(h.ctx, in("code-alice"))
	wantKind(t, "262 is EU's", err, domain.KindMCCForeign)

	// Another process moves 262 to CN: seen after the TTL.
	h.putDataCenter("EU", euURL, 208)
	h.putDataCenter("CN", cnURL, 460, 461, 262)
	_, err = h.svc.EndUsers.LoginWithWeChatOfficialAccount(h.ctx, in("code-alice"))
	wantKind(t, "cached within the TTL", err, domain.KindMCCForeign)
	h.clock.Advance(5 * time.Second)
	h.login(in("code-alice"))

	// Through the Service: at once.
	must(t, h.svc.Operators.PutDataCenter(h.ctx, "CN", cnURL, []domain.MCC{460, 461}))
	must(t, h.svc.Operators.PutDataCenter(h.ctx, "EU", euURL, []domain.MCC{208, 262}))
	_, err = h.svc.EndUsers.LoginWithWeChatOfficialAccount(h.ctx, in("code-alice-again"))
	wantKind(t, "moved back through the Service", err, domain.KindMCCForeign)
}
