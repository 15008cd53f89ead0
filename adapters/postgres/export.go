package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/iotplatform/enduser-auth/application"
	"github.com/iotplatform/enduser-auth/domain"
)

// exportUserRow is a user with its user domain's name, how it registered,
// its pending deletion and its profile.
type exportUserRow struct {
	User          userRow    `gorm:"embedded"`
	UserDomain    string     `gorm:"column:user_domain"`
	RegisteredVia string     `gorm:"column:registered_via"`
	DeletionDueAt *time.Time `gorm:"column:deletion_due_at"`
	Profile       profileRow `gorm:"embedded"`
}

// exportIdentityRow is one WeChat identity with its app's kind and binding time.
type exportIdentityRow struct {
	AppID     string    `gorm:"column:app_id"`
	OpenID    string    `gorm:"column:open_id"`
	UnionID   *string   `gorm:"column:union_id"`
	Kind      string    `gorm:"column:kind"`
	CreatedAt time.Time `gorm:"column:created_at"`
}

// exportSessionRow is a session without its refresh key (the column is never
// selected here).
type exportSessionRow struct {
	ID               string     `gorm:"column:id"`
	AppID            string     `gorm:"column:app_id"`
	RefreshCounter   int64      `gorm:"column:refresh_counter"`
	CreatedAt        time.Time  `gorm:"column:created_at"`
	ExpiresAt        time.Time  `gorm:"column:expires_at"`
	RefreshExpiresAt time.Time  `gorm:"column:refresh_expires_at"`
	RotatedAt        *time.Time `gorm:"column:rotated_at"`
	RevokedAt        *time.Time `gorm:"column:revoked_at"`
	RevokeReason     *string    `gorm:"column:revoke_reason"`
	LogoutDeviceID   *string    `gorm:"column:logout_device_id"`
}

// UserExportData implements application.UserExportRepository: three
// statements in one read-only REPEATABLE READ transaction, so the user, its
// identities and its sessions are one snapshot. No sealed column is read.
func (s *Store) UserExportData(ctx context.Context, uid string) (application.StoredUserData, error) {
	var out application.StoredUserData
	err := s.retry(ctx, func() error {
		out = application.StoredUserData{}
		return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			var u exportUserRow
			res := tx.Raw(`SELECT u.id, u.user_domain_id, u.status, u.registered_at, u.last_login_at, u.registered_via,
				u.deletion_due_at, d.name AS user_domain, u.nike_name, u.head_image, u.sex, u.address, u.province, u.city,
				u.signature, u.remark, u.lang, u.nationality, u.timezone
				FROM enduser_users u JOIN enduser_user_domains d ON d.id = u.user_domain_id
				WHERE u.id = ?`, uid).Scan(&u)
			if res.Error != nil {
				return fmt.Errorf("load user %s: %w", uid, res.Error)
			}
			if res.RowsAffected == 0 {
				return domain.E(domain.KindUserNotFound)
			}
			out.User, out.UserDomain, out.Profile = u.User.toDomain(), u.UserDomain, u.Profile.toDomain()
			out.RegisteredVia, out.DeletionDueAt = domain.AppKind(u.RegisteredVia), fromNullTime(u.DeletionDueAt)
			var ids []exportIdentityRow
			if err := tx.Raw(`
				SELECT i.app_id, i.open_id, i.union_id, COALESCE(a.kind, 'offiaccount') AS kind, i.created_at
				FROM enduser_wechat_identities i
				LEFT JOIN enduser_official_accounts a ON a.user_domain_id = i.user_domain_id AND a.app_id = i.app_id
				WHERE i.user_id = ? AND i.user_domain_id = ?
				ORDER BY i.created_at, i.app_id, i.open_id`, uid, u.User.UserDomainID).Scan(&ids).Error; err != nil {
				return fmt.Errorf("load the WeChat identities of user %s: %w", uid, err)
			}
			for _, r := range ids {
				out.Identities = append(out.Identities, application.StoredIdentity{Kind: domain.AppKind(r.Kind), BoundAt: r.CreatedAt.UTC(),
					Identity: domain.UnmarshalWeChatIdentityFromDatabase(r.AppID, r.OpenID, fromNullString(r.UnionID))})
			}
			sessions, err := exportSessions(tx, uid, u.User.UserDomainID, u.UserDomain)
			if err != nil {
				return err
			}
			out.Sessions = sessions
			return nil
		}, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	})
	if err != nil {
		return application.StoredUserData{}, err
	}
	return out, nil
}

// exportSessions reads uid's sessions without any sealed column, each as the
// scope revocations see it.
func exportSessions(tx *gorm.DB, uid string, userDomainID int64, userDomain string) ([]application.StoredSession, error) {
	var out []application.StoredSession
	var sessions []exportSessionRow
	if err := tx.Raw(`SELECT id, app_id, refresh_counter, created_at, expires_at, refresh_expires_at, rotated_at,
		revoked_at, revoke_reason, logout_device_id
		FROM enduser_sessions WHERE user_id = ? ORDER BY created_at, id`, uid).Scan(&sessions).Error; err != nil {
		return nil, fmt.Errorf("load the sessions of user %s: %w", uid, err)
	}
	// The scope revocations that may have ended these sessions
	// (logout-all, disable, deletion; the user domain's disable):
	// a session they cover shows as revoked at the scope's time, as
	// SessionByID shows it.
	var cover struct{ UserBefore, DomainBefore sql.NullTime }
	if err := tx.Raw(`SELECT
		(SELECT revoked_before FROM enduser_revocations WHERE kind = 'user' AND subject = ?) AS user_before,
		(SELECT revoked_before FROM enduser_revocations WHERE kind = 'user_domain' AND subject = ?) AS domain_before`,
		uid, userDomain).Scan(&cover).Error; err != nil {
		return nil, fmt.Errorf("load the scope revocations of user %s: %w", uid, err)
	}
	for _, r := range sessions {
		id, err := domain.ParseSessionID(r.ID)
		if err != nil {
			return nil, fmt.Errorf("session %q of user %s: %w", r.ID, uid, err)
		}
		revokedAt, reason := fromNullTime(r.RevokedAt), fromNullString(r.RevokeReason)
		for _, c := range []struct {
			before sql.NullTime
			reason string
		}{{cover.UserBefore, "user_sessions_ended"}, {cover.DomainBefore, "user_domain_disabled"}} {
			if revokedAt.IsZero() && c.before.Valid && domain.RevokedBy(r.CreatedAt.UTC(), c.before.Time) {
				revokedAt, reason = c.before.Time.UTC(), c.reason
			}
		}
		sess := domain.UnmarshalSessionFromDatabase(id, uid, userDomainID, userDomain, r.AppID, nil, r.RefreshCounter,
			r.CreatedAt.UTC(), r.ExpiresAt.UTC(), r.RefreshExpiresAt.UTC(), fromNullTime(r.RotatedAt), revokedAt)
		out = append(out, application.StoredSession{Session: sess,
			RevokeReason: reason, LogoutDeviceID: fromNullString(r.LogoutDeviceID)})
	}
	return out, nil
}
