package application

import (
	"sync"
	"time"

	"github.com/iotplatform/enduser-auth/domain"
)

// revocationCache holds the sessions revoked recently enough that one of their
// access tokens could still be valid, and the scope revocations: per user
// (with the disabled mark) and per user domain, one timestamp each.
type revocationCache struct {
	mu       sync.RWMutex
	ids      map[domain.SessionID]time.Time
	users    map[string]userRevocation
	domains  map[string]time.Time // user domain name -> revoked before
	lastSync time.Time
}

// userRevocation is a user's scope revocation as the cache holds it.
type userRevocation struct {
	before   time.Time
	disabled bool
}

func newRevocationCache() *revocationCache {
	return &revocationCache{ids: map[domain.SessionID]time.Time{}, users: map[string]userRevocation{}, domains: map[string]time.Time{}}
}

// check answers a principal from memory: KindUserDisabled while its user is
// disabled (before anything else), KindTokenInvalid when its session or a
// scope that covers it is revoked.
func (c *revocationCache) check(p domain.Principal) error {
	c.mu.RLock()
	defer c.mu.RUnlock()
	u, hasUser := c.users[p.UID]
	if hasUser && u.disabled {
		return domain.E(domain.KindUserDisabled)
	}
	if _, ok := c.ids[p.SessionID]; ok {
		return domain.E(domain.KindTokenInvalid)
	}
	d, hasDomain := c.domains[p.UserDomain]
	if !hasUser && !hasDomain {
		return nil
	}
	started, _ := p.SessionID.StartedAt() // unknown: zero, covered by any revocation
	if (hasUser && domain.RevokedBy(started, u.before)) || (hasDomain && domain.RevokedBy(started, d)) {
		return domain.E(domain.KindTokenInvalid)
	}
	return nil
}

func (c *revocationCache) add(id domain.SessionID, at time.Time) {
	c.mu.Lock()
	c.ids[id] = at
	c.mu.Unlock()
}

// putScope holds a scope revocation (revoked_before only moves forward;
// the disabled mark is the row's).
func (c *revocationCache) putScope(r ScopeRevocation) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.putScopeLocked(r)
}

func (c *revocationCache) putScopeLocked(r ScopeRevocation) {
	switch r.Scope {
	case ScopeUser:
		u := c.users[r.Subject]
		if r.RevokedBefore.After(u.before) {
			u.before = r.RevokedBefore
		}
		u.disabled = r.Disabled
		c.users[r.Subject] = u
	case ScopeUserDomain:
		if r.RevokedBefore.After(c.domains[r.Subject]) {
			c.domains[r.Subject] = r.RevokedBefore
		}
	}
}

// revokeUser records this instance's own user-scope revocation (logout-all,
// a deletion): it moves the user's "revoked before" forward and leaves the
// disabled mark as it is (the store's row keeps it too; only SetUserDisabled
// changes it).
func (c *revocationCache) revokeUser(uid string, before time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	u := c.users[uid]
	if before.After(u.before) {
		u.before = before
	}
	c.users[uid] = u
}

// setDisabled records this instance's own disable (a user-scope revocation
// at now) or enable.
func (c *revocationCache) setDisabled(uid string, disabled bool, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	u := c.users[uid]
	if disabled && now.After(u.before) {
		u.before = now
	}
	u.disabled = disabled
	c.users[uid] = u
}

// staleSyncs is how many sync intervals may pass without a successful sync
// before verifications stop trusting the cache.
const staleSyncs = 3

// stale reports whether the cache has not been synced within maxAge.
func (c *revocationCache) stale(now time.Time, maxAge time.Duration) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.lastSync.IsZero() || now.Sub(c.lastSync) > maxAge
}

// syncOverlap re-reads a window before the last sync, so that a revocation
// committed late (or stamped by a slightly slow clock) is not missed.
const syncOverlap = time.Minute

func (c *revocationCache) syncFrom(now time.Time, accessTTL time.Duration) time.Time {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.lastSync.IsZero() {
		return now.Add(-accessTTL - syncOverlap)
	}
	return c.lastSync.Add(-syncOverlap)
}

// merge takes in a sync's revocations and drops those that no longer
// matter: an access token lives at most accessTTL, and the tokens a scope
// revocation refuses were issued before it (refresh refuses covered
// sessions), so a revocation older than that can go, a disabled user's
// too: no token of a user disabled that long ago can still be unexpired
// (the disable ended its sessions, and logins and refreshes of a disabled
// user are refused by the store), so the memory holds only recent ones.
func (c *revocationCache) merge(list []RevokedSession, scopes []ScopeRevocation, now time.Time, accessTTL time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, r := range list {
		c.ids[r.ID] = r.RevokedAt
	}
	for _, r := range scopes {
		c.putScopeLocked(r)
	}
	horizon := now.Add(-accessTTL - syncOverlap)
	for id, at := range c.ids {
		if at.Before(horizon) {
			delete(c.ids, id)
		}
	}
	for uid, u := range c.users {
		if u.before.Before(horizon) {
			delete(c.users, uid)
		}
	}
	for name, at := range c.domains {
		if at.Before(horizon) {
			delete(c.domains, name)
		}
	}
	c.lastSync = now
}
