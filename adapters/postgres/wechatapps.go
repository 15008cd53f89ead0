package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/iotplatform/enduser-auth/application"
	"github.com/iotplatform/enduser-auth/domain"
)

// weChatAppListRow is what WeChatApps reads of a row of
// enduser_official_accounts: never the sealed AppSecret.
type weChatAppListRow struct {
	AppID        string
	Kind         string
	RedirectURIs string
	CreatedAt    time.Time
}

// WeChatApps implements application.WeChatAppRepository: the user domain's
// apps of kind, by appId, in one statement that leaves the AppSecrets
// sealed in the table.
func (s *Store) WeChatApps(ctx context.Context, userDomainID int64, kind domain.AppKind) ([]application.WeChatAppInfo, error) {
	var rows []weChatAppListRow
	err := s.do(ctx, func(db *gorm.DB) *gorm.DB {
		return db.Raw(`
		SELECT app_id, kind, redirect_uris, created_at FROM enduser_official_accounts
		WHERE user_domain_id = ? AND kind = ? ORDER BY app_id`, userDomainID, string(kind)).Scan(&rows)
	}).Error
	if err != nil {
		return nil, fmt.Errorf("list the %ss of user domain %d: %w", kind.Noun(), userDomainID, err)
	}
	out := make([]application.WeChatAppInfo, 0, len(rows))
	for _, r := range rows {
		info := application.WeChatAppInfo{Kind: domain.AppKind(r.Kind), AppID: r.AppID, AddedAt: r.CreatedAt.UTC()}
		var uris []string
		if err := json.Unmarshal([]byte(r.RedirectURIs), &uris); err != nil {
			return nil, fmt.Errorf("%s %s of user domain %d: redirect URIs: %w", kind.Noun(), r.AppID, userDomainID, err)
		}
		if len(uris) > 0 {
			info.RedirectURIs = uris
		}
		out = append(out, info)
	}
	return out, nil
}

// RemoveWeChatApp implements application.WeChatAppRepository: one DELETE of
// the app's row (its redirect URIs are a column of it); the bindings under
// its appId (enduser_wechat_identities, no foreign key to the apps) stay.
// Errors: KindNotFound.
func (s *Store) RemoveWeChatApp(ctx context.Context, userDomainID int64, kind domain.AppKind, appID string) error {
	res := s.do(ctx, func(db *gorm.DB) *gorm.DB {
		return db.Exec(`DELETE FROM enduser_official_accounts WHERE user_domain_id = ? AND app_id = ? AND kind = ?`,
			userDomainID, appID, string(kind))
	})
	if res.Error != nil {
		return fmt.Errorf("remove %s %s of user domain %d: %w", kind.Noun(), appID, userDomainID, res.Error)
	}
	if res.RowsAffected == 0 {
		return domain.Errorf(domain.KindNotFound, "no %s %s in user domain %d", kind.Noun(), appID, userDomainID)
	}
	return nil
}
