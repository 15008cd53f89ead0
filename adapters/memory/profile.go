package memory

import (
	"context"
	"time"

	"github.com/iotplatform/enduser-auth/domain"
)

// UserProfile implements application.UserRepository.
func (s *Store) UserProfile(ctx context.Context, uid string) (domain.Profile, error) {
	if err := live(ctx); err != nil {
		return domain.Profile{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if _, ok := s.users[uid]; !ok {
		return domain.Profile{}, domain.E(domain.KindUserNotFound)
	}
	return copyProfile(s.profiles[uid]), nil
}

// UpdateUserProfile implements application.UserRepository: under the lock,
// so concurrent updates of different fields both land.
func (s *Store) UpdateUserProfile(ctx context.Context, uid string, u domain.ProfileUpdate) error {
	if err := live(ctx); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.users[uid]; !ok {
		return domain.E(domain.KindUserNotFound)
	}
	if !u.Empty() {
		s.profiles[uid] = copyProfile(u.Apply(s.profiles[uid]))
	}
	return nil
}

// LogoutSession implements application.SessionRepository.
func (s *Store) LogoutSession(ctx context.Context, id domain.SessionID, now time.Time, deviceID string) (bool, error) {
	if err := live(ctx); err != nil {
		return false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.sessions[id]
	if !ok || sess.Revoked() {
		return false, nil
	}
	s.sessions[id] = withState(sess, sess.Counter(), sess.RefreshExpiresAt(), sess.RotatedAt(), now)
	s.setRevokeReason(id, "logout")
	if deviceID != "" {
		s.logoutDevices[id] = deviceID
	}
	return true, nil
}

// LogoutDevice returns the device a logout of session id named ("" none), for tests.
func (s *Store) LogoutDevice(id domain.SessionID) string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.logoutDevices[id]
}

// copyProfile copies the int pointers, so that callers never share the store's memory.
func copyProfile(p domain.Profile) domain.Profile {
	cp := func(v *int) *int {
		if v == nil {
			return nil
		}
		n := *v
		return &n
	}
	p.Sex, p.Lang, p.Nationality, p.Timezone = cp(p.Sex), cp(p.Lang), cp(p.Nationality), cp(p.Timezone)
	return p
}
