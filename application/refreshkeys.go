package application

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/iotplatform/enduser-auth/domain"
)

// unknownRefreshKeyReloadInterval bounds the reloads that refresh tokens
// naming an unknown master key can cause (a key added by another instance;
// or garbage, which must not hammer the store).
const unknownRefreshKeyReloadInterval = time.Second

// firstRefreshKeyID is the id of the master key created on first start.
const firstRefreshKeyID = 1

// refreshKeyring holds the refresh master keys, loaded from the store on
// first use (and created there on the very first start). The newest key
// (highest id) starts new sessions; every held key verifies the tokens that
// name it.
type refreshKeyring struct {
	repo  RefreshKeyRepository
	clock Clock

	set atomic.Pointer[refreshKeySet]

	mu       sync.Mutex // serializes loads
	lastLoad time.Time
}

type refreshKeySet struct {
	byID    map[uint32]domain.RefreshMasterKey
	current domain.RefreshMasterKey
}

func newRefreshKeyring(repo RefreshKeyRepository, clock Clock) *refreshKeyring {
	return &refreshKeyring{repo: repo, clock: clock}
}

// current returns the key that starts new sessions.
func (r *refreshKeyring) current(ctx context.Context) (domain.RefreshMasterKey, error) {
	if set := r.set.Load(); set != nil {
		return set.current, nil
	}
	set, err := r.load(ctx, false)
	if err != nil {
		return domain.RefreshMasterKey{}, err
	}
	return set.current, nil
}

// byID returns the key of id; ok is false when the store has no such key
// either (the token is forged or garbage).
func (r *refreshKeyring) byID(ctx context.Context, id uint32) (k domain.RefreshMasterKey, ok bool, err error) {
	set := r.set.Load()
	if set != nil {
		if k, ok = set.byID[id]; ok {
			return k, true, nil
		}
	}
	if set, err = r.load(ctx, set != nil); err != nil {
		return domain.RefreshMasterKey{}, false, err
	}
	k, ok = set.byID[id]
	return k, ok, nil
}

// load loads the keys, creating the first one when the store has none. With
// rateLimited (a reload for an unknown id) it reloads at most once per
// unknownRefreshKeyReloadInterval and otherwise returns the held keys.
func (r *refreshKeyring) load(ctx context.Context, rateLimited bool) (*refreshKeySet, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.clock.Now()
	if held := r.set.Load(); held != nil {
		if !rateLimited || (now.Sub(r.lastLoad) < unknownRefreshKeyReloadInterval && !now.Before(r.lastLoad)) {
			return held, nil // loaded meanwhile by another caller, or reloaded too recently
		}
	}
	list, err := r.repo.RefreshMasterKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("load refresh master keys: %w", err)
	}
	if len(list) == 0 {
		// First start. Of instances racing here, one stores its key and all
		// use that one.
		if _, err := r.repo.AddRefreshMasterKey(ctx, domain.NewRefreshMasterKey(firstRefreshKeyID, now)); err != nil {
			return nil, fmt.Errorf("create the first refresh master key: %w", err)
		}
		if list, err = r.repo.RefreshMasterKeys(ctx); err != nil {
			return nil, fmt.Errorf("load refresh master keys: %w", err)
		}
		if len(list) == 0 {
			return nil, fmt.Errorf("load refresh master keys: none stored after creating one")
		}
	}
	set := &refreshKeySet{byID: make(map[uint32]domain.RefreshMasterKey, len(list))}
	for _, k := range list {
		set.byID[k.ID()] = k
		if k.ID() > set.current.ID() {
			set.current = k
		}
	}
	r.set.Store(set)
	r.lastLoad = now
	return set, nil
}
