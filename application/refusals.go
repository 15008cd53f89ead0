package application

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/iotplatform/enduser-auth/domain"
)

// The reasons the abuse limits refuse a request: the reason of a refusals
// audit record and log line, and the label of the limits' refusal counter
// (enduser_auth_limits_refused_total{reason}).
const (
	// RefusalIPBucket is a request over its client IP's bucket (5148).
	RefusalIPBucket = "ip_bucket"
	// RefusalLockout is a login of a locked-out (client IP, user domain)
	// (5148).
	RefusalLockout = "lockout"
	// RefusalRateLimited is a login over the (user domain, appId) exchange
	// cap or during the appId's 45011 cool-down (5367 rateLimited).
	RefusalRateLimited = "rate_limited"
)

// AuditRefusals is the audit record of the requests the abuse limits refused
// (issue 19: a flood writes almost nothing): one when a (client IP, reason)
// starts being refused, then at most one a minute with the count of the
// refusals since; the refused requests write no record of their own.
const AuditRefusals = "refusals"

// The refusal sampler's bounds.
const (
	// refusalWindow is the longest a refusal waits to be reported (and the
	// shortest time between two reports of one key).
	refusalWindow = time.Minute
	// refusalFlushEvery is how often Run reports the windows that have
	// passed, for the keys no later refusal reports.
	refusalFlushEvery = 5 * time.Second
	// maxRefusalKeys bounds the keys held: past it the refusals of new keys
	// are counted under one key per reason without client IP (overflow).
	maxRefusalKeys = 1000
)

// refusalKey is what the sampler counts apart: the client (its limiter key),
// the reason and, when the limit is about one, the user domain and appId.
type refusalKey struct {
	ip, reason, userDomain, appID string
	// overflow is the key of the clients that found the sampler full.
	overflow bool
}

// refusalWindowState is a key's current window: the refusals it counted and
// has not reported yet.
type refusalWindowState struct {
	start       time.Time
	count       int64
	first, last time.Time
}

// refusalReport is one line and one audit record: a key's first refusal
// (count 1, announced at once) or a window's summary.
type refusalReport struct {
	key         refusalKey
	summary     bool
	count       int64
	first, last time.Time
}

// refusalSampler turns the refusals of the abuse limits into a bounded
// number of reports: the first refusal of a key is reported at once (an
// operator sees a flood start), the next ones are counted and reported, with
// their count and first and last times, once the key's window (a minute)
// has passed: at the key's next refusal after it, at Run's next flush, or
// when Run ends (nothing counted is lost at a stop). A window that counted
// nothing ends the key, whose next refusal is announced again. At most
// maxRefusalKeys keys are held; the refusals of other clients are counted
// under one overflow key per reason.
type refusalSampler struct {
	mu     sync.Mutex
	keys   map[refusalKey]*refusalWindowState
	window time.Duration
	max    int
}

func newRefusalSampler() *refusalSampler {
	return &refusalSampler{keys: map[refusalKey]*refusalWindowState{}, window: refusalWindow, max: maxRefusalKeys}
}

// note counts one refusal of k at now and returns what is to be reported:
// the summary of k's window when it has passed, and k's announcement when k
// starts (when announce: a lockout's start has its own record).
func (p *refusalSampler) note(k refusalKey, now time.Time, announce bool) []refusalReport {
	p.mu.Lock()
	defer p.mu.Unlock()
	w := p.keys[k]
	if w == nil && len(p.keys) >= p.max {
		k = refusalKey{reason: k.reason, overflow: true}
		w = p.keys[k]
	}
	var out []refusalReport
	if w != nil && !now.Before(w.start.Add(p.window)) {
		if w.count == 0 {
			delete(p.keys, k)
			w = nil
		} else {
			out = append(out, refusalReport{key: k, summary: true, count: w.count, first: w.first, last: w.last})
			*w = refusalWindowState{start: now}
		}
	}
	if w == nil {
		w = &refusalWindowState{start: now}
		p.keys[k] = w // the overflow keys may pass max, by one per reason
		if announce {
			return append(out, refusalReport{key: k, count: 1, first: now, last: now})
		}
	}
	if w.count == 0 {
		w.first = now
	}
	w.count++
	w.last = now
	return out
}

// due returns the summaries of the windows that have passed at now (all of
// them when all: Run is ending) and forgets the keys whose window counted
// nothing.
func (p *refusalSampler) due(now time.Time, all bool) []refusalReport {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []refusalReport
	for k, w := range p.keys {
		if !all && now.Before(w.start.Add(p.window)) {
			continue
		}
		if w.count > 0 {
			out = append(out, refusalReport{key: k, summary: true, count: w.count, first: w.first, last: w.last})
		}
		if all || w.count == 0 {
			delete(p.keys, k)
		} else {
			*w = refusalWindowState{start: now}
		}
	}
	return out
}

// refused reports one refusal of the abuse limits (err, which it returns)
// to the sampler: the request writes no log line or audit record of its own.
func (s *core) refused(ctx context.Context, reason, userDomain, appID string, err error) error {
	k := refusalKey{ip: clientIP(ctx), reason: reason, userDomain: safeLog(userDomain), appID: safeLog(appID)}
	for _, r := range s.refusals.note(k, s.clock.Now(), reason != RefusalLockout) {
		s.reportRefusals(ctx, r)
	}
	return err
}

// isLimitRefusal reports whether err is a refusal of the abuse limits, which
// refused reported already.
func isLimitRefusal(err error) bool {
	switch domain.KindOf(err) {
	case domain.KindClientBlocked:
		return true
	case domain.KindWeChatUnavailable:
		return domain.DetailOf(err) == rateLimitedDetail
	}
	return false
}

// FlushRefusals reports the refusal windows that have passed (all of them
// when all); Run calls it every few seconds, and with all when it ends.
func (s *core) FlushRefusals(ctx context.Context, all bool) {
	for _, r := range s.refusals.due(s.clock.Now(), all) {
		s.reportRefusals(ctx, r)
	}
}

// runRefusalFlush is Run's loop of the refusal sampler: until ctx ends, then
// one last flush of every window, so that a stop loses no count.
func (s *core) runRefusalFlush(ctx context.Context) {
	t := time.NewTicker(refusalFlushEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			s.FlushRefusals(context.WithoutCancel(ctx), true)
			return
		case <-t.C:
			s.FlushRefusals(ctx, false)
		}
	}
}

// refusalDetail is a refusals record's detail, a small JSON object (as the
// import's counts, its fields are plain: a reason constant, numbers and RFC
// 3339 times): reason and count; a summary's first and last refusal
// times; otherClients for the overflow key's reports (the clients that came
// when the sampler held maxRefusalKeys keys).
func refusalDetail(r refusalReport) string {
	d := fmt.Sprintf(`{"reason":%q,"count":%d`, r.key.reason, r.count)
	if r.summary {
		d += fmt.Sprintf(`,"first":%q,"last":%q`, r.first.UTC().Format(time.RFC3339Nano), r.last.UTC().Format(time.RFC3339Nano))
	}
	if r.key.overflow {
		d += `,"otherClients":true`
	}
	return d + "}"
}

// reportRefusals writes r's log line and audit record. An announcement is
// the refused request's (its request id, user agent and client IP); a
// summary, or anything of the overflow key, is no request's: ctx's request
// metadata is left out and the client IP is named.
func (s *core) reportRefusals(ctx context.Context, r refusalReport) {
	outcome := domain.KindClientBlocked
	level := slog.LevelInfo
	if r.key.reason == RefusalRateLimited {
		// Logins of a tenant's app held back: an operator's matter, at
		// WARN as before (once a minute per client now).
		outcome, level = domain.KindWeChatUnavailable, slog.LevelWarn
	}
	attrs := []slog.Attr{slog.String("event", AuditRefusals), slog.String("reason", r.key.reason), slog.Int64("count", r.count)}
	if r.key.userDomain != "" {
		attrs = append(attrs, slog.String("userDomain", r.key.userDomain))
	}
	if r.key.appID != "" {
		attrs = append(attrs, slog.String("appId", r.key.appID))
	}
	e := AuditEvent{Event: AuditRefusals, Outcome: outcome, UserDomain: r.key.userDomain, AppID: r.key.appID, Detail: refusalDetail(r)}
	msg := "requests refused by the abuse limits: the first of this client's (the next ones are counted, reported each minute)"
	if r.summary || r.key.overflow {
		ctx = withoutRequestMeta(ctx)
		e.ClientIP = r.key.ip
		attrs = append(attrs, slog.String("clientIp", r.key.ip))
		if r.key.overflow {
			attrs = append(attrs, slog.Bool("otherClients", true))
		}
	}
	if r.summary {
		msg = "requests refused by the abuse limits since the last report"
		attrs = append(attrs, slog.Time("first", r.first), slog.Time("last", r.last))
	}
	s.log.LogAttrs(ctx, level, msg, attrs...)
	if s.audit == nil {
		return
	}
	if r.summary || r.key.overflow {
		e.Time = s.clock.Now()
		s.audit.Record(ctx, e) // not record: no request's metadata
		return
	}
	s.record(ctx, e)
}

// withoutRequestMeta is ctx without its request's metadata (for the lines
// and records that are no request's), its other values kept.
func withoutRequestMeta(ctx context.Context) context.Context {
	if _, ok := RequestMetaFromContext(ctx); !ok {
		return ctx
	}
	return context.WithValue(ctx, requestMetaKey{}, noRequestMeta{})
}

// noRequestMeta hides a context's RequestMeta (RequestMetaFromContext: none).
type noRequestMeta struct{}
