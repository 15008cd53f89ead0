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
	ttl      time.Duration
	mu       sync.Mutex
	domains  map[string]cachedDomain
	accounts map[accountKey]cachedAccount
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

func newTenantCache(ttl time.Duration) *tenantCache {
	return &tenantCache{ttl: ttl, domains: map[string]cachedDomain{}, accounts: map[accountKey]cachedAccount{}}
}

func (c *tenantCache) clear() {
	c.mu.Lock()
	c.domains = map[string]cachedDomain{}
	c.accounts = map[accountKey]cachedAccount{}
	c.mu.Unlock()
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
	c.mu.Unlock()
	if ok && now.Sub(e.at) < c.ttl {
		return e.d, e.err
	}
	d, err := s.domains.UserDomainByName(ctx, name)
	if err == nil || domain.IsKind(err, domain.KindUserDomainNotFound) {
		c.mu.Lock()
		if len(c.domains) >= maxTenantCacheEntries {
			c.domains = map[string]cachedDomain{}
		}
		c.domains[name] = cachedDomain{d: d, err: err, at: now}
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
	c.mu.Unlock()
	if ok && now.Sub(e.at) < c.ttl {
		return e.a, e.err
	}
	a, err := s.accounts.OfficialAccount(ctx, userDomainID, appID)
	if err == nil || domain.IsKind(err, domain.KindOfficialAccountMissing) {
		c.mu.Lock()
		if len(c.accounts) >= maxTenantCacheEntries {
			c.accounts = map[accountKey]cachedAccount{}
		}
		c.accounts[k] = cachedAccount{a: a, err: err, at: now}
		c.mu.Unlock()
	}
	return a, err
}
