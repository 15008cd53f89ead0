package memory

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/iotplatform/enduser-auth/application"
	"github.com/iotplatform/enduser-auth/domain"
)

// SessionByID implements application.SessionRepository.
func (s *Store) SessionByID(ctx context.Context, id domain.SessionID) (domain.Session, error) {
	if err := live(ctx); err != nil {
		return domain.Session{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	sess, ok := s.sessions[id]
	if !ok {
		return domain.Session{}, domain.E(domain.KindTokenInvalid)
	}
	return withState(sess, sess.Counter(), sess.RefreshExpiresAt(), sess.RotatedAt(), sess.RevokedAt()), nil
}

// AdvanceRefreshCounter implements application.SessionRepository: the check
// and the update happen under one lock, so of concurrent calls with the same
// `from` exactly one succeeds. An unknown session reports false.
func (s *Store) AdvanceRefreshCounter(ctx context.Context, id domain.SessionID, from int64, now, refreshExpiresAt time.Time) (bool, error) {
	if err := live(ctx); err != nil {
		return false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.sessions[id]
	if !ok || sess.Counter() != from || !sess.Active(now) {
		return false, nil
	}
	s.sessions[id] = withState(sess, from+1, refreshExpiresAt, now, time.Time{})
	return true, nil
}

// RevokeSession implements application.SessionRepository. An unknown or
// already revoked session reports false and keeps its revocation time.
func (s *Store) RevokeSession(ctx context.Context, id domain.SessionID, now time.Time, reason string) (bool, error) {
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
	s.setRevokeReason(id, reason)
	return true, nil
}

// RevokeUserSessions implements application.SessionRepository.
func (s *Store) RevokeUserSessions(ctx context.Context, uid string, now time.Time, reason string) ([]domain.SessionID, string, error) {
	if err := live(ctx); err != nil {
		return nil, "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []domain.SessionID
	userDomain := ""
	for id, sess := range s.sessions {
		if sess.UserID() == uid && !sess.Revoked() {
			s.sessions[id] = withState(sess, sess.Counter(), sess.RefreshExpiresAt(), sess.RotatedAt(), now)
			s.setRevokeReason(id, reason)
			ids = append(ids, id)
			userDomain = sess.UserDomain()
		}
	}
	return ids, userDomain, nil
}

// RevokedSessionsSince implements application.SessionRepository. The list is
// ordered by revocation time.
func (s *Store) RevokedSessionsSince(ctx context.Context, since time.Time) ([]application.RevokedSession, error) {
	if err := live(ctx); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	var list []application.RevokedSession
	for id, sess := range s.sessions {
		if sess.Revoked() && !sess.RevokedAt().Before(since) {
			list = append(list, application.RevokedSession{ID: id, RevokedAt: sess.RevokedAt()})
		}
	}
	sort.Slice(list, func(i, j int) bool {
		if !list[i].RevokedAt.Equal(list[j].RevokedAt) {
			return list[i].RevokedAt.Before(list[j].RevokedAt)
		}
		return list[i].ID.String() < list[j].ID.String()
	})
	return list, nil
}

// withState returns a copy of sess, with its own refresh key, in the given
// mutable state.
func withState(sess domain.Session, counter int64, refreshExpiresAt, rotatedAt, revokedAt time.Time) domain.Session {
	return domain.UnmarshalSessionFromDatabase(sess.ID(), sess.UserID(), sess.UserDomainID(), sess.UserDomain(), sess.AppID(),
		cloneBytes(sess.RefreshKey()), counter, sess.CreatedAt(), sess.ExpiresAt(), refreshExpiresAt, rotatedAt, revokedAt)
}

// PurgeSessions implements application.SessionRepository: under one lock it
// takes the lease and deletes at most p.Limit dead sessions, oldest absolute
// expiry first. It has no separate sweep: SweepDone is set when nothing dead
// is left.
func (s *Store) PurgeSessions(ctx context.Context, p application.SessionPurge) (application.PurgeBatch, error) {
	if err := live(ctx); err != nil {
		return application.PurgeBatch{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.purgeHolder != p.Holder && s.purgeLeaseUntil.After(p.Now) {
		return application.PurgeBatch{}, nil
	}
	s.purgeHolder, s.purgeLeaseUntil = p.Holder, p.LeaseUntil
	var dead []domain.Session
	for _, sess := range s.sessions {
		if sess.ExpiresAt().Before(p.Cutoff) || sess.RefreshExpiresAt().Before(p.Cutoff) ||
			(sess.Revoked() && sess.RevokedAt().Before(p.Cutoff)) {
			dead = append(dead, sess)
		}
	}
	sort.Slice(dead, func(i, j int) bool {
		if !dead[i].ExpiresAt().Equal(dead[j].ExpiresAt()) {
			return dead[i].ExpiresAt().Before(dead[j].ExpiresAt())
		}
		return dead[i].ID().String() < dead[j].ID().String()
	})
	if len(dead) > p.Limit {
		dead = dead[:max(p.Limit, 0)]
	}
	for _, sess := range dead {
		delete(s.sessions, sess.ID())
		delete(s.logoutDevices, sess.ID())
		delete(s.revokeReasons, sess.ID())
	}
	return application.PurgeBatch{Held: true, Deleted: len(dead), SweepDone: len(dead) < p.Limit}, nil
}

// SpendRefreshToken implements application.SessionRepository: the check and
// the update happen under one lock, so of concurrent calls with the same
// `from` exactly one spends; a call that does not spend returns the session
// as it is (which, under the lock, is as it was when the call began).
func (s *Store) SpendRefreshToken(ctx context.Context, id domain.SessionID, from int64, now, refreshExpiresAt time.Time) (domain.Session, bool, error) {
	if err := live(ctx); err != nil {
		return domain.Session{}, false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.sessions[id]
	if !ok {
		return domain.Session{}, false, domain.E(domain.KindTokenInvalid)
	}
	if sess.Counter() != from || !sess.Active(now) {
		return withState(sess, sess.Counter(), sess.RefreshExpiresAt(), sess.RotatedAt(), sess.RevokedAt()), false, nil
	}
	if refreshExpiresAt.After(sess.ExpiresAt()) {
		refreshExpiresAt = sess.ExpiresAt()
	}
	s.sessions[id] = withState(sess, from+1, refreshExpiresAt, now, time.Time{})
	return withState(sess, from+1, refreshExpiresAt, now, time.Time{}), true, nil
}

// RefreshMasterKeys implements application.RefreshKeyRepository.
func (s *Store) RefreshMasterKeys(ctx context.Context) ([]domain.RefreshMasterKey, error) {
	if err := live(ctx); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	list := make([]domain.RefreshMasterKey, 0, len(s.refreshKeys))
	for _, k := range s.refreshKeys {
		c, err := domain.UnmarshalRefreshMasterKeyFromDatabase(k.ID(), cloneBytes(k.Secret()), k.CreatedAt())
		if err != nil {
			return nil, err
		}
		list = append(list, c)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].ID() < list[j].ID() })
	return list, nil
}

// AddRefreshMasterKey implements application.RefreshKeyRepository.
func (s *Store) AddRefreshMasterKey(ctx context.Context, k domain.RefreshMasterKey) (bool, error) {
	if err := live(ctx); err != nil {
		return false, err
	}
	if k.ID() == 0 || k.ID() > 1<<31-1 {
		return false, fmt.Errorf("memory: refresh master key id %d out of 1..2^31-1", k.ID())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.refreshKeys[k.ID()]; dup {
		return false, nil
	}
	c, err := domain.UnmarshalRefreshMasterKeyFromDatabase(k.ID(), cloneBytes(k.Secret()), k.CreatedAt())
	if err != nil {
		return false, fmt.Errorf("memory: %w", err)
	}
	s.refreshKeys[k.ID()] = c
	return true, nil
}

// InsertSession stores sess as it is, outside any login: for tests that need
// a session as an older version of the module left it (a version-1 one).
// Production code creates sessions with UserRepository.RecordLogin only.
func (s *Store) InsertSession(ctx context.Context, sess domain.Session) error {
	if err := live(ctx); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sessions[sess.ID()] = sess
	return nil
}
