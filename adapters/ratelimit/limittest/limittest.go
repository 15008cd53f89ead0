// Package limittest is the contract of the login's limits, as a test suite
// that every state of ratelimit.Limits runs (in memory, in Redis), as
// repotest is for the stores:
//
//	func TestMemoryContract(t *testing.T) {
//		limittest.Run(t, func(t *testing.T, s ratelimit.Settings) limittest.Target { ... })
//	}
//
// It covers what the login relies on: the per-IP bucket (AllowRequest,
// AdmitLogin), the lockout (SignatureFailed, LockedOut, Unblock), the
// exchange cap and cool-down (AllowExchange, CoolDown) and the exchange gate
// with its code-replay guard (AdmitExchange), across every instance that
// shares the state.
//
// # Tolerance
//
// A limiter on the test's clock (memory, on a fake clock) is held to exact
// answers: Target.Drift is 0. A limiter that reads a clock of its own (Redis:
// its TIME drives the GCRA buckets, and its keys expire by themselves) sees
// time pass while a case runs. It declares a bound on that as Target.Drift,
// and the contract then accepts, and only there:
//
//   - a duration it reports (a RetryAfter, a lockout's end) up to Drift
//     shorter than the exact one, or up to a millisecond longer (its clock's
//     resolution: PTTL in milliseconds, GCRA in floating-point seconds);
//   - a bucket of rate r that lets floor(r×Drift) more requests through than
//     the exact count (what it refills in Drift).
//
// A limiter whose instances learn each other's decisions asynchronously
// (the local-first admission: per-IP counts reconciled every interval,
// lockouts mirrored through pub/sub) declares Target.Settle, which brings
// every instance up to date; the contract calls it before each call, so that
// it holds such a limiter to the answers of one instance (its tolerance
// between two syncs is asserted by a test of its own).
//
// The per-IP cases use an emission interval of 64 s, so that any Drift the
// contract accepts (at most MaxDrift) refills nothing there; only the
// exchange caps (whole numbers per second) see the second allowance.
package limittest

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/iotplatform/enduser-auth/adapters/ratelimit"
	"github.com/iotplatform/enduser-auth/application"
)

// MaxDrift is the largest Target.Drift the contract accepts: beyond it the
// cases would no longer test what they say.
const MaxDrift = 10 * time.Second

// Factory returns a Target on a fresh, empty state, for the settings given
// (Enabled and Config; the factory adds what its state needs: Redis and a
// prefix of the test's own).
type Factory func(t *testing.T, s ratelimit.Settings) Target

// Target is the limits under test.
type Target struct {
	// Instances are the limits of the instances that share the state, each
	// built from the same settings (one when the state is the instance's
	// own, as in memory). The cases spread their calls across them.
	Instances []*ratelimit.Limits
	// Now is the clock the limits read instants against (CoolDown's until,
	// SignatureFailed's lockout end).
	Now func() time.Time
	// Advance moves the state d forward in time.
	Advance func(d time.Duration)
	// Drift is the tolerance of a limiter on a clock of its own (see the
	// package doc); 0 holds it to exact answers.
	Drift time.Duration
	// Settle, when set, brings every instance up to date with the shared
	// state (see the package doc); the contract calls it before each call.
	Settle func()
}

// Limiter is what the contract calls on Limits.Limiter: the port, and the
// lockout and exchange checks that Limits and the tests call directly.
type Limiter interface {
	application.Limiter
	LockedOut(ctx context.Context, ip, userDomain string) application.Decision
	AllowExchange(ctx context.Context, userDomain, appID string) application.Decision
}

// Run runs the contract. Subtests run one after another, so that a case's
// run time, which a limiter on its own clock sees as drift, stays short.
func Run(t *testing.T, newTarget Factory) {
	t.Helper()
	s := suite{newTarget: newTarget}
	t.Run("IPBucket", s.ipBucket)
	t.Run("AdmitLogin", s.admitLogin)
	t.Run("Lockout", s.lockout)
	t.Run("LockoutOnce", s.lockoutOnce)
	t.Run("UnblockClearsFailures", s.unblockClearsFailures)
	t.Run("ExchangeCap", s.exchangeCap)
	t.Run("Gate", s.gate)
	t.Run("GateLimitsOff", s.gateLimitsOff)
	t.Run("Claims", s.claims)
	t.Run("StatesApart", s.statesApart)
}

type suite struct {
	newTarget Factory
}

// fixture is one case's target and helpers.
type fixture struct {
	Target
	t     *testing.T
	ctx   context.Context
	calls int
}

// target returns a fixture on a fresh state with cfg, the limits on or off.
func (s suite) target(t *testing.T, enabled bool, cfg ratelimit.Config) *fixture {
	t.Helper()
	tg := s.newTarget(t, ratelimit.Settings{Enabled: enabled, Config: cfg})
	switch {
	case len(tg.Instances) == 0:
		t.Fatal("limittest: the target has no instance")
	case tg.Now == nil || tg.Advance == nil:
		t.Fatal("limittest: the target has no clock (Now and Advance)")
	case tg.Drift < 0 || tg.Drift > MaxDrift:
		t.Fatalf("limittest: Drift %v is outside [0, %v]", tg.Drift, MaxDrift)
	}
	return &fixture{Target: tg, t: t, ctx: t.Context()}
}

// next returns the next instance's limits, round robin.
func (f *fixture) next() *ratelimit.Limits {
	if f.Settle != nil {
		f.Settle()
	}
	l := f.Instances[f.calls%len(f.Instances)]
	f.calls++
	return l
}

// lim returns the next instance's limiter.
func (f *fixture) lim() Limiter {
	f.t.Helper()
	l := f.next()
	if l.Limiter == nil {
		f.t.Fatal("limittest: the limits are on but Limits.Limiter is nil")
	}
	lim, ok := l.Limiter.(Limiter)
	if !ok {
		f.t.Fatalf("limittest: %T does not implement LockedOut and AllowExchange", l.Limiter)
	}
	return lim
}

// eachLim calls check with the limiter of every instance.
func (f *fixture) eachLim(check func(l Limiter)) {
	f.t.Helper()
	for range f.Instances {
		check(f.lim())
	}
}

// admit is one AdmitExchange on the next instance.
func (f *fixture) admit(userDomain, appID, code string) application.ExchangeDecision {
	return f.next().AdmitExchange(f.ctx, userDomain, appID, code)
}

// extra is how many more requests than the exact count a bucket of rate
// (per second) may let through within Drift.
func (f *fixture) extra(rate float64) int { return int(math.Floor(rate * f.Drift.Seconds())) }

// about reports whether got is want within the tolerance.
func (f *fixture) about(got, want time.Duration) bool {
	if f.Drift == 0 {
		return got == want
	}
	return got >= want-f.Drift && got <= want+time.Millisecond
}

// wantRefused fails the case unless d refuses for about want.
func (f *fixture) wantRefused(what string, d application.Decision, want time.Duration) {
	f.t.Helper()
	if d.Allowed || d.RetryAfter <= 0 || !f.about(d.RetryAfter, want) {
		f.t.Fatalf("%s: want refused for %v (drift %v), got %+v", what, want, f.Drift, d)
	}
}

// wantCount fails the case unless got, the requests a bucket of rate let
// through, is want (or up to extra(rate) more).
func (f *fixture) wantCount(what string, got, want int, rate float64) {
	f.t.Helper()
	if hi := want + f.extra(rate); got < want || got > hi {
		f.t.Fatalf("%s: %d let through, want %d (up to %d with drift %v)", what, got, want, hi, f.Drift)
	}
}

// wantAdmitted fails the case unless d admits the exchange (code claimed).
func (f *fixture) wantAdmitted(what string, d application.ExchangeDecision) {
	f.t.Helper()
	if !d.Allowed || d.CodeUsed {
		f.t.Fatalf("%s: want admitted, got %+v", what, d)
	}
}

// wantUsed fails the case unless d refuses the code as claimed before.
func (f *fixture) wantUsed(what string, d application.ExchangeDecision) {
	f.t.Helper()
	if d.Allowed || !d.CodeUsed {
		f.t.Fatalf("%s: want the code used, got %+v", what, d)
	}
}
