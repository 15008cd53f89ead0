package ratelimit

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/iotplatform/enduser-auth/adapters/ratelimit/redistest"
)

// BenchmarkRedisLoginChecks: a successful login's limit checks against the
// real Redis, as separate calls (the five round trips before issue 10:
// bucket, lockout, cool-down + cap, claim) and as the two scripts, run
// alternately in one benchmark so the machine's noise hits both alike.
//
//	go test -run '^$' -bench RedisLoginChecks -benchtime 5000x ./adapters/ratelimit/
func BenchmarkRedisLoginChecks(b *testing.B) {
	rdb, prefix := redistest.Open(b)
	ctx := context.Background()
	cfg := Config{IPRate: 1e6, IPBurst: 1e6, ExchangeRate: 1e6}
	r := NewRedis(cfg, rdb, prefix)
	claims := NewRedisClaims(rdb, prefix, NewMemoryClaims(nil), nil)
	const ip, ud, app = "192.0.2.1", "C.DM.1.1", "wxbench"
	separate := func(i int) {
		if d, err := r.AllowRequest(ctx, ip); err != nil || !d.Allowed {
			b.Fatal(d, err)
		}
		if d, err := r.LockedOut(ctx, ip, ud); err != nil || !d.Allowed {
			b.Fatal(d, err)
		}
		// Before issue 10: a PTTL of the cool-down, then redis_rate's script.
		if ttl, err := rdb.PTTL(ctx, r.key("cool", app)).Result(); err != nil || ttl > 0 {
			b.Fatal(ttl, err)
		}
		if res, err := r.gcra.Allow(ctx, r.key("xchg", ud, app), r.exchangeLimit(app)); err != nil || res.Allowed == 0 {
			b.Fatal(res, err)
		}
		if !claims.Claim(ctx, codeKey(app, fmt.Sprintf("s%d", i))) {
			b.Fatal("claim")
		}
	}
	scripts := func(i int) {
		if d, err := r.AdmitLogin(ctx, ip, ud); err != nil || !d.Allowed {
			b.Fatal(d, err)
		}
		k := codeKey(app, fmt.Sprintf("c%d", i))
		if d, used, err := r.AdmitExchange(ctx, ud, app, &k); err != nil || !d.Allowed || used {
			b.Fatal(d, used, err)
		}
	}
	separate(-1)
	scripts(-1)
	var tSep, tScr time.Duration
	b.ResetTimer()
	for i := range b.N {
		t0 := time.Now()
		separate(i)
		t1 := time.Now()
		scripts(i)
		tSep += t1.Sub(t0)
		tScr += time.Since(t1)
	}
	b.ReportMetric(float64(tSep.Microseconds())/float64(b.N), "separate-µs")
	b.ReportMetric(float64(tScr.Microseconds())/float64(b.N), "scripts-µs")
	b.ReportMetric(float64(tScr)/float64(tSep), "ratio")
}
