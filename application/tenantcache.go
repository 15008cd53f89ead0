package application

import (
	"context"
	"sync"
	"time"

	"github.com/iotplatform/enduser-auth/domain"
)

// tenantCache keeps user domains, WeChat apps (official accounts and mini
// programs) and the data centers of
// MCCs, which every login reads and which change rarely, for a short TTL: it
// saves a login up to three database round trips. "Not found" answers are cached too, so floods of
// requests for unknown tenants do not reach the database. Changes made
// through this Service clear it at once; changes made elsewhere (another
// instance, the CLI) are seen within the TTL.
type tenantCache struct {
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

func newTenantCache(ttl time.Duration) *tenantCache {
	c := &tenantCache{ttl: ttl}
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

// userDomain returns the user domain named name, from the cache when fresh.
func (s *Service) userDomain(ctx context.Context, name string) (domain.UserDomain, error) {
	return cached(s.tenants, &s.tenants.domains, name, s.clock.Now(), domain.KindUserDomainNotFound,
		func() (domain.UserDomain, error) { return s.domains.UserDomainByName(ctx, name) })
}

// weChatApp returns a WeChat app (an official account or a mini program:
// one entry per appId, whatever the kind), from the cache when fresh.
func (s *Service) weChatApp(ctx context.Context, userDomainID int64, appID string) (domain.WeChatApp, error) {
	return cached(s.tenants, &s.tenants.accounts, accountKey{userDomainID, appID}, s.clock.Now(), domain.KindNotFound,
		func() (domain.WeChatApp, error) { return s.accounts.WeChatApp(ctx, userDomainID, appID) })
}

// dataCenterByMCC returns the data center serving mcc, from the cache when fresh.
func (s *Service) dataCenterByMCC(ctx context.Context, mcc domain.MCC) (domain.DataCenter, error) {
	return cached(s.tenants, &s.tenants.centers, mcc, s.clock.Now(), domain.KindMCCUnresolved,
		func() (domain.DataCenter, error) { return s.dataCenters.DataCenterByMCC(ctx, mcc) })
}
