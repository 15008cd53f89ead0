package memory

import (
	"context"
	"time"
)

// ClaimWebsiteState implements application.WebsiteStateStore.
func (s *Store) ClaimWebsiteState(ctx context.Context, digest []byte, expiresAt time.Time) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.websiteStates == nil {
		s.websiteStates = map[string]time.Time{}
	}
	if _, ok := s.websiteStates[string(digest)]; ok {
		return false, nil
	}
	s.websiteStates[string(digest)] = expiresAt
	return true, nil
}

// PurgeWebsiteStates implements application.WebsiteStateStore.
func (s *Store) PurgeWebsiteStates(ctx context.Context, cutoff time.Time, limit int) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for d, exp := range s.websiteStates {
		if n >= limit {
			break
		}
		if exp.Before(cutoff) {
			delete(s.websiteStates, d)
			n++
		}
	}
	return n, nil
}
