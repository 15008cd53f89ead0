package postgres

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"testing"
	"time"

	"github.com/iotplatform/enduser-auth/domain"
)

func newSigningKey(t testing.TB, createdAt time.Time) domain.SigningKey {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	return domain.SigningKey{KID: randomHex(8), Algorithm: domain.SigningKeyAlgorithm, PublicKey: pub, PrivateKey: priv, CreatedAt: createdAt}
}

// activeKIDs lists the kids of the keys that are not retired.
func activeKIDs(keys []domain.SigningKey) []string {
	var kids []string
	for _, k := range keys {
		if !k.Retired() {
			kids = append(kids, k.KID)
		}
	}
	return kids
}

func TestSigningKeys(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newTestEnv(t)
	t0 := testTime()
	first := newSigningKey(t, t0)

	if ok, err := e.store.AddSigningKey(ctx, first, false); err != nil || !ok {
		t.Fatalf("first AddSigningKey = %v, %v; want true", ok, err)
	}
	if ok, err := e.store.AddSigningKey(ctx, newSigningKey(t, t0), false); err != nil || ok {
		t.Fatalf("AddSigningKey without retiring while a key is active = %v, %v; want false", ok, err)
	}
	keys, err := e.store.SigningKeys(ctx, t0)
	if err != nil || len(keys) != 1 {
		t.Fatalf("SigningKeys = %d keys, %v; want 1", len(keys), err)
	}
	k := keys[0]
	if k.KID != first.KID || k.Algorithm != first.Algorithm || !bytes.Equal(k.PublicKey, first.PublicKey) ||
		!bytes.Equal(k.PrivateKey, first.PrivateKey) || !k.CreatedAt.Equal(dbTime(t0)) || k.Retired() {
		t.Fatalf("stored key = %+v, want %+v", k, first)
	}

	t1 := t0.Add(time.Hour)
	second := newSigningKey(t, t1)
	if ok, err := e.store.AddSigningKey(ctx, second, true); err != nil || !ok {
		t.Fatalf("rotation = %v, %v; want true", ok, err)
	}
	keys, err = e.store.SigningKeys(ctx, t0)
	if err != nil || len(keys) != 2 || keys[0].KID != second.KID || keys[1].KID != first.KID {
		t.Fatalf("SigningKeys after rotation = %+v, %v; want second then first", keys, err)
	}
	if keys[0].Retired() || !keys[1].RetiredAt.Equal(dbTime(t1)) {
		t.Fatalf("after rotation: second retired %v, first retired at %v; want first retired at %v", keys[0].RetiredAt, keys[1].RetiredAt, dbTime(t1))
	}
	if keys, err := e.store.SigningKeys(ctx, t1.Add(time.Second)); err != nil || len(keys) != 1 || keys[0].KID != second.KID {
		t.Fatalf("SigningKeys(after the retirement) = %+v, %v; want only the active key", keys, err)
	}
}

func TestSigningKeysConcurrent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newTestEnv(t)
	t0 := testTime()

	// First start of several instances at once: one key wins.
	var firsts, rotations [8]domain.SigningKey
	for i := range firsts {
		firsts[i] = newSigningKey(t, t0)
		rotations[i] = newSigningKey(t, t0.Add(time.Duration(i+1)*time.Minute))
	}
	var added [8]bool
	var errs [8]error
	concurrently(8, func(i int) { added[i], errs[i] = e.store.AddSigningKey(ctx, firsts[i], false) })
	wins := 0
	for i := range added {
		if errs[i] != nil {
			t.Fatalf("AddSigningKey %d: %v", i, errs[i])
		}
		if added[i] {
			wins++
		}
	}
	if wins != 1 {
		t.Fatalf("%d concurrent first AddSigningKey won, want 1", wins)
	}

	// Concurrent rotations all take effect, one after the other.
	concurrently(4, func(i int) { _, errs[i] = e.store.AddSigningKey(ctx, rotations[i], true) })
	for i := range 4 {
		if errs[i] != nil {
			t.Fatalf("rotation %d: %v", i, errs[i])
		}
	}
	keys, err := e.store.SigningKeys(ctx, t0)
	if err != nil || len(keys) != 5 || len(activeKIDs(keys)) != 1 {
		t.Fatalf("after 4 rotations: %d keys, active %v, %v; want 5 keys, 1 active", len(keys), activeKIDs(keys), err)
	}
}
