package limittest

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/iotplatform/enduser-auth/adapters/ratelimit"
)

// This file holds the cases of a login's first checks: the per-IP bucket
// and the lockout of (IP, user domain).

// ipRate is the per-IP cases' rate: one request per ipInterval, a power of
// two so that the arithmetic is exact in floating point.
const (
	ipRate     = 1.0 / 64
	ipInterval = 64 * time.Second
)

// ipBucket: the burst passes, the next is refused for one emission interval;
// each IP has its own bucket; refused requests spend nothing, so after
// RetryAfter exactly one passes. The instances allow what one would.
func (s suite) ipBucket(t *testing.T) {
	f := s.target(t, true, ratelimit.Config{IPRate: ipRate, IPBurst: 3})
	const ip = "192.0.2.1"
	for i := range 3 {
		if d := f.lim().AllowRequest(f.ctx, ip); !d.Allowed {
			t.Fatalf("request %d within the burst refused: %+v", i+1, d)
		}
	}
	d := f.lim().AllowRequest(f.ctx, ip)
	f.wantRefused("over the burst", d, ipInterval)
	if !f.lim().AllowRequest(f.ctx, "192.0.2.2").Allowed {
		t.Fatal("another IP has its own bucket")
	}
	for range 5 {
		f.lim().AllowRequest(f.ctx, ip)
	}
	f.Advance(d.RetryAfter)
	if !f.lim().AllowRequest(f.ctx, ip).Allowed {
		t.Fatal("after RetryAfter the bucket must let one request through")
	}
	if f.lim().AllowRequest(f.ctx, ip).Allowed {
		t.Fatal("only one token refilled")
	}
}

// admitLogin: AdmitLogin is AllowRequest then LockedOut in one step: it
// shares the bucket with AllowRequest; a locked-out request spends its token;
// the bucket's refusal comes first.
func (s suite) admitLogin(t *testing.T) {
	f := s.target(t, true, ratelimit.Config{IPRate: ipRate, IPBurst: 4, LockoutFailures: 1, LockoutWindow: time.Minute,
		LockoutDuration: time.Hour})
	const ip, ud, ud2 = "192.0.2.21", "C.DM.1.1", "C.DM.1.2"
	if d := f.lim().AdmitLogin(f.ctx, ip, ud); !d.Allowed {
		t.Fatalf("first login: %+v", d)
	}
	if d := f.lim().AllowRequest(f.ctx, ip); !d.Allowed {
		t.Fatalf("another endpoint (on the next instance): %+v", d)
	}
	if _, locked := f.lim().SignatureFailed(f.ctx, ip, ud); !locked {
		t.Fatal("the failure must lock")
	}
	locked := f.lim().AdmitLogin(f.ctx, ip, ud)
	f.wantRefused("locked out", locked, time.Hour)
	if !locked.LockedOut {
		t.Fatalf("a lockout's refusal must say LockedOut (the refusals are counted and reported by reason): %+v", locked)
	}
	if d := f.lim().AdmitLogin(f.ctx, ip, ud2); !d.Allowed {
		t.Fatalf("another user domain, the burst's last token: %+v", d)
	}
	// Four tokens spent: two logins, one other request, one locked-out login.
	f.wantRefused("over the bucket (another user domain)", f.lim().AdmitLogin(f.ctx, ip, ud2), ipInterval)
	d := f.lim().AdmitLogin(f.ctx, ip, ud)
	f.wantRefused("over the bucket and locked out: the bucket answers first", d, ipInterval)
	if d.LockedOut {
		t.Fatalf("the bucket's refusal is not a lockout's: %+v", d)
	}
	f.Advance(d.RetryAfter)
	if d := f.lim().AdmitLogin(f.ctx, ip, ud2); !d.Allowed {
		t.Fatalf("the refilled token admits another user domain: %+v", d)
	}
}

// lockout: the window starts at the first failure; the failure that reaches
// the threshold locks (IP, user domain) for the duration, reported once; it
// ends by itself; Unblock lifts it on every instance.
func (s suite) lockout(t *testing.T) {
	f := s.target(t, true, ratelimit.Config{LockoutFailures: 3, LockoutWindow: time.Minute, LockoutDuration: 5 * time.Minute})
	const ip, ud = "192.0.2.7", "C.DM.1.1"
	for i := range 2 {
		if _, locked := f.lim().SignatureFailed(f.ctx, ip, ud); locked {
			t.Fatalf("failure %d must not lock", i+1)
		}
	}
	f.Advance(time.Minute)
	if _, locked := f.lim().SignatureFailed(f.ctx, ip, ud); locked {
		t.Fatal("failures of an ended window must not count")
	}
	f.lim().SignatureFailed(f.ctx, ip, ud)
	until, locked := f.lim().SignatureFailed(f.ctx, ip, ud)
	if want := f.Now().Add(5 * time.Minute); !locked || !f.about(until.Sub(want), 0) {
		t.Fatalf("the third failure in the window must lock until %v (drift %v), got %v %v", want, f.Drift, locked, until)
	}
	for range 10 {
		if _, again := f.lim().SignatureFailed(f.ctx, ip, ud); again {
			t.Fatal("a lockout is reported once, not per failure")
		}
	}
	f.eachLim(func(l Limiter) {
		f.wantRefused("locked out, on every instance", l.LockedOut(f.ctx, ip, ud), 5*time.Minute)
	})
	if !f.lim().LockedOut(f.ctx, ip, "C.DM.1.2").Allowed || !f.lim().LockedOut(f.ctx, "192.0.2.8", ud).Allowed {
		t.Fatal("a lockout is keyed by (IP, user domain)")
	}
	f.Advance(5 * time.Minute)
	if !f.lim().LockedOut(f.ctx, ip, ud).Allowed {
		t.Fatal("the lockout must end after its duration")
	}
	for range 3 {
		f.lim().SignatureFailed(f.ctx, ip, ud)
	}
	if f.lim().LockedOut(f.ctx, ip, ud).Allowed {
		t.Fatal("locked again")
	}
	if n, err := f.next().Unblock(f.ctx, ip); err != nil || n != 1 {
		t.Fatalf("Unblock: lifted %d lockouts (%v), want 1", n, err)
	}
	f.eachLim(func(l Limiter) {
		if !l.LockedOut(f.ctx, ip, ud).Allowed {
			t.Fatal("Unblock must lift the lockout on every instance")
		}
	})
}

// lockoutOnce: concurrent failures on every instance make one lockout,
// reported once, that every instance sees.
func (s suite) lockoutOnce(t *testing.T) {
	f := s.target(t, true, ratelimit.Config{LockoutFailures: 10, LockoutWindow: time.Minute, LockoutDuration: time.Hour})
	const ip, ud = "192.0.2.3", "C.DM.1.1"
	lims := make([]Limiter, 40)
	for i := range lims {
		lims[i] = f.lim()
	}
	var locks atomic.Int32
	var wg sync.WaitGroup
	for _, l := range lims {
		wg.Go(func() {
			if _, locked := l.SignatureFailed(f.ctx, ip, ud); locked {
				locks.Add(1)
			}
		})
	}
	wg.Wait()
	if n := locks.Load(); n != 1 {
		t.Fatalf("40 concurrent failures reported %d lockouts, want exactly 1", n)
	}
	f.eachLim(func(l Limiter) {
		f.wantRefused("every instance sees the lockout", l.LockedOut(f.ctx, ip, ud), time.Hour)
	})
}

// unblockClearsFailures: Unblock also forgets the failures counted so far
// (it lifts nothing when nothing is locked).
func (s suite) unblockClearsFailures(t *testing.T) {
	f := s.target(t, true, ratelimit.Config{LockoutFailures: 3, LockoutWindow: time.Hour, LockoutDuration: time.Hour})
	const ip, ud = "192.0.2.9", "C.DM.1.1"
	f.lim().SignatureFailed(f.ctx, ip, ud)
	f.lim().SignatureFailed(f.ctx, ip, ud)
	if n, err := f.next().Unblock(f.ctx, ip); err != nil || n != 0 {
		t.Fatalf("Unblock with nothing locked: lifted %d (%v), want 0", n, err)
	}
	for i := range 2 {
		if _, locked := f.lim().SignatureFailed(f.ctx, ip, ud); locked {
			t.Fatalf("failure %d after Unblock must not lock: the count restarts", i+1)
		}
	}
	if _, locked := f.lim().SignatureFailed(f.ctx, ip, ud); !locked {
		t.Fatal("the third failure after Unblock must lock")
	}
}
