package application

import (
	"context"
	"encoding/json"
	"log/slog"
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
// RetryAfter.
func (s *core) AllowRequest(ctx context.Context) error {
	ip := clientIP(ctx)
	if s.limiter == nil || ip == "" {
		return nil
	}
	if d := s.limiter.AllowRequest(ctx, ip); !d.Allowed {
		return blocked(d)
	}
	return nil
}

func blocked(d Decision) error {
	return &domain.Error{Kind: domain.KindClientBlocked, RetryAfter: d.RetryAfter}
}

// rateLimitedDetail is the extMsg of a login refused by the exchange cap.
const rateLimitedDetail = `{"reason":"rateLimited"}`

// admitLogin is a login's first check, right after the user domain parses
// (before any database or WeChat work): one request of the client IP's
// bucket, then the lockout of (client IP, user domain), in one limiter call.
func (s *core) admitLogin(ctx context.Context, userDomain string) error {
	ip := clientIP(ctx)
	if s.limiter == nil || ip == "" {
		return nil
	}
	if d := s.limiter.AdmitLogin(ctx, ip, userDomain); !d.Allowed {
		return blocked(d)
	}
	return nil
}

// signatureFailed counts a 5420 and reports a lockout it starts.
func (s *core) signatureFailed(ctx context.Context, userDomain string) {
	ip := clientIP(ctx)
	if s.limiter == nil || ip == "" {
		return
	}
	until, locked := s.limiter.SignatureFailed(ctx, ip, userDomain)
	if !locked {
		return
	}
	// The request's clientIp is on the line already (ContextLogHandler).
	s.log.WarnContext(ctx, "client locked out after repeated signature failures",
		slog.String("userDomain", safeLog(userDomain)), slog.Time("until", until))
	s.RecordLockout(ctx, userDomain, "") // the request's client IP
	if s.onLockout != nil {
		s.onLockout(ctx, ip, userDomain, until)
	}
}

// codeBeenUsed is the answer to a code sent to WeChat before: what WeChat
// itself would answer, without asking it.
const codeBeenUsed = `{"errcode":40163,"errmsg":"code been used"}`

// admitExchange applies the appId's cool-down and the (user domain, appId)
// exchange cap, then claims the code (the replay guard), in one gate call.
// Refused by the limits: 5367 rateLimited, the code not claimed; claimed
// before: WeChat's own 40163, without asking it.
func (s *core) admitExchange(ctx context.Context, userDomain, appID, code string) error {
	if s.exchanges == nil {
		return nil
	}
	d := s.exchanges.AdmitExchange(ctx, userDomain, appID, code)
	switch {
	case d.Allowed:
		return nil
	case d.CodeUsed:
		return &domain.Error{Kind: domain.KindWeChatRejected, Detail: codeBeenUsed}
	default:
		return &domain.Error{Kind: domain.KindWeChatUnavailable, Detail: rateLimitedDetail, RetryAfter: d.RetryAfter}
	}
}

// weChatRateLimited is WeChat's errcode for "api minute-quota reach limit".
const weChatRateLimited = 45011

// noteWeChatAnswer starts the appId's cool-down when WeChat said 45011.
func (s *core) noteWeChatAnswer(ctx context.Context, appID string, err error) {
	if s.limiter == nil || !domain.IsKind(err, domain.KindWeChatRejected) {
		return
	}
	var r struct {
		ErrCode int `json:"errcode"`
	}
	if json.Unmarshal([]byte(domain.DetailOf(err)), &r) != nil || r.ErrCode != weChatRateLimited {
		return
	}
	until := s.coolDownUntil(s.clock.Now())
	s.log.WarnContext(ctx, "WeChat rate-limits the official account (45011): exchanges paused", slog.String("appId", safeLog(appID)),
		slog.Time("until", until))
	s.limiter.CoolDown(ctx, appID, until)
}
