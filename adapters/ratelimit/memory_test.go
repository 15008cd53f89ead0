package ratelimit

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/iotplatform/enduser-auth/internal/fakeclock"
)

// The memory limiter's behaviour is the contract's (contract_test.go runs
// limittest on it); here is what is memory's own: its bounds.

func newClock() *fakeclock.Clock { return fakeclock.New(time.Date(2026, 12, 2, 8, 0, 0, 0, time.UTC)) }

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

// TestMemoryClaimsStayBounded: past its bound a generation is turned over
// early (the claims' behaviour is the contract's, limittest).
func TestMemoryClaimsStayBounded(t *testing.T) {
	c := NewMemoryClaims(newClock())
	ctx := context.Background()
	c.max = 100
	for i := range 1000 {
		c.Claim(ctx, codeKey("wxapp", fmt.Sprint(i)))
	}
	if n := c.size(); n > 2*c.max {
		t.Fatalf("%d hashes held, bound %d", n, 2*c.max)
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
