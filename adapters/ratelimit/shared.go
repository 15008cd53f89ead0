package ratelimit

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/iotplatform/enduser-auth/application"
)

// Fallbacks reports the uses of per-instance memory because Redis failed:
// each is counted (enduser_auth_limits_redis_fallbacks_total{what}) and
// logged at WARN, at most one line per LogEvery with the number of fall-backs
// since the last line.
type Fallbacks struct {
	log     *slog.Logger
	counter *prometheus.CounterVec
	every   time.Duration
	total   atomic.Int64

	mu         sync.Mutex
	lastLog    time.Time
	suppressed int
}

// fallbackLogEvery bounds the fall-back log lines.
const fallbackLogEvery = 10 * time.Second

// NewFallbacks registers the fall-back counter on reg (nil: not exported).
func NewFallbacks(log *slog.Logger, reg prometheus.Registerer) (*Fallbacks, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "enduser_auth_limits_redis_fallbacks_total",
		Help: "Abuse-limit and code-replay decisions taken from per-instance memory because Redis failed.",
	}, []string{"what"})
	if reg != nil {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return &Fallbacks{log: log, counter: c, every: fallbackLogEvery}, nil
}

// Total returns the number of fall-backs so far.
func (f *Fallbacks) Total() int64 { return f.total.Load() }

func (f *Fallbacks) report(ctx context.Context, what string, err error) {
	f.counter.WithLabelValues(what).Inc()
	f.total.Add(1)
	now := time.Now()
	f.mu.Lock()
	if now.Sub(f.lastLog) < f.every {
		f.suppressed++
		f.mu.Unlock()
		return
	}
	n := f.suppressed
	f.lastLog, f.suppressed = now, 0
	f.mu.Unlock()
	f.log.WarnContext(ctx, "Redis failed: limits fall back to this instance's memory", slog.String("what", what),
		slog.String("error", err.Error()), slog.Int("fallbacksNotLogged", n))
}

// Shared is the limiter of a deployment with Redis: every decision is taken
// in Redis; when Redis fails, by the per-instance memory limiter (so a
// request never fails because of Redis).
type Shared struct {
	redis     *Redis
	mem       *Memory
	fallbacks *Fallbacks
}

// NewShared combines the Redis limiter with its memory fall-back.
func NewShared(r *Redis, mem *Memory, f *Fallbacks) *Shared {
	return &Shared{redis: r, mem: mem, fallbacks: f}
}

var _ application.Limiter = (*Shared)(nil)

// AllowRequest implements application.Limiter.
func (s *Shared) AllowRequest(ctx context.Context, ip string) application.Decision {
	d, err := s.redis.AllowRequest(ctx, ip)
	if err != nil {
		s.fallbacks.report(ctx, "ip", err)
		return s.mem.AllowRequest(ctx, ip)
	}
	return d
}

// AdmitLogin implements application.Limiter: one script call; when Redis
// fails, both decisions (bucket and lockout) are taken, and counted, in
// memory.
func (s *Shared) AdmitLogin(ctx context.Context, ip, userDomain string) application.Decision {
	d, err := s.redis.AdmitLogin(ctx, ip, userDomain)
	if err != nil {
		s.fallbacks.report(ctx, "ip", err)
		s.fallbacks.report(ctx, "lockout", err)
		return s.mem.AdmitLogin(ctx, ip, userDomain)
	}
	return d
}

// LockedOut reports whether (ip, userDomain) is locked out.
func (s *Shared) LockedOut(ctx context.Context, ip, userDomain string) application.Decision {
	d, err := s.redis.LockedOut(ctx, ip, userDomain)
	if err != nil {
		s.fallbacks.report(ctx, "lockout", err)
		return s.mem.LockedOut(ctx, ip, userDomain)
	}
	return d
}

// SignatureFailed implements application.Limiter.
func (s *Shared) SignatureFailed(ctx context.Context, ip, userDomain string) (time.Time, bool) {
	until, locked, err := s.redis.SignatureFailed(ctx, ip, userDomain)
	if err != nil {
		s.fallbacks.report(ctx, "lockout", err)
		return s.mem.SignatureFailed(ctx, ip, userDomain)
	}
	return until, locked
}

// AllowExchange refuses while appID cools down, then takes one exchange of
// (userDomain, appID)'s cap (Limits.AdmitExchange does it and the code's
// claim in one step).
func (s *Shared) AllowExchange(ctx context.Context, userDomain, appID string) application.Decision {
	d, err := s.redis.AllowExchange(ctx, userDomain, appID)
	if err != nil {
		s.fallbacks.report(ctx, "exchange", err)
		return s.mem.AllowExchange(ctx, userDomain, appID)
	}
	return d
}

// CoolDown implements application.Limiter: the memory limiter cools down
// too, so that the instance keeps it if Redis fails later.
func (s *Shared) CoolDown(ctx context.Context, appID string, until time.Time) {
	s.mem.CoolDown(ctx, appID, until)
	if err := s.redis.CoolDown(ctx, appID, until); err != nil {
		s.fallbacks.report(ctx, "exchange", err)
	}
}
