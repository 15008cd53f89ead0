package memory

import (
	"context"
	"sort"
	"time"

	"github.com/iotplatform/enduser-auth/application"
	"github.com/iotplatform/enduser-auth/domain"
)

// RequestDeletion implements application.AccountDeletionRepository.
func (s *Store) RequestDeletion(ctx context.Context, uid string, due time.Time) (application.PendingDeletion, error) {
	if err := live(ctx); err != nil {
		return application.PendingDeletion{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[uid]
	if !ok {
		return application.PendingDeletion{}, domain.E(domain.KindUserNotFound)
	}
	if pending, ok := s.deletionDue[uid]; !ok || due.Before(pending) {
		s.deletionDue[uid] = due
	}
	return application.PendingDeletion{UID: uid, UserDomain: s.domains[u.UserDomainID()].Name(), DueAt: s.deletionDue[uid]}, nil
}

// DueDeletions implements application.AccountDeletionRepository.
func (s *Store) DueDeletions(ctx context.Context, now time.Time, limit int) ([]string, error) {
	if err := live(ctx); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	var uids []string
	for uid, due := range s.deletionDue {
		if domain.DeletionIsDue(due, now) {
			uids = append(uids, uid)
		}
	}
	sort.Slice(uids, func(i, j int) bool {
		a, b := s.deletionDue[uids[i]], s.deletionDue[uids[j]]
		return a.Before(b) || (a.Equal(b) && uids[i] < uids[j])
	})
	if len(uids) > limit {
		uids = uids[:limit]
	}
	return uids, nil
}

// EraseUser implements application.AccountDeletionRepository.
func (s *Store) EraseUser(ctx context.Context, uid string, now time.Time) (application.ErasedUser, bool, error) {
	if err := live(ctx); err != nil {
		return application.ErasedUser{}, false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[uid]
	if !ok || !domain.DeletionIsDue(s.deletionDue[uid], now) {
		return application.ErasedUser{}, false, nil
	}
	for k, b := range s.identities {
		if b.uid == uid {
			delete(s.identities, k)
		}
	}
	for k, holder := range s.unions {
		if holder == uid {
			delete(s.unions, k)
		}
	}
	for id, sess := range s.sessions {
		if sess.UserID() == uid {
			delete(s.sessions, id)
			delete(s.logoutDevices, id)
			delete(s.revokeReasons, id)
		}
	}
	delete(s.users, uid)
	delete(s.profiles, uid)
	delete(s.phones, uid)
	delete(s.registeredVia, uid)
	delete(s.deletionDue, uid)
	e := application.ErasedUser{UID: uid, UserDomain: s.domains[u.UserDomainID()].Name(), ErasedAt: now}
	s.outboxSeq++
	s.outbox = append(s.outbox, application.ErasureNotice{ID: s.outboxSeq, User: e})
	s.outboxNext[s.outboxSeq] = now
	return e, true, nil
}

// ClaimErasureNotices implements application.AccountDeletionRepository.
func (s *Store) ClaimErasureNotices(ctx context.Context, now, claimUntil time.Time, limit int) ([]application.ErasureNotice, error) {
	if err := live(ctx); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var due []application.ErasureNotice
	for _, n := range s.outbox {
		if !s.outboxNext[n.ID].After(now) {
			due = append(due, n)
		}
	}
	sort.SliceStable(due, func(i, j int) bool {
		a, b := s.outboxNext[due[i].ID], s.outboxNext[due[j].ID]
		return a.Before(b) || (a.Equal(b) && due[i].ID < due[j].ID)
	})
	if len(due) > limit {
		due = due[:limit]
	}
	for _, n := range due {
		s.outboxNext[n.ID] = claimUntil
	}
	return due, nil
}

// CompleteErasureNotice implements application.AccountDeletionRepository.
func (s *Store) CompleteErasureNotice(ctx context.Context, id int64) error {
	if err := live(ctx); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, n := range s.outbox {
		if n.ID == id {
			s.outbox = append(s.outbox[:i], s.outbox[i+1:]...)
			delete(s.outboxNext, id)
			return nil
		}
	}
	return nil
}

// RetryErasureNotice implements application.AccountDeletionRepository.
func (s *Store) RetryErasureNotice(ctx context.Context, id int64, at time.Time) error {
	if err := live(ctx); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, n := range s.outbox {
		if n.ID == id {
			s.outbox[i].Attempts++
			s.outboxNext[id] = at
			return nil
		}
	}
	return nil // delivered meanwhile by another dispatcher
}
