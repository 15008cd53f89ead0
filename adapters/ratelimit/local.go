package ratelimit

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
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

// mirror records a lockout in the mirror.
func (l *Local) mirror(key string, until time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.locks) >= l.max {
		now := time.Now()
		for k, u := range l.locks {
			if !now.Before(u) {
				delete(l.locks, k)
			}
		}
		trim(l.locks, l.max)
	}
	l.locks[key] = until
}

// Run syncs the views every interval and keeps the mirror, until ctx ends;
// Local decides locally only while it runs, from the mirror's first load on
// (until then, and when Redis cannot be reached at the start, every decision
// is Shared's).
func (l *Local) Run(ctx context.Context) error {
	defer func() {
		l.running.Store(false)
		l.mu.Lock()
		clear(l.ips)
		l.mu.Unlock()
	}()
	// The subscription's reads wait without a deadline, and a client that
	// does not honour ctx on its socket may wait for ever on a Redis that
	// never answers: closing the subscription ends its reads, and Run does
	// not wait for the goroutine longer than a few deadlines (it ends when
	// the socket does).
	ps := l.redis.rdb.Subscribe(ctx) // no channel yet: no connection
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := ps.Subscribe(ctx, lockChannel(l.redis.prefix)); err != nil && ctx.Err() == nil {
			l.log.LogAttrs(ctx, slog.LevelWarn, "limits: the lockout channel failed (each login is admitted in Redis meanwhile)",
				slog.String("error", err.Error()))
		}
		l.subscribe(ctx, ps)
	}()
	tick := time.NewTicker(l.interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			// The admissions since the last sync are counted before the
			// instance goes (bounded by the deadline).
			l.running.Store(false)
			l.syncViews(context.WithoutCancel(ctx), false)
			// Close waits for the subscription's lock, which a connection
			// stuck in its handshake holds.
			go func() { _ = ps.Close() }()
			select {
			case <-done:
			case <-time.After(4 * l.redis.dl.d):
			}
			return nil
		case <-tick.C:
			l.syncViews(ctx, false)
		}
	}
}

// syncViews sends every active IP's admissions since the last sync and
// reads back its bucket, in one pipelined round trip; an IP not seen since
// the last sync is not sent unless all (its view goes stale) and, once its
// bucket is full again, forgotten.
func (l *Local) syncViews(ctx context.Context, all bool) {
	l.syncMu.Lock()
	defer l.syncMu.Unlock()
	now := time.Now()
	items := l.takePending(now, all)
	if len(items) == 0 {
		return
	}
	cmds, err := l.sendCounts(ctx, items)
	l.mu.Lock()
	defer l.mu.Unlock()
	if err != nil && len(cmds) != len(items) {
		// Nothing known to be counted: the admissions wait for the next
		// sync; the views go stale meanwhile (decided in Redis, or in
		// memory while it fails).
		for _, it := range items {
			if v := l.ips[it.ip]; v != nil {
				v.pending += it.n
			}
		}
		l.log.LogAttrs(ctx, slog.LevelDebug, "limits: per-IP sync failed", slog.String("error", err.Error()))
		return
	}
	t := l.emission()
	for i, it := range items {
		v := l.ips[it.ip]
		a, perr := parseTake(cmdVal(cmds[i]))
		switch {
		case v == nil:
		case perr != nil:
			v.pending += it.n
		default:
			v.tat = now.Add(a.debt).Add(time.Duration(v.pending) * t)
			v.fresh = now
		}
	}
}

// syncItem is one IP's admissions to send.
type syncItem struct {
	ip string
	n  int
}

// takePending returns the IPs to sync (used since the last sync, or all)
// and their admissions, which it resets; it forgets the idle IPs whose
// bucket is full.
func (l *Local) takePending(now time.Time, all bool) []syncItem {
	var items []syncItem
	l.mu.Lock()
	defer l.mu.Unlock()
	for ip, v := range l.ips {
		if !all && !v.used && v.pending == 0 {
			if now.Sub(v.fresh) > 2*l.interval && !v.tat.After(now) {
				delete(l.ips, ip)
			}
			continue
		}
		items = append(items, syncItem{ip, v.pending})
		v.pending, v.used = 0, false
	}
	return items
}

// sendCounts sends items in one pipeline (loading the script again when
// Redis lost it).
func (l *Local) sendCounts(ctx context.Context, items []syncItem) ([]redis.Cmder, error) {
	send := func(run func(ctx context.Context, c redis.Scripter, keys []string, args ...any) *redis.Cmd) ([]redis.Cmder, error) {
		return bounded(ctx, l.redis.dl, func(ctx context.Context) ([]redis.Cmder, error) {
			return l.redis.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
				for _, it := range items {
					run(ctx, p, []string{l.redis.rateKey("ip", it.ip)}, l.takeArgs(it.n, false)...)
				}
				return nil
			})
		})
	}
	cmds, err := send(takeScript.Run)
	if err != nil && isNoScript(err) {
		// A Redis that lost its scripts (a restart): load it, send again.
		if lerr := takeScript.Load(ctx, l.redis.rdb).Err(); lerr == nil {
			cmds, err = send(takeScript.EvalSha)
		}
	}
	return cmds, err
}

func cmdVal(c redis.Cmder) any {
	if c.Err() != nil {
		return c.Err()
	}
	if cmd, ok := c.(*redis.Cmd); ok {
		return cmd.Val()
	}
	return nil
}

func isNoScript(err error) bool { return err != nil && strings.HasPrefix(err.Error(), "NOSCRIPT") }

// lockChannel is the pub/sub channel of lockouts under prefix.
func lockChannel(prefix string) string { return prefix + "lockouts" }

// The mirror's messages: "L <ms> <ip|userDomain>" a lockout of ms
// milliseconds started, "U <ip>" ip's lockouts were lifted, "M <marker>"
// Sync's barrier.

// subscribe keeps the mirror from the lockouts' channel until ctx ends,
// loading every active lockout whenever the subscription (re)starts.
func (l *Local) subscribe(ctx context.Context, ps *redis.PubSub) {
	for {
		msg, err := ps.Receive(ctx)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			l.log.LogAttrs(ctx, slog.LevelDebug, "limits: lockout channel", slog.String("error", err.Error()))
			select {
			case <-ctx.Done():
				return
			case <-time.After(l.interval):
			}
			continue
		}
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind == "subscribe" && l.loadLocks(ctx) {
				l.running.Store(true)
				l.readyOnce.Do(func() { close(l.ready) })
			}
		case *redis.Message:
			l.apply(m.Payload)
		}
	}
}

// apply applies one message of the lockouts' channel.
func (l *Local) apply(payload string) {
	kind, rest, _ := strings.Cut(payload, " ")
	switch kind {
	case "L":
		ms, key, ok := strings.Cut(rest, " ")
		n, err := strconv.ParseInt(ms, 10, 64)
		if ok && err == nil {
			l.mirror(key, time.Now().Add(time.Duration(n)*time.Millisecond))
		}
	case "U":
		l.mu.Lock()
		for k := range l.locks {
			if ipOfLockKey(k) == rest {
				delete(l.locks, k)
			}
		}
		l.mu.Unlock()
	case "M":
		if ch, ok := l.markers.LoadAndDelete(rest); ok {
			close(ch.(chan struct{}))
		}
	}
}

// loadLocks replaces the mirror with the lockouts Redis holds; false when
// it could not.
func (l *Local) loadLocks(ctx context.Context) bool {
	// Bounded as a whole (a SCAN of many keys takes several round trips).
	dl := deadline{d: 20 * l.redis.dl.d, ctxBound: l.redis.dl.ctxBound}
	locks, err := bounded(ctx, dl, l.readLocks)
	if err != nil {
		l.log.LogAttrs(ctx, slog.LevelWarn, "limits: loading the lockouts failed (each login is admitted in Redis meanwhile)",
			slog.String("error", err.Error()))
		return false
	}
	l.mu.Lock()
	l.locks = locks
	l.mu.Unlock()
	return true
}

// readLocks reads every active lockout.
func (l *Local) readLocks(ctx context.Context) (map[string]time.Time, error) {
	prefix := l.redis.key("lock") + "|"
	locks := map[string]time.Time{}
	now := time.Now()
	iter := l.redis.rdb.Scan(ctx, 0, globEscape(prefix)+"*", 500).Iterator()
	var keys []string
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	if err := iter.Err(); err != nil {
		return nil, err
	}
	for len(keys) > 0 {
		batch := keys[:min(len(keys), 500)]
		keys = keys[len(batch):]
		cmds, err := l.redis.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, k := range batch {
				p.PTTL(ctx, k)
			}
			return nil
		})
		if err != nil && len(cmds) != len(batch) {
			return nil, err
		}
		for i, k := range batch {
			if ttl, err := cmds[i].(*redis.DurationCmd).Result(); err == nil && ttl > 0 {
				locks[strings.TrimPrefix(k, prefix)] = now.Add(ttl)
			}
		}
	}
	return locks, nil
}

// Sync brings the instance up to date with Redis: the per-IP views synced
// now, and every lockout message published before the call applied to the
// mirror (a marker published now has come back). It waits for Run to have
// loaded the mirror first. Tests call it; Run does the first part every
// interval.
func (l *Local) Sync(ctx context.Context) error {
	select {
	case <-l.ready:
	case <-ctx.Done():
		return ctx.Err()
	}
	l.syncViews(ctx, true)
	marker := strconv.FormatInt(time.Now().UnixNano(), 36) + "." + strconv.FormatInt(markerSeq.Add(1), 36)
	ch := make(chan struct{})
	l.markers.Store(marker, ch)
	defer l.markers.Delete(marker)
	if _, err := bounded(ctx, l.redis.dl, func(ctx context.Context) (int64, error) {
		return l.redis.rdb.Publish(ctx, lockChannel(l.redis.prefix), "M "+marker).Result()
	}); err != nil {
		return err
	}
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

var markerSeq atomic.Int64

// sweepLocked drops views that no longer change any answer. Callers hold mu.
func (l *Local) sweepLocked(now time.Time) {
	for ip, v := range l.ips {
		if v.pending == 0 && !v.tat.After(now) {
			delete(l.ips, ip)
		}
	}
	trim(l.ips, l.max)
}
