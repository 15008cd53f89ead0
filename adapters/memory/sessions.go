package memory

import (
	"context"
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
func (s *Store) RevokeSession(ctx context.Context, id domain.SessionID, now time.Time, _ string) (bool, error) {
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
	return true, nil
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
	}
	return application.PurgeBatch{Held: true, Deleted: len(dead), SweepDone: len(dead) < p.Limit}, nil
}
