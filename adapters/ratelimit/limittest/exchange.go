package limittest

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/iotplatform/enduser-auth/adapters/ratelimit"
)

// This file holds the cases of the last checks before WeChat: the exchange
// cap and cool-down, the gate, and its code-replay guard.

// allowed counts the exchanges of n that AllowExchange lets through.
func (f *fixture) allowed(userDomain, appID string, n int) int {
	ok := 0
	for range n {
		if f.lim().AllowExchange(f.ctx, userDomain, appID).Allowed {
			ok++
		}
	}
	return ok
}

// exchangeCap: the cap is per (user domain, appId), overridable per appId,
// and refills within a second; a cool-down refuses the appId in every user
// domain, on every instance, until it ends.
func (s suite) exchangeCap(t *testing.T) {
	f := s.target(t, true, ratelimit.Config{ExchangeRate: 2, ExchangeRates: map[string]int{"wxbig": 5}})
	f.wantCount("cap 2/s, 20 exchanges", f.allowed("C.DM.1.1", "wxsmall", 20), 2, 2)
	f.wantCount("another user domain has its own cap", f.allowed("C.DM.1.2", "wxsmall", 20), 2, 2)
	f.wantCount("the override 5/s", f.allowed("C.DM.1.1", "wxbig", 20), 5, 5)
	f.Advance(time.Second)
	f.wantCount("after a second the cap refills", f.allowed("C.DM.1.1", "wxsmall", 20), 2, 2)
	f.Advance(time.Second)
	f.lim().CoolDown(f.ctx, "wxsmall", f.Now().Add(30*time.Second))
	f.eachLim(func(l Limiter) {
		f.wantRefused("cooling down", l.AllowExchange(f.ctx, "C.DM.1.1", "wxsmall"), 30*time.Second)
		f.wantRefused("the cool-down is the appId's, in every user domain", l.AllowExchange(f.ctx, "C.DM.1.9", "wxsmall"), 30*time.Second)
	})
	f.Advance(30 * time.Second)
	if d := f.lim().AllowExchange(f.ctx, "C.DM.1.1", "wxsmall"); !d.Allowed {
		t.Fatalf("the cool-down must end: %+v", d)
	}
}

// gate: AdmitExchange with the limits on: cool-down, cap, then the code's
// claim. A claimed code is refused as used on every instance; a code refused
// by the cap or the cool-down is not claimed (admitted once they let it).
func (s suite) gate(t *testing.T) {
	f := s.target(t, true, ratelimit.Config{ExchangeRate: 2, ExchangeRates: map[string]int{"wxbig": 1000}})
	const ud = "C.DM.1.1"
	f.wantAdmitted("first exchange", f.admit(ud, "wxbig", "code-1"))
	for range f.Instances {
		f.wantUsed("the same code again, on each instance", f.admit(ud, "wxbig", "code-1"))
	}

	// Over the cap (2/s): refused for the rest of its emission interval.
	allowed, refusedCode := 0, ""
	for i := range 20 {
		code := fmt.Sprintf("cap-%d", i)
		d := f.admit(ud, "wxsmall", code)
		if d.CodeUsed {
			t.Fatalf("exchange %d: a fresh code refused as used", i)
		}
		if !d.Allowed {
			f.wantRefused("over the cap", d.Decision, 500*time.Millisecond)
			refusedCode = code
			break
		}
		allowed++
	}
	f.wantCount("cap 2/s before the first refusal", allowed, 2, 2)
	for i := range allowed { // a second between them: the cap lets each through
		f.Advance(time.Second)
		f.wantUsed("a code the cap let through was claimed", f.admit(ud, "wxsmall", fmt.Sprintf("cap-%d", i)))
	}
	f.Advance(time.Second)
	f.wantAdmitted("a code the cap refused was not claimed", f.admit(ud, "wxsmall", refusedCode))

	// Cooling down: refused on every instance and user domain, unclaimed.
	f.lim().CoolDown(f.ctx, "wxbig", f.Now().Add(time.Hour))
	for range f.Instances {
		f.wantRefused("cooling down", f.admit("C.DM.1.9", "wxbig", "code-2").Decision, time.Hour)
	}
	f.Advance(time.Hour)
	f.wantAdmitted("after the cool-down the code it refused", f.admit("C.DM.1.9", "wxbig", "code-2"))
}

// gateLimitsOff: with the limits off the gate applies no cap, only the
// code-replay guard.
func (s suite) gateLimitsOff(t *testing.T) {
	f := s.target(t, false, ratelimit.Config{ExchangeRate: 1})
	for _, l := range f.Instances {
		if l.Limiter != nil {
			t.Fatalf("limits off: Limits.Limiter is %T, want nil", l.Limiter)
		}
	}
	f.wantAdmitted("first", f.admit("C.DM.1.1", "wx1", "c1"))
	f.wantUsed("a replay", f.admit("C.DM.1.1", "wx1", "c1"))
	for _, c := range []string{"c2", "c3", "c4", "c5"} {
		f.wantAdmitted("limits off: no cap (1/s)", f.admit("C.DM.1.1", "wx1", c))
	}
}

// claims: of concurrent exchanges of one code on every instance exactly one
// is admitted; a code is claimed per appId; a claim lasts a code's life
// (ratelimit.CodeTTL) and is forgotten after twice that.
func (s suite) claims(t *testing.T) {
	f := s.target(t, false, ratelimit.Config{})
	const ud, app, code = "C.DM.1.1", "wxapp", "code-shared"
	limits := make([]*ratelimit.Limits, 20)
	for i := range limits {
		limits[i] = f.next()
	}
	var won atomic.Int32
	var wg sync.WaitGroup
	for _, l := range limits {
		wg.Go(func() {
			switch d := l.AdmitExchange(f.ctx, ud, app, code); {
			case d.Allowed && !d.CodeUsed:
				won.Add(1)
			case d.Allowed || !d.CodeUsed:
				t.Errorf("a concurrent exchange neither admitted nor used: %+v", d)
			}
		})
	}
	wg.Wait()
	if n := won.Load(); n != 1 {
		t.Fatalf("20 concurrent exchanges of one code: %d admitted, want 1", n)
	}
	f.wantAdmitted("a code is claimed per appId", f.admit(ud, "wxother", code))
	f.Advance(ratelimit.CodeTTL - f.Drift)
	f.wantUsed("a claim lasts a code's life", f.admit(ud, app, code))
	f.Advance(2 * ratelimit.CodeTTL)
	f.wantAdmitted("after twice a code's life the claim is forgotten", f.admit(ud, app, code))
}

// statesApart: two targets do not share their state (in Redis: two
// prefixes).
func (s suite) statesApart(t *testing.T) {
	a := s.target(t, true, ratelimit.Config{IPRate: ipRate, IPBurst: 1})
	b := s.target(t, true, ratelimit.Config{IPRate: ipRate, IPBurst: 1})
	const ip = "192.0.2.1"
	if !a.lim().AllowRequest(a.ctx, ip).Allowed || a.lim().AllowRequest(a.ctx, ip).Allowed {
		t.Fatal("the burst of 1 lets one request through")
	}
	if d := b.lim().AllowRequest(b.ctx, ip); !d.Allowed {
		t.Fatalf("another state must not share the bucket: %+v", d)
	}
}
