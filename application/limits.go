package application

import (
	"context"
	"net/netip"
	"time"

	"github.com/iotplatform/enduser-auth/domain"
)

// NextMinute is the default cool-down end: the start of the next minute.
func NextMinute(now time.Time) time.Time { return now.Truncate(time.Minute).Add(time.Minute) }

// WithClientIP returns a context whose RequestMeta carries the client's IP
// address (the HTTP adapter sets the whole RequestMeta; this is for callers
// and tests that know only the IP).
func WithClientIP(ctx context.Context, ip netip.Addr) context.Context {
	m, _ := RequestMetaFromContext(ctx)
	m.ClientIP = ip.Unmap().String()
	return WithRequestMeta(ctx, m)
}

// ClientIPFromContext returns the client IP of ctx's RequestMeta.
func ClientIPFromContext(ctx context.Context) (netip.Addr, bool) {
	m, _ := RequestMetaFromContext(ctx)
	ip, err := netip.ParseAddr(m.ClientIP)
	return ip, err == nil
}

// clientIP is the limiter key of the request's client ("" for in-process
// callers, which no per-IP limit applies to): the canonical IP of its
// RequestMeta.
func clientIP(ctx context.Context) string {
	m, _ := RequestMetaFromContext(ctx)
	return LimitKey(m.ClientIP)
}

// LimitKey is the client an abuse limit counts for ip: the address itself
// for IPv4, its /64 for IPv6 (one subscriber's network, whose addresses it
// may rotate at will); "" for "".
func LimitKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	if a = a.Unmap(); a.Is6() {
		return netip.PrefixFrom(a, 64).Masked().String()
	}
	return a.String()
}

// AllowRequest applies the per-client-IP request limit to a request whose
// context carries the client IP (the HTTP adapter calls it for every
// endpoint of the module but the JWKS and the logins, which take their
// request from the bucket themselves, together with the lockout check: one
// limiter call, one Redis round trip). Refused: KindClientBlocked with
// RetryAfter, reported to the refusal sampler (refusals.go), not logged or
// audited on its own.
func (s *core) AllowRequest(ctx context.Context) error {
	ip := clientIP(ctx)
	if s.limiter == nil || ip == "" {
		return nil
	}
	if d := s.limiter.AllowRequest(ctx, ip); !d.Allowed {
		return s.refused(ctx, RefusalIPBucket, "", "", blocked(d))
	}
	return nil
}

func blocked(d Decision) error {
	return &domain.Error{Kind: domain.KindClientBlocked, RetryAfter: d.RetryAfter}
}
