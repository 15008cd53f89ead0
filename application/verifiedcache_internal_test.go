package application

import (
	"strconv"
	"testing"
	"time"

	"github.com/iotplatform/enduser-auth/domain"
)

func TestVerifiedCacheIsBounded(t *testing.T) {
	now := time.Date(2025, time.April, 16, 8, 0, 0, 0, time.UTC)
	c := newVerifiedCache(64)
	for i := range 10_000 {
		c.put(verifiedKey("token-"+strconv.Itoa(i)), domain.Principal{UID: strconv.Itoa(i), ExpiresAt: now.Add(time.Hour)}, 0)
	}
	if n := c.len(); n > 64 || n < 64-verifiedShards {
		t.Errorf("after 10,000 puts into a cache of 64: %d entries, want at most 64 (and about that many)", n)
	}
	// What it holds it answers right; what it dropped it does not invent.
	hits := 0
	for i := range 10_000 {
		if p, ok := c.get(verifiedKey("token-"+strconv.Itoa(i)), now); ok {
			hits++
			if p.UID != strconv.Itoa(i) {
				t.Fatalf("token-%d answered the principal of %s", i, p.UID)
			}
		}
	}
	if hits != c.len() {
		t.Errorf("%d hits for %d entries", hits, c.len())
	}
}

func TestVerifiedCacheDropsExpiredEntries(t *testing.T) {
	now := time.Date(2025, time.April, 16, 8, 0, 0, 0, time.UTC)
	c := newVerifiedCache(64)
	k := verifiedKey("token")
	c.put(k, domain.Principal{UID: "u", ExpiresAt: now.Add(time.Minute)}, 0)
	if _, ok := c.get(k, now.Add(time.Minute-time.Nanosecond)); !ok {
		t.Fatal("a token before its exp is not cached")
	}
	if _, ok := c.get(k, now.Add(time.Minute)); ok {
		t.Fatal("a token at its exp is answered from the cache")
	}
	if c.len() != 0 {
		t.Errorf("the expired entry was kept: %d entries", c.len())
	}
	if _, ok := c.get(verifiedKey("token "), now); ok {
		t.Error("another token hit the cache")
	}
	disabled := newVerifiedCache(-1)
	disabled.put(k, domain.Principal{UID: "u", ExpiresAt: now.Add(time.Hour)}, 0)
	if _, ok := disabled.get(k, now); ok || disabled.len() != 0 {
		t.Error("a disabled cache cached")
	}
}

// A revoked signing key invalidates the cache: what it held is a miss, and
// so is what a verification that began before the invalidation puts.
func TestVerifiedCacheInvalidate(t *testing.T) {
	c := newVerifiedCache(64)
	now := time.Unix(1_000_000, 0)
	p := domain.Principal{UID: "u", ExpiresAt: now.Add(time.Hour)}
	held, late := verifiedKey("held"), verifiedKey("late")
	c.put(held, p, c.generation())
	began := c.generation() // a verification parses with the old keys...
	c.invalidate()
	c.put(late, p, began) // ...and finishes after the invalidation
	if _, ok := c.get(held, now); ok {
		t.Fatal("an entry held before the invalidation is still a hit")
	}
	if _, ok := c.get(late, now); ok {
		t.Fatal("an entry of a verification that began before the invalidation is a hit")
	}
	c.put(late, p, c.generation())
	if _, ok := c.get(late, now); !ok {
		t.Fatal("an entry put after the invalidation is a miss")
	}
}
