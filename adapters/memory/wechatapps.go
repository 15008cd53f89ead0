package memory

import (
	"context"
	"slices"
	"strings"

	"github.com/iotplatform/enduser-auth/application"
	"github.com/iotplatform/enduser-auth/domain"
)

// WeChatApps implements application.WeChatAppRepository.
func (s *Store) WeChatApps(ctx context.Context, userDomainID int64, kind domain.AppKind) ([]application.WeChatAppInfo, error) {
	if err := live(ctx); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := []application.WeChatAppInfo{}
	for k, a := range s.accounts {
		if k.userDomainID == userDomainID && a.Kind() == kind {
			out = append(out, application.WeChatAppInfo{Kind: a.Kind(), AppID: a.AppID(), RedirectURIs: a.RedirectURIs(), AddedAt: s.appAdded[k]})
		}
	}
	slices.SortFunc(out, func(x, y application.WeChatAppInfo) int { return strings.Compare(x.AppID, y.AppID) })
	return out, nil
}

// RemoveWeChatApp implements application.WeChatAppRepository: the bindings
// under the appId stay.
func (s *Store) RemoveWeChatApp(ctx context.Context, userDomainID int64, kind domain.AppKind, appID string) error {
	if err := live(ctx); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := accountKey{userDomainID, appID}
	if a, ok := s.accounts[k]; !ok || a.Kind() != kind {
		return domain.Errorf(domain.KindNotFound, "no %s %s in user domain %d", kind.Noun(), appID, userDomainID)
	}
	delete(s.accounts, k)
	delete(s.appAdded, k)
	return nil
}
