package ratelimit

import (
	"context"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/iotplatform/enduser-auth/application"
)

// Refusals counts every request the limits refuse, by reason
// (enduser_auth_limits_refused_total{reason}: application.RefusalIPBucket,
// RefusalLockout, RefusalRateLimited): the audit trail and the logs report a
// flood's refusals sampled, the counter counts each.
type Refusals struct {
	counter *prometheus.CounterVec
	mu      sync.Mutex
	counts  map[string]int64
}

// NewRefusals registers the refusal counter on reg (nil: counted, not
// exported).
func NewRefusals(reg prometheus.Registerer) (*Refusals, error) {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "enduser_auth_limits_refused_total",
		Help: "Requests refused by the abuse limits, by reason: ip_bucket (5148, the client IP's bucket), " +
			"lockout (5148, a locked-out client IP and user domain), rate_limited (5367 rateLimited, the exchange cap or a 45011 cool-down).",
	}, []string{"reason"})
	for _, r := range []string{application.RefusalIPBucket, application.RefusalLockout, application.RefusalRateLimited} {
		c.WithLabelValues(r) // every reason shown from the start, at 0
	}
	if reg != nil {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return &Refusals{counter: c, counts: map[string]int64{}}, nil
}

// Count returns how many refusals of reason were counted.
func (r *Refusals) Count(reason string) int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.counts[reason]
}

func (r *Refusals) add(reason string) {
	r.counter.WithLabelValues(reason).Inc()
	r.mu.Lock()
	r.counts[reason]++
	r.mu.Unlock()
}

// limiter is what Memory and Shared implement: application.Limiter and the
// two queries the contract (limittest) asks too.
type limiter interface {
	application.Limiter
	LockedOut(ctx context.Context, ip, userDomain string) application.Decision
	AllowExchange(ctx context.Context, userDomain, appID string) application.Decision
}

// countingLimiter is a limiter whose refusals of requests (AllowRequest,
// AdmitLogin) are counted; its queries (LockedOut, AllowExchange: the
// exchange gate, Limits.AdmitExchange, counts its own) are not.
type countingLimiter struct {
	limiter
	refusals *Refusals
}

var _ application.Limiter = countingLimiter{}

// AllowRequest implements application.Limiter.
func (c countingLimiter) AllowRequest(ctx context.Context, ip string) application.Decision {
	d := c.limiter.AllowRequest(ctx, ip)
	if !d.Allowed {
		c.refusals.add(application.RefusalIPBucket)
	}
	return d
}

// AdmitLogin implements application.Limiter.
func (c countingLimiter) AdmitLogin(ctx context.Context, ip, userDomain string) application.Decision {
	d := c.limiter.AdmitLogin(ctx, ip, userDomain)
	switch {
	case d.Allowed:
	case d.LockedOut:
		c.refusals.add(application.RefusalLockout)
	default:
		c.refusals.add(application.RefusalIPBucket)
	}
	return d
}
