package repotest

import (
	"bytes"
	"crypto/ed25519"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/iotplatform/enduser-auth/domain"
)

func (s suite) signingKeys(t *testing.T) {
	s.run(t, "EmptyHasNoKeys", func(f *fixture) {
		f.wantKeys(time.Time{})
	})
	s.run(t, "FirstAddRoundTrips", func(f *fixture) {
		k := newKey(f.t, "kid-1", at(0))
		f.add(k, false, true)
		f.wantKeys(time.Time{}, k)
		f.wantKeys(at(time.Hour), k) // the active key is listed whatever retiredSince
	})
	s.run(t, "AddWithoutRetireKeepsTheActiveKey", func(f *fixture) {
		k1 := newKey(f.t, "kid-1", at(0))
		f.add(k1, false, true)
		f.add(newKey(f.t, "kid-2", at(time.Minute)), false, false)
		f.wantKeys(time.Time{}, k1)
	})
	s.run(t, "AddWithRetireOnEmptyStores", func(f *fixture) {
		k := newKey(f.t, "kid-1", at(0))
		f.add(k, true, true)
		f.wantKeys(time.Time{}, k)
	})
	s.run(t, "RotationRetiresTheActiveKey", func(f *fixture) {
		k1 := newKey(f.t, "kid-1", at(0))
		k2 := newKey(f.t, "kid-2", at(time.Hour))
		k3 := newKey(f.t, "kid-3", at(2*time.Hour))
		f.add(k1, false, true)
		f.add(k2, true, true)
		retired1 := k1
		retired1.RetiredAt = k2.CreatedAt
		f.wantKeys(time.Time{}, k2, retired1)

		f.add(k3, true, true)
		retired2 := k2
		retired2.RetiredAt = k3.CreatedAt
		f.wantKeys(time.Time{}, k3, retired2, retired1)
		f.wantKeys(at(time.Hour), k3, retired2, retired1)        // retired at or after: included
		f.wantKeys(at(time.Hour+time.Microsecond), k3, retired2) // k1 retired before: excluded
		f.wantKeys(at(3*time.Hour), k3)
	})
	s.run(t, "ConcurrentFirstAddsStoreOneKey", func(f *fixture) {
		keys := make([]domain.SigningKey, 10)
		for i := range keys {
			keys[i] = newKey(f.t, "kid-"+string(rune('a'+i)), at(0))
		}
		var (
			added atomic.Int32
			wg    sync.WaitGroup
			start = make(chan struct{})
		)
		for _, k := range keys {
			wg.Go(func() {
				<-start
				ok, err := f.SigningKeys.AddSigningKey(f.ctx, k, false)
				if err != nil {
					f.t.Errorf("concurrent AddSigningKey(%s, false): %v", k.KID, err)
				}
				if ok {
					added.Add(1)
				}
			})
		}
		close(start)
		wg.Wait()
		if n := added.Load(); n != 1 {
			f.t.Errorf("10 concurrent first AddSigningKey(false): %d reported true, want 1", n)
		}
		list, err := f.SigningKeys.SigningKeys(f.ctx, time.Time{})
		noErr(f.t, "SigningKeys", err)
		if len(list) != 1 || list[0].Retired() {
			f.t.Errorf("after concurrent first adds: %d keys, want one active key", len(list))
		}
	})
}

// newKey returns an active Ed25519 key created at createdAt.
func newKey(t *testing.T, kid string, createdAt time.Time) domain.SigningKey {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(nil)
	noErr(t, "ed25519.GenerateKey", err)
	return domain.SigningKey{KID: kid, Algorithm: domain.SigningKeyAlgorithm, PublicKey: pub, PrivateKey: priv, CreatedAt: createdAt}
}

func (f *fixture) add(k domain.SigningKey, retireActive, want bool) {
	f.t.Helper()
	ok, err := f.SigningKeys.AddSigningKey(f.ctx, k, retireActive)
	noErr(f.t, "AddSigningKey", err)
	if ok != want {
		f.t.Errorf("AddSigningKey(%s, retireActive %t) = %t, want %t", k.KID, retireActive, ok, want)
	}
}

// wantKeys checks SigningKeys(retiredSince): every field, newest first.
func (f *fixture) wantKeys(retiredSince time.Time, want ...domain.SigningKey) {
	f.t.Helper()
	got, err := f.SigningKeys.SigningKeys(f.ctx, retiredSince)
	noErr(f.t, "SigningKeys", err)
	if len(got) != len(want) {
		f.t.Errorf("SigningKeys(%v) = %v, want %v", retiredSince, kids(got), kids(want))
		return
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.KID != w.KID {
			f.t.Errorf("SigningKeys(%v) = %v, want %v (newest first)", retiredSince, kids(got), kids(want))
			return
		}
		if g.Algorithm != w.Algorithm || !bytes.Equal(g.PublicKey, w.PublicKey) || !bytes.Equal(g.PrivateKey, w.PrivateKey) {
			f.t.Errorf("key %s: algorithm or key bytes differ from the stored ones", w.KID)
		}
		sameTime(f.t, w.KID+" CreatedAt", g.CreatedAt, w.CreatedAt)
		sameTime(f.t, w.KID+" RetiredAt", g.RetiredAt, w.RetiredAt)
	}
}

func kids(keys []domain.SigningKey) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = k.KID
		if k.Retired() {
			out[i] += "(retired)"
		}
	}
	return out
}
