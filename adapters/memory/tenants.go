package memory

import (
	"context"
	"time"

	"github.com/iotplatform/enduser-auth/domain"
)

type accountKey struct {
	userDomainID int64
	appID        string
}

// UserDomainByName implements application.UserDomainRepository.
func (s *Store) UserDomainByName(ctx context.Context, name string) (domain.UserDomain, error) {
	if err := live(ctx); err != nil {
		return domain.UserDomain{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	id, ok := s.domainIDs[name]
	if !ok {
		return domain.UserDomain{}, domain.E(domain.KindUserDomainNotFound)
	}
	return s.domains[id], nil
}

// CreateUserDomain implements application.UserDomainRepository: it assigns
// the domain its id and fails with KindInvalid when the name is taken.
func (s *Store) CreateUserDomain(ctx context.Context, d domain.UserDomain) (domain.UserDomain, error) {
	if err := live(ctx); err != nil {
		return domain.UserDomain{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, taken := s.domainIDs[d.Name()]; taken {
		return domain.UserDomain{}, domain.Errorf(domain.KindInvalid, "user domain %s already exists", d.Name())
	}
	s.nextDomainID++
	stored := domain.UnmarshalUserDomainFromDatabase(s.nextDomainID, d.Name(), d.Secret(), d.Enabled())
	s.domains[stored.ID()] = stored
	s.domainIDs[stored.Name()] = stored.ID()
	return stored, nil
}

// SetUserDomainEnabled implements application.UserDomainRepository.
func (s *Store) SetUserDomainEnabled(ctx context.Context, name string, enabled bool) error {
	if err := live(ctx); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	id, ok := s.domainIDs[name]
	if !ok {
		return domain.E(domain.KindUserDomainNotFound)
	}
	s.domains[id] = s.domains[id].SetEnabled(enabled)
	return nil
}

// RotateUserDomainSecret implements application.UserDomainRepository.
func (s *Store) RotateUserDomainSecret(ctx context.Context, name string, rotate func(domain.UserDomain) (domain.UserDomain, error)) (domain.UserDomain, error) {
	if err := live(ctx); err != nil {
		return domain.UserDomain{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	id, ok := s.domainIDs[name]
	if !ok {
		return domain.UserDomain{}, domain.E(domain.KindUserDomainNotFound)
	}
	next, err := rotate(s.domains[id])
	if err != nil {
		return domain.UserDomain{}, err
	}
	cur := s.domains[id]
	prev, until := next.PreviousSecret()
	// Only the secrets change, as in the database.
	stored := domain.UnmarshalUserDomainFromDatabase(cur.ID(), cur.Name(), next.Secret(), cur.Enabled()).WithPreviousSecret(prev, until)
	s.domains[id] = stored
	return stored, nil
}

// WeChatApp implements application.WeChatAppRepository.
func (s *Store) WeChatApp(ctx context.Context, userDomainID int64, appID string) (domain.WeChatApp, error) {
	if err := live(ctx); err != nil {
		return domain.WeChatApp{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	a, ok := s.accounts[accountKey{userDomainID, appID}]
	if !ok {
		return domain.WeChatApp{}, domain.Errorf(domain.KindNotFound, "no WeChat app %s in user domain %d", appID, userDomainID)
	}
	return a, nil
}

// PutWeChatApp implements application.WeChatAppRepository. The user
// domain must exist (a foreign key in the database); an appId of the other
// kind, in any user domain, is refused.
func (s *Store) PutWeChatApp(ctx context.Context, a domain.WeChatApp) error {
	if err := live(ctx); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.domains[a.UserDomainID()]; !ok {
		return domain.Errorf(domain.KindInvalid, "user domain %d does not exist", a.UserDomainID())
	}
	for k, other := range s.accounts {
		if k.appID == a.AppID() && other.Kind() != a.Kind() {
			return appKindConflict(a, other.Kind())
		}
	}
	k := accountKey{a.UserDomainID(), a.AppID()}
	if _, had := s.accounts[k]; !had {
		s.appAdded[k] = time.Now().UTC().Truncate(time.Microsecond)
	}
	s.accounts[k] = a
	return nil
}

// appKindConflict is the refusal of a whose appId is an app of kind taken.
func appKindConflict(a domain.WeChatApp, taken domain.AppKind) error {
	return domain.Errorf(domain.KindInvalid, "appId %s is a %s's; a %s needs an appId of its own (an appId is one kind only)",
		a.AppID(), taken.Noun(), a.Kind().Noun())
}

// DataCenterByMCC implements application.DataCenterRepository.
func (s *Store) DataCenterByMCC(ctx context.Context, mcc domain.MCC) (domain.DataCenter, error) {
	if err := live(ctx); err != nil {
		return domain.DataCenter{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	code, ok := s.mccs[mcc]
	if !ok {
		return domain.DataCenter{}, domain.Errorf(domain.KindMCCUnresolved, "no data center serves mcc %d", mcc)
	}
	return s.dataCenters[code], nil
}

// PutDataCenter implements application.DataCenterRepository: it creates or
// replaces the data center and its MCC list, or changes nothing and fails
// with KindInvalid when one of the MCCs is served by another data center.
func (s *Store) PutDataCenter(ctx context.Context, dc domain.DataCenter) error {
	if err := live(ctx); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	mccs := dc.MCCs() // a copy, which the store keeps
	for _, m := range mccs {
		if owner, ok := s.mccs[m]; ok && owner != dc.Code() {
			return domain.Errorf(domain.KindInvalid, "mcc %d is served by data center %s", m, owner)
		}
	}
	if old, ok := s.dataCenters[dc.Code()]; ok {
		for _, m := range old.MCCs() {
			delete(s.mccs, m)
		}
	}
	for _, m := range mccs {
		s.mccs[m] = dc.Code()
	}
	s.dataCenters[dc.Code()] = domain.UnmarshalDataCenterFromDatabase(dc.Code(), dc.APIURL(), mccs)
	return nil
}
