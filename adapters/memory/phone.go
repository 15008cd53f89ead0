package memory

import (
	"context"
	"time"

	"github.com/iotplatform/enduser-auth/application"
	"github.com/iotplatform/enduser-auth/domain"
)

var (
	_ application.PhoneRepository         = (*Store)(nil)
	_ application.ForcedRefreshRepository = (*Store)(nil)
)

// BindPhone implements application.PhoneRepository: under the lock, so one
// of two concurrent binds of a number wins.
func (s *Store) BindPhone(ctx context.Context, uid string, phone domain.PhoneNumber) (bool, error) {
	if err := live(ctx); err != nil {
		return false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[uid]
	if !ok {
		return false, domain.E(domain.KindUserNotFound)
	}
	for other, p := range s.phones {
		if other != uid && p == phone && s.users[other].UserDomainID() == u.UserDomainID() {
			return false, domain.E(domain.KindPhoneTaken)
		}
	}
	if s.phones == nil {
		s.phones = map[string]domain.PhoneNumber{}
	}
	if s.phones[uid] == phone {
		return false, nil
	}
	s.phones[uid] = phone
	return true, nil
}

// UserPhone implements application.PhoneRepository.
func (s *Store) UserPhone(ctx context.Context, uid string) (domain.PhoneNumber, error) {
	if err := live(ctx); err != nil {
		return domain.PhoneNumber{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if _, ok := s.users[uid]; !ok {
		return domain.PhoneNumber{}, domain.E(domain.KindUserNotFound)
	}
	return s.phones[uid], nil
}

// UnbindPhone implements application.PhoneRepository.
func (s *Store) UnbindPhone(ctx context.Context, uid string) (string, bool, error) {
	if err := live(ctx); err != nil {
		return "", false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[uid]
	if !ok {
		return "", false, domain.E(domain.KindUserNotFound)
	}
	_, had := s.phones[uid]
	delete(s.phones, uid)
	return s.domains[u.UserDomainID()].Name(), had, nil
}

// ClaimForcedRefresh implements application.ForcedRefreshRepository.
func (s *Store) ClaimForcedRefresh(ctx context.Context, appID string, now time.Time, every time.Duration) (bool, error) {
	if err := live(ctx); err != nil {
		return false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if last, ok := s.forcedRefreshes[appID]; ok && last.After(now.Add(-every)) {
		return false, nil
	}
	if s.forcedRefreshes == nil {
		s.forcedRefreshes = map[string]time.Time{}
	}
	s.forcedRefreshes[appID] = now
	return true, nil
}
