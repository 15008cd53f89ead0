package memory

import (
	"context"
	"fmt"
	"time"

	"github.com/iotplatform/enduser-auth/domain"
)

// identityKey identifies a person under one official account.
type identityKey struct {
	userDomainID int64
	appID        string
	openID       string
}

// binding is what a WeChat identity is bound to.
type binding struct {
	uid     string
	unionID string
}

// unionKey identifies a person across the official accounts of one Open
// Platform account.
type unionKey struct {
	userDomainID int64
	unionID      string
}

// FindOrRegisterWeChatUser implements application.UserRepository. The store's
// lock makes it atomic, so concurrent calls for one person yield one user.
func (s *Store) FindOrRegisterWeChatUser(ctx context.Context, userDomainID int64, id domain.WeChatIdentity,
	candidate domain.EndUser, now time.Time) (domain.EndUser, bool, error) {
	if err := live(ctx); err != nil {
		return domain.EndUser{}, false, err
	}
	if id.OpenID() == "" {
		return domain.EndUser{}, false, fmt.Errorf("memory: WeChat identity without openid")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.domains[userDomainID]; !ok {
		return domain.EndUser{}, false, fmt.Errorf("memory: user of unknown user domain %d", userDomainID)
	}
	uid, found := s.findWeChatUser(userDomainID, id)
	if !found {
		if _, taken := s.users[candidate.ID()]; taken {
			return domain.EndUser{}, false, fmt.Errorf("memory: uid %s is taken", candidate.ID())
		}
		uid = candidate.ID()
		s.users[uid] = domain.UnmarshalEndUserFromDatabase(uid, userDomainID, candidate.Status(), candidate.RegisteredAt(), now)
	}
	s.bind(userDomainID, id, uid)
	u := s.users[uid]
	last := u.LastLoginAt()
	if now.After(last) { // an instance with a slower clock never moves it back
		last = now
	}
	u = domain.UnmarshalEndUserFromDatabase(u.ID(), u.UserDomainID(), u.Status(), u.RegisteredAt(), last)
	s.users[uid] = u
	return u, !found, nil
}

// findWeChatUser returns the uid bound to the identity's openid or, failing
// that, to its unionid.
func (s *Store) findWeChatUser(userDomainID int64, id domain.WeChatIdentity) (string, bool) {
	if b, ok := s.identities[identityKey{userDomainID, id.AppID(), id.OpenID()}]; ok {
		return b.uid, true
	}
	if id.UnionID() == "" {
		return "", false
	}
	uid, ok := s.unions[unionKey{userDomainID, id.UnionID()}]
	return uid, ok
}

// bind binds the identity's openid to uid (if it is not bound yet) and
// attaches a unionid seen for the first time to uid. A unionid already bound
// to another user stays with that user alone: the identity records a unionid
// only if its own user holds it, as the PostgreSQL store does.
func (s *Store) bind(userDomainID int64, id domain.WeChatIdentity, uid string) {
	k := identityKey{userDomainID, id.AppID(), id.OpenID()}
	b, ok := s.identities[k]
	if !ok {
		b = binding{uid: uid}
	}
	if union := id.UnionID(); union != "" {
		uk := unionKey{userDomainID, union}
		owner, taken := s.unions[uk]
		if !taken {
			s.unions[uk], owner = uid, uid
		}
		if b.unionID == "" && owner == b.uid {
			b.unionID = union
		}
	}
	s.identities[k] = b
}

// UserWithWeChat implements application.UserRepository.
func (s *Store) UserWithWeChat(ctx context.Context, uid, appID string) (domain.EndUser, domain.WeChatIdentity, error) {
	if err := live(ctx); err != nil {
		return domain.EndUser{}, domain.WeChatIdentity{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	u, ok := s.users[uid]
	if !ok {
		return domain.EndUser{}, domain.WeChatIdentity{}, domain.E(domain.KindUserNotFound)
	}
	var found identityKey
	var b binding
	for k, v := range s.identities {
		// Of several openids of one user under one appId (which WeChat never
		// hands out), the smallest wins, for a deterministic answer.
		if v.uid == uid && k.userDomainID == u.UserDomainID() && k.appID == appID && (b.uid == "" || k.openID < found.openID) {
			found, b = k, v
		}
	}
	if b.uid == "" {
		return u, domain.WeChatIdentity{}, nil
	}
	return u, domain.UnmarshalWeChatIdentityFromDatabase(found.appID, found.openID, b.unionID), nil
}

// LogInWeChatUser implements application.UserRepository: find or register,
// then the session for the user found.
func (s *Store) LogInWeChatUser(ctx context.Context, userDomainID int64, id domain.WeChatIdentity, candidate domain.EndUser,
	sess domain.Session, now time.Time) (domain.EndUser, domain.Session, bool, error) {
	u, created, err := s.FindOrRegisterWeChatUser(ctx, userDomainID, id, candidate, now)
	if err != nil {
		return domain.EndUser{}, domain.Session{}, false, err
	}
	sess = sess.ForUser(u.ID())
	if err := s.CreateSession(ctx, sess); err != nil {
		return domain.EndUser{}, domain.Session{}, false, err
	}
	return u, sess, created, nil
}
