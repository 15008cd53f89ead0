package ratelimit

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/iotplatform/enduser-auth/application"
)

// DefaultSyncInterval is how often a local-first limiter (Local) reconciles
// the per-IP buckets with Redis unless the settings say otherwise.
const DefaultSyncInterval = 50 * time.Millisecond

// Local is the limiter of a deployment with Redis whose admission is decided
// in the instance's memory, as Envoy pairs a local limit with a global one:
//
//   - The per-IP bucket: the first request of an IP the instance holds no
//     fresh view of is decided in Redis (one round trip, exact), which seeds
//     the view: the bucket's state as Redis holds it. Then, for as long as
//     the view is fresh, the instance decides the IP's requests against it
//     (the same GCRA arithmetic) and counts what it admits; every sync
//     interval it sends those counts to Redis, for every active IP in one
//     pipelined round trip, and reads back the bucket that every instance
//     took from, which replaces its view. A view not refreshed for two
//     intervals is stale: the next request goes to Redis again.
//   - The lockout: a mirror of the active lockouts, filled by Redis pub/sub
//     (published when a lockout starts or is lifted) and loaded whole when
//     the subscription starts or comes back. A request the mirror says is
//     locked out is checked in Redis (an unblock or an end it has not seen
//     yet does not keep it out); one it says is not is admitted without a
//     round trip, and the exchange gate (Limits.AdmitExchange), the one round
//     trip a login cannot avoid, checks the lockout again, exactly, before
//     the cool-down, the cap and the code's claim; the signature failure's
//     count (failScript) is exact whatever the mirror says.
//
// # Tolerance
//
// An instance decides an IP's requests against the bucket as Redis held it
// at its last sync, plus its own admissions since: the other instances'
// admissions since then are unknown to it. So, for one IP, N instances allow
// at most what one would plus what the other N−1 admitted since their last
// sync (a view is used for at most two intervals), each at most its own
// bucket: at most (N−1)×(IPBurst + ⌈IPRate×2×interval⌉) extra in any window (two instances with a burst of 4 and
// a slow rate: at most 8 where one allows 4), paid back at the next sync
// (the admissions are all counted in Redis: the bucket refuses until they
// are). The lockout, the exchange cap, the cool-down and the code's claim
// are exact, as in Shared.
//
// Local decides locally only while Run runs; otherwise (a module not started,
// a CLI) every decision is Shared's. When Redis fails, the decisions it
// would take in Redis are taken, and counted, in memory, as in Shared.
type Local struct {
	shared   *Shared
	redis    *Redis
	cfg      Config
	interval time.Duration
	log      *slog.Logger
	running  atomic.Bool
	// ready is closed once the mirror is first loaded (Run decides locally
	// from then on).
	ready     chan struct{}
	readyOnce sync.Once

	mu    sync.Mutex
	ips   map[string]*ipView
	locks map[string]time.Time // lockKey → until: the mirror
	max   int                  // maxKeys; tests lower it

	syncMu  sync.Mutex // one sync at a time
	markers sync.Map   // marker → chan struct{}: Sync's barrier on the mirror
}

// ipView is an instance's view of one IP's bucket.
type ipView struct {
	// tat is the bucket's theoretical arrival time as of the last sync
	// (Redis's, on this instance's clock), plus the instance's own
	// admissions since.
	tat time.Time
	// pending is what this instance admitted since the last sync.
	pending int
	// fresh is when the view was last read from Redis; used says the IP was
	// seen since the last sync.
	fresh time.Time
	used  bool
}

// NewLocal returns the local-first limiter over shared's Redis and memory;
// interval is the sync interval (0: DefaultSyncInterval).
func NewLocal(shared *Shared, interval time.Duration, log *slog.Logger) *Local {
	if interval <= 0 {
		interval = DefaultSyncInterval
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Local{shared: shared, redis: shared.redis, cfg: shared.redis.cfg, interval: interval, log: log,
		ips: map[string]*ipView{}, locks: map[string]time.Time{}, max: maxKeys, ready: make(chan struct{})}
}

var _ application.Limiter = (*Local)(nil)

// emission is the per-IP bucket's emission interval.
func (l *Local) emission() time.Duration {
	return time.Duration(float64(time.Second) / l.cfg.IPRate)
}

// local decides one request of ip's bucket from the view, when it is fresh
// and Run runs; ok is false when the decision must be taken in Redis.
func (l *Local) local(ip string, now time.Time) (d application.Decision, ok bool) {
	if !l.running.Load() {
		return application.Decision{}, false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	v := l.ips[ip]
	if v == nil || now.Sub(v.fresh) > 2*l.interval {
		return application.Decision{}, false
	}
	v.used = true
	t := l.emission()
	newTAT := v.tat
	if newTAT.Before(now) {
		newTAT = now
	}
	newTAT = newTAT.Add(t)
	if allowAt := newTAT.Add(-time.Duration(l.cfg.IPBurst) * t); allowAt.After(now) {
		return application.Decision{RetryAfter: max(allowAt.Sub(now), time.Millisecond)}, true
	}
	v.tat = newTAT
	v.pending++
	return application.Allow, true
}

// lockedOutLocal reports whether the mirror holds (ip, userDomain) locked
// out.
func (l *Local) lockedOutLocal(ip, userDomain string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	until, ok := l.locks[lockKey(ip, userDomain)]
	return ok && now.Before(until)
}

// seed sets ip's view from a Redis answer read at now: the bucket's debt
// (its TAT minus Redis's now).
func (l *Local) seed(ip string, debt time.Duration, now time.Time) {
	if !l.running.Load() {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	v := l.ips[ip]
	if v == nil {
		if len(l.ips) >= l.max {
			l.sweepLocked(now)
			if len(l.ips) >= l.max {
				return // full: this IP is decided in Redis
			}
		}
		v = &ipView{}
		l.ips[ip] = v
	}
	v.tat = now.Add(debt).Add(time.Duration(v.pending) * l.emission())
	v.fresh = now
}

// takeScript takes from an IP's bucket (KEYS[1], redis_rate's key and
// arithmetic): first ARGV[4] requests admitted already (recorded whatever
// the bucket says: they were let through), then, when ARGV[5] is 1, one
// request under the limit; when that one is allowed and KEYS[2] is given,
// it reads the lockout's PTTL. It returns {allowed, the bucket's debt (TAT
// minus now, seconds), retry-after (seconds), lockout PTTL (0: none)}.
var takeScript = redis.NewScript(`
redis.replicate_commands()
local burst, rate, period = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local n, take = tonumber(ARGV[4]), ARGV[5] == "1"
local emission_interval = period / rate
local burst_offset = emission_interval * burst
local jan_1_2017 = 1483228800
local now = redis.call("TIME")
now = (now[1] - jan_1_2017) + (now[2] / 1000000)
local tat = redis.call("GET", KEYS[1])
if not tat then tat = now else tat = tonumber(tat) end
tat = math.max(tat, now)
local changed = false
if n > 0 then
  tat = tat + n * emission_interval
  changed = true
end
local allowed, retry = 0, 0
if take then
  local new_tat = tat + emission_interval
  local diff = now - (new_tat - burst_offset)
  if diff >= 0 then
    allowed, tat, changed = 1, new_tat, true
  else
    retry = -diff
  end
end
if changed and tat > now then
  redis.call("SET", KEYS[1], tat, "EX", math.ceil(tat - now))
end
local lock = 0
if allowed == 1 and KEYS[2] then
  local ttl = redis.call("PTTL", KEYS[2])
  if ttl > 0 then lock = ttl end
end
return {allowed, tostring(tat - now), tostring(retry), lock}
`)

// takeAnswer is takeScript's answer.
type takeAnswer struct {
	allowed bool
	debt    time.Duration
	retry   time.Duration
	lock    time.Duration
}

func parseTake(v any) (takeAnswer, error) {
	res, ok := v.([]any)
	if !ok || len(res) != 4 {
		return takeAnswer{}, fmt.Errorf("redis: unexpected take answer %v", v)
	}
	allowed, _ := res[0].(int64)
	lock, _ := res[3].(int64)
	var secs [2]float64
	for i, x := range res[1:3] {
		s, _ := x.(string)
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return takeAnswer{}, fmt.Errorf("redis: take answer %v: %w", v, err)
		}
		secs[i] = f
	}
	return takeAnswer{allowed: allowed == 1, debt: time.Duration(secs[0] * float64(time.Second)),
		retry: time.Duration(secs[1] * float64(time.Second)), lock: time.Duration(lock) * time.Millisecond}, nil
}

// takeArgs are takeScript's ARGV for n admitted and take.
func (l *Local) takeArgs(n int, take bool) []any {
	t := "0"
	if take {
		t = "1"
	}
	return limitArgs(l.redis.ipLimit(), n, t)
}

// remote takes one request of ip's bucket in Redis and, when userDomain is
// not "", reads (ip, userDomain)'s lockout, seeding ip's view; when Redis
// fails the decision is taken, and counted, in memory.
func (l *Local) remote(ctx context.Context, ip, userDomain string, login bool) application.Decision {
	keys := []string{l.redis.rateKey("ip", ip)}
	if login {
		keys = append(keys, l.redis.key("lock", ip, userDomain))
	}
	now := time.Now()
	v, err := bounded(ctx, l.redis.dl, func(ctx context.Context) (any, error) {
		return takeScript.Run(ctx, l.redis.rdb, keys, l.takeArgs(0, true)...).Result()
	})
	var a takeAnswer
	if err == nil {
		a, err = parseTake(v)
	}
	if err != nil {
		l.shared.fallbacks.report(ctx, "ip", err)
		if login {
			l.shared.fallbacks.report(ctx, "lockout", err)
			return l.shared.mem.AdmitLogin(ctx, ip, userDomain)
		}
		return l.shared.mem.AllowRequest(ctx, ip)
	}
	l.seed(ip, a.debt, now)
	switch {
	case !a.allowed:
		return application.Decision{RetryAfter: max(a.retry, time.Millisecond)}
	case a.lock > 0:
		l.mirror(lockKey(ip, userDomain), now.Add(a.lock))
		return application.Decision{RetryAfter: a.lock, LockedOut: true}
	}
	return application.Allow
}

// AllowRequest implements application.Limiter.
func (l *Local) AllowRequest(ctx context.Context, ip string) application.Decision {
	if d, ok := l.local(ip, time.Now()); ok {
		return d
	}
	return l.remote(ctx, ip, "", false)
}

// AdmitLogin implements application.Limiter: the bucket from the view, then
// the lockout from the mirror (checked in Redis when the mirror holds it).
func (l *Local) AdmitLogin(ctx context.Context, ip, userDomain string) application.Decision {
	now := time.Now()
	d, ok := l.local(ip, now)
	if !ok {
		return l.remote(ctx, ip, userDomain, true)
	}
	if !d.Allowed {
		return d
	}
	if l.lockedOutLocal(ip, userDomain, now) {
		return l.shared.LockedOut(ctx, ip, userDomain)
	}
	return application.Allow
}

// LockedOut reports whether (ip, userDomain) is locked out (in Redis).
func (l *Local) LockedOut(ctx context.Context, ip, userDomain string) application.Decision {
	return l.shared.LockedOut(ctx, ip, userDomain)
}

// SignatureFailed implements application.Limiter: counted in Redis; the
// lockout it starts goes to the mirror at once (the others' through
// pub/sub).
func (l *Local) SignatureFailed(ctx context.Context, ip, userDomain string) (time.Time, bool) {
	until, locked := l.shared.SignatureFailed(ctx, ip, userDomain)
	if locked {
		l.mirror(lockKey(ip, userDomain), until)
	}
	return until, locked
}

// AllowExchange is Shared's.
func (l *Local) AllowExchange(ctx context.Context, userDomain, appID string) application.Decision {
	return l.shared.AllowExchange(ctx, userDomain, appID)
}

// CoolDown is Shared's.
func (l *Local) CoolDown(ctx context.Context, appID string, until time.Time) {
	l.shared.CoolDown(ctx, appID, until)
}

// sweepLocked drops views that no longer change any answer. Callers hold mu.
func (l *Local) sweepLocked(now time.Time) {
	for ip, v := range l.ips {
		if v.pending == 0 && !v.tat.After(now) {
			delete(l.ips, ip)
		}
	}
	trim(l.ips, l.max)
}
