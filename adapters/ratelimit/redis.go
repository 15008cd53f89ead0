package ratelimit

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"

	"github.com/iotplatform/enduser-auth/application"
)

// Redis is the limiter whose state lives in Redis, shared by every instance
// that uses the same prefix: N instances allow what one would. Token buckets
// are GCRA (redis_rate, one script call each, on Redis's clock); lockouts
// are a failure counter and a lock key with expiries. Every method reports
// Redis's errors; Shared turns them into a fall-back to memory.
type Redis struct {
	cfg    Config
	rdb    redis.UniversalClient
	gcra   *redis_rate.Limiter
	prefix string
}

// NewRedis returns a limiter on rdb whose keys start with prefix (the GCRA
// buckets' keys with "rate:" and then prefix, as redis_rate names them).
func NewRedis(cfg Config, rdb redis.UniversalClient, prefix string) *Redis {
	return &Redis{cfg: cfg.withDefaults(), rdb: rdb, gcra: redis_rate.NewLimiter(rdb), prefix: prefix}
}

func (r *Redis) key(parts ...string) string { return r.prefix + strings.Join(parts, "|") }

func decision(res *redis_rate.Result) application.Decision {
	if res.Allowed > 0 {
		return application.Allow
	}
	return application.Decision{RetryAfter: max(res.RetryAfter, time.Millisecond)}
}

// AllowRequest takes one request of ip's bucket.
func (r *Redis) AllowRequest(ctx context.Context, ip string) (application.Decision, error) {
	// GCRA's emission interval is Period/Rate: one request per 1/IPRate s.
	lim := redis_rate.Limit{Rate: 1, Burst: r.cfg.IPBurst, Period: time.Duration(float64(time.Second) / r.cfg.IPRate)}
	res, err := r.gcra.Allow(ctx, r.key("ip", ip), lim)
	if err != nil {
		return application.Allow, err
	}
	return decision(res), nil
}

// LockedOut reports whether (ip, userDomain) is locked out.
func (r *Redis) LockedOut(ctx context.Context, ip, userDomain string) (application.Decision, error) {
	ttl, err := r.rdb.PTTL(ctx, r.key("lock", ip, userDomain)).Result()
	if err != nil {
		return application.Allow, err
	}
	if ttl > 0 {
		return application.Decision{RetryAfter: ttl}, nil
	}
	return application.Allow, nil
}

// failScript counts a failure in a window that starts at the first one; the
// failure that reaches the threshold sets the lock (NX: one lockout, one
// report, whatever the instances) and clears the count. It returns
// {1, lock's PTTL} when this call locked, {0, 0} otherwise.
var failScript = redis.NewScript(`
if redis.call("EXISTS", KEYS[2]) == 1 then return {0, 0} end
local n = redis.call("INCR", KEYS[1])
if n == 1 then redis.call("PEXPIRE", KEYS[1], ARGV[1]) end
if n < tonumber(ARGV[2]) then return {0, 0} end
redis.call("DEL", KEYS[1])
if redis.call("SET", KEYS[2], "1", "NX", "PX", ARGV[3]) then return {1, tonumber(ARGV[3])} end
return {0, 0}
`)

// SignatureFailed records one failure of (ip, userDomain).
func (r *Redis) SignatureFailed(ctx context.Context, ip, userDomain string) (time.Time, bool, error) {
	res, err := failScript.Run(ctx, r.rdb, []string{r.key("fail", ip, userDomain), r.key("lock", ip, userDomain)},
		r.cfg.LockoutWindow.Milliseconds(), r.cfg.LockoutFailures, r.cfg.LockoutDuration.Milliseconds()).Int64Slice()
	if err != nil {
		return time.Time{}, false, err
	}
	if len(res) != 2 || res[0] != 1 {
		return time.Time{}, false, nil
	}
	return time.Now().Add(time.Duration(res[1]) * time.Millisecond), true, nil
}

// AllowExchange refuses while appID cools down, then takes one exchange of
// (userDomain, appID)'s cap.
func (r *Redis) AllowExchange(ctx context.Context, userDomain, appID string) (application.Decision, error) {
	ttl, err := r.rdb.PTTL(ctx, r.key("cool", appID)).Result()
	if err != nil {
		return application.Allow, err
	}
	if ttl > 0 {
		return application.Decision{RetryAfter: ttl}, nil
	}
	n := r.cfg.exchangeRate(appID)
	res, err := r.gcra.Allow(ctx, r.key("xchg", userDomain, appID), redis_rate.Limit{Rate: n, Burst: n, Period: time.Second})
	if err != nil {
		return application.Allow, err
	}
	return decision(res), nil
}

// CoolDown refuses appID's exchanges until until.
func (r *Redis) CoolDown(ctx context.Context, appID string, until time.Time) error {
	d := time.Until(until)
	if d <= 0 {
		return nil
	}
	return r.rdb.Set(ctx, r.key("cool", appID), "1", d).Err()
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
