package ratelimit_test

import (
	"context"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/iotplatform/enduser-auth/adapters/ratelimit"
	"github.com/iotplatform/enduser-auth/adapters/ratelimit/redistest"
	"github.com/iotplatform/enduser-auth/application"
)

// cmdCount is a go-redis hook that counts the round trips sent (a pipeline
// is one), the background sync's included.
type cmdCount struct {
	mu sync.Mutex
	n  int
}

func (c *cmdCount) DialHook(next redis.DialHook) redis.DialHook { return next }

func (c *cmdCount) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		c.mu.Lock()
		c.n++
		c.mu.Unlock()
		return next(ctx, cmd)
	}
}

func (c *cmdCount) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		c.mu.Lock()
		c.n++
		c.mu.Unlock()
		return next(ctx, cmds)
	}
}

func (c *cmdCount) get() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// localInstances returns n running instances of the local-first limits on
// one prefix of the test's own, syncing only when the test says (an interval
// of an hour), and the hook counting their round trips.
func localInstances(t *testing.T, n int, cfg ratelimit.Config) ([]*ratelimit.Limits, *cmdCount) {
	t.Helper()
	rdb, prefix := redistest.Open(t)
	hook := &cmdCount{}
	rdb.AddHook(hook)
	s := ratelimit.Settings{Enabled: true, Config: cfg, Redis: rdb, Prefix: prefix, RedisTimeout: 10 * time.Second,
		SyncInterval: time.Hour}
	var out []*ratelimit.Limits
	for range n {
		l, err := ratelimit.New(s, nil, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, l)
	}
	runLimits(t, out...)
	syncAll(t, out...) // Run has loaded the mirror: the admission is local from here on
	t.Cleanup(func() {
		for i, l := range out {
			if n := l.Fallbacks.Total(); n != 0 {
				t.Errorf("instance %d fell back to memory %d times with Redis up", i, n)
			}
		}
	})
	return out, hook
}

// TestLocalTwoInstancesTolerance: two instances of the local-first admission
// on one Redis, between two syncs, allow at most what one would plus the
// stated tolerance, (N−1)×IPBurst here (the rate refills nothing while the
// test runs); once synced they refuse as one would; a warm IP's requests
// make no Redis round trip.
func TestLocalTwoInstancesTolerance(t *testing.T) {
	const burst = 4
	lims, hook := localInstances(t, 2, ratelimit.Config{IPRate: 1.0 / 64, IPBurst: burst})
	ctx := t.Context()
	const ip = "192.0.2.40"
	passed := 0
	for i := range 10 {
		if lims[i%2].Limiter.AdmitLogin(ctx, ip, "C.DM.1.1").Allowed {
			passed++
		}
	}
	if hi := burst + (len(lims)-1)*burst; passed < burst || passed > hi {
		t.Fatalf("two instances between syncs let %d of 10 through, want from %d (one instance's) to %d (the tolerance)", passed, burst, hi)
	}
	t.Logf("two instances between syncs let %d of 10 through (one instance: %d)", passed, burst)
	syncAll(t, lims...)
	for i := range 4 {
		if d := lims[i%2].Limiter.AllowRequest(ctx, ip); d.Allowed || d.RetryAfter <= 0 {
			t.Fatalf("request %d after the sync: every instance knows the bucket is spent, got %+v", i, d)
		}
	}
	// A warm IP is decided without a round trip (a fresh one takes one).
	before := hook.get()
	for i := range 6 {
		lims[i%2].Limiter.AllowRequest(ctx, ip)
	}
	if n := hook.get() - before; n != 0 {
		t.Fatalf("a warm IP's requests made %d Redis round trips, want 0", n)
	}
	// Many IPs: each allows its burst on either instance after a sync.
	for i := range 20 {
		other := netip.AddrFrom4([4]byte{198, 51, 100, byte(i)}).String()
		n := 0
		for j := range 2 * burst {
			if j == 1 {
				syncAll(t, lims...)
			}
			if lims[j%2].Limiter.AllowRequest(ctx, other).Allowed {
				n++
			}
		}
		if n < burst || n > burst+burst {
			t.Fatalf("%s: %d let through, want %d to %d", other, n, burst, 2*burst)
		}
	}
}

// TestLocalLockoutExactAtTheGate: a lockout started on one instance refuses
// the other's exchange gate at once, whatever its mirror holds (5148's
// LockedOut, the code not claimed), and its admission once synced; an
// unblock lifts it on both.
func TestLocalLockoutExactAtTheGate(t *testing.T) {
	lims, _ := localInstances(t, 2, ratelimit.Config{IPRate: 1000, IPBurst: 1000, LockoutFailures: 1, LockoutDuration: time.Hour})
	ctx := application.WithClientIP(t.Context(), netip.MustParseAddr("192.0.2.41"))
	const ip, ud = "192.0.2.41", "C.DM.1.1"
	for _, l := range lims {
		if !l.Limiter.AdmitLogin(ctx, ip, ud).Allowed {
			t.Fatal("admitted before any failure")
		}
	}
	if _, locked := lims[0].Limiter.SignatureFailed(ctx, ip, ud); !locked {
		t.Fatal("the failure must lock")
	}
	d := lims[1].AdmitExchange(ctx, ud, "wxapp", "code-1")
	if d.Allowed || !d.LockedOut || d.CodeUsed || d.RetryAfter < 59*time.Minute {
		t.Fatalf("the other instance's gate: want locked out for about an hour, got %+v", d)
	}
	if d := lims[0].Limiter.AdmitLogin(ctx, ip, ud); d.Allowed {
		t.Fatalf("the locking instance's admission: want refused, got %+v", d)
	}
	syncAll(t, lims...)
	if d := lims[1].Limiter.AdmitLogin(ctx, ip, ud); d.Allowed {
		t.Fatalf("the other instance's admission once synced: want refused, got %+v", d)
	}
	if n, err := lims[1].Unblock(ctx, ip); err != nil || n != 1 {
		t.Fatalf("Unblock: %d %v", n, err)
	}
	for i, l := range lims {
		if d := l.Limiter.AdmitLogin(ctx, ip, ud); !d.Allowed {
			t.Fatalf("instance %d after the unblock (before any sync): %+v", i, d)
		}
	}
	if d := lims[0].AdmitExchange(ctx, ud, "wxapp", "code-1"); !d.Allowed {
		t.Fatalf("the code refused while locked out was never claimed: %+v", d)
	}
	// Another IP, or the same IP in another user domain, is not locked out.
	other := application.WithClientIP(t.Context(), netip.MustParseAddr("192.0.2.42"))
	if d := lims[1].AdmitExchange(other, ud, "wxapp", "code-2"); !d.Allowed {
		t.Fatalf("another IP: %+v", d)
	}
}
