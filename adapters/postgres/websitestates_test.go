package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/iotplatform/enduser-auth/domain"
)

// TestWebsiteStateClaims: a state's digest is claimed once, by one of
// concurrent claimers; the purge deletes the claims of expired states only,
// in batches.
func TestWebsiteStateClaims(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	now := testTime()
	d := domain.WebsiteStateDigest("state-1")
	won := make(chan bool, 8)
	concurrently(8, func(int) {
		ok, err := e.store.ClaimWebsiteState(ctx, d, now.Add(time.Minute))
		if err != nil {
			t.Error(err)
		}
		won <- ok
	})
	close(won)
	n := 0
	for ok := range won {
		if ok {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d claimers won one state", n)
	}
	for i, exp := range []time.Duration{-time.Hour, -time.Minute, -time.Second, time.Hour} {
		if ok, err := e.store.ClaimWebsiteState(ctx, domain.WebsiteStateDigest(string(rune('a'+i))), now.Add(exp)); err != nil || !ok {
			t.Fatalf("claim %d: %v %v", i, ok, err)
		}
	}
	if got, err := e.store.PurgeWebsiteStates(ctx, now, 2); err != nil || got != 2 {
		t.Fatalf("first batch: %d %v", got, err)
	}
	if got, err := e.store.PurgeWebsiteStates(ctx, now, 2); err != nil || got != 1 {
		t.Fatalf("second batch: %d %v", got, err)
	}
	if left := e.count(t, `SELECT count(*) FROM enduser_website_states_spent`); left != 2 {
		t.Fatalf("the live claims stay: %d rows", left)
	}
	if ok, err := e.store.ClaimWebsiteState(ctx, d, now.Add(time.Minute)); err != nil || ok {
		t.Fatalf("a live claim still refuses: %v %v", ok, err)
	}
}
