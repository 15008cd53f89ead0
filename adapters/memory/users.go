package memory

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/iotplatform/enduser-auth/application"
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
	seq     int64     // order of creation
	at      time.Time // when it was bound
}

// unionKey identifies a person across the official accounts of one Open
// Platform account.
type unionKey struct {
	userDomainID int64
	unionID      string
}

// RecordLogin implements application.UserRepository: under the store's lock
// it looks up what it holds about the identity and the user it names,
// applies domain.DecideLogin (which refuses a disabled user and cancels a
// pending deletion) and stores the decision, the last login and the
// session, so concurrent calls for one person yield one user.
func (s *Store) RecordLogin(ctx context.Context, l application.LoginRecord) (application.RecordedLogin, error) {
	if err := live(ctx); err != nil {
		return application.RecordedLogin{}, err
	}
	id := l.Identity
	if id.OpenID() == "" {
		return application.RecordedLogin{}, fmt.Errorf("memory: WeChat identity without openid")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.domains[l.UserDomainID]; !ok {
		return application.RecordedLogin{}, fmt.Errorf("memory: user of unknown user domain %d", l.UserDomainID)
	}
	k := identityKey{l.UserDomainID, id.AppID(), id.OpenID()}
	b := s.identities[k]
	known := domain.KnownIdentity{OpenIDUser: b.uid, OpenIDUnion: b.unionID}
	uk := unionKey{l.UserDomainID, id.UnionID()}
	found := b.uid
	if id.UnionID() != "" {
		known.UnionUser = s.unions[uk]
		if found == "" {
			found = known.UnionUser
		}
	}
	if found != "" {
		u, ok := s.users[found]
		if !ok {
			return application.RecordedLogin{}, fmt.Errorf("memory: binding of unknown user %s", found)
		}
		_, pending := s.deletionDue[found]
		known.UserDisabled, known.UserDeletionPending = u.Status() == domain.UserDisabled, pending
	}
	d, err := domain.DecideLogin(known, id, l.Candidate.ID())
	if err != nil {
		return application.RecordedLogin{}, err
	}
	sess := l.Session.ForUser(d.UID)
	// Check everything that could fail before writing anything: the
	// decision is stored whole or not at all.
	if _, taken := s.users[d.UID]; d.Register && taken {
		return application.RecordedLogin{}, fmt.Errorf("memory: uid %s is taken", d.UID)
	}
	if _, dup := s.sessions[sess.ID()]; dup {
		return application.RecordedLogin{}, fmt.Errorf("memory: session %s already exists", sess.ID())
	}
	if d.Register {
		c := l.Candidate
		s.users[d.UID] = domain.UnmarshalEndUserFromDatabase(d.UID, l.UserDomainID, c.Status(), c.RegisteredAt(), l.At)
		if l.AppKind != "" && l.AppKind != domain.AppKindOfficialAccount {
			s.registeredVia[d.UID] = l.AppKind
		}
	}
	if d.BindOpenID {
		s.bindingSeq++
		b = binding{uid: d.UID, seq: s.bindingSeq, at: l.At}
	}
	if d.ClaimUnionID {
		s.unions[uk] = d.UID
	}
	if d.RecordUnionID {
		b.unionID = id.UnionID()
	}
	if d.CancelDeletion {
		delete(s.deletionDue, d.UID)
	}
	s.identities[k] = b
	u := s.users[d.UID]
	u = domain.UnmarshalEndUserFromDatabase(u.ID(), u.UserDomainID(), u.Status(), u.RegisteredAt(), domain.LastLogin(u.LastLoginAt(), l.At))
	s.users[d.UID] = u
	s.sessions[sess.ID()] = withState(sess, sess.Counter(), sess.RefreshExpiresAt(), sess.RotatedAt(), sess.RevokedAt())
	return application.RecordedLogin{User: u, Session: sess, Outcome: d.Outcome, DeletionCancelled: d.CancelDeletion}, nil
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

// UserWithWeChatApps implements application.UserRepository.
func (s *Store) UserWithWeChatApps(ctx context.Context, uid string) (application.UserApps, error) {
	if err := live(ctx); err != nil {
		return application.UserApps{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	u, ok := s.users[uid]
	if !ok {
		return application.UserApps{}, domain.E(domain.KindUserNotFound)
	}
	out := application.UserApps{User: u, RegisteredVia: domain.AppKindOfficialAccount}
	if k, ok := s.registeredVia[uid]; ok {
		out.RegisteredVia = k
	}
	for _, b := range s.bindingsOf(u) {
		out.Bindings = append(out.Bindings, application.AppBinding{Kind: b.kind, Identity: b.identity})
	}
	return out, nil
}

// userBinding is one of a user's openids, as bindingsOf lists them.
type userBinding struct {
	kind     domain.AppKind
	identity domain.WeChatIdentity
	at       time.Time
}

// bindingsOf lists u's openids under the apps of its user domain, oldest
// first (under s.mu).
func (s *Store) bindingsOf(u domain.EndUser) []userBinding {
	type found struct {
		seq int64
		b   userBinding
	}
	var list []found
	for k, v := range s.identities {
		if v.uid != u.ID() || k.userDomainID != u.UserDomainID() {
			continue
		}
		kind := domain.AppKindOfficialAccount
		if a, ok := s.accounts[accountKey{k.userDomainID, k.appID}]; ok {
			kind = a.Kind()
		}
		list = append(list, found{v.seq, userBinding{kind: kind, at: v.at,
			identity: domain.UnmarshalWeChatIdentityFromDatabase(k.appID, k.openID, v.unionID)}})
	}
	sort.Slice(list, func(i, j int) bool { return list[i].seq < list[j].seq })
	out := make([]userBinding, len(list))
	for i, f := range list {
		out[i] = f.b
	}
	return out
}
