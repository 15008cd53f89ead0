package ratelimit

import (
	"context"
	"encoding/hex"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/iotplatform/enduser-auth/adapters/ratelimit/redistest"
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
