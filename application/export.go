package application

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"github.com/iotplatform/enduser-auth/domain"
)

// AuditUserExported is everything held about a user exported by an operator
// (ExportUser): an access to personal data, itself on the trail.
const AuditUserExported = "user_exported"

// MaxExportedAuditRecords bounds the audit records one export carries. The
// trail is bounded by its retention already (ENDUSER_AUDIT_RETENTION: older
// records are purged), so this cap only guards against a pathological user
// (a flood of failed logins under one uid); UserExport.AuditTruncated says
// when it cut.
const MaxExportedAuditRecords = 100000

// UserExportRepository reads everything the stores hold about one user, for
// the right of access (ExportUser).
type UserExportRepository interface {
	// UserExportData returns the user, its profile, WeChat identities
	// (oldest first) and sessions (oldest first) as one consistent reading.
	// Sessions carry no refresh key: an implementation never reads nor
	// decrypts one for this. Errors: KindUserNotFound.
	UserExportData(ctx context.Context, uid string) (StoredUserData, error)
}

// StoredUserData is what UserExportData returns.
type StoredUserData struct {
	User          domain.EndUser
	UserDomain    string // the user domain's name
	RegisteredVia domain.AppKind
	// DeletionDueAt is when a pending deletion erases the user (zero: none).
	DeletionDueAt time.Time
	Profile       domain.Profile
	Identities    []StoredIdentity
	Sessions      []StoredSession
}

// StoredIdentity is one WeChat identity of a user, with when it was bound.
type StoredIdentity struct {
	Kind     domain.AppKind
	Identity domain.WeChatIdentity
	BoundAt  time.Time
}

// StoredSession is a session with what is stored beside it.
type StoredSession struct {
	Session        domain.Session
	RevokeReason   string // "" when not revoked, or revoked without one
	LogoutDeviceID string // the push device a logout named ("" none)
}

// UserExport is everything the module holds about one user (PIPL's right of
// access): what `enduser user export UID` prints, as the document
// adapters/jsonformat encodes (docs/user-data.md: Exporting a user). Times are UTC;
// absent values are nil. It never carries a refresh key, a token or
// a secret; of what is sealed, only the user's own phone number (unmasked).
type UserExport struct {
	ExportedAt time.Time
	User       ExportedUser
	Profile    ExportedProfile
	// Phone is the number bound through the mini program, unmasked (nil:
	// none).
	Phone      *ExportedPhone
	Identities []ExportedIdentity
	Sessions   []ExportedSession
	// AuditRecords are the user's audit records within the retention,
	// oldest first.
	AuditRecords []AuditRecord
	// AuditTruncated is true when the user has more than
	// MaxExportedAuditRecords records: the oldest ones are in the export.
	AuditTruncated bool
}

// ExportedUser is the user's account.
type ExportedUser struct {
	UID           string
	UserDomain    string
	Status        int // 1 normal, 0 disabled
	RegisteredAt  time.Time
	LastLoginAt   time.Time
	RegisteredVia string     // offiaccount or miniprogram
	DeletionDueAt *time.Time // a pending deletion's erasure; null: none
}

// ExportedProfile is the profile (setUserInfo's fields, under its names);
// a field never set is null.
type ExportedProfile struct {
	NikeName    *string
	HeadImage   *string
	Sex         *int
	Address     *string
	Province    *string
	City        *string
	Signature   *string
	Remark      *string
	Lang        *int
	Nationality *int
	Timezone    *int
}

// ExportedPhone is the user's phone number.
type ExportedPhone struct {
	CountryCode string
	Number      string
}

// ExportedIdentity is one WeChat identity.
type ExportedIdentity struct {
	AppID   string
	AppKind string
	OpenID  string
	UnionID *string
	BoundAt time.Time
}

// ExportedSession is one session, without its secrets.
type ExportedSession struct {
	ID               string
	AppID            string
	CreatedAt        time.Time
	ExpiresAt        time.Time
	RefreshExpiresAt time.Time
	RotatedAt        *time.Time
	RevokedAt        *time.Time
	RevokeReason     *string
	LogoutDeviceID   *string
}

// SetAuditReader replaces Deps.AuditTrail (tests).
func (s *core) SetAuditReader(r AuditReader) { s.auditReader = r }

// ExportUser returns everything the module holds about uid. Errors:
// KindInvalid (no uid), KindUserNotFound.
func (s *core) ExportUser(ctx context.Context, uid string) (out UserExport, err error) {
	uid = strings.TrimSpace(uid)
	defer func() {
		err = s.logOutcome(ctx, "user.export", err, slog.String("uid", safeLog(uid)))
		if err == nil {
			s.record(ctx, AuditEvent{Event: AuditUserExported, UserDomain: out.User.UserDomain, UID: out.User.UID})
		}
	}()
	if uid == "" {
		return UserExport{}, &domain.Error{Kind: domain.KindInvalid, Detail: "a uid is required"}
	}
	d, err := s.users.UserExportData(ctx, uid)
	if err != nil {
		if domain.IsKind(err, domain.KindUserNotFound) {
			return UserExport{}, &domain.Error{Kind: domain.KindUserNotFound, Detail: "no user with uid " + safeLog(uid)}
		}
		return UserExport{}, internal(err)
	}
	out = exportOf(d)
	out.ExportedAt = s.clock.Now().UTC()
	phone, err := s.users.UserPhone(ctx, uid)
	if err != nil && !domain.IsKind(err, domain.KindUserNotFound) { // erased meanwhile: no phone
		return UserExport{}, internal(err)
	}
	if !phone.IsZero() {
		out.Phone = &ExportedPhone{CountryCode: phone.CountryCode, Number: phone.Number}
	}
	if s.auditReader != nil {
		recs, err := s.auditReader.UserAuditRecords(ctx, d.UserDomain, d.User.ID(), MaxExportedAuditRecords+1)
		if err != nil {
			return UserExport{}, internal(err)
		}
		if len(recs) > MaxExportedAuditRecords {
			recs, out.AuditTruncated = recs[:MaxExportedAuditRecords], true
		}
		for i := range recs {
			recs[i].Time = recs[i].Time.UTC()
		}
		out.AuditRecords = recs
	}
	if out.AuditRecords == nil {
		out.AuditRecords = []AuditRecord{}
	}
	return out, nil
}

// exportOf maps what is stored to the document, field by field: only what is
// named here leaves (a session's refresh key is not).
func exportOf(d StoredUserData) UserExport {
	u := d.User
	via := d.RegisteredVia
	if via == "" {
		via = domain.AppKindOfficialAccount
	}
	out := UserExport{
		User: ExportedUser{UID: u.ID(), UserDomain: d.UserDomain, Status: int(u.Status()),
			RegisteredAt: u.RegisteredAt().UTC(), LastLoginAt: u.LastLoginAt().UTC(), RegisteredVia: string(via),
			DeletionDueAt: optTime(d.DeletionDueAt)},
		Profile:    exportProfile(d.Profile),
		Identities: []ExportedIdentity{},
		Sessions:   []ExportedSession{},
	}
	for _, id := range d.Identities {
		kind := id.Kind
		if kind == "" {
			kind = domain.AppKindOfficialAccount
		}
		out.Identities = append(out.Identities, ExportedIdentity{AppID: id.Identity.AppID(), AppKind: string(kind),
			OpenID: id.Identity.OpenID(), UnionID: optString(id.Identity.UnionID()), BoundAt: id.BoundAt.UTC()})
	}
	for _, ss := range d.Sessions {
		sess := ss.Session
		e := ExportedSession{ID: sess.ID().String(), AppID: sess.AppID(), CreatedAt: sess.CreatedAt().UTC(),
			ExpiresAt: sess.ExpiresAt().UTC(), RefreshExpiresAt: sess.RefreshExpiresAt().UTC(),
			RotatedAt: optTime(sess.RotatedAt()), RevokedAt: optTime(sess.RevokedAt()),
			LogoutDeviceID: optString(ss.LogoutDeviceID)}
		if sess.Revoked() {
			e.RevokeReason = optString(ss.RevokeReason)
		}
		out.Sessions = append(out.Sessions, e)
	}
	return out
}

func exportProfile(p domain.Profile) ExportedProfile {
	return ExportedProfile{NikeName: optString(p.NikeName), HeadImage: optString(p.HeadImage), Sex: optInt(p.Sex),
		Address: optString(p.Address), Province: optString(p.Province), City: optString(p.City),
		Signature: optString(p.Signature), Remark: optString(p.Remark), Lang: optInt(p.Lang),
		Nationality: optInt(p.Nationality), Timezone: optInt(p.Timezone)}
}

// optTime is t in UTC, nil when zero.
func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

// optString is s, nil when empty.
func optString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// optInt is a copy of p (never sharing the stored value).
func optInt(p *int) *int {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}
