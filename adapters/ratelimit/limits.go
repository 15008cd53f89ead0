package ratelimit

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/iotplatform/enduser-auth/application"
)

// Settings is how a deployment runs the limits.
type Settings struct {
	// Enabled switches the abuse limits on (ENDUSER_RATE_LIMITS). The code
	// replay guard is on whatever it says: it is not a limit but WeChat's own
	// rule, answered without spending a call.
	Enabled bool
	Config  Config
	// Redis, when set, holds the state shared by every instance; nil keeps
	// it in each instance's memory.
	Redis redis.UniversalClient
	// Prefix starts every Redis key (instances that must share limits use the
	// same one; tests sharing a Redis use their own).
	Prefix string
	// RedisTimeout bounds each Redis call (0: DefaultRedisTimeout), whatever
	// the client's own timeouts; past it the decision is taken in memory.
	RedisTimeout time.Duration
	// SyncInterval, with Redis, is how often the per-IP buckets decided in
	// each instance's memory are reconciled with Redis (Local; 0:
	// DefaultSyncInterval); negative: every admission decided in Redis
	// (Shared: exact, one round trip more per request).
	SyncInterval time.Duration
}

// Limits is the assembled limits of one instance.
type Limits struct {
	// Limiter is what the login enforces; nil when the limits are off.
	Limiter application.Limiter
	// Claims remembers the codes sent to WeChat.
	Claims Claims
	// Fallbacks counts the decisions taken in memory because Redis failed.
	Fallbacks *Fallbacks
	// Refusals counts every refusal of the limits, by reason.
	Refusals *Refusals
	// gateWait times the exchange gate's Redis calls.
	gateWait prometheus.Histogram

	enabled   bool
	mem       *Memory
	memClaims *MemoryClaims
	redis     *Redis
	local     *Local
}

var _ application.ExchangeGate = (*Limits)(nil)

// New assembles the limits of s. reg (nil: not exported) gets the fall-back
// and refusal counters.
func New(s Settings, clock application.Clock, log *slog.Logger, reg prometheus.Registerer) (*Limits, error) {
	f, err := NewFallbacks(log, reg)
	if err != nil {
		return nil, err
	}
	refusals, err := NewRefusals(reg)
	if err != nil {
		return nil, err
	}
	gateWait, err := newGateWait(reg)
	if err != nil {
		return nil, err
	}
	memClaims := NewMemoryClaims(clock)
	l := &Limits{Fallbacks: f, Refusals: refusals, gateWait: gateWait, enabled: s.Enabled, mem: NewMemory(s.Config, clock),
		memClaims: memClaims, Claims: memClaims}
	if c, ok := s.Redis.(*redis.Client); ok && c == nil {
		s.Redis = nil // a nil *redis.Client in the interface: no Redis
	}
	if s.Redis != nil {
		l.redis = NewRedis(s.Config, s.Redis, s.Prefix).WithTimeout(s.RedisTimeout)
		l.Claims = NewRedisClaims(s.Redis, s.Prefix, memClaims, f).WithTimeout(s.RedisTimeout)
	}
	if s.Enabled {
		switch {
		case l.redis != nil && s.SyncInterval >= 0:
			l.local = NewLocal(NewShared(l.redis, l.mem, f), s.SyncInterval, log)
			l.Limiter = countingLimiter{limiter: l.local, refusals: refusals}
		case l.redis != nil:
			l.Limiter = countingLimiter{limiter: NewShared(l.redis, l.mem, f), refusals: refusals}
		default:
			l.Limiter = countingLimiter{limiter: l.mem, refusals: refusals}
		}
	}
	return l, nil
}

// newGateWait registers, on reg (nil: not exported), the histogram of the
// exchange gate's Redis calls: the one round trip of a warm login with the
// limits in Redis, its wait included (the pipeline, Redis's turn on a busy
// machine), failures and the deadline included.
func newGateWait(reg prometheus.Registerer) (prometheus.Histogram, error) {
	h := prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "enduser_auth_limits_redis_gate_seconds",
		Help:    "Time a login waited for the exchange gate's Redis call (lockout, cool-down, cap and code claim in one script), failures included.",
		Buckets: []float64{.0005, .001, .002, .005, .01, .025, .05, .1, .25, .5},
	})
	if reg != nil {
		if err := reg.Register(h); err != nil {
			return nil, err
		}
	}
	return h, nil
}

// AdmitExchange implements application.ExchangeGate: with the limits on,
// the appId's cool-down and the (user domain, appId) cap, then the code's
// claim (the replay guard, on whatever the limits say). With Redis that is
// one script call (a plain SET NX with the limits off); when Redis fails,
// the decisions are taken, and counted, in memory.
func (l *Limits) AdmitExchange(ctx context.Context, userDomain, appID, code string) application.ExchangeDecision {
	d := l.admitExchange(ctx, userDomain, appID, code)
	switch {
	case d.Allowed || d.CodeUsed:
	case d.LockedOut:
		l.Refusals.add(application.RefusalLockout)
	default:
		l.Refusals.add(application.RefusalRateLimited)
	}
	return d
}

// admitExchange is AdmitExchange, its refusals not counted yet.
func (l *Limits) admitExchange(ctx context.Context, userDomain, appID, code string) application.ExchangeDecision {
	key := codeKey(appID, code)
	if !l.enabled {
		if !l.Claims.Claim(ctx, key) {
			return application.ExchangeDecision{CodeUsed: true}
		}
		return application.ExchangeDecision{Decision: application.Allow}
	}
	if l.redis != nil {
		// The request's lockout, checked again here, exactly: the local-first
		// admission decides it from a mirror that may lag.
		var ip string
		if m, ok := application.RequestMetaFromContext(ctx); ok {
			ip = application.LimitKey(m.ClientIP)
		}
		start := time.Now()
		d, used, err := l.redis.admitExchange(ctx, ip, userDomain, appID, &key)
		l.gateWait.Observe(time.Since(start).Seconds())
		if err == nil {
			return application.ExchangeDecision{Decision: d, CodeUsed: used}
		}
		l.Fallbacks.report(ctx, "exchange", err)
		l.Fallbacks.report(ctx, "code", err)
	}
	if d := l.mem.AllowExchange(ctx, userDomain, appID); !d.Allowed {
		return application.ExchangeDecision{Decision: d}
	}
	if !l.memClaims.Claim(ctx, key) {
		return application.ExchangeDecision{CodeUsed: true}
	}
	return application.ExchangeDecision{Decision: application.Allow}
}

// Run runs the local-first admission's sync and lockout mirror (Local)
// until ctx ends; without them it waits for ctx. The host runs it once per
// serving process; until it runs, every admission is decided in Redis.
func (l *Limits) Run(ctx context.Context) error {
	if l.local == nil {
		<-ctx.Done()
		return nil
	}
	return l.local.Run(ctx)
}

// Sync brings the local-first admission up to date with Redis (the per-IP
// counts sent and read back, every lockout published so far mirrored): the
// instances then decide as one would. It waits (bounded by ctx) for Run to
// have loaded the mirror. Tests call it; Run syncs every interval by itself.
func (l *Limits) Sync(ctx context.Context) error {
	if l.local == nil {
		return nil
	}
	return l.local.Sync(ctx)
}

// Local reports whether the admission is decided in the instance's memory
// and reconciled with Redis (Local).
func (l *Limits) Local() bool { return l.local != nil }

var _ application.LockoutLifter = (*Limits)(nil)

// LiftLockouts implements application.LockoutLifter: it lifts the lockouts
// (and failure counts) of ip held in this instance's memory, whatever the
// user domain (a serving instance applies the operators' unblock requests
// with it).
func (l *Limits) LiftLockouts(ctx context.Context, ip string) int {
	return l.mem.Unblock(ctx, application.LimitKey(ip))
}

// LockoutDuration implements application.LockoutLifter.
func (l *Limits) LockoutDuration() time.Duration { return l.mem.cfg.LockoutDuration }

// Shared reports whether the limits' state is in Redis (shared by every
// instance).
func (l *Limits) Shared() bool { return l.redis != nil }

// Unblock lifts the lockouts of ip in this instance's memory and, when Redis
// is configured, in Redis (every instance at once); it returns how many it
// lifted. Without Redis a process that serves no request (the CLI) holds no
// lockout: the serving instances lift theirs from the unblock requests that
// application.Operators.UnblockIP stores.
func (l *Limits) Unblock(ctx context.Context, ip string) (int, error) {
	ip = application.LimitKey(ip) // an IPv6 client is limited, and so locked out, by its /64
	n := l.mem.Unblock(ctx, ip)
	if l.redis == nil {
		return n, nil
	}
	m, err := l.redis.Unblock(ctx, ip)
	return n + m, err
}
