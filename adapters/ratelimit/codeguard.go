package ratelimit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/iotplatform/enduser-auth/application"
)

// CodeTTL is how long a WeChat OAuth code lives, and so how long a code sent
// to WeChat is remembered.
const CodeTTL = 5 * time.Minute

// Claims remembers the codes sent to WeChat, by a hash (never the code):
// the code replay guard, which Limits.AdmitExchange applies just before the
// call, so that concurrent duplicates make exactly one call and a replay
// answers WeChat's 40163 without asking it.
type Claims interface {
	// Claim records key and reports whether this call did (false: it was
	// claimed within ttl before).
	Claim(ctx context.Context, key [32]byte) bool
}

// codeKey is the claim of code for appID: a hash of both (the code itself
// is never kept).
func codeKey(appID, code string) [32]byte {
	h := sha256.New()
	h.Write([]byte(appID))
	h.Write([]byte{0})
	h.Write([]byte(code))
	var k [32]byte
	h.Sum(k[:0])
	return k
}

// maxCodes bounds the memory claims of one generation (two are kept).
const maxCodes = 500_000

// MemoryClaims keeps claims in memory for between CodeTTL and twice that:
// two generations of hashes, the older dropped when the newer is CodeTTL
// old, or full (under a flood beyond maxCodes codes per CodeTTL the oldest
// claims are forgotten early: memory stays bounded).
type MemoryClaims struct {
	clock application.Clock
	ttl   time.Duration

	mu        sync.Mutex
	cur, prev map[[32]byte]struct{}
	started   time.Time
	max       int // maxCodes; tests lower it
}

// NewMemoryClaims returns empty claims (a nil clock is the wall clock).
func NewMemoryClaims(clock application.Clock) *MemoryClaims {
	if clock == nil {
		clock = application.SystemClock{}
	}
	return &MemoryClaims{clock: clock, ttl: CodeTTL, cur: map[[32]byte]struct{}{}, prev: map[[32]byte]struct{}{},
		started: clock.Now(), max: maxCodes}
}

// Claim implements Claims.
func (m *MemoryClaims) Claim(_ context.Context, key [32]byte) bool {
	now := m.clock.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	if d := now.Sub(m.started); d >= 2*m.ttl {
		m.prev, m.cur, m.started = map[[32]byte]struct{}{}, map[[32]byte]struct{}{}, now
	} else if d >= m.ttl || len(m.cur) >= m.max {
		m.prev, m.cur, m.started = m.cur, map[[32]byte]struct{}{}, now
	}
	if _, ok := m.cur[key]; ok {
		return false
	}
	if _, ok := m.prev[key]; ok {
		return false
	}
	m.cur[key] = struct{}{}
	return true
}

// size is the number of hashes held (tests).
func (m *MemoryClaims) size() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.cur) + len(m.prev)
}

// RedisClaims keeps claims in Redis (SET NX PX CodeTTL), shared by every
// instance; when Redis fails it claims in memory instead (the fall-back is
// counted and logged).
type RedisClaims struct {
	rdb       redis.UniversalClient
	prefix    string
	mem       *MemoryClaims
	fallbacks *Fallbacks
	dl        deadline
}

// NewRedisClaims returns claims under prefix+"code|<sha-256 hex>".
func NewRedisClaims(rdb redis.UniversalClient, prefix string, mem *MemoryClaims, f *Fallbacks) *RedisClaims {
	return &RedisClaims{rdb: rdb, prefix: prefix, mem: mem, fallbacks: f, dl: newDeadline(0, rdb)}
}

// WithTimeout bounds each claim's Redis call by d (0: DefaultRedisTimeout)
// and returns r.
func (r *RedisClaims) WithTimeout(d time.Duration) *RedisClaims {
	r.dl = newDeadline(d, r.rdb)
	return r
}

// codeRedisKey is the Redis key of a claimed code's hash.
func codeRedisKey(prefix string, k [32]byte) string {
	return prefix + "code|" + hex.EncodeToString(k[:])
}

// Claim implements Claims.
func (r *RedisClaims) Claim(ctx context.Context, key [32]byte) bool {
	ok, err := bounded(ctx, r.dl, func(ctx context.Context) (bool, error) {
		return r.rdb.SetNX(ctx, codeRedisKey(r.prefix, key), "1", CodeTTL).Result()
	})
	if err != nil {
		r.fallbacks.report(ctx, "code", err)
		return r.mem.Claim(ctx, key)
	}
	return ok
}
