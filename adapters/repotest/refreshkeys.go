package repotest

import (
	"bytes"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/iotplatform/enduser-auth/domain"
)

// refreshKeys is the contract of the refresh master keys, which every
// SessionRepository stores.
func (s suite) refreshKeys(t *testing.T) {
	s.run(t, "EmptyHasNoKeys", func(f *fixture) {
		f.wantRefreshKeys()
	})
	s.run(t, "AddRoundTripsAndKeepsTheFirstOfAnID", func(f *fixture) {
		k1 := domain.NewRefreshMasterKey(1, at(0))
		f.addRefreshKey(k1, true)
		f.wantRefreshKeys(k1)
		f.addRefreshKey(domain.NewRefreshMasterKey(1, at(time.Minute)), false) // another instance's first start, too late
		f.wantRefreshKeys(k1)
		k3 := domain.NewRefreshMasterKey(3, at(time.Hour))
		k2 := domain.NewRefreshMasterKey(2, at(2*time.Hour))
		f.addRefreshKey(k3, true)
		f.addRefreshKey(k2, true)
		f.wantRefreshKeys(k1, k2, k3) // by ascending id
	})
	s.run(t, "ConcurrentFirstAddsStoreOneKey", func(f *fixture) {
		var (
			added atomic.Int32
			wg    sync.WaitGroup
			start = make(chan struct{})
		)
		for range 10 {
			wg.Go(func() {
				<-start
				ok, err := f.Sessions.AddRefreshMasterKey(f.ctx, domain.NewRefreshMasterKey(1, at(0)))
				if err != nil {
					f.t.Errorf("concurrent AddRefreshMasterKey: %v", err)
				}
				if ok {
					added.Add(1)
				}
			})
		}
		close(start)
		wg.Wait()
		if n := added.Load(); n != 1 {
			f.t.Errorf("10 concurrent first AddRefreshMasterKey: %d reported true, want 1", n)
		}
		list, err := f.Sessions.RefreshMasterKeys(f.ctx)
		noErr(f.t, "RefreshMasterKeys", err)
		if len(list) != 1 {
			f.t.Errorf("after concurrent first adds: %d keys, want 1", len(list))
		}
	})
	s.run(t, "IDZeroIsRefused", func(f *fixture) {
		if _, err := f.Sessions.AddRefreshMasterKey(f.ctx, domain.RefreshMasterKey{}); err == nil {
			f.t.Error("AddRefreshMasterKey(id 0) succeeded")
		}
		f.wantRefreshKeys()
	})
}

func (f *fixture) addRefreshKey(k domain.RefreshMasterKey, want bool) {
	f.t.Helper()
	ok, err := f.Sessions.AddRefreshMasterKey(f.ctx, k)
	noErr(f.t, "AddRefreshMasterKey", err)
	if ok != want {
		f.t.Errorf("AddRefreshMasterKey(%d) = %t, want %t", k.ID(), ok, want)
	}
}

// wantRefreshKeys checks RefreshMasterKeys: every field, by ascending id.
func (f *fixture) wantRefreshKeys(want ...domain.RefreshMasterKey) {
	f.t.Helper()
	got, err := f.Sessions.RefreshMasterKeys(f.ctx)
	noErr(f.t, "RefreshMasterKeys", err)
	if len(got) != len(want) {
		f.t.Fatalf("RefreshMasterKeys: %d keys, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.ID() != w.ID() || !bytes.Equal(g.Secret(), w.Secret()) {
			f.t.Errorf("key %d: id %d or secret differ from the stored key %d", i, g.ID(), w.ID())
		}
		sameTime(f.t, "CreatedAt", g.CreatedAt(), w.CreatedAt())
	}
}
