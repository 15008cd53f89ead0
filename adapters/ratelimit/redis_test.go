package ratelimit

import (
	"context"
	"encoding/hex"
	"net"
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

// The Redis limiter's behaviour is the contract's (contract_test.go runs
// limittest on two instances sharing one prefix); here is what is Redis's
// own: its keys, its agreement with redis_rate, its fall-back to memory.

// TestRedisClaimKeys: a claim, by RedisClaims or by the exchange script, is
// the hash of the code under the prefix, with the code's TTL; the code
// itself is never a key.
func TestRedisClaimKeys(t *testing.T) {
	rdb, prefix := testRedis(t)
	ctx := context.Background()
	f, err := NewFallbacks(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	claims := NewRedisClaims(rdb, prefix, NewMemoryClaims(nil), f)
	r := NewRedis(Config{}, rdb, prefix)
	k1, k2 := codeKey("wxapp", "code-1"), codeKey("wxapp", "code-2")
	if !claims.Claim(ctx, k1) {
		t.Fatal("first claim refused")
	}
	if d, used, err := r.AdmitExchange(ctx, "C.DM.1.1", "wxapp", &k2); err != nil || !d.Allowed || used {
		t.Fatalf("first exchange: %+v used=%v %v", d, used, err)
	}
	for _, k := range [][32]byte{k1, k2} {
		ttl := rdb.PTTL(ctx, prefix+"code|"+hex.EncodeToString(k[:])).Val()
		if ttl <= CodeTTL-time.Minute || ttl > CodeTTL {
			t.Fatalf("the claim's TTL is %v, want about %v", ttl, CodeTTL)
		}
	}
	for _, code := range []string{"code-1", "code-2"} {
		if n := rdb.Exists(ctx, prefix+"code|"+code).Val(); n != 0 {
			t.Fatal("the code itself must never be a key")
		}
	}
	if f.Total() != 0 {
		t.Fatalf("%d fall-backs with Redis up", f.Total())
	}
}

// TestRedisFallsBackToMemory: with Redis down the claims and limits fall
// back to memory, counted, never failing.
func TestRedisFallsBackToMemory(t *testing.T) {
	ctx := context.Background()
	f, err := NewFallbacks(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	dead := deadRedis(t)
	k := codeKey("wxapp", "code-shared")
	d := NewRedisClaims(dead, "p:", NewMemoryClaims(nil), f)
	if !d.Claim(ctx, k) || d.Claim(ctx, k) {
		t.Fatal("with Redis down the claims must work in memory")
	}
	s := NewShared(NewRedis(Config{IPRate: 0.01, IPBurst: 2}, dead, "p:"), NewMemory(Config{IPRate: 0.01, IPBurst: 2}, nil), f)
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

// TestRedisAdmitLoginSharesRedisRateBucket: the login's script and
// redis_rate (the other endpoints') take from one bucket, under redis_rate's
// key, and refuse with the same RetryAfter.
func TestRedisAdmitLoginSharesRedisRateBucket(t *testing.T) {
	rdb, prefix := testRedis(t)
	ctx := context.Background()
	// 0.01/s: no token refills during the test, however slow the machine.
	r := NewRedis(Config{IPRate: 0.01, IPBurst: 2}, rdb, prefix)
	const ip, ud = "192.0.2.21", "C.DM.1.1"
	if d, err := r.AdmitLogin(ctx, ip, ud); err != nil || !d.Allowed {
		t.Fatalf("first login: %+v %v", d, err)
	}
	if d, err := r.AllowRequest(ctx, ip); err != nil || !d.Allowed {
		t.Fatalf("another endpoint: %+v %v", d, err)
	}
	d, err := r.AdmitLogin(ctx, ip, ud)
	if err != nil || d.Allowed || d.RetryAfter <= 0 || d.RetryAfter > 100*time.Second {
		t.Fatalf("over the bucket: want the bucket's RetryAfter (within 100s), got %+v %v", d, err)
	}
	// redis_rate's script sees the same bucket, and the same RetryAfter to
	// within the time between the two calls.
	rr, err := r.AllowRequest(ctx, ip)
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

// TestLimitsAdmitExchange: with Redis, instances with the limits on (the
// exchange script) and off (SET NX) claim codes under one key; when Redis
// fails the gate falls back to memory, counted for both decisions.
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
	off, err := New(Settings{Enabled: false, Config: cfg, Redis: rdb, Prefix: prefix}, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d := off.AdmitExchange(ctx, "C.DM.1.1", "wx1", "c1"); d.Allowed || !d.CodeUsed {
		t.Fatalf("limits off, a code the other instance claimed: want used, got %+v", d)
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
