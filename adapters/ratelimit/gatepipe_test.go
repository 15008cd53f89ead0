package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/iotplatform/enduser-auth/adapters/ratelimit/redistest"
)

// TestGatePipeClaimsEachCodeOnce: the exchange gates of concurrent logins
// share the client's automatic pipeline, and each code is still claimed
// exactly once: 32 codes, each sent twice at the same time, give 32
// admissions and 32 "code used".
func TestGatePipeClaimsEachCodeOnce(t *testing.T) {
	rdb, prefix := testRedis(t)
	r := NewRedis(Config{ExchangeRate: 100000}, rdb, prefix)
	if r.gate.Load() == nil {
		t.Fatal("a *redis.Client's gate does not go through its automatic pipeline")
	}
	const codes = 32
	var (
		wg                   sync.WaitGroup
		mu                   sync.Mutex
		admitted, used, errs int
		perCode              = map[int]int{}
	)
	start := make(chan struct{})
	for i := range 2 * codes {
		wg.Go(func() {
			<-start
			k := codeKey("wxpipe", fmt.Sprintf("code-%d", i%codes))
			d, u, err := r.AdmitExchange(context.Background(), "P.DM.1.1", "wxpipe", &k)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				errs++
				t.Error(err)
			case u:
				used++
			case d.Allowed:
				admitted++
				perCode[i%codes]++
			}
		})
	}
	close(start)
	wg.Wait()
	if admitted != codes || used != codes || errs != 0 || len(perCode) != codes {
		t.Fatalf("admitted %d (codes %d), used %d, errors %d; want %d, %d, %d, 0", admitted, len(perCode), used, errs, codes, codes, codes)
	}
}

// TestGatePipeReloadsTheScript: after SCRIPT FLUSH (a Redis restarted, a
// failover to a replica that never ran the script) the gate loads its script
// again and answers; it does not fall back to memory. Every user of the
// shared Redis handles NOSCRIPT the same way, so flushing scripts is safe.
func TestGatePipeReloadsTheScript(t *testing.T) {
	rdb, prefix := testRedis(t)
	r := NewRedis(Config{ExchangeRate: 100000}, rdb, prefix)
	ctx := context.Background()
	k1, k2 := codeKey("wxpipe", "before"), codeKey("wxpipe", "after")
	if d, used, err := r.AdmitExchange(ctx, "P.DM.1.1", "wxpipe", &k1); err != nil || !d.Allowed || used {
		t.Fatalf("before the flush: %+v used=%v %v", d, used, err)
	}
	if err := rdb.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if d, used, err := r.AdmitExchange(ctx, "P.DM.1.1", "wxpipe", &k2); err != nil || !d.Allowed || used {
		t.Fatalf("after the flush: %+v used=%v %v", d, used, err)
	}
	if _, used, err := r.AdmitExchange(ctx, "P.DM.1.1", "wxpipe", &k2); err != nil || !used {
		t.Fatalf("the code claimed after the flush, again: used=%v %v; want used", used, err)
	}
}

// TestGatePipeOnlyForAPlainClient: a client the engine does not pipeline (a
// cluster, a ring) keeps one round trip a call.
func TestGatePipeOnlyForAPlainClient(t *testing.T) {
	var ring redis.UniversalClient = redis.NewRing(&redis.RingOptions{Addrs: map[string]string{"a": "127.0.0.1:1"}})
	t.Cleanup(func() { _ = ring.Close() })
	if gatePipe(ring) != nil {
		t.Fatal("a ring's gate goes through a pipeline")
	}
}

// TestGatePipeAgainstARedisThatNeverAnswers: through the pipeline, a gate
// against a server that accepts connections and never answers fails at the
// module's deadline (the login then decides in memory), and the client
// closes (its read timeout ends the stuck batch). A client without a read
// timeout does not use the pipeline at all.
func TestGatePipeAgainstARedisThatNeverAnswers(t *testing.T) {
	addr := redistest.Silent(t)
	noTimeout := redis.NewClient(&redis.Options{Addr: addr, Protocol: 2, ReadTimeout: -1, WriteTimeout: -1})
	t.Cleanup(func() { _ = noTimeout.Close() })
	if gatePipe(noTimeout) != nil {
		t.Error("a client without a read timeout goes through the pipeline")
	}
	rdb := redis.NewClient(&redis.Options{Addr: addr, Protocol: 2, ReadTimeout: 500 * time.Millisecond, MaxRetries: -1})
	r := NewRedis(Config{ExchangeRate: 100000}, rdb, "silent:").WithTimeout(100 * time.Millisecond)
	if r.gate.Load() == nil {
		t.Fatal("a client with a read timeout does not go through the pipeline")
	}
	for i := range 3 {
		k := codeKey("wxsilent", fmt.Sprintf("code-%d", i))
		if _, _, err := r.AdmitExchange(context.Background(), "S.DM.1.1", "wxsilent", &k); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("gate %d against a silent Redis: %v, want the deadline", i, err)
		}
	}
	// The stuck batch ends at the client's read timeout: Close returns (a
	// hang here is the test's own timeout).
	if err := rdb.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
}

// TestGatePipeRenewedAfterItsClose: a host that shares the client's pipeline
// and closes it does not leave the gate failing for good: the next gate runs
// on the pipeline go-redis makes anew for the open client.
func TestGatePipeRenewedAfterItsClose(t *testing.T) {
	rdb, prefix := testRedis(t)
	r := NewRedis(Config{ExchangeRate: 100000}, rdb, prefix)
	old := r.gate.Load()
	if old == nil {
		t.Fatal("no pipeline")
	}
	if err := old.Close(); err != nil {
		t.Fatal(err)
	}
	k := codeKey("wxrenew", "code-1")
	if d, used, err := r.AdmitExchange(context.Background(), "R.DM.1.1", "wxrenew", &k); err != nil || !d.Allowed || used {
		t.Fatalf("after the pipeline's close: %+v used=%v %v", d, used, err)
	}
	if now := r.gate.Load(); now == old || now == nil || now.IsClosed() {
		t.Fatalf("the gate still holds the closed pipeline")
	}
}
