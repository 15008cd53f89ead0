package ratelimit

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/iotplatform/enduser-auth/internal/fakeclock"
)

func newClock() *fakeclock.Clock { return fakeclock.New(time.Date(2026, 12, 2, 8, 0, 0, 0, time.UTC)) }

func TestMemoryIPBucketTripsAndRecovers(t *testing.T) {
	clock := newClock()
	m := NewMemory(Config{IPRate: 2, IPBurst: 3}, clock)
	ctx := context.Background()
	for i := range 3 {
		if d := m.AllowRequest(ctx, "192.0.2.1"); !d.Allowed {
			t.Fatalf("request %d within the burst refused", i+1)
		}
	}
	d := m.AllowRequest(ctx, "192.0.2.1")
	if d.Allowed || d.RetryAfter <= 0 || d.RetryAfter > time.Second {
		t.Fatalf("over the burst: want refused with 0 < RetryAfter <= 0.5s, got %+v", d)
	}
	if !m.AllowRequest(ctx, "192.0.2.2").Allowed {
		t.Fatal("another IP has its own bucket")
	}
	// Refused requests do not spend tokens: after RetryAfter one passes.
	for range 5 {
		m.AllowRequest(ctx, "192.0.2.1")
	}
	clock.Advance(d.RetryAfter)
	if !m.AllowRequest(ctx, "192.0.2.1").Allowed {
		t.Fatal("after RetryAfter the bucket must let one request through")
	}
	if m.AllowRequest(ctx, "192.0.2.1").Allowed {
		t.Fatal("only one token refilled")
	}
}

func TestMemoryLockout(t *testing.T) {
	clock := newClock()
	m := NewMemory(Config{LockoutFailures: 3, LockoutWindow: time.Minute, LockoutDuration: 5 * time.Minute}, clock)
	ctx := context.Background()
	const ip, ud = "192.0.2.7", "C.DM.1.1"
	for i := range 2 {
		if _, locked := m.SignatureFailed(ctx, ip, ud); locked {
			t.Fatalf("failure %d must not lock", i+1)
		}
	}
	// The window starts at the first failure: past it, the count restarts.
	clock.Advance(time.Minute)
	if _, locked := m.SignatureFailed(ctx, ip, ud); locked {
		t.Fatal("failures of an ended window must not count")
	}
	m.SignatureFailed(ctx, ip, ud)
	until, locked := m.SignatureFailed(ctx, ip, ud)
	if !locked || !until.Equal(clock.Now().Add(5*time.Minute)) {
		t.Fatalf("the third failure in the window must lock for 5m, got %v %v", locked, until)
	}
	for range 10 {
		if _, again := m.SignatureFailed(ctx, ip, ud); again {
			t.Fatal("a lockout is reported once, not per failure")
		}
	}
	d := m.LockedOut(ctx, ip, ud)
	if d.Allowed || d.RetryAfter != 5*time.Minute {
		t.Fatalf("locked out: want RetryAfter 5m, got %+v", d)
	}
	if !m.LockedOut(ctx, ip, "C.DM.1.2").Allowed || !m.LockedOut(ctx, "192.0.2.8", ud).Allowed {
		t.Fatal("a lockout is keyed by (IP, user domain)")
	}
	clock.Advance(5 * time.Minute)
	if !m.LockedOut(ctx, ip, ud).Allowed {
		t.Fatal("the lockout must end after its duration")
	}
	for range 3 {
		m.SignatureFailed(ctx, ip, ud)
	}
	if m.LockedOut(ctx, ip, ud).Allowed {
		t.Fatal("locked again")
	}
	if n := m.Unblock(ctx, ip); n != 1 {
		t.Fatalf("Unblock lifted %d lockouts, want 1", n)
	}
	if !m.LockedOut(ctx, ip, ud).Allowed {
		t.Fatal("Unblock must lift the lockout")
	}
}

func TestMemoryExchangeCapAndCoolDown(t *testing.T) {
	clock := newClock()
	m := NewMemory(Config{ExchangeRate: 2, ExchangeRates: map[string]int{"wxbig": 5}}, clock)
	ctx := context.Background()
	allowed := func(ud, app string, n int) int {
		ok := 0
		for range n {
			if m.AllowExchange(ctx, ud, app).Allowed {
				ok++
			}
		}
		return ok
	}
	if got := allowed("C.DM.1.1", "wxsmall", 10); got != 2 {
		t.Fatalf("cap 2/s allowed %d of 10", got)
	}
	if got := allowed("C.DM.1.2", "wxsmall", 10); got != 2 {
		t.Fatalf("another user domain has its own cap: allowed %d", got)
	}
	if got := allowed("C.DM.1.1", "wxbig", 10); got != 5 {
		t.Fatalf("the override 5/s allowed %d of 10", got)
	}
	clock.Advance(time.Second)
	if got := allowed("C.DM.1.1", "wxsmall", 10); got != 2 {
		t.Fatalf("after a second the cap refills: allowed %d", got)
	}
	clock.Advance(time.Second)
	until := clock.Now().Add(30 * time.Second)
	m.CoolDown(ctx, "wxsmall", until)
	d := m.AllowExchange(ctx, "C.DM.1.1", "wxsmall")
	if d.Allowed || d.RetryAfter != 30*time.Second {
		t.Fatalf("cooling down: want refused for 30s, got %+v", d)
	}
	if m.AllowExchange(ctx, "C.DM.1.2", "wxsmall").Allowed {
		t.Fatal("the cool-down is the appId's, in every user domain")
	}
	clock.Advance(30 * time.Second)
	if !m.AllowExchange(ctx, "C.DM.1.1", "wxsmall").Allowed {
		t.Fatal("the cool-down must end")
	}
}

func TestMemoryStaysBounded(t *testing.T) {
	clock := newClock()
	m := NewMemory(Config{IPRate: 10, IPBurst: 20}, clock)
	m.maxKeys = 1000
	ctx := context.Background()
	for i := range 5500 {
		m.AllowRequest(ctx, fmt.Sprintf("ip-%d", i))
		if _, locked := m.SignatureFailed(ctx, fmt.Sprintf("ip-%d", i), "C.DM.1.1"); locked {
			t.Fatal("one failure locks nothing")
		}
	}
	if n := m.size(); n > 2*m.maxKeys {
		t.Fatalf("%d entries held, bound %d per map", n, m.maxKeys)
	}
	// Idle buckets (full again) are swept.
	clock.Advance(DefaultConfig().LockoutWindow)
	m.AllowRequest(ctx, "fresh")
	if n := m.size(); n != 1 {
		t.Fatalf("after the sweep %d entries are held, want 1", n)
	}
}

func TestMemoryClaims(t *testing.T) {
	clock := newClock()
	c := NewMemoryClaims(clock)
	ctx := context.Background()
	k := codeKey("wxapp", "code-1")
	if !c.Claim(ctx, k) {
		t.Fatal("first claim must succeed")
	}
	if c.Claim(ctx, k) {
		t.Fatal("second claim must fail")
	}
	if !c.Claim(ctx, codeKey("wxother", "code-1")) {
		t.Fatal("a code is claimed per appId")
	}
	clock.Advance(CodeTTL)
	if c.Claim(ctx, k) {
		t.Fatal("a claim lasts at least CodeTTL")
	}
	clock.Advance(2 * CodeTTL)
	if !c.Claim(ctx, k) {
		t.Fatal("after twice CodeTTL the claim is forgotten")
	}
	c.max = 100
	for i := range 1000 {
		c.Claim(ctx, codeKey("wxapp", fmt.Sprint(i)))
	}
	if n := c.size(); n > 2*c.max {
		t.Fatalf("%d hashes held, bound %d", n, 2*c.max)
	}
}

// TestMemoryAdmitLogin: AdmitLogin is AllowRequest then LockedOut: the
// bucket's refusal comes first, a locked-out request spends its token, and
// it shares the bucket with AllowRequest.
func TestMemoryAdmitLogin(t *testing.T) {
	clock := newClock()
	m := NewMemory(Config{IPRate: 0.5, IPBurst: 3, LockoutFailures: 1, LockoutDuration: time.Hour}, clock)
	ctx := context.Background()
	const ip, ud = "192.0.2.7", "C.DM.1.1"
	if !m.AdmitLogin(ctx, ip, ud).Allowed || !m.AllowRequest(ctx, ip).Allowed {
		t.Fatal("within the burst")
	}
	m.SignatureFailed(ctx, ip, ud)
	if d := m.AdmitLogin(ctx, ip, ud); d.Allowed || d.RetryAfter != time.Hour {
		t.Fatalf("locked out: want refused for the lockout's hour, got %+v", d)
	}
	// The locked-out request spent the burst's last token: the bucket refuses now.
	if d := m.AdmitLogin(ctx, ip, "C.DM.1.2"); d.Allowed || d.RetryAfter != 2*time.Second {
		t.Fatalf("over the bucket (another user domain): want refused for one emission interval (2s), got %+v", d)
	}
	if d := m.AdmitLogin(ctx, ip, ud); d.Allowed || d.RetryAfter != 2*time.Second {
		t.Fatalf("over the bucket and locked out: the bucket answers first (2s), got %+v", d)
	}
	clock.Advance(2 * time.Second)
	if !m.AdmitLogin(ctx, ip, "C.DM.1.2").Allowed {
		t.Fatal("the refilled token admits another user domain")
	}
}

// BenchmarkMemoryLoginChecks: a successful login's checks in memory, the
// bucket and the lockout as two calls (before issue 10) and as AdmitLogin
// (one lock), each followed by the cap and the claim; run alternately.
//
//	go test -run '^$' -bench MemoryLoginChecks ./adapters/ratelimit/
func BenchmarkMemoryLoginChecks(b *testing.B) {
	ctx := context.Background()
	m := NewMemory(Config{IPRate: 1e9, IPBurst: 1e9, ExchangeRate: 1e9}, nil)
	claims := NewMemoryClaims(nil)
	const ip, ud, app = "192.0.2.1", "C.DM.1.1", "wxbench"
	var tSep, tOne time.Duration
	for i := range b.N {
		t0 := time.Now()
		if !m.AllowRequest(ctx, ip).Allowed || !m.LockedOut(ctx, ip, ud).Allowed || !m.AllowExchange(ctx, ud, app).Allowed ||
			!claims.Claim(ctx, codeKey(app, fmt.Sprint("s", i))) {
			b.Fatal("refused")
		}
		t1 := time.Now()
		if !m.AdmitLogin(ctx, ip, ud).Allowed || !m.AllowExchange(ctx, ud, app).Allowed || !claims.Claim(ctx, codeKey(app, fmt.Sprint("c", i))) {
			b.Fatal("refused")
		}
		tSep += t1.Sub(t0)
		tOne += time.Since(t1)
	}
	b.ReportMetric(float64(tSep.Nanoseconds())/float64(b.N), "separate-ns")
	b.ReportMetric(float64(tOne.Nanoseconds())/float64(b.N), "admitlogin-ns")
	b.ReportMetric(float64(tOne)/float64(tSep), "ratio")
}
