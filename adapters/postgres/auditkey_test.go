package postgres

import (
	"bytes"
	"context"
	"sync"
	"testing"
)

// TestAuditOpenIDKeyOutlivesAMasterKeyRotation: the first start stores its
// seed, later starts (whatever they would derive) get that key, concurrent
// first starts agree, and after `keys rotate-master` the new master key alone
// opens the same key, so old and new audit hashes stay comparable.
func TestAuditOpenIDKeyOutlivesAMasterKeyRotation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newTestEnv(t) // master key 1
	seeds := [][]byte{DeriveAuditKey(bytes.Repeat([]byte{1}, 32)), DeriveAuditKey(bytes.Repeat([]byte{9}, 32))}
	got := make([][]byte, 8)
	var wg sync.WaitGroup
	for n := range got {
		wg.Go(func() {
			k, err := e.store.AuditOpenIDKey(ctx, seeds[n%2])
			if err != nil {
				t.Error(err)
			}
			got[n] = k
		})
	}
	wg.Wait()
	for n, k := range got {
		if !bytes.Equal(k, got[0]) || (!bytes.Equal(k, seeds[0]) && !bytes.Equal(k, seeds[1])) {
			t.Fatalf("start %d got key %x, start 0 %x: concurrent first starts must agree on one seed", n, k, got[0])
		}
	}
	first := got[0]

	ring := NewStore(e.store.db, keyring(t, 2, 1))
	if _, err := ring.ReencryptSecrets(ctx, 10, nil); err != nil {
		t.Fatal(err)
	}
	left, err := ring.SecretsNotUnderPrimary(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if left["enduser_audit_keys.key_enc"] != 0 {
		t.Fatalf("the audit key is still under the old master key after the rotation: %v", left)
	}
	alone := NewStore(e.store.db, newBox(t, 2))
	k, err := alone.AuditOpenIDKey(ctx, DeriveAuditKey(bytes.Repeat([]byte{2}, 32)))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(k, first) {
		t.Fatalf("after the rotation the audit key is %x, want the stored %x", k, first)
	}
	if _, err := NewStore(e.store.db, newBox(t, 3)).AuditOpenIDKey(ctx, first); err == nil {
		t.Fatal("a master key that sealed nothing opened the audit key")
	}
	if _, err := e.store.AuditOpenIDKey(ctx, []byte("short")); err == nil {
		t.Fatal("a short seed was accepted")
	}
}
