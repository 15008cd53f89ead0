package token

import (
	"context"
	"fmt"
	"time"
)

// keys returns the held key set, loading it on first use and refreshing it
// every KeyRefreshInterval.
//
// A due refresh is claimed by swapping in (compare-and-swap) the same keys
// due again refreshRetryInterval later: the one caller whose swap succeeds
// reloads, every other caller sees keys that are not due and goes on with
// them, without waiting. A failed refresh keeps the held keys; the claim's
// due time is the retry.
func (i *Issuer) keys(ctx context.Context) (*keySet, error) {
	now := i.clock.Now()
	if st := i.state.Load(); st != nil {
		if now.Before(st.nextRefresh) {
			return st.set, nil
		}
		if !i.state.CompareAndSwap(st, &keyState{set: st.set, nextRefresh: now.Add(refreshRetryInterval)}) {
			return i.state.Load().set, nil // another caller refreshes, or just did
		}
		i.loadMu.Lock()
		defer i.loadMu.Unlock()
		fresh, err := i.loadLocked(ctx, now)
		if err != nil {
			return i.state.Load().set, nil
		}
		return fresh, nil
	}
	i.loadMu.Lock()
	defer i.loadMu.Unlock()
	if st := i.state.Load(); st != nil {
		return st.set, nil
	}
	return i.loadLocked(ctx, now)
}

// markStale makes the next use reload (after a stored change whose reload
// failed). i.loadMu is held.
func (i *Issuer) markStale() {
	if st := i.state.Load(); st != nil {
		i.state.Store(&keyState{set: st.set})
	}
}

// RotateSigningKey stores a new signing key, retiring the current one, and
// returns its kid. The new key is published (JWKS) and verifies at once, but
// it signs only PublishDelay later, on every instance alike; until then the
// key it retired goes on signing. Tokens signed by the retired key keep
// verifying until they expire.
func (i *Issuer) RotateSigningKey(ctx context.Context) (string, error) {
	now := i.clock.Now()
	k, err := newSigningKey(now)
	if err != nil {
		return "", err
	}
	if _, err := i.repo.AddSigningKey(ctx, k, true); err != nil {
		return "", fmt.Errorf("token: storing the new signing key: %w", err)
	}
	i.loadMu.Lock()
	defer i.loadMu.Unlock()
	if _, err := i.loadLocked(ctx, now); err != nil {
		i.markStale() // the rotation is stored; make the next use reload
	}
	return k.KID, nil
}

// RevokeSigningKey revokes kid in the store and reloads the keys. When kid
// was the active key, a new key replaces it that signs at once: it is dated
// PublishDelay back, so that every instance's signerAt picks it at once (no
// publish delay: the revoked key is compromised and external verifiers that
// cached the JWKS must refresh on the unknown kid). It returns the kid that
// signs now.
func (i *Issuer) RevokeSigningKey(ctx context.Context, kid string) (string, error) {
	now := i.clock.Now()
	k, err := newSigningKey(now.Add(-i.cfg.PublishDelay))
	if err != nil {
		return "", err
	}
	if _, err := i.repo.RevokeSigningKey(ctx, kid, now, k); err != nil {
		return "", err
	}
	i.loadMu.Lock()
	defer i.loadMu.Unlock()
	set, err := i.loadLocked(ctx, now)
	if err != nil {
		i.markStale()
		return "", fmt.Errorf("token: the key is revoked, reloading the keys: %w", err)
	}
	signer := set.signerAt(now)
	if signer == nil {
		return "", fmt.Errorf("%w: no key may sign after the revocation", errStore)
	}
	return signer.kid, nil
}

// ReloadSigningKeys reloads the keys now (the revocation sync calls it) and
// reports whether a key held before is gone: revoked, or past its last
// token. It implements application.SigningKeyReloader.
func (i *Issuer) ReloadSigningKeys(ctx context.Context) (bool, error) {
	i.loadMu.Lock()
	defer i.loadMu.Unlock()
	before := i.state.Load()
	after, err := i.loadLocked(ctx, i.clock.Now())
	if err != nil {
		return false, err
	}
	if before == nil {
		return false, nil
	}
	for kid := range before.set.byKID {
		if _, ok := after.byKID[kid]; !ok {
			return true, nil
		}
	}
	return false, nil
}

// reloadForUnknownKID reloads the keys unless another caller just found kid
// or a reload for an unknown kid happened less than a second ago.
func (i *Issuer) reloadForUnknownKID(ctx context.Context, kid string) (*keySet, error) {
	i.loadMu.Lock()
	defer i.loadMu.Unlock()
	set := i.state.Load().set
	if _, ok := set.byKID[kid]; ok {
		return set, nil
	}
	now := i.clock.Now()
	if !i.lastKIDReload.IsZero() && now.Sub(i.lastKIDReload) < unknownKIDReloadInterval {
		return set, nil
	}
	i.lastKIDReload = now
	return i.loadLocked(ctx, now)
}

// loadLocked reads the keys from the repository and holds them. When no key
// may sign (the store is empty) it creates one, which signs at once; if
// another instance created one first, the stored key wins. i.loadMu is held.
func (i *Issuer) loadLocked(ctx context.Context, now time.Time) (*keySet, error) {
	set, err := i.fetch(ctx, now)
	if err != nil {
		return nil, err
	}
	if set.signerAt(now) == nil {
		k, err := newSigningKey(now)
		if err != nil {
			return nil, err
		}
		if _, err := i.repo.AddSigningKey(ctx, k, false); err != nil {
			return nil, fmt.Errorf("%w: creating the first signing key: %w", errStore, err)
		}
		if set, err = i.fetch(ctx, now); err != nil {
			return nil, err
		}
		if set.signerAt(now) == nil {
			return nil, fmt.Errorf("%w: no key may sign after creating one", errStore)
		}
	}
	i.state.Store(&keyState{set: set, nextRefresh: now.Add(i.cfg.KeyRefreshInterval)})
	return set, nil
}

// fetch reads the keys that may still verify at now.
func (i *Issuer) fetch(ctx context.Context, now time.Time) (*keySet, error) {
	list, err := i.repo.SigningKeys(ctx, now.Add(-(i.cfg.AccessTokenTTL + i.cfg.verifySlack())))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errStore, err)
	}
	set, err := newKeySet(list, i.cfg, now)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errStore, err)
	}
	return set, nil
}
