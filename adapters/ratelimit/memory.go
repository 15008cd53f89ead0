// Package ratelimit holds the abuse limits of the login (application.Limiter)
// and the code-replay guard (a decorator of application.WeChatOAuth), with
// their state in memory (per instance) or in Redis (shared by every
// instance; when Redis fails they fall back to memory, log and count it).
package ratelimit

import (
	"context"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/iotplatform/enduser-auth/application"
)

// Config is the limits' policy. Zero fields take the defaults of
// DefaultConfig.
type Config struct {
	// IPRate is the per-client-IP request rate (requests per second, may
	// be fractional) and IPBurst the bucket's size.
	IPRate  float64
	IPBurst int
	// LockoutFailures signature failures of one (client IP, user domain)
	// within LockoutWindow lock it out for LockoutDuration.
	LockoutFailures int
	LockoutWindow   time.Duration
	LockoutDuration time.Duration
	// ExchangeRate caps WeChat exchanges per second per (user domain,
	// appId); ExchangeRates overrides it by appId.
	ExchangeRate  int
	ExchangeRates map[string]int
}

// DefaultConfig returns the documented defaults.
func DefaultConfig() Config {
	return Config{IPRate: 10, IPBurst: 20, LockoutFailures: 10, LockoutWindow: 10 * time.Minute,
		LockoutDuration: 20 * time.Minute, ExchangeRate: 100}
}

func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.IPRate <= 0 {
		c.IPRate = d.IPRate
	}
	if c.IPBurst <= 0 {
		c.IPBurst = d.IPBurst
	}
	if c.LockoutFailures <= 0 {
		c.LockoutFailures = d.LockoutFailures
	}
	if c.LockoutWindow <= 0 {
		c.LockoutWindow = d.LockoutWindow
	}
	if c.LockoutDuration <= 0 {
		c.LockoutDuration = d.LockoutDuration
	}
	if c.ExchangeRate <= 0 {
		c.ExchangeRate = d.ExchangeRate
	}
	return c
}

// exchangeRate is the cap of appID.
func (c Config) exchangeRate(appID string) int {
	if n, ok := c.ExchangeRates[appID]; ok && n > 0 {
		return n
	}
	return c.ExchangeRate
}

// maxKeys bounds each of the memory limiter's maps; past it, idle entries
// are swept at once and, if that is not enough, arbitrary ones are dropped
// (a dropped bucket is a full one: the bound costs some leniency under a
// flood from very many addresses, never memory).
const maxKeys = 100_000

// sweepEvery is how often the memory limiter drops idle entries.
const sweepEvery = time.Minute

// Memory is the per-instance limiter. Its clock is injectable, so tests
// move time instead of sleeping. Safe for concurrent use.
type Memory struct {
	cfg   Config
	clock application.Clock

	mu        sync.Mutex
	ips       map[string]*bucket
	exchanges map[string]*bucket
	failures  map[string]*failures
	lockouts  map[string]time.Time
	coolDowns map[string]time.Time
	lastSweep time.Time
	maxKeys   int // maxKeys; tests lower it
}

type bucket struct {
	lim  *rate.Limiter
	last time.Time
	// full is how long the bucket takes to refill from empty: an entry idle
	// that long is equivalent to a new one.
	full time.Duration
}

type failures struct {
	n   int
	end time.Time // the window's end
}

// NewMemory returns an in-memory limiter (a nil clock is the wall clock).
func NewMemory(cfg Config, clock application.Clock) *Memory {
	if clock == nil {
		clock = application.SystemClock{}
	}
	return &Memory{cfg: cfg.withDefaults(), clock: clock, ips: map[string]*bucket{}, exchanges: map[string]*bucket{},
		failures: map[string]*failures{}, lockouts: map[string]time.Time{}, coolDowns: map[string]time.Time{},
		lastSweep: clock.Now(), maxKeys: maxKeys}
}

var _ application.Limiter = (*Memory)(nil)

func lockKey(ip, userDomain string) string      { return ip + "|" + userDomain }
func exchangeKey(userDomain, app string) string { return userDomain + "|" + app }

// take takes one token from m[key], creating the bucket. Callers hold mu.
func (m *Memory) take(buckets map[string]*bucket, key string, r float64, burst int, now time.Time) application.Decision {
	b := buckets[key]
	if b == nil {
		m.makeRoom(now)
		b = &bucket{lim: rate.NewLimiter(rate.Limit(r), burst), full: time.Duration(float64(burst) / float64(r) * float64(time.Second))}
		buckets[key] = b
	}
	b.last = now
	res := b.lim.ReserveN(now, 1)
	if !res.OK() {
		return application.Decision{RetryAfter: time.Second}
	}
	if d := res.DelayFrom(now); d > 0 {
		res.CancelAt(now)
		return application.Decision{RetryAfter: d}
	}
	return application.Allow
}

// AllowRequest implements application.Limiter.
func (m *Memory) AllowRequest(_ context.Context, ip string) application.Decision {
	now := m.clock.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.maybeSweep(now)
	return m.take(m.ips, ip, m.cfg.IPRate, m.cfg.IPBurst, now)
}

// AdmitLogin implements application.Limiter: AllowRequest then LockedOut,
// under one lock.
func (m *Memory) AdmitLogin(_ context.Context, ip, userDomain string) application.Decision {
	now := m.clock.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.maybeSweep(now)
	if d := m.take(m.ips, ip, m.cfg.IPRate, m.cfg.IPBurst, now); !d.Allowed {
		return d
	}
	return m.lockedOut(ip, userDomain, now)
}

// LockedOut reports whether (ip, userDomain) is locked out.
func (m *Memory) LockedOut(_ context.Context, ip, userDomain string) application.Decision {
	now := m.clock.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.lockedOut(ip, userDomain, now)
}

// lockedOut is LockedOut. Callers hold mu.
func (m *Memory) lockedOut(ip, userDomain string, now time.Time) application.Decision {
	if until, ok := m.lockouts[lockKey(ip, userDomain)]; ok && now.Before(until) {
		return application.Decision{RetryAfter: until.Sub(now), LockedOut: true}
	}
	return application.Allow
}

// SignatureFailed implements application.Limiter: the window starts at the
// first failure; the failure that reaches LockoutFailures starts the lockout
// and clears the count.
func (m *Memory) SignatureFailed(_ context.Context, ip, userDomain string) (time.Time, bool) {
	now := m.clock.Now()
	k := lockKey(ip, userDomain)
	m.mu.Lock()
	defer m.mu.Unlock()
	if until, ok := m.lockouts[k]; ok && now.Before(until) {
		return until, false // already locked out
	}
	f := m.failures[k]
	if f == nil || !now.Before(f.end) {
		m.makeRoom(now)
		f = &failures{end: now.Add(m.cfg.LockoutWindow)}
		m.failures[k] = f
	}
	f.n++
	if f.n < m.cfg.LockoutFailures {
		return time.Time{}, false
	}
	delete(m.failures, k)
	until := now.Add(m.cfg.LockoutDuration)
	m.lockouts[k] = until
	return until, true
}

// AllowExchange refuses while appID cools down, then takes one exchange of
// (userDomain, appID)'s cap (Limits.AdmitExchange calls it before claiming
// the code).
func (m *Memory) AllowExchange(_ context.Context, userDomain, appID string) application.Decision {
	now := m.clock.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	if until, ok := m.coolDowns[appID]; ok && now.Before(until) {
		return application.Decision{RetryAfter: until.Sub(now)}
	}
	n := m.cfg.exchangeRate(appID)
	return m.take(m.exchanges, exchangeKey(userDomain, appID), float64(n), n, now)
}

// CoolDown implements application.Limiter.
func (m *Memory) CoolDown(_ context.Context, appID string, until time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if cur, ok := m.coolDowns[appID]; !ok || until.After(cur) {
		m.coolDowns[appID] = until
	}
}

// Unblock lifts every lockout (and failure count) of ip; it returns how many
// lockouts it lifted.
func (m *Memory) Unblock(_ context.Context, ip string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	now := m.clock.Now()
	for k, until := range m.lockouts {
		if ipOfLockKey(k) == ip {
			if now.Before(until) {
				n++
			}
			delete(m.lockouts, k)
		}
	}
	for k := range m.failures {
		if ipOfLockKey(k) == ip {
			delete(m.failures, k)
		}
	}
	return n
}

func ipOfLockKey(k string) string {
	for i := 0; i < len(k); i++ {
		if k[i] == '|' {
			return k[:i]
		}
	}
	return k
}

// size is the number of entries held (tests check the bound).
func (m *Memory) size() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.ips) + len(m.exchanges) + len(m.failures) + len(m.lockouts) + len(m.coolDowns)
}

func (m *Memory) maybeSweep(now time.Time) {
	if now.Sub(m.lastSweep) >= sweepEvery {
		m.sweep(now)
	}
}

// makeRoom keeps every map under maxKeys before an entry is added: a full
// map is swept and, if that is not enough, cut to nine tenths of the bound
// (so that the next inserts do not sweep again).
func (m *Memory) makeRoom(now time.Time) {
	limit := m.maxKeys
	if len(m.ips) < limit && len(m.exchanges) < limit && len(m.failures) < limit && len(m.lockouts) < limit {
		return
	}
	m.sweep(now)
	for _, mp := range []map[string]*bucket{m.ips, m.exchanges} {
		trim(mp, limit)
	}
	trim(m.failures, limit)
	trim(m.lockouts, limit)
}

// trim cuts a map of limit entries or more to nine tenths of limit,
// dropping arbitrary entries.
func trim[V any](mp map[string]V, limit int) {
	if len(mp) < limit {
		return
	}
	keep := limit * 9 / 10
	for k := range mp {
		if len(mp) <= keep {
			return
		}
		delete(mp, k)
	}
}

// sweep drops entries that no longer change any answer.
func (m *Memory) sweep(now time.Time) {
	m.lastSweep = now
	for _, mp := range []map[string]*bucket{m.ips, m.exchanges} {
		for k, b := range mp {
			if now.Sub(b.last) >= b.full {
				delete(mp, k)
			}
		}
	}
	for k, f := range m.failures {
		if !now.Before(f.end) {
			delete(m.failures, k)
		}
	}
	for k, until := range m.lockouts {
		if !now.Before(until) {
			delete(m.lockouts, k)
		}
	}
	for k, until := range m.coolDowns {
		if !now.Before(until) {
			delete(m.coolDowns, k)
		}
	}
}
