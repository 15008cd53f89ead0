package application

import (
	"context"
	"sync"
	"time"

	"github.com/iotplatform/enduser-auth/domain"
)

// tenantCache keeps user domains and official accounts, which every login
// reads and which change rarely, for a short TTL: it saves a login two
// database round trips. "Not found" answers are cached too, so floods of
// requests for unknown tenants do not reach the database. Changes made
// through this Service clear it at once; changes made elsewhere (another
// instance, the CLI) are seen within the TTL.
type tenantCache struct {
	ttl time.Duration
	mu  sync.Mutex
	// gen counts clears: an answer read before a clear is not stored after
	// it, so a login racing an admin change cannot cache the old row.
	gen      uint64
	domains  map[string]cachedDomain
	accounts map[accountKey]cachedAccount
	// negatives counts cached "not found" answers, which anybody can cause
	// with made-up names; they are capped apart so they cannot evict the
	// real tenants.
	negatives int
}

type cachedDomain struct {
	d   domain.UserDomain
	err error
	at  time.Time
}

type accountKey struct {
	userDomainID int64
	appID        string
}

type cachedAccount struct {
	a   domain.OfficialAccount
	err error
	at  time.Time
}

// maxTenantCacheEntries bounds the cache; past it the cache starts over.
const maxTenantCacheEntries = 10000

// maxNegativeEntries bounds the cached "not found" answers; past it they are
// no longer cached.
const maxNegativeEntries = 1000

func newTenantCache(ttl time.Duration) *tenantCache {
	return &tenantCache{ttl: ttl, domains: map[string]cachedDomain{}, accounts: map[accountKey]cachedAccount{}}
}

func (c *tenantCache) clear() {
	c.mu.Lock()
	c.gen++
	c.domains = map[string]cachedDomain{}
	c.accounts = map[accountKey]cachedAccount{}
	c.negatives = 0
	c.mu.Unlock()
}

// admit reports, under c.mu, whether an answer read in generation gen may be
// stored, and makes room for it.
func (c *tenantCache) admit(gen uint64, negative bool) bool {
	if gen != c.gen || (negative && c.negatives >= maxNegativeEntries) {
		return false
	}
	if len(c.domains)+len(c.accounts) >= maxTenantCacheEntries {
		c.domains = map[string]cachedDomain{}
		c.accounts = map[accountKey]cachedAccount{}
		c.negatives = 0
	}
	if negative {
		c.negatives++
	}
	return true
}

// userDomain returns the user domain named name, from the cache when fresh.
func (s *Service) userDomain(ctx context.Context, name string) (domain.UserDomain, error) {
	c := s.tenants
	if c.ttl <= 0 {
		return s.domains.UserDomainByName(ctx, name)
	}
	now := s.clock.Now()
	c.mu.Lock()
	e, ok := c.domains[name]
	gen := c.gen
	c.mu.Unlock()
	if ok && now.Sub(e.at) < c.ttl {
		return e.d, e.err
	}
	d, err := s.domains.UserDomainByName(ctx, name)
	if negative := err != nil; !negative || domain.IsKind(err, domain.KindUserDomainNotFound) {
		c.mu.Lock()
		if c.admit(gen, negative) {
			c.domains[name] = cachedDomain{d: d, err: err, at: now}
		}
		c.mu.Unlock()
	}
	return d, err
}

// officialAccount returns an official account, from the cache when fresh.
func (s *Service) officialAccount(ctx context.Context, userDomainID int64, appID string) (domain.OfficialAccount, error) {
	c := s.tenants
	if c.ttl <= 0 {
		return s.accounts.OfficialAccount(ctx, userDomainID, appID)
	}
	now := s.clock.Now()
	k := accountKey{userDomainID, appID}
	c.mu.Lock()
	e, ok := c.accounts[k]
	gen := c.gen
	c.mu.Unlock()
	if ok && now.Sub(e.at) < c.ttl {
		return e.a, e.err
	}
	a, err := s.accounts.OfficialAccount(ctx, userDomainID, appID)
	if negative := err != nil; !negative || domain.IsKind(err, domain.KindOfficialAccountMissing) {
		c.mu.Lock()
		if c.admit(gen, negative) {
			c.accounts[k] = cachedAccount{a: a, err: err, at: now}
		}
		c.mu.Unlock()
	}
	return a, err
}
