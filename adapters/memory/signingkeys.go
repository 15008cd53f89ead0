package memory

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/iotplatform/enduser-auth/domain"
)

// SigningKeys implements token.KeyRepository.
func (s *Store) SigningKeys(ctx context.Context, retiredSince time.Time) ([]domain.SigningKey, error) {
	if err := live(ctx); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	var list []domain.SigningKey
	for i := len(s.signingKeys) - 1; i >= 0; i-- {
		k := s.signingKeys[i]
		if _, revoked := s.revokedKeys[k.KID]; revoked {
			continue
		}
		if !k.Retired() || !k.RetiredAt.Before(retiredSince) {
			list = append(list, cloneKey(k))
		}
	}
	// Newest first; among equal creation times, the later insertion first.
	sort.SliceStable(list, func(i, j int) bool { return list[i].CreatedAt.After(list[j].CreatedAt) })
	return list, nil
}

// AddSigningKey implements token.KeyRepository.
func (s *Store) AddSigningKey(ctx context.Context, k domain.SigningKey, retireActive bool) (bool, error) {
	if err := live(ctx); err != nil {
		return false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	active := -1
	for i, old := range s.signingKeys {
		if old.KID == k.KID {
			return false, fmt.Errorf("memory: signing key %q already exists", k.KID)
		}
		if !old.Retired() {
			active = i
		}
	}
	if active >= 0 {
		if !retireActive {
			return false, nil
		}
		s.signingKeys[active].RetiredAt = k.CreatedAt
	}
	k = cloneKey(k)
	k.RetiredAt = time.Time{}
	s.signingKeys = append(s.signingKeys, k)
	return true, nil
}

// RevokeSigningKey implements token.KeyRepository.
func (s *Store) RevokeSigningKey(ctx context.Context, kid string, at time.Time, replacement domain.SigningKey) (bool, error) {
	if err := live(ctx); err != nil {
		return false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, k := range s.signingKeys {
		if k.KID != kid {
			continue
		}
		if _, revoked := s.revokedKeys[kid]; revoked {
			break
		}
		if s.revokedKeys == nil {
			s.revokedKeys = make(map[string]time.Time)
		}
		s.revokedKeys[kid] = at
		if k.Retired() {
			return false, nil
		}
		s.signingKeys[i].RetiredAt = at
		replacement = cloneKey(replacement)
		replacement.RetiredAt = time.Time{}
		s.signingKeys = append(s.signingKeys, replacement)
		return true, nil
	}
	return false, domain.Errorf(domain.KindNotFound, "no signing key %q (or it is revoked already)", kid)
}

// cloneKey returns a copy of k that shares no memory with it.
func cloneKey(k domain.SigningKey) domain.SigningKey {
	k.PublicKey = cloneBytes(k.PublicKey)
	k.PrivateKey = cloneBytes(k.PrivateKey)
	return k
}
