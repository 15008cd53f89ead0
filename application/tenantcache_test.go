package application_test

import (
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
	must(t, h.store.Store.SetUserDomainEnabled(h.ctx, tenant, false))
	h.login(signed(appID, "code-alice-again"))
	h.clock.Advance(5 * time.Second)
	_, err := h.svc.LoginWithWeChatOfficialAccount(h.ctx, signed(appID, "code-bob"))
	wantKind(t, "disabled elsewhere, after the TTL", err, domain.KindUserDomainDisabled)

	// Through the Service itself: at once.
	must(t, h.svc.SetUserDomainEnabled(h.ctx, tenant, true))
	h.login(signed(appID, "code-bob"))
	must(t, h.svc.SetUserDomainEnabled(h.ctx, tenant, false))
	_, err = h.svc.LoginWithWeChatOfficialAccount(h.ctx, signed(appID, "code-bob"))
	wantKind(t, "disabled here", err, domain.KindUserDomainDisabled)
}

// TestTenantCacheDisabled: with a zero TTL every login reads the store.
func TestTenantCacheDisabled(t *testing.T) {
	h := newHarness(t, func(c *application.Config) { c.TenantCacheTTL = 0 })
	h.login(signed(appID, "code-alice"))
	must(t, h.store.Store.SetUserDomainEnabled(h.ctx, tenant, false))
	_, err := h.svc.LoginWithWeChatOfficialAccount(h.ctx, signed(appID, "code-bob"))
	wantKind(t, "no cache", err, domain.KindUserDomainDisabled)
}
