package application

import (
	"crypto/sha256"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/iotplatform/enduser-auth/domain"
)

// DefaultVerifiedTokenCacheSize is Config.VerifiedTokenCacheSize's default.
const DefaultVerifiedTokenCacheSize = 1 << 16

// verifiedShards spreads the cache over locks, so that concurrent
// verifications rarely wait for one another.
const verifiedShards = 16

// verifiedCache remembers access tokens that passed a full verification, by
// the SHA-256 of the token (never the token itself), until their expiry: a
// token verified again is recognised by its hash and costs no signature
// check. It is bounded: a full shard makes room by dropping an arbitrary
// entry (Go's map iteration starts at a random place), and an entry met past
// its expiry is dropped. It caches only what a full verification would
// decide again the same way until the token's exp; revocation is not cached
// (the caller checks it on every hit).
//
// A revoked signing key invalidates it (invalidate): every entry put before
// is a miss from then on, as is one put by a verification that began
// before, so a token of the revoked key is checked again in full.
type verifiedCache struct {
	perShard int // 0: disabled
	gen      atomic.Uint64
	shards   [verifiedShards]verifiedShard
}

type verifiedShard struct {
	mu sync.RWMutex
	m  map[[sha256.Size]byte]verifiedEntry
}

type verifiedEntry struct {
	p   domain.Principal
	gen uint64
}

// generation is the current generation; a verification reads it before
// it parses the token and hands it to put.
func (c *verifiedCache) generation() uint64 { return c.gen.Load() }

// invalidate makes every entry held, and every put of an older
// generation, a miss.
func (c *verifiedCache) invalidate() {
	c.gen.Add(1)
	if c.perShard == 0 {
		return
	}
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.Lock()
		clear(sh.m)
		sh.mu.Unlock()
	}
}

func newVerifiedCache(size int) *verifiedCache {
	c := &verifiedCache{}
	if size <= 0 {
		return c
	}
	c.perShard = max(1, size/verifiedShards)
	for i := range c.shards {
		c.shards[i].m = make(map[[sha256.Size]byte]verifiedEntry)
	}
	return c
}

// verifiedKey is the SHA-256 of the token. The copy into a buffer on the
// stack spares the allocation a []byte(raw) conversion makes (it halves the
// cost of a cached verification); longer tokens than the buffer still work.
func verifiedKey(raw string) [sha256.Size]byte {
	var buf [1024]byte
	return sha256.Sum256(append(buf[:0], raw...))
}

// enabled reports whether the cache holds anything at all.
func (c *verifiedCache) enabled() bool { return c.perShard > 0 }

func (c *verifiedCache) shard(k *[sha256.Size]byte) *verifiedShard {
	return &c.shards[k[0]%verifiedShards]
}

// get returns the principal of a token verified before, unless it has
// expired at now.
func (c *verifiedCache) get(k [sha256.Size]byte, now time.Time) (domain.Principal, bool) {
	if c.perShard == 0 {
		return domain.Principal{}, false
	}
	sh := c.shard(&k)
	sh.mu.RLock()
	e, ok := sh.m[k]
	sh.mu.RUnlock()
	if !ok || e.gen != c.gen.Load() {
		return domain.Principal{}, false
	}
	p := e.p
	if !now.Before(p.ExpiresAt) {
		sh.mu.Lock()
		delete(sh.m, k)
		sh.mu.Unlock()
		return domain.Principal{}, false
	}
	return p, true
}

// put remembers a verified token's principal until p.ExpiresAt, unless the
// cache was invalidated since gen (the verification's generation()).
func (c *verifiedCache) put(k [sha256.Size]byte, p domain.Principal, gen uint64) {
	if c.perShard == 0 || gen != c.gen.Load() {
		return
	}
	// Own copies: the parser's strings may share one buffer with the whole
	// token, which the cache must not keep alive.
	p.UID, p.UserDomain, p.AppID = strings.Clone(p.UID), strings.Clone(p.UserDomain), strings.Clone(p.AppID)
	sh := c.shard(&k)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if _, ok := sh.m[k]; !ok && len(sh.m) >= c.perShard {
		for old := range sh.m {
			delete(sh.m, old)
			break
		}
	}
	if gen != c.gen.Load() {
		return // invalidated meanwhile
	}
	sh.m[k] = verifiedEntry{p: p, gen: gen}
}

// len is the number of entries held (for tests).
func (c *verifiedCache) len() int {
	n := 0
	for i := range c.shards {
		c.shards[i].mu.RLock()
		n += len(c.shards[i].m)
		c.shards[i].mu.RUnlock()
	}
	return n
}
