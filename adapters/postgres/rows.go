package postgres

import (
	"time"

	"github.com/iotplatform/enduser-auth/domain"
)

// The row types mirror the tables of migrations/00001_initial.sql. Columns
// that only the database sets (created_at/updated_at defaults) are left out
// where nothing reads them.

// userDomainRow is a row of enduser_user_domains.
type userDomainRow struct {
	ID        int64  `gorm:"column:id;primaryKey"` // GENERATED ALWAYS: omitted on insert
	Name      string `gorm:"column:name"`
	SecretEnc []byte `gorm:"column:secret_enc"`
	Enabled   bool   `gorm:"column:enabled"`
	// PreviousSecretEnc and PreviousSecretExpiresAt (00006) are the secret
	// the last rotation replaced and the end of its overlap; NULL: none.
	PreviousSecretEnc       []byte     `gorm:"column:previous_secret_enc"`
	PreviousSecretExpiresAt *time.Time `gorm:"column:previous_secret_expires_at"`
}

func (userDomainRow) TableName() string { return "enduser_user_domains" }

// officialAccountRow is a row of enduser_official_accounts.
type officialAccountRow struct {
	UserDomainID int64  `gorm:"column:user_domain_id;primaryKey;autoIncrement:false"`
	AppID        string `gorm:"column:app_id;primaryKey"`
	AppSecretEnc []byte `gorm:"column:app_secret_enc"`
	Kind         string `gorm:"column:kind"`
	// RedirectURIs is a website app's JSON array of redirect URIs.
	RedirectURIs string `gorm:"column:redirect_uris"`
}

func (officialAccountRow) TableName() string { return "enduser_official_accounts" }

// dataCenterMCCRow is a row of enduser_data_center_mccs.
type dataCenterMCCRow struct {
	MCC            int    `gorm:"column:mcc;primaryKey;autoIncrement:false"`
	DataCenterCode string `gorm:"column:data_center_code"`
}

func (dataCenterMCCRow) TableName() string { return "enduser_data_center_mccs" }

// dataCenterWithMCCRow is one MCC of a data center, joined with the center.
type dataCenterWithMCCRow struct {
	Code   string `gorm:"column:code"`
	APIURL string `gorm:"column:api_url"`
	MCC    int    `gorm:"column:mcc"`
}

// userRow is a row of enduser_users.
type userRow struct {
	ID           string    `gorm:"column:id;primaryKey"`
	UserDomainID int64     `gorm:"column:user_domain_id"`
	Status       int16     `gorm:"column:status"`
	RegisteredAt time.Time `gorm:"column:registered_at"`
	LastLoginAt  time.Time `gorm:"column:last_login_at"`
}

func (userRow) TableName() string { return "enduser_users" }

func (r userRow) toDomain() domain.EndUser {
	return domain.UnmarshalEndUserFromDatabase(r.ID, r.UserDomainID, domain.UserStatus(r.Status), r.RegisteredAt.UTC(), r.LastLoginAt.UTC())
}

// userWithWeChatRow is a user and, when it has one, its identity under one
// official account.
type userWithWeChatRow struct {
	User    userRow `gorm:"embedded"`
	AppID   *string `gorm:"column:app_id"`
	OpenID  *string `gorm:"column:open_id"`
	UnionID *string `gorm:"column:union_id"`
}

func (r userWithWeChatRow) identity() domain.WeChatIdentity {
	if r.OpenID == nil {
		return domain.WeChatIdentity{}
	}
	return domain.UnmarshalWeChatIdentityFromDatabase(fromNullString(r.AppID), *r.OpenID, fromNullString(r.UnionID))
}

// sessionRow is a row of enduser_sessions.
type sessionRow struct {
	ID               string     `gorm:"column:id;primaryKey"`
	UserID           string     `gorm:"column:user_id"`
	UserDomainID     int64      `gorm:"column:user_domain_id"`
	AppID            string     `gorm:"column:app_id"`
	RefreshKeyEnc    []byte     `gorm:"column:refresh_key_enc"`
	RefreshCounter   int64      `gorm:"column:refresh_counter"`
	CreatedAt        time.Time  `gorm:"column:created_at;autoCreateTime:false"`
	ExpiresAt        time.Time  `gorm:"column:expires_at"`
	RefreshExpiresAt time.Time  `gorm:"column:refresh_expires_at"`
	RotatedAt        *time.Time `gorm:"column:rotated_at"`
	RevokedAt        *time.Time `gorm:"column:revoked_at"`
	RevokeReason     *string    `gorm:"column:revoke_reason"`
}

func (sessionRow) TableName() string { return "enduser_sessions" }

// sessionWithDomainRow is a session joined with its user domain's name.
type sessionWithDomainRow struct {
	Session    sessionRow `gorm:"embedded"`
	UserDomain string     `gorm:"column:user_domain"`
}

// revokedSessionRow is a revocation.
type revokedSessionRow struct {
	ID        string    `gorm:"column:id"`
	RevokedAt time.Time `gorm:"column:revoked_at"`
}

// signingKeyRow is a row of enduser_signing_keys.
type signingKeyRow struct {
	KID           string     `gorm:"column:kid;primaryKey"`
	Algorithm     string     `gorm:"column:algorithm"`
	PublicKey     []byte     `gorm:"column:public_key"`
	PrivateKeyEnc []byte     `gorm:"column:private_key_enc"`
	CreatedAt     time.Time  `gorm:"column:created_at;autoCreateTime:false"`
	RetiredAt     *time.Time `gorm:"column:retired_at"`
	RevokedAt     *time.Time `gorm:"column:revoked_at"`
}

func (signingKeyRow) TableName() string { return "enduser_signing_keys" }

// refreshKeyRow is a row of enduser_refresh_keys (migrations/00002_refresh_keys.sql).
type refreshKeyRow struct {
	ID        int32     `gorm:"column:id;primaryKey;autoIncrement:false"`
	SecretEnc []byte    `gorm:"column:secret_enc"`
	CreatedAt time.Time `gorm:"column:created_at;autoCreateTime:false"`
}

func (refreshKeyRow) TableName() string { return "enduser_refresh_keys" }
