package ratelimit_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/iotplatform/enduser-auth/adapters/ratelimit"
	"github.com/iotplatform/enduser-auth/adapters/ratelimit/limittest"
	"github.com/iotplatform/enduser-auth/adapters/ratelimit/redistest"
	"github.com/iotplatform/enduser-auth/internal/fakeclock"
)

// TestMemoryContract: the limits without Redis, one instance on a fake
// clock, held to exact answers.
func TestMemoryContract(t *testing.T) {
	limittest.Run(t, func(t *testing.T, s ratelimit.Settings) limittest.Target {
		clock := fakeclock.New(time.Date(2026, 12, 2, 8, 0, 0, 0, time.UTC))
		l, err := ratelimit.New(s, clock, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		return limittest.Target{Instances: []*ratelimit.Limits{l}, Now: clock.Now, Advance: clock.Advance}
	})
}

// redisDrift is the Redis target's tolerance: Redis's TIME runs while a case
// runs. A case makes a few dozen round trips to the local Redis, which take
// milliseconds; 2 s leaves room for a loaded machine (-race, shared cores).
const redisDrift = 2 * time.Second

// TestRedisContract: the limits with Redis, two instances on one prefix of
// the test's own; every decision must come from Redis (no fall-back to
// memory). Time moves by travel, besides Redis's own clock. The instances do
// not Run: every admission is decided in Redis (as with
// ENDUSER_LIMITS_SYNC_INTERVAL=off).
func TestRedisContract(t *testing.T) {
	limittest.Run(t, func(t *testing.T, s ratelimit.Settings) limittest.Target {
		return redisTarget(t, s, false)
	})
}

// TestRedisLocalContract: the same with the local-first admission running
// (ratelimit.Local), settled before each call: once the instances have
// synced, they answer as one.
func TestRedisLocalContract(t *testing.T) {
	limittest.Run(t, func(t *testing.T, s ratelimit.Settings) limittest.Target {
		return redisTarget(t, s, true)
	})
}

// redisTarget is the contract's target on Redis: two instances on one
// prefix; local runs them (their local-first admission syncing only when
// settled: an interval of an hour).
func redisTarget(t *testing.T, s ratelimit.Settings, local bool) limittest.Target {
	rdb, prefix := redistest.Open(t)
	// The contract is about the decisions, not the deadline: a loaded
	// machine (-race, shared cores) must not turn a slow answer into a
	// fall-back here (the deadline has tests of its own).
	s.Redis, s.Prefix, s.RedisTimeout = rdb, prefix, 10*time.Second
	s.SyncInterval = -1
	if local {
		s.SyncInterval = time.Hour
	}
	var instances []*ratelimit.Limits
	for range 2 {
		l, err := ratelimit.New(s, nil, slog.New(slog.NewTextHandler(tlogWriter{t}, nil)), nil)
		if err != nil {
			t.Fatal(err)
		}
		instances = append(instances, l)
	}
	tg := limittest.Target{Instances: instances, Now: time.Now, Drift: redisDrift,
		Advance: func(d time.Duration) { travel(t, rdb, prefix, d) }}
	if local && s.Enabled {
		runLimits(t, instances...)
		tg.Settle = func() { syncAll(t, instances...) }
	}
	t.Cleanup(func() {
		for i, l := range instances {
			if n := l.Fallbacks.Total(); n != 0 {
				t.Errorf("instance %d fell back to memory %d times with Redis up", i, n)
			}
		}
	})
	return tg
}

// runLimits runs each instance's Limits.Run until the test ends.
func runLimits(t *testing.T, instances ...*ratelimit.Limits) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.WithoutCancel(t.Context()))
	done := make(chan struct{}, len(instances))
	for _, l := range instances {
		if !l.Local() {
			t.Fatal("the limits are not local-first")
		}
		go func() {
			_ = l.Run(ctx)
			done <- struct{}{}
		}()
	}
	t.Cleanup(func() {
		cancel()
		for range instances {
			<-done
		}
	})
}

// syncAll syncs every instance (Limits.Sync), failing the test on an error.
func syncAll(t *testing.T, instances ...*ratelimit.Limits) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(t.Context()), 10*time.Second)
	defer cancel()
	for i, l := range instances {
		if err := l.Sync(ctx); err != nil {
			t.Fatalf("sync of instance %d: %v", i, err)
		}
	}
}

// travelScript moves one key d forward in time, as d more of Redis's clock
// would: its expiry comes d closer (a key whose expiry passes is deleted)
// and, for a GCRA bucket (ARGV[3] = "1"), the theoretical arrival time it
// holds (seconds on Redis's clock) moves d back, which is all that d more of
// TIME changes in the bucket's arithmetic. ARGV: d in milliseconds, in
// seconds, and whether the key is a bucket.
var travelScript = redis.NewScript(`
local ttl = redis.call("PTTL", KEYS[1])
if ttl == -2 then return 0 end
if ttl == -1 then return redis.error_reply("travel: a limits key without expiry: " .. KEYS[1]) end
local left = ttl - tonumber(ARGV[1])
if left <= 0 then
  redis.call("DEL", KEYS[1])
  return 0
end
if ARGV[3] == "1" then
  redis.call("SET", KEYS[1], tonumber(redis.call("GET", KEYS[1])) - tonumber(ARGV[2]), "PX", left)
else
  redis.call("PEXPIRE", KEYS[1], left)
end
return 1
`)

// travel moves every key of the limits under prefix (and the GCRA buckets,
// which redis_rate names "rate:" then the prefix) d forward in time. The
// prefix, redistest's, holds no glob character.
func travel(t *testing.T, rdb *redis.Client, prefix string, d time.Duration) {
	t.Helper()
	ctx := context.WithoutCancel(t.Context())
	for _, bucket := range []bool{false, true} {
		pattern := prefix + "*"
		if bucket {
			pattern = "rate:" + pattern
		}
		var keys []string
		iter := rdb.Scan(ctx, 0, pattern, 500).Iterator()
		for iter.Next(ctx) {
			keys = append(keys, iter.Val())
		}
		if err := iter.Err(); err != nil {
			t.Fatalf("travel: scan %s: %v", pattern, err)
		}
		for _, k := range keys {
			if err := travelScript.Run(ctx, rdb, []string{k}, d.Milliseconds(), d.Seconds(), bucket).Err(); err != nil {
				t.Fatalf("travel %s by %v: %v", k, d, err)
			}
		}
	}
}

// tlogWriter writes a limiter's log lines (a fall-back's reason) to the test's log.
type tlogWriter struct{ t *testing.T }

func (w tlogWriter) Write(p []byte) (int, error) { w.t.Log(string(p)); return len(p), nil }
