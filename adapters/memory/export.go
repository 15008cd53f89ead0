package memory

import (
	"bytes"
	"context"
	"sort"
	"time"

	"github.com/iotplatform/enduser-auth/application"
	"github.com/iotplatform/enduser-auth/domain"
)

// setRevokeReason records why session id was revoked ("" none); the caller
// holds the lock.
func (s *Store) setRevokeReason(id domain.SessionID, reason string) {
	if reason != "" {
		s.revokeReasons[id] = reason
	}
}

// UserExportData implements application.UserExportRepository, under the
// store's read lock (one consistent reading). Sessions are returned without
// their refresh keys.
func (s *Store) UserExportData(ctx context.Context, uid string) (application.StoredUserData, error) {
	if err := live(ctx); err != nil {
		return application.StoredUserData{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	u, ok := s.users[uid]
	if !ok {
		return application.StoredUserData{}, domain.E(domain.KindUserNotFound)
	}
	out := application.StoredUserData{User: u, RegisteredVia: domain.AppKindOfficialAccount,
		DeletionDueAt: s.deletionDue[uid], Profile: copyProfile(s.profiles[uid])}
	if d, ok := s.domains[u.UserDomainID()]; ok {
		out.UserDomain = d.Name()
	}
	if k, ok := s.registeredVia[uid]; ok {
		out.RegisteredVia = k
	}
	for _, b := range s.bindingsOf(u) {
		out.Identities = append(out.Identities, application.StoredIdentity{Kind: b.kind, BoundAt: b.at, Identity: b.identity})
	}
	for id, sess := range s.sessions {
		if sess.UserID() != uid {
			continue
		}
		// As the scope revocations see it (ended by logout-all, disable,
		// deletion or the user domain's disable), rebuilt without the key:
		// nothing secret leaves the store here.
		revokedAt, reason := sess.RevokedAt(), s.revokeReasons[id]
		if !sess.Revoked() {
			for _, c := range []struct {
				before time.Time
				reason string
			}{{s.scopes[scopeKey{application.ScopeUser, uid}].RevokedBefore, "user_sessions_ended"},
				{s.scopes[scopeKey{application.ScopeUserDomain, sess.UserDomain()}].RevokedBefore, "user_domain_disabled"}} {
				if revokedAt.IsZero() && domain.RevokedBy(sess.CreatedAt(), c.before) {
					revokedAt, reason = c.before, c.reason
				}
			}
		}
		bare := domain.UnmarshalSessionFromDatabase(sess.ID(), sess.UserID(), sess.UserDomainID(), sess.UserDomain(), sess.AppID(),
			nil, sess.Counter(), sess.CreatedAt(), sess.ExpiresAt(), sess.RefreshExpiresAt(), sess.RotatedAt(), revokedAt)
		out.Sessions = append(out.Sessions, application.StoredSession{Session: bare, RevokeReason: reason,
			LogoutDeviceID: s.logoutDevices[id]})
	}
	sort.Slice(out.Sessions, func(i, j int) bool {
		a, b := out.Sessions[i].Session, out.Sessions[j].Session
		if !a.CreatedAt().Equal(b.CreatedAt()) {
			return a.CreatedAt().Before(b.CreatedAt())
		}
		ai, bi := a.ID(), b.ID()
		return bytes.Compare(ai[:], bi[:]) < 0
	})
	return out, nil
}
