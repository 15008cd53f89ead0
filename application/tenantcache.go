package application

import (
	"context"
	"sync"
	"time"

	"github.com/iotplatform/enduser-auth/domain"
)

// tenantCache is a decorator of the tenant repositories (user domains,
// WeChat apps, data centers): it keeps user domains, WeChat apps (official
// accounts and mini programs) and the data centers of MCCs, which every login
// reads and which change rarely, for a short TTL: it saves a login up to
// three database round trips. "Not found" answers are cached too, so floods
// of requests for unknown tenants do not reach the database. Writes made
// through it clear it at once; changes made elsewhere (another instance, the
// CLI) are seen within the TTL.
type tenantCache struct {
	domainRepo UserDomainRepository
	appRepo    WeChatAppRepository
	centerRepo DataCenterRepository
	clock      Clock

	ttl time.Duration
	mu  sync.Mutex
	// gen counts clears: an answer read before a clear is not stored after
	// it, so a login racing an admin change cannot cache the old row.
	gen      uint64
	domains  map[string]cacheEntry[domain.UserDomain]
	accounts map[accountKey]cacheEntry[domain.WeChatApp]
	centers  map[domain.MCC]cacheEntry[domain.DataCenter]
	// negatives counts cached "not found" answers, which anybody can cause
	// with made-up names; they are capped apart so they cannot evict the
	// real tenants.
	negatives int
}

type cacheEntry[V any] struct {
	v   V
	err error
	at  time.Time
}

type accountKey struct {
	userDomainID int64
	appID        string
}

// maxTenantCacheEntries bounds the cache; past it the cache starts over.
const maxTenantCacheEntries = 10000

// maxNegativeEntries bounds the cached "not found" answers; past it they are
// no longer cached.
const maxNegativeEntries = 1000

// The decorator is each of the three repositories.
var (
	_ UserDomainRepository = (*tenantCache)(nil)
	_ WeChatAppRepository  = (*tenantCache)(nil)
	_ DataCenterRepository = (*tenantCache)(nil)
)

// newTenantCache decorates the repositories with a cache of ttl (zero or
// less: every read goes to them).
func newTenantCache(ttl time.Duration, clock Clock, domains UserDomainRepository, apps WeChatAppRepository,
	centers DataCenterRepository) *tenantCache {
	c := &tenantCache{ttl: ttl, clock: clock, domainRepo: domains, appRepo: apps, centerRepo: centers}
	c.reset()
	return c
}

// reset empties the cache; the caller holds c.mu (or owns c).
func (c *tenantCache) reset() {
	c.domains = map[string]cacheEntry[domain.UserDomain]{}
	c.accounts = map[accountKey]cacheEntry[domain.WeChatApp]{}
	c.centers = map[domain.MCC]cacheEntry[domain.DataCenter]{}
	c.negatives = 0
}

func (c *tenantCache) clear() {
	c.mu.Lock()
	c.gen++
	c.reset()
	c.mu.Unlock()
}

// admit reports, under c.mu, whether an answer read in generation gen may be
// stored, and makes room for it. replacesNegative tells that the entry it
// replaces is a cached "not found" (which the count already holds).
func (c *tenantCache) admit(gen uint64, negative, replacesNegative bool) bool {
	if gen != c.gen || (negative && !replacesNegative && c.negatives >= maxNegativeEntries) {
		return false
	}
	if len(c.domains)+len(c.accounts)+len(c.centers) >= maxTenantCacheEntries {
		c.reset()
		replacesNegative = false
	}
	switch {
	case negative && !replacesNegative:
		c.negatives++
	case !negative && replacesNegative:
		c.negatives--
	}
	return true
}

// cached answers key from the map *m of c when fresh, else calls load and
// caches its answer if it is a success or a notFound error.
func cached[K comparable, V any](c *tenantCache, m *map[K]cacheEntry[V], key K, now time.Time, notFound domain.Kind, load func() (V, error)) (V, error) {
	if c.ttl <= 0 {
		return load()
	}
	c.mu.Lock()
	e, ok := (*m)[key]
	gen := c.gen
	c.mu.Unlock()
	if ok && now.Sub(e.at) < c.ttl {
		return e.v, e.err
	}
	v, err := load()
	if negative := err != nil; !negative || domain.IsKind(err, notFound) {
		c.mu.Lock()
		old, had := (*m)[key]
		if c.admit(gen, negative, had && old.err != nil) {
			(*m)[key] = cacheEntry[V]{v: v, err: err, at: now}
		}
		c.mu.Unlock()
	}
	return v, err
}

// UserDomainByName returns the user domain named name, from the cache when fresh.
func (c *tenantCache) UserDomainByName(ctx context.Context, name string) (domain.UserDomain, error) {
	return cached(c, &c.domains, name, c.clock.Now(), domain.KindUserDomainNotFound,
		func() (domain.UserDomain, error) { return c.domainRepo.UserDomainByName(ctx, name) })
}

// WeChatApp returns a WeChat app (an official account or a mini program:
// one entry per appId, whatever the kind), from the cache when fresh.
func (c *tenantCache) WeChatApp(ctx context.Context, userDomainID int64, appID string) (domain.WeChatApp, error) {
	return cached(c, &c.accounts, accountKey{userDomainID, appID}, c.clock.Now(), domain.KindNotFound,
		func() (domain.WeChatApp, error) { return c.appRepo.WeChatApp(ctx, userDomainID, appID) })
}

// DataCenterByMCC returns the data center serving mcc, from the cache when fresh.
func (c *tenantCache) DataCenterByMCC(ctx context.Context, mcc domain.MCC) (domain.DataCenter, error) {
	return cached(c, &c.centers, mcc, c.clock.Now(), domain.KindMCCUnresolved,
		func() (domain.DataCenter, error) { return c.centerRepo.DataCenterByMCC(ctx, mcc) })
}

// The writes below clear the cache once they return (whatever they
// returned), so that this instance's next login reads what they wrote.

// CreateUserDomain is the repository's; it clears the cache.
func (c *tenantCache) CreateUserDomain(ctx context.Context, d domain.UserDomain) (domain.UserDomain, error) {
	defer c.clear()
	return c.domainRepo.CreateUserDomain(ctx, d)
}

// SetUserDomainEnabled is the repository's; it clears the cache.
func (c *tenantCache) SetUserDomainEnabled(ctx context.Context, name string, enabled bool) error {
	defer c.clear()
	return c.domainRepo.SetUserDomainEnabled(ctx, name, enabled)
}

// RotateUserDomainSecret is the repository's; it clears the cache.
func (c *tenantCache) RotateUserDomainSecret(ctx context.Context, name string,
	rotate func(domain.UserDomain) (domain.UserDomain, error)) (domain.UserDomain, error) {
	defer c.clear()
	return c.domainRepo.RotateUserDomainSecret(ctx, name, rotate)
}

// PutWeChatApp is the repository's; it clears the cache.
func (c *tenantCache) PutWeChatApp(ctx context.Context, a domain.WeChatApp) error {
	defer c.clear()
	return c.appRepo.PutWeChatApp(ctx, a)
}

// PutDataCenter is the repository's; it clears the cache.
func (c *tenantCache) PutDataCenter(ctx context.Context, dc domain.DataCenter) error {
	defer c.clear()
	return c.centerRepo.PutDataCenter(ctx, dc)
}
