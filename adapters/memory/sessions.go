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
	return s.covered(sess)
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

type scopeKey struct {
	scope   application.RevocationScope
	subject string
}

// covered returns sess as the scope revocations see it (under s.mu):
// KindUserDisabled for a disabled user, revoked when a scope covers it.
func (s *Store) covered(sess domain.Session) (domain.Session, error) {
	u := s.scopes[scopeKey{application.ScopeUser, sess.UserID()}]
	if u.Disabled {
		return domain.Session{}, domain.E(domain.KindUserDisabled)
	}
	out := withState(sess, sess.Counter(), sess.RefreshExpiresAt(), sess.RotatedAt(), sess.RevokedAt())
	if sess.Revoked() {
		return out, nil
	}
	for _, before := range []time.Time{u.RevokedBefore, s.scopes[scopeKey{application.ScopeUserDomain, sess.UserDomain()}].RevokedBefore} {
		if domain.RevokedBy(sess.CreatedAt(), before) {
			return withState(sess, sess.Counter(), sess.RefreshExpiresAt(), sess.RotatedAt(), before), nil
		}
	}
	return out, nil
}

// RevokeScope implements application.SessionRepository.
func (s *Store) RevokeScope(ctx context.Context, scope application.RevocationScope, subject string, before time.Time) (int, string, error) {
	if err := live(ctx); err != nil {
		return 0, "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	userDomain := ""
	switch scope {
	case application.ScopeUser:
		u, ok := s.users[subject]
		if !ok {
			return 0, "", nil
		}
		userDomain = s.domains[u.UserDomainID()].Name()
	case application.ScopeUserDomain:
		if _, ok := s.domainIDs[subject]; !ok {
			return 0, "", nil
		}
		userDomain = subject
	default:
		return 0, "", fmt.Errorf("memory: unknown revocation scope %q", scope)
	}
	n := 0
	for _, sess := range s.sessions {
		if (scope == application.ScopeUser && sess.UserID() != subject) || (scope == application.ScopeUserDomain && sess.UserDomain() != subject) {
			continue
		}
		if !sess.Active(before) || !domain.RevokedBy(sess.CreatedAt(), before) {
			continue
		}
		if c, err := s.covered(sess); err == nil && c.Revoked() {
			continue // ended before
		}
		n++
	}
	k := scopeKey{scope, subject}
	r := s.scopes[k]
	r.Scope, r.Subject, r.UpdatedAt = scope, subject, before
	if before.After(r.RevokedBefore) {
		r.RevokedBefore = before
	}
	s.scopes[k] = r
	return n, userDomain, nil
}

// SetUserDisabled implements application.UserRepository.
func (s *Store) SetUserDisabled(ctx context.Context, uid string, disabled bool, now time.Time) (string, error) {
	if err := live(ctx); err != nil {
		return "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[uid]
	if !ok {
		return "", domain.E(domain.KindUserNotFound)
	}
	status := domain.UserNormal
	if disabled {
		status = domain.UserDisabled
	}
	s.users[uid] = domain.UnmarshalEndUserFromDatabase(u.ID(), u.UserDomainID(), status, u.RegisteredAt(), u.LastLoginAt())
	k := scopeKey{application.ScopeUser, uid}
	r, had := s.scopes[k]
	switch {
	case disabled:
		r.Scope, r.Subject, r.Disabled, r.UpdatedAt = application.ScopeUser, uid, true, now
		if now.After(r.RevokedBefore) {
			r.RevokedBefore = now
		}
		s.scopes[k] = r
	case had && r.Disabled:
		r.Disabled, r.UpdatedAt = false, now
		s.scopes[k] = r
	}
	return s.domains[u.UserDomainID()].Name(), nil
}

// ScopeRevocationsSince implements application.SessionRepository.
func (s *Store) ScopeRevocationsSince(ctx context.Context, since time.Time) ([]application.ScopeRevocation, error) {
	if err := live(ctx); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	var list []application.ScopeRevocation
	for _, r := range s.scopes {
		if !r.UpdatedAt.Before(since) {
			list = append(list, r)
		}
	}
	sort.Slice(list, func(i, j int) bool {
		if !list[i].UpdatedAt.Equal(list[j].UpdatedAt) {
			return list[i].UpdatedAt.Before(list[j].UpdatedAt)
		}
		return list[i].Scope+"/"+application.RevocationScope(list[i].Subject) < list[j].Scope+"/"+application.RevocationScope(list[j].Subject)
	})
	return list, nil
}

// PurgeScopeRevocations implements application.SessionRepository.
func (s *Store) PurgeScopeRevocations(ctx context.Context, cutoff time.Time, limit int) (int, error) {
	if err := live(ctx); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for k, r := range s.scopes {
		if n >= limit {
			break
		}
		if !r.Disabled && r.RevokedBefore.Before(cutoff) && r.UpdatedAt.Before(cutoff) {
			delete(s.scopes, k)
			n++
		}
	}
	return n, nil
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
	stored, ok := s.sessions[id]
	if !ok {
		return domain.Session{}, false, domain.E(domain.KindTokenInvalid)
	}
	sess, err := s.covered(stored)
	if err != nil {
		return domain.Session{}, false, err
	}
	if sess.Counter() != from || !sess.Active(now) {
		return sess, false, nil
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
