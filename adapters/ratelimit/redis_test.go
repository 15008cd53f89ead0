package ratelimit

import (
	"context"
	"encoding/hex"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/iotplatform/enduser-auth/adapters/ratelimit/redistest"
	"github.com/iotplatform/enduser-auth/application"
)

// testRedis is the shared Redis and a key prefix of this test's own
// (redistest: its keys are deleted at the end, the server never flushed).
func testRedis(t *testing.T) (*redis.Client, string) {
	t.Helper()
	return redistest.Open(t)
}

// deadRedis is a client of a port nobody listens on.
func deadRedis(t *testing.T) *redis.Client {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	rdb := redis.NewClient(&redis.Options{Addr: addr, DialTimeout: 200 * time.Millisecond, MaxRetries: -1})
	t.Cleanup(func() { rdb.Close() })
	return rdb
}

// TestRedisIPBucketShared: two limiters on one Redis and prefix allow what
// one would; another prefix is another namespace.
func TestRedisIPBucketShared(t *testing.T) {
	rdb, prefix := testRedis(t)
	ctx := context.Background()
	// 0.01/s: no token refills during the test, however slow the machine.
	cfg := Config{IPRate: 0.01, IPBurst: 4}
	a, b := NewRedis(cfg, rdb, prefix), NewRedis(cfg, rdb, prefix)
	allowed := 0
	var refused time.Duration
	for i := range 10 {
		l := a
		if i%2 == 1 {
			l = b
		}
		d, err := l.AllowRequest(ctx, "192.0.2.1")
		if err != nil {
			t.Fatal(err)
		}
		if d.Allowed {
			allowed++
		} else {
			refused = d.RetryAfter
		}
	}
	if allowed != 4 {
		t.Fatalf("two instances sharing Redis allowed %d requests, want the burst of one: 4", allowed)
	}
	if refused <= 0 || refused > 100*time.Second {
		t.Fatalf("RetryAfter %v, want within one emission interval (100s)", refused)
	}
	other := NewRedis(cfg, rdb, prefix+"other:")
	if d, err := other.AllowRequest(ctx, "192.0.2.1"); err != nil || !d.Allowed {
		t.Fatalf("another prefix must not share the bucket: %+v %v", d, err)
	}
}

// TestRedisIPBucketRecovers: with a fast rate the bucket refills (polled,
// never timed).
func TestRedisIPBucketRecovers(t *testing.T) {
	rdb, prefix := testRedis(t)
	ctx := context.Background()
	r := NewRedis(Config{IPRate: 20, IPBurst: 1}, rdb, prefix)
	if d, _ := r.AllowRequest(ctx, "192.0.2.9"); !d.Allowed {
		t.Fatal("first request refused")
	}
	tripped := false
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		d, err := r.AllowRequest(ctx, "192.0.2.9")
		if err != nil {
			t.Fatal(err)
		}
		if !d.Allowed {
			tripped = true
			continue
		}
		if tripped {
			return // refused, then allowed again
		}
	}
	t.Fatalf("the bucket never tripped and recovered (tripped=%v)", tripped)
}

// TestRedisLockoutOncePerLockout: concurrent failures on two instances make
// one lockout, reported once; it is keyed by (IP, user domain); Unblock
// lifts it on every instance; it ends by itself.
func TestRedisLockoutOncePerLockout(t *testing.T) {
	rdb, prefix := testRedis(t)
	ctx := context.Background()
	cfg := Config{LockoutFailures: 10, LockoutWindow: time.Minute, LockoutDuration: time.Hour}
	a, b := NewRedis(cfg, rdb, prefix), NewRedis(cfg, rdb, prefix)
	var locks atomic.Int32
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l := a
			if i%2 == 1 {
				l = b
			}
			_, locked, err := l.SignatureFailed(ctx, "192.0.2.3", "C.DM.1.1")
			if err != nil {
				t.Error(err)
			}
			if locked {
				locks.Add(1)
			}
		}()
	}
	wg.Wait()
	if n := locks.Load(); n != 1 {
		t.Fatalf("40 concurrent failures reported %d lockouts, want exactly 1", n)
	}
	for _, l := range []*Redis{a, b} {
		d, err := l.LockedOut(ctx, "192.0.2.3", "C.DM.1.1")
		if err != nil || d.Allowed || d.RetryAfter <= 59*time.Minute {
			t.Fatalf("both instances must see the lockout (about 1h left): %+v %v", d, err)
		}
	}
	if d, _ := a.LockedOut(ctx, "192.0.2.3", "C.DM.1.2"); !d.Allowed {
		t.Fatal("another user domain behind the same IP is not locked out")
	}
	n, err := a.Unblock(ctx, "192.0.2.3")
	if err != nil || n != 1 {
		t.Fatalf("Unblock: %d %v, want 1 lockout lifted", n, err)
	}
	if d, _ := b.LockedOut(ctx, "192.0.2.3", "C.DM.1.1"); !d.Allowed {
		t.Fatal("after Unblock the other instance must let the IP in")
	}

	short := NewRedis(Config{LockoutFailures: 2, LockoutWindow: time.Minute, LockoutDuration: 200 * time.Millisecond}, rdb, prefix+"short:")
	short.SignatureFailed(ctx, "192.0.2.4", "C.DM.1.1")
	if _, locked, _ := short.SignatureFailed(ctx, "192.0.2.4", "C.DM.1.1"); !locked {
		t.Fatal("the second failure must lock")
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		d, err := short.LockedOut(ctx, "192.0.2.4", "C.DM.1.1")
		if err != nil {
			t.Fatal(err)
		}
		if d.Allowed {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a 200ms lockout did not end within 10s")
		}
	}
}

// TestRedisExchangeCapAndCoolDown: the cap is per (user domain, appId),
// shared; a cool-down refuses the appId everywhere.
func TestRedisExchangeCapAndCoolDown(t *testing.T) {
	rdb, prefix := testRedis(t)
	ctx := context.Background()
	cfg := Config{ExchangeRate: 3, ExchangeRates: map[string]int{"wxbig": 1000}}
	a, b := NewRedis(cfg, rdb, prefix), NewRedis(cfg, rdb, prefix)
	allowed := 0
	for i := range 12 {
		l := a
		if i%2 == 1 {
			l = b
		}
		d, err := l.AllowExchange(ctx, "C.DM.1.1", "wxsmall")
		if err != nil {
			t.Fatal(err)
		}
		if d.Allowed {
			allowed++
		}
	}
	// 3 of the burst, plus at most what refills while 12 calls run.
	if allowed < 3 || allowed > 6 {
		t.Fatalf("cap 3/s allowed %d of 12 back-to-back exchanges", allowed)
	}
	for range 20 {
		if d, _ := a.AllowExchange(ctx, "C.DM.1.1", "wxbig"); !d.Allowed {
			t.Fatal("the override of wxbig (1000/s) must let 20 through")
		}
	}
	if err := a.CoolDown(ctx, "wxbig", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	d, err := b.AllowExchange(ctx, "C.DM.1.9", "wxbig")
	if err != nil || d.Allowed || d.RetryAfter < 59*time.Minute {
		t.Fatalf("a cooling-down appId must be refused on every instance and user domain: %+v %v", d, err)
	}
}

// TestRedisClaimsAndFallback: a code is claimed once across instances; with
// Redis down the claims and limits fall back to memory, counted, never
// failing.
func TestRedisClaimsAndFallback(t *testing.T) {
	rdb, prefix := testRedis(t)
	ctx := context.Background()
	f, err := NewFallbacks(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	a := NewRedisClaims(rdb, prefix, NewMemoryClaims(nil), f)
	b := NewRedisClaims(rdb, prefix, NewMemoryClaims(nil), f)
	k := codeKey("wxapp", "code-shared")
	var won atomic.Int32
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := a
			if i%2 == 1 {
				c = b
			}
			if c.Claim(ctx, k) {
				won.Add(1)
			}
		}()
	}
	wg.Wait()
	if won.Load() != 1 {
		t.Fatalf("20 concurrent claims on two instances: %d won, want 1", won.Load())
	}
	ttl := rdb.PTTL(ctx, prefix+"code|"+hex.EncodeToString(k[:])).Val()
	if ttl <= CodeTTL-time.Minute || ttl > CodeTTL {
		t.Fatalf("the claim's TTL is %v, want about %v", ttl, CodeTTL)
	}
	if n := rdb.Exists(ctx, prefix+"code|code-shared").Val(); n != 0 {
		t.Fatal("the code itself must never be a key")
	}
	if f.Total() != 0 {
		t.Fatalf("%d fall-backs with Redis up", f.Total())
	}

	dead := deadRedis(t)
	mem := NewMemoryClaims(nil)
	d := NewRedisClaims(dead, prefix, mem, f)
	if !d.Claim(ctx, k) || d.Claim(ctx, k) {
		t.Fatal("with Redis down the claims must work in memory")
	}
	s := NewShared(NewRedis(Config{IPRate: 0.01, IPBurst: 2}, dead, prefix), NewMemory(Config{IPRate: 0.01, IPBurst: 2}, nil), f)
	got := []bool{s.AllowRequest(ctx, "192.0.2.1").Allowed, s.AllowRequest(ctx, "192.0.2.1").Allowed, s.AllowRequest(ctx, "192.0.2.1").Allowed}
	if !got[0] || !got[1] || got[2] {
		t.Fatalf("with Redis down the memory bucket (burst 2) decides: %v", got)
	}
	if !s.LockedOut(ctx, "192.0.2.1", "C.DM.1.1").Allowed || !s.AllowExchange(ctx, "C.DM.1.1", "wx").Allowed {
		t.Fatal("with Redis down, lockout and exchange checks answer from memory")
	}
	if f.Total() < 7 {
		t.Fatalf("fall-backs counted: %d, want every one of the 7", f.Total())
	}
}

// TestRedisAdmitLogin: the login's script shares the IP bucket with
// redis_rate's (the other endpoints'), across instances; the bucket answers
// before the lockout; a locked-out request spends its token.
func TestRedisAdmitLogin(t *testing.T) {
	rdb, prefix := testRedis(t)
	ctx := context.Background()
	// 0.01/s: no token refills during the test, however slow the machine.
	cfg := Config{IPRate: 0.01, IPBurst: 4, LockoutFailures: 1, LockoutWindow: time.Minute, LockoutDuration: time.Hour}
	a, b := NewRedis(cfg, rdb, prefix), NewRedis(cfg, rdb, prefix)
	const ip, ud = "192.0.2.21", "C.DM.1.1"
	if d, err := a.AdmitLogin(ctx, ip, ud); err != nil || !d.Allowed {
		t.Fatalf("first login: %+v %v", d, err)
	}
	if d, err := b.AllowRequest(ctx, ip); err != nil || !d.Allowed {
		t.Fatalf("another endpoint on the other instance: %+v %v", d, err)
	}
	if _, locked, err := b.SignatureFailed(ctx, ip, ud); err != nil || !locked {
		t.Fatalf("the failure must lock: %v %v", locked, err)
	}
	d, err := a.AdmitLogin(ctx, ip, ud)
	if err != nil || d.Allowed || d.RetryAfter <= 59*time.Minute || d.RetryAfter > time.Hour {
		t.Fatalf("locked out: want refused for about the lockout's hour, got %+v %v", d, err)
	}
	if d, err := b.AdmitLogin(ctx, ip, "C.DM.1.2"); err != nil || !d.Allowed {
		t.Fatalf("another user domain, the burst's last token: %+v %v", d, err)
	}
	// Four tokens spent (two logins, one refresh, one locked-out login).
	d, err = a.AdmitLogin(ctx, ip, ud)
	if err != nil || d.Allowed || d.RetryAfter <= 0 || d.RetryAfter > 100*time.Second {
		t.Fatalf("over the bucket and locked out: want the bucket's RetryAfter (within 100s), got %+v %v", d, err)
	}
	// redis_rate's script sees the same bucket, and the same RetryAfter to
	// within the time between the two calls.
	rr, err := a.AllowRequest(ctx, ip)
	if err != nil || rr.Allowed {
		t.Fatalf("redis_rate on the bucket the script emptied: %+v %v", rr, err)
	}
	if diff := d.RetryAfter - rr.RetryAfter; diff < 0 || diff > 5*time.Second {
		t.Fatalf("RetryAfter: script %v, redis_rate %v: the same GCRA must give the same answer", d.RetryAfter, rr.RetryAfter)
	}
	if n := rdb.Exists(ctx, "rate:"+prefix+"ip|"+ip).Val(); n != 1 {
		t.Fatal("the bucket keeps redis_rate's key")
	}
}

// TestRedisAdmitLoginRetryAfterMatchesRedisRate: on fresh buckets in the
// same state, the script and redis_rate refuse with the same RetryAfter.
func TestRedisAdmitLoginRetryAfterMatchesRedisRate(t *testing.T) {
	rdb, prefix := testRedis(t)
	ctx := context.Background()
	r := NewRedis(Config{IPRate: 0.4, IPBurst: 1}, rdb, prefix)
	for _, ip := range []string{"192.0.2.31", "192.0.2.32"} {
		if d, _ := r.AllowRequest(ctx, ip); !d.Allowed {
			t.Fatal("first request refused")
		}
	}
	viaScript, err := r.AdmitLogin(ctx, "192.0.2.31", "C.DM.1.1")
	if err != nil {
		t.Fatal(err)
	}
	viaRate, err := r.AllowRequest(ctx, "192.0.2.32")
	if err != nil {
		t.Fatal(err)
	}
	// 1/0.4 = 2.5 s, less what elapsed since each bucket's first request.
	for _, d := range []application.Decision{viaScript, viaRate} {
		if d.Allowed || d.RetryAfter <= 1500*time.Millisecond || d.RetryAfter > 2500*time.Millisecond {
			t.Fatalf("want refused for about 2.5 s: script %+v, redis_rate %+v", viaScript, viaRate)
		}
	}
}

// TestRedisAdmitExchange: cool-down, cap and claim in one script, shared by
// instances; cooling down or over the cap, the code is not claimed; a claim
// is a hash with the code's TTL; a claimed code is refused as used.
func TestRedisAdmitExchange(t *testing.T) {
	rdb, prefix := testRedis(t)
	ctx := context.Background()
	cfg := Config{ExchangeRate: 2, ExchangeRates: map[string]int{"wxbig": 1000}}
	a, b := NewRedis(cfg, rdb, prefix), NewRedis(cfg, rdb, prefix)
	const ud = "C.DM.1.1"
	claimed := func(k [32]byte) bool { return rdb.Exists(ctx, codeRedisKey(prefix, k)).Val() == 1 }

	k1 := codeKey("wxbig", "code-1")
	if d, used, err := a.AdmitExchange(ctx, ud, "wxbig", &k1); err != nil || !d.Allowed || used {
		t.Fatalf("first exchange: %+v used=%v %v", d, used, err)
	}
	if ttl := rdb.PTTL(ctx, codeRedisKey(prefix, k1)).Val(); ttl <= CodeTTL-time.Minute || ttl > CodeTTL {
		t.Fatalf("the claim's TTL is %v, want about %v", ttl, CodeTTL)
	}
	if n := rdb.Exists(ctx, prefix+"code|code-1").Val(); n != 0 {
		t.Fatal("the code itself must never be a key")
	}
	if d, used, err := b.AdmitExchange(ctx, ud, "wxbig", &k1); err != nil || d.Allowed || !used {
		t.Fatalf("the same code on the other instance: want used, got %+v used=%v %v", d, used, err)
	}

	// Over the cap (2/s; a burst of 2, refilling at most a few during the
	// loop): refused with a RetryAfter within a second, the code unclaimed.
	var refused application.Decision
	var refusedKey [32]byte
	for i := range 12 {
		k := codeKey("wxsmall", fmt.Sprintf("cap-%d", i))
		d, used, err := a.AdmitExchange(ctx, ud, "wxsmall", &k)
		if err != nil || used {
			t.Fatalf("exchange %d: used=%v %v", i, used, err)
		}
		if !d.Allowed {
			refused, refusedKey = d, k
			break
		}
		if !claimed(k) {
			t.Fatalf("exchange %d allowed but its code not claimed", i)
		}
	}
	if refused.RetryAfter <= 0 || refused.RetryAfter > time.Second {
		t.Fatalf("over the cap: want refused within one second, got %+v", refused)
	}
	if claimed(refusedKey) {
		t.Fatal("a code refused by the cap must not be claimed")
	}

	// Cooling down: refused on every instance and user domain, unclaimed.
	if err := a.CoolDown(ctx, "wxbig", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	k2 := codeKey("wxbig", "code-2")
	d, used, err := b.AdmitExchange(ctx, "C.DM.1.9", "wxbig", &k2)
	if err != nil || d.Allowed || used || d.RetryAfter < 59*time.Minute || d.RetryAfter > time.Hour {
		t.Fatalf("cooling down: want refused for about an hour, got %+v used=%v %v", d, used, err)
	}
	if claimed(k2) {
		t.Fatal("a code refused by the cool-down must not be claimed")
	}
	rdb.Del(ctx, prefix+"cool|wxbig")
	if d, used, err := b.AdmitExchange(ctx, "C.DM.1.9", "wxbig", &k2); err != nil || !d.Allowed || used {
		t.Fatalf("after the cool-down the refused code is admitted: %+v used=%v %v", d, used, err)
	}
}

// TestLimitsAdmitExchange: the gate with Redis (limits on: cap + claim;
// off: the claim only) and its fall-back to memory when Redis fails,
// counted for both decisions.
func TestLimitsAdmitExchange(t *testing.T) {
	rdb, prefix := testRedis(t)
	ctx := context.Background()
	cfg := Config{ExchangeRate: 1}
	on, err := New(Settings{Enabled: true, Config: cfg, Redis: rdb, Prefix: prefix}, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d := on.AdmitExchange(ctx, "C.DM.1.1", "wx1", "c1"); !d.Allowed || d.CodeUsed {
		t.Fatalf("first: %+v", d)
	}
	if d := on.AdmitExchange(ctx, "C.DM.1.1", "wx1", "c2"); d.Allowed || d.CodeUsed || d.RetryAfter <= 0 {
		t.Fatalf("over the cap of 1/s: %+v", d)
	}
	off, err := New(Settings{Enabled: false, Config: cfg, Redis: rdb, Prefix: prefix}, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d := off.AdmitExchange(ctx, "C.DM.1.1", "wx1", "c1"); d.Allowed || !d.CodeUsed {
		t.Fatalf("limits off, a code the other instance claimed: want used, got %+v", d)
	}
	for _, c := range []string{"c3", "c4", "c5"} {
		if d := off.AdmitExchange(ctx, "C.DM.1.1", "wx1", c); !d.Allowed {
			t.Fatalf("limits off: no cap: %+v", d)
		}
	}
	if on.Fallbacks.Total()+off.Fallbacks.Total() != 0 {
		t.Fatal("fall-backs with Redis up")
	}

	dead, err := New(Settings{Enabled: true, Config: cfg, Redis: deadRedis(t), Prefix: prefix}, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d := dead.AdmitExchange(ctx, "C.DM.1.1", "wx1", "c1"); !d.Allowed {
		t.Fatalf("Redis down: memory decides, its cap and claims fresh: %+v", d)
	}
	if d := dead.AdmitExchange(ctx, "C.DM.1.2", "wx1", "c1"); d.Allowed || !d.CodeUsed {
		t.Fatalf("Redis down: the memory claim refuses the replay: %+v", d)
	}
	if d := dead.AdmitExchange(ctx, "C.DM.1.1", "wx1", "c9"); d.Allowed || d.CodeUsed {
		t.Fatalf("Redis down: the memory cap refuses: %+v", d)
	}
	if n := dead.Fallbacks.Total(); n != 6 {
		t.Fatalf("fall-backs counted: %d, want 6 (exchange and code, three times)", n)
	}
	if d := dead.Limiter.AdmitLogin(ctx, "192.0.2.1", "C.DM.1.1"); !d.Allowed {
		t.Fatalf("Redis down: the login's first check answers from memory: %+v", d)
	}
	if n := dead.Fallbacks.Total(); n != 8 {
		t.Fatalf("fall-backs counted: %d, want 8 (ip and lockout)", n)
	}
}
