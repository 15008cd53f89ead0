package jsonformat

import (
	"time"

	"github.com/iotplatform/enduser-auth/application"
)

// UserExport is the document `enduser user export UID` prints: an
// application.UserExport under its stable JSON names. Times are UTC; absent
// values are null.
type UserExport struct {
	ExportedAt time.Time    `json:"exportedAt"`
	User       exportedUser `json:"user"`
	Profile    profile      `json:"profile"`
	// Phone is the number bound through the mini program, unmasked (null:
	// none).
	Phone      *phone             `json:"phone"`
	Identities []exportedIdentity `json:"wechatIdentities"`
	Sessions   []exportedSession  `json:"sessions"`
	// AuditRecords are the user's audit records within the retention,
	// oldest first.
	AuditRecords []auditRecord `json:"auditRecords"`
	// AuditTruncated is true when the user has more than
	// application.MaxExportedAuditRecords records.
	AuditTruncated bool `json:"auditTruncated"`
}

// Export is x as its document.
func Export(x application.UserExport) UserExport {
	out := UserExport{ExportedAt: x.ExportedAt, User: exportedUser(x.User), Profile: profile(x.Profile),
		Identities: make([]exportedIdentity, len(x.Identities)), Sessions: make([]exportedSession, len(x.Sessions)),
		AuditRecords: make([]auditRecord, len(x.AuditRecords)), AuditTruncated: x.AuditTruncated}
	if x.Phone != nil {
		out.Phone = &phone{CountryCode: x.Phone.CountryCode, Number: x.Phone.Number}
	}
	for i, id := range x.Identities {
		out.Identities[i] = exportedIdentity(id)
	}
	for i, s := range x.Sessions {
		out.Sessions[i] = exportedSession(s)
	}
	for i, r := range x.AuditRecords {
		out.AuditRecords[i] = auditRecord(r)
	}
	return out
}

// phone is application.ExportedPhone's document.
type phone struct {
	CountryCode string `json:"countryCode"`
	Number      string `json:"number"`
}

// exportedUser is application.ExportedUser's document.
type exportedUser struct {
	UID           string     `json:"uid"`
	UserDomain    string     `json:"userDomain"`
	Status        int        `json:"status"` // 1 normal, 0 disabled
	RegisteredAt  time.Time  `json:"registeredAt"`
	LastLoginAt   time.Time  `json:"lastLoginAt"`
	RegisteredVia string     `json:"registeredVia"` // offiaccount or miniprogram
	DeletionDueAt *time.Time `json:"deletionDueAt"` // a pending deletion's erasure; null: none
}

// profile is the profile under setUserInfo's names, in an export (a field
// never set is null) and on an import line (an absent field is nil).
type profile struct {
	NikeName    *string `json:"nikeName"`
	HeadImage   *string `json:"headImage"`
	Sex         *int    `json:"sex"`
	Address     *string `json:"address"`
	Province    *string `json:"province"`
	City        *string `json:"city"`
	Signature   *string `json:"signature"`
	Remark      *string `json:"remark"`
	Lang        *int    `json:"lang"`
	Nationality *int    `json:"nationality"`
	Timezone    *int    `json:"timezone"`
}

// exportedIdentity is application.ExportedIdentity's document.
type exportedIdentity struct {
	AppID   string    `json:"appId"`
	AppKind string    `json:"appKind"`
	OpenID  string    `json:"openId"`
	UnionID *string   `json:"unionId"`
	BoundAt time.Time `json:"boundAt"`
}

// exportedSession is application.ExportedSession's document.
type exportedSession struct {
	ID               string     `json:"sessionId"`
	AppID            string     `json:"appId"`
	CreatedAt        time.Time  `json:"createdAt"`
	ExpiresAt        time.Time  `json:"expiresAt"`
	RefreshExpiresAt time.Time  `json:"refreshExpiresAt"`
	RotatedAt        *time.Time `json:"rotatedAt"`
	RevokedAt        *time.Time `json:"revokedAt"`
	RevokeReason     *string    `json:"revokeReason"`
	LogoutDeviceID   *string    `json:"logoutDeviceId"`
}
