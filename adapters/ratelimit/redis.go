package ratelimit

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"

	"github.com/iotplatform/enduser-auth/application"
)

// Redis is the limiter whose state lives in Redis, shared by every instance
// that uses the same prefix: N instances allow what one would. Token buckets
// are GCRA on Redis's clock, with redis_rate's algorithm and keys (its script
// for the other endpoints' bucket, the same arithmetic inside the two
// scripts of a login); lockouts are a failure counter and a lock key with
// expiries. A login costs two script calls: AdmitLogin (bucket + lockout)
// and AdmitExchange (cool-down + cap + code claim). Every method reports
// Redis's errors; Shared and Limits turn them into a fall-back to memory.
type Redis struct {
	cfg    Config
	rdb    redis.UniversalClient
	gcra   *redis_rate.Limiter
	prefix string
	dl     deadline
	// gate carries the exchange gate's script calls (see gatePipe); nil:
	// each call is a round trip of its own.
	gate atomic.Pointer[redis.AutoPipeliner]
}

// NewRedis returns a limiter on rdb whose keys start with prefix (the GCRA
// buckets' keys with "rate:" and then prefix, as redis_rate names them).
func NewRedis(cfg Config, rdb redis.UniversalClient, prefix string) *Redis {
	r := &Redis{cfg: cfg.withDefaults(), rdb: rdb, gcra: redis_rate.NewLimiter(rdb), prefix: prefix, dl: newDeadline(0, rdb)}
	r.gate.Store(gatePipe(rdb))
	return r
}

// WithTimeout bounds each of r's calls by d (0: DefaultRedisTimeout) and
// returns r.
func (r *Redis) WithTimeout(d time.Duration) *Redis {
	r.dl = newDeadline(d, r.rdb)
	return r
}

func (r *Redis) key(parts ...string) string { return r.prefix + strings.Join(parts, "|") }

// rateKey is the key of a GCRA bucket, as redis_rate names it.
func (r *Redis) rateKey(parts ...string) string { return "rate:" + r.key(parts...) }

func decision(res *redis_rate.Result) application.Decision {
	if res.Allowed > 0 {
		return application.Allow
	}
	return application.Decision{RetryAfter: max(res.RetryAfter, time.Millisecond)}
}

// ipLimit is the per-IP bucket as a redis_rate limit: GCRA's emission
// interval is Period/Rate, one request per 1/IPRate s.
func (r *Redis) ipLimit() redis_rate.Limit {
	return redis_rate.Limit{Rate: 1, Burst: r.cfg.IPBurst, Period: time.Duration(float64(time.Second) / r.cfg.IPRate)}
}

// exchangeLimit is appID's exchange cap as a redis_rate limit.
func (r *Redis) exchangeLimit(appID string) redis_rate.Limit {
	n := r.cfg.exchangeRate(appID)
	return redis_rate.Limit{Rate: n, Burst: n, Period: time.Second}
}

// AllowRequest takes one request of ip's bucket.
func (r *Redis) AllowRequest(ctx context.Context, ip string) (application.Decision, error) {
	res, err := bounded(ctx, r.dl, func(ctx context.Context) (*redis_rate.Result, error) {
		return r.gcra.Allow(ctx, r.key("ip", ip), r.ipLimit())
	})
	if err != nil {
		return application.Allow, err
	}
	return decision(res), nil
}

// gcraLua is redis_rate's allowN (v10, cost 1) as a Lua function: the same
// arithmetic on the same key, so that a bucket taken by either is one
// bucket. It returns nil when allowed (the bucket's new TAT set) and, when
// refused, the retry-after in seconds as redis_rate formats it.
const gcraLua = `
local function gcra(key, burst, rate, period)
  local emission_interval = period / rate
  local increment = emission_interval * 1
  local burst_offset = emission_interval * burst
  local jan_1_2017 = 1483228800
  local now = redis.call("TIME")
  now = (now[1] - jan_1_2017) + (now[2] / 1000000)
  local tat = redis.call("GET", key)
  if not tat then
    tat = now
  else
    tat = tonumber(tat)
  end
  tat = math.max(tat, now)
  local new_tat = tat + increment
  local allow_at = new_tat - burst_offset
  local diff = now - allow_at
  local remaining = diff / emission_interval
  if remaining < 0 then
    return tostring(diff * -1)
  end
  local reset_after = new_tat - now
  if reset_after > 0 then
    redis.call("SET", key, new_tat, "EX", math.ceil(reset_after))
  end
  return nil
end
`

// The scripts' answers: {admitted}, {refused by a bucket, retry-after
// seconds as a string}, {refused by a key's TTL, its PTTL}, {code used}.
const (
	scriptAdmitted = 1
	scriptBucket   = 0
	scriptTTL      = 2
	scriptCodeUsed = 3
	scriptLocked   = 4
)

// admitScript is a login's first check: one request of the IP's bucket
// (KEYS[1]), then, when it is allowed, the lockout (KEYS[2]). A locked-out
// client still spends its request, as when the bucket was the middleware's.
var admitScript = redis.NewScript(`
redis.replicate_commands()
` + gcraLua + `
local retry = gcra(KEYS[1], ARGV[1], ARGV[2], ARGV[3])
if retry then return {0, retry} end
local ttl = redis.call("PTTL", KEYS[2])
if ttl > 0 then return {2, ttl} end
return {1}
`)

// exchangeScript is the last check before WeChat: when ARGV[6] is 1, the
// lockout of the request's (IP, user domain) (KEYS[4]; the local-first
// admission checks it here exactly); the appId's cool-down (KEYS[1]), one
// exchange of the (user domain, appId) cap (KEYS[2]), then the code's claim
// (KEYS[3], when ARGV[5] is 1: SET NX PX ARGV[4]). Locked out, cooling down
// or over the cap, the code is not claimed; a code claimed before has spent
// its exchange of the cap (as when the claim was a separate step after it).
var exchangeScript = redis.NewScript(`
redis.replicate_commands()
` + gcraLua + `
if ARGV[6] == "1" then
  local lock = redis.call("PTTL", KEYS[4])
  if lock > 0 then return {4, lock} end
end
local cool = redis.call("PTTL", KEYS[1])
if cool > 0 then return {2, cool} end
local retry = gcra(KEYS[2], ARGV[1], ARGV[2], ARGV[3])
if retry then return {0, retry} end
if ARGV[5] == "1" and not redis.call("SET", KEYS[3], "1", "NX", "PX", ARGV[4]) then return {3} end
return {1}
`)

// limitArgs are a bucket's ARGV as redis_rate passes them (burst, rate,
// period in seconds), then more.
func limitArgs(l redis_rate.Limit, more ...any) []any {
	return append([]any{l.Burst, l.Rate, l.Period.Seconds()}, more...)
}

// scriptDecision reads a script's answer: the decision (LockedOut for the
// exchange script's lockout), and whether it said the code was used.
func scriptDecision(v any) (application.Decision, bool, error) {
	res, ok := v.([]any)
	if !ok || len(res) == 0 {
		return application.Allow, false, fmt.Errorf("redis: unexpected script answer %T", v)
	}
	status, _ := res[0].(int64)
	switch {
	case status == scriptAdmitted:
		return application.Allow, false, nil
	case status == scriptCodeUsed:
		return application.Decision{}, true, nil
	case (status == scriptTTL || status == scriptLocked) && len(res) == 2:
		if ms, ok := res[1].(int64); ok {
			return application.Decision{RetryAfter: time.Duration(ms) * time.Millisecond, LockedOut: status == scriptLocked}, false, nil
		}
	case status == scriptBucket && len(res) == 2:
		if s, ok := res[1].(string); ok {
			f, err := strconv.ParseFloat(s, 64)
			if err != nil {
				return application.Allow, false, fmt.Errorf("redis: script retry-after %q: %w", s, err)
			}
			// As redis_rate turns it into a duration, and decision floors it.
			return application.Decision{RetryAfter: max(time.Duration(f*float64(time.Second)), time.Millisecond)}, false, nil
		}
	}
	return application.Allow, false, fmt.Errorf("redis: unexpected script answer %v", res)
}

// AdmitLogin takes one request of ip's bucket and, when allowed, reports
// whether (ip, userDomain) is locked out: one script call.
func (r *Redis) AdmitLogin(ctx context.Context, ip, userDomain string) (application.Decision, error) {
	v, err := bounded(ctx, r.dl, func(ctx context.Context) (any, error) {
		return admitScript.Run(ctx, r.rdb, []string{r.rateKey("ip", ip), r.key("lock", ip, userDomain)},
			limitArgs(r.ipLimit())...).Result()
	})
	if err != nil {
		return application.Allow, err
	}
	d, _, err := scriptDecision(v)
	if res, ok := v.([]any); ok && err == nil && !d.Allowed && len(res) > 0 && res[0] == int64(scriptTTL) {
		d.LockedOut = true // the lock key's TTL, not the bucket's retry
	}
	return d, err
}

// AdmitExchange refuses while appID cools down, then takes one exchange of
// (userDomain, appID)'s cap and, when allowed and claim is not nil, claims
// the code's hash for CodeTTL: one script call. used reports a code claimed
// before.
func (r *Redis) AdmitExchange(ctx context.Context, userDomain, appID string, claim *[32]byte) (d application.Decision, used bool, err error) {
	return r.admitExchange(ctx, "", userDomain, appID, claim)
}

// admitExchange is AdmitExchange that first, when ip is not "", refuses
// while (ip, userDomain) is locked out (the decision's LockedOut), in the
// same script call.
func (r *Redis) admitExchange(ctx context.Context, ip, userDomain, appID string, claim *[32]byte) (d application.Decision, used bool, err error) {
	keys := []string{r.key("cool", appID), r.rateKey("xchg", userDomain, appID)}
	hasClaim, hasLock := "0", "0"
	if claim != nil {
		keys, hasClaim = append(keys, codeRedisKey(r.prefix, *claim)), "1"
	}
	if ip != "" {
		if claim == nil {
			keys = append(keys, r.key("cool", appID)) // KEYS[3] unused: the same slot as KEYS[1]
		}
		keys, hasLock = append(keys, r.key("lock", ip, userDomain)), "1"
	}
	v, err := r.runGate(ctx, keys, limitArgs(r.exchangeLimit(appID), CodeTTL.Milliseconds(), hasClaim, hasLock))
	if err != nil {
		return application.Allow, false, err
	}
	return scriptDecision(v)
}

// LockedOut reports whether (ip, userDomain) is locked out.
func (r *Redis) LockedOut(ctx context.Context, ip, userDomain string) (application.Decision, error) {
	ttl, err := bounded(ctx, r.dl, func(ctx context.Context) (time.Duration, error) {
		return r.rdb.PTTL(ctx, r.key("lock", ip, userDomain)).Result()
	})
	if err != nil {
		return application.Allow, err
	}
	if ttl > 0 {
		return application.Decision{RetryAfter: ttl, LockedOut: true}, nil
	}
	return application.Allow, nil
}

// failScript counts a failure in a window that starts at the first one; the
// failure that reaches the threshold sets the lock (NX: one lockout, one
// report, whatever the instances), clears the count and publishes the
// lockout on ARGV[4] ("L <ms> " then ARGV[5]: the local-first admission's
// mirrors). It returns {1, lock's PTTL} when this call locked, {0, 0}
// otherwise.
var failScript = redis.NewScript(`
if redis.call("EXISTS", KEYS[2]) == 1 then return {0, 0} end
local n = redis.call("INCR", KEYS[1])
if n == 1 then redis.call("PEXPIRE", KEYS[1], ARGV[1]) end
if n < tonumber(ARGV[2]) then return {0, 0} end
redis.call("DEL", KEYS[1])
if redis.call("SET", KEYS[2], "1", "NX", "PX", ARGV[3]) then
  redis.call("PUBLISH", ARGV[4], "L " .. ARGV[3] .. " " .. ARGV[5])
  return {1, tonumber(ARGV[3])}
end
return {0, 0}
`)

// SignatureFailed records one failure of (ip, userDomain).
func (r *Redis) SignatureFailed(ctx context.Context, ip, userDomain string) (time.Time, bool, error) {
	res, err := bounded(ctx, r.dl, func(ctx context.Context) ([]int64, error) {
		return failScript.Run(ctx, r.rdb, []string{r.key("fail", ip, userDomain), r.key("lock", ip, userDomain)},
			r.cfg.LockoutWindow.Milliseconds(), r.cfg.LockoutFailures, r.cfg.LockoutDuration.Milliseconds(),
			lockChannel(r.prefix), lockKey(ip, userDomain)).Int64Slice()
	})
	if err != nil {
		return time.Time{}, false, err
	}
	if len(res) != 2 || res[0] != 1 {
		return time.Time{}, false, nil
	}
	return time.Now().Add(time.Duration(res[1]) * time.Millisecond), true, nil
}

// AllowExchange refuses while appID cools down, then takes one exchange of
// (userDomain, appID)'s cap (AdmitExchange without a claim).
func (r *Redis) AllowExchange(ctx context.Context, userDomain, appID string) (application.Decision, error) {
	d, _, err := r.AdmitExchange(ctx, userDomain, appID, nil)
	return d, err
}

// CoolDown refuses appID's exchanges until until.
func (r *Redis) CoolDown(ctx context.Context, appID string, until time.Time) error {
	d := time.Until(until)
	if d <= 0 {
		return nil
	}
	_, err := bounded(ctx, r.dl, func(ctx context.Context) (struct{}, error) {
		return struct{}{}, r.rdb.Set(ctx, r.key("cool", appID), "1", d).Err()
	})
	return err
}

// Unblock lifts every lockout and failure count of ip; it returns how many
// lockouts it lifted.
func (r *Redis) Unblock(ctx context.Context, ip string) (int, error) {
	lifted := 0
	for _, kind := range []string{"lock", "fail"} {
		pattern := globEscape(r.key(kind, ip)) + "|*"
		iter := r.rdb.Scan(ctx, 0, pattern, 500).Iterator()
		var keys []string
		for iter.Next(ctx) {
			keys = append(keys, iter.Val())
		}
		if err := iter.Err(); err != nil {
			return lifted, fmt.Errorf("redis: scan %s: %w", kind, err)
		}
		if len(keys) == 0 {
			continue
		}
		n, err := r.rdb.Del(ctx, keys...).Result()
		if err != nil {
			return lifted, fmt.Errorf("redis: delete %s: %w", kind, err)
		}
		if kind == "lock" {
			lifted = int(n)
		}
	}
	// The local-first admission's mirrors drop ip's lockouts (they check a
	// lockout they hold in Redis anyway: this only spares the round trip).
	if err := r.rdb.Publish(ctx, lockChannel(r.prefix), "U "+ip).Err(); err != nil {
		return lifted, fmt.Errorf("redis: publish the unblock: %w", err)
	}
	return lifted, nil
}

// globEscape quotes SCAN MATCH's special characters.
func globEscape(s string) string {
	var b strings.Builder
	for _, c := range s {
		switch c {
		case '*', '?', '[', ']', '\\':
			b.WriteByte('\\')
		}
		b.WriteRune(c)
	}
	return b.String()
}
