package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/iotplatform/enduser-auth/domain"
)

// SQLSTATEs this adapter translates.
const (
	uniqueViolation     = "23505"
	foreignKeyViolation = "23503"
)

// UserDomainByName loads a user domain and opens its secret.
// Errors: KindUserDomainNotFound.
func (s *Store) UserDomainByName(ctx context.Context, name string) (domain.UserDomain, error) {
	var row userDomainRow
	err := s.do(ctx, func(db *gorm.DB) *gorm.DB {
		return db.Where("name = ?", name).Take(&row)
	}).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return domain.UserDomain{}, domain.E(domain.KindUserDomainNotFound)
	}
	if err != nil {
		return domain.UserDomain{}, fmt.Errorf("load user domain %s: %w", name, err)
	}
	return s.userDomainFromRow(row)
}

// userDomainFromRow opens the row's secrets.
func (s *Store) userDomainFromRow(row userDomainRow) (domain.UserDomain, error) {
	secret, err := s.open(row.SecretEnc, userDomainAAD(row.Name))
	if err != nil {
		return domain.UserDomain{}, err
	}
	d := domain.UnmarshalUserDomainFromDatabase(row.ID, row.Name, string(secret), row.Enabled)
	if row.PreviousSecretEnc != nil && row.PreviousSecretExpiresAt != nil {
		prev, err := s.open(row.PreviousSecretEnc, previousSecretAAD(row.Name))
		if err != nil {
			return domain.UserDomain{}, err
		}
		d = d.WithPreviousSecret(string(prev), row.PreviousSecretExpiresAt.UTC())
	}
	return d, nil
}

// RotateUserDomainSecret implements application.UserDomainRepository: in one
// transaction it locks the row (SELECT ... FOR UPDATE), applies rotate and
// writes both secrets, sealed with the row's AAD.
func (s *Store) RotateUserDomainSecret(ctx context.Context, name string, rotate func(domain.UserDomain) (domain.UserDomain, error)) (domain.UserDomain, error) {
	var out domain.UserDomain
	err := s.transaction(ctx, func(tx *gorm.DB) error {
		var row userDomainRow
		err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Where("name = ?", name).Take(&row).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return domain.E(domain.KindUserDomainNotFound)
		}
		if err != nil {
			return err
		}
		cur, err := s.userDomainFromRow(row)
		if err != nil {
			return err
		}
		next, err := rotate(cur)
		if err != nil {
			return err
		}
		prev, until := next.PreviousSecret()
		var prevEnc []byte
		if prev != "" {
			prevEnc = s.seal([]byte(prev), previousSecretAAD(row.Name))
		}
		if err := tx.Model(&userDomainRow{}).Where("id = ?", row.ID).Updates(map[string]any{
			"secret_enc":                 s.seal([]byte(next.Secret()), userDomainAAD(row.Name)),
			"previous_secret_enc":        prevEnc,
			"previous_secret_expires_at": nullTime(until),
			"updated_at":                 gorm.Expr("now()"),
		}).Error; err != nil {
			return err
		}
		out = next
		return nil
	})
	var de *domain.Error
	if err != nil && !errors.As(err, &de) {
		return domain.UserDomain{}, fmt.Errorf("rotate the secret of user domain %s: %w", name, err)
	}
	return out, err
}

// CreateUserDomain stores d and returns it with its id.
// Errors: KindInvalid when the name is taken.
func (s *Store) CreateUserDomain(ctx context.Context, d domain.UserDomain) (domain.UserDomain, error) {
	row := userDomainRow{Name: d.Name(), SecretEnc: s.seal([]byte(d.Secret()), userDomainAAD(d.Name())), Enabled: d.Enabled()}
	err := s.do(ctx, func(db *gorm.DB) *gorm.DB {
		return db.Create(&row)
	}).Error
	if hasCode(err, uniqueViolation) {
		return domain.UserDomain{}, domain.Errorf(domain.KindInvalid, "user domain %s already exists", d.Name())
	}
	if err != nil {
		return domain.UserDomain{}, fmt.Errorf("create user domain %s: %w", d.Name(), err)
	}
	return domain.UnmarshalUserDomainFromDatabase(row.ID, d.Name(), d.Secret(), d.Enabled()), nil
}

// SetUserDomainEnabled enables or disables a user domain.
// Errors: KindUserDomainNotFound.
func (s *Store) SetUserDomainEnabled(ctx context.Context, name string, enabled bool) error {
	res := s.do(ctx, func(db *gorm.DB) *gorm.DB {
		return db.Model(&userDomainRow{}).Where("name = ?", name).
			Updates(map[string]any{"enabled": enabled, "updated_at": gorm.Expr("now()")})
	})
	if res.Error != nil {
		return fmt.Errorf("set user domain %s enabled: %w", name, res.Error)
	}
	if res.RowsAffected == 0 {
		return domain.E(domain.KindUserDomainNotFound)
	}
	return nil
}

// WeChatApp loads a WeChat app of either kind and opens its AppSecret.
// Errors: KindNotFound.
func (s *Store) WeChatApp(ctx context.Context, userDomainID int64, appID string) (domain.WeChatApp, error) {
	var row officialAccountRow
	err := s.do(ctx, func(db *gorm.DB) *gorm.DB {
		return db.Where("user_domain_id = ? AND app_id = ?", userDomainID, appID).Take(&row)
	}).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return domain.WeChatApp{}, domain.Errorf(domain.KindNotFound, "no WeChat app %s in user domain %d", appID, userDomainID)
	}
	if err != nil {
		return domain.WeChatApp{}, fmt.Errorf("load WeChat app %s of user domain %d: %w", appID, userDomainID, err)
	}
	secret, err := s.open(row.AppSecretEnc, officialAccountAAD(row.UserDomainID, row.AppID))
	if err != nil {
		return domain.WeChatApp{}, err
	}
	if domain.AppKind(row.Kind) == domain.AppKindWebsite {
		var uris []string
		if err := json.Unmarshal([]byte(row.RedirectURIs), &uris); err != nil {
			return domain.WeChatApp{}, fmt.Errorf("website app %s of user domain %d: redirect URIs: %w", appID, userDomainID, err)
		}
		return domain.UnmarshalWebsiteAppFromDatabase(row.UserDomainID, row.AppID, string(secret), uris), nil
	}
	return domain.UnmarshalWeChatAppFromDatabase(domain.AppKind(row.Kind), row.UserDomainID, row.AppID, string(secret)), nil
}

// PutWeChatApp creates the app or replaces its AppSecret, in one
// transaction under an advisory lock on the appId, so that two concurrent
// puts of one appId as different kinds cannot both pass the check that the
// appId is no app of the other kind (in any user domain). Errors: KindInvalid
// when the user domain does not exist or the appId is of the other kind.
func (s *Store) PutWeChatApp(ctx context.Context, a domain.WeChatApp) error {
	sealed := s.seal([]byte(a.AppSecret()), officialAccountAAD(a.UserDomainID(), a.AppID()))
	uris, err := json.Marshal(append([]string{}, a.RedirectURIs()...))
	if err != nil {
		return fmt.Errorf("put WeChat app %s: redirect URIs: %w", a.AppID(), err)
	}
	err = s.transaction(ctx, func(tx *gorm.DB) error {
		if err := tx.Exec(`SELECT pg_advisory_xact_lock(hashtextextended('enduser_wechat_app:' || ?, 0))`, a.AppID()).Error; err != nil {
			return err
		}
		var taken []string
		if err := tx.Raw(`SELECT kind FROM enduser_official_accounts WHERE app_id = ? AND kind <> ? LIMIT 1`,
			a.AppID(), string(a.Kind())).Scan(&taken).Error; err != nil {
			return err
		}
		if len(taken) > 0 {
			return domain.Errorf(domain.KindInvalid, "appId %s is a %s's; a %s needs an appId of its own (an appId is one kind only)",
				a.AppID(), domain.AppKind(taken[0]).Noun(), a.Kind().Noun())
		}
		return tx.Exec(`
			INSERT INTO enduser_official_accounts (user_domain_id, app_id, app_secret_enc, kind, redirect_uris)
			VALUES (?, ?, ?, ?, CAST(? AS jsonb))
			ON CONFLICT (user_domain_id, app_id) DO UPDATE SET app_secret_enc = EXCLUDED.app_secret_enc,
				redirect_uris = EXCLUDED.redirect_uris, updated_at = now()`,
			a.UserDomainID(), a.AppID(), sealed, string(a.Kind()), string(uris)).Error
	})
	var de *domain.Error
	switch {
	case errors.As(err, &de):
		return err
	case hasCode(err, foreignKeyViolation):
		return domain.Errorf(domain.KindInvalid, "user domain %d does not exist", a.UserDomainID())
	case err != nil:
		return fmt.Errorf("put WeChat app %s of user domain %d: %w", a.AppID(), a.UserDomainID(), err)
	}
	return nil
}

// DataCenterByMCC returns the data center serving mcc, with all its MCCs, in
// one statement. Errors: KindMCCUnresolved.
func (s *Store) DataCenterByMCC(ctx context.Context, mcc domain.MCC) (domain.DataCenter, error) {
	var rows []dataCenterWithMCCRow
	err := s.do(ctx, func(db *gorm.DB) *gorm.DB {
		return db.Raw(`
		SELECT dc.code, dc.api_url, all_m.mcc
		FROM enduser_data_center_mccs m
		JOIN enduser_data_centers dc ON dc.code = m.data_center_code
		JOIN enduser_data_center_mccs all_m ON all_m.data_center_code = dc.code
		WHERE m.mcc = ?
		ORDER BY all_m.mcc`, int(mcc)).Scan(&rows)
	}).Error
	if err != nil {
		return domain.DataCenter{}, fmt.Errorf("load data center of mcc %d: %w", mcc, err)
	}
	if len(rows) == 0 {
		return domain.DataCenter{}, domain.Errorf(domain.KindMCCUnresolved, "no data center serves mcc %d", mcc)
	}
	mccs := make([]domain.MCC, len(rows))
	for i, r := range rows {
		mccs[i] = domain.MCC(r.MCC)
	}
	return domain.UnmarshalDataCenterFromDatabase(rows[0].Code, rows[0].APIURL, mccs), nil
}

// PutDataCenter creates or replaces a data center and its MCC list in one
// transaction. Errors: KindInvalid when an MCC is served by another data
// center.
func (s *Store) PutDataCenter(ctx context.Context, dc domain.DataCenter) error {
	err := s.transaction(ctx, func(tx *gorm.DB) error {
		if err := tx.Exec(`
			INSERT INTO enduser_data_centers (code, api_url) VALUES (?, ?)
			ON CONFLICT (code) DO UPDATE SET api_url = EXCLUDED.api_url, updated_at = now()`,
			dc.Code(), dc.APIURL()).Error; err != nil {
			return err
		}
		if err := tx.Where("data_center_code = ?", dc.Code()).Delete(&dataCenterMCCRow{}).Error; err != nil {
			return err
		}
		return insertMCCs(tx, dc)
	})
	var de *domain.Error
	if err != nil && !errors.As(err, &de) {
		return fmt.Errorf("put data center %s: %w", dc.Code(), err)
	}
	return err
}

// insertMCCs inserts the data center's MCCs (sorted, so that concurrent
// transactions lock them in the same order). An MCC another data center
// serves is skipped by ON CONFLICT and then reported.
func insertMCCs(tx *gorm.DB, dc domain.DataCenter) error {
	mccs := dc.MCCs()
	if len(mccs) == 0 {
		return nil
	}
	rows := make([]dataCenterMCCRow, len(mccs))
	want := make([]int, len(mccs))
	for i, m := range mccs {
		rows[i] = dataCenterMCCRow{MCC: int(m), DataCenterCode: dc.Code()}
		want[i] = int(m)
	}
	res := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&rows)
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == int64(len(rows)) {
		return nil
	}
	var taken dataCenterMCCRow
	err := tx.Where("mcc IN ? AND data_center_code <> ?", want, dc.Code()).Order("mcc").Take(&taken).Error
	if err != nil {
		return fmt.Errorf("find the data center serving a conflicting mcc: %w", err)
	}
	return domain.Errorf(domain.KindInvalid, "mcc %d is already served by data center %s", taken.MCC, taken.DataCenterCode)
}
