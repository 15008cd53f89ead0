package application

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"log/slog"
	"strings"
	"time"

	"github.com/iotplatform/enduser-auth/domain"
)

// generateSecret returns 256 random bits, base64url (43 characters).
func generateSecret() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// CreateUserDomain creates an enabled user domain. An empty secret is
// generated (256 bits). It returns the domain, whose Secret the operator
// hands to the tenant.
func (s *core) CreateUserDomain(ctx context.Context, name, secret string) (domain.UserDomain, error) {
	if secret == "" {
		secret = generateSecret()
	}
	d, err := domain.NewUserDomain(name, secret)
	if err != nil {
		return domain.UserDomain{}, err
	}
	d, err = s.tenants.CreateUserDomain(ctx, d)
	if err != nil {
		return domain.UserDomain{}, internalUnless(err, domain.KindInvalid)
	}
	return d, nil
}

// SetUserDomainEnabled enables or disables a user domain. Disabling ends
// every session of the domain by one user-domain scope revocation: its
// refresh tokens answer 5032 at once, its access tokens stop verifying here
// at once and on every instance within the revocation sync interval, its
// logins answer 5104 (within the tenant cache's TTL). Enabling it again
// brings no ended session back.
func (s *core) SetUserDomainEnabled(ctx context.Context, name string, enabled bool) error {
	n, err := domain.ParseUserDomainName(name)
	if err != nil {
		return err
	}
	if err := s.tenants.SetUserDomainEnabled(ctx, n, enabled); err != nil {
		return internalUnless(err, domain.KindUserDomainNotFound)
	}
	ev := AuditUserDomainEnabled
	if !enabled {
		ev = AuditUserDomainDisabled
		now := s.clock.Now()
		// After the flag: a login racing the disable either is refused or
		// starts a session before now, which the revocation covers. An
		// error leaves the domain disabled with its sessions alive: the
		// operator runs the (idempotent) command again.
		if _, _, err := s.sessions.RevokeScope(ctx, ScopeUserDomain, n, now); err != nil {
			return internal(err)
		}
		s.revoked.putScope(ScopeRevocation{Scope: ScopeUserDomain, Subject: n, RevokedBefore: now, UpdatedAt: now})
	}
	s.record(ctx, AuditEvent{Event: ev, UserDomain: n})
	return nil
}

// PutOfficialAccount adds or updates an official account of a user domain.
// Errors: KindInvalid (also when appID is a mini program's).
func (s *core) PutOfficialAccount(ctx context.Context, userDomain, appID, appSecret string) error {
	return s.PutWeChatApp(ctx, domain.AppKindOfficialAccount, userDomain, appID, appSecret)
}

// PutMiniProgram adds or updates a mini program of a user domain. Errors:
// KindInvalid (also when appID is an official account's).
func (s *core) PutMiniProgram(ctx context.Context, userDomain, appID, appSecret string) error {
	return s.PutWeChatApp(ctx, domain.AppKindMiniProgram, userDomain, appID, appSecret)
}

// PutWeChatApp adds or updates a WeChat app of kind of a user domain. An
// appId is one kind only: one that is an app of the other kind (in any user
// domain) is refused with KindInvalid.
func (s *core) PutWeChatApp(ctx context.Context, kind domain.AppKind, userDomain, appID, appSecret string) error {
	n, err := domain.ParseUserDomainName(userDomain)
	if err != nil {
		return err
	}
	d, err := s.domains.UserDomainByName(ctx, n)
	if err != nil {
		return internalUnless(err, domain.KindUserDomainNotFound)
	}
	a, err := domain.NewWeChatApp(kind, d.ID(), appID, appSecret)
	if err != nil {
		return err
	}
	return internalUnless(s.tenants.PutWeChatApp(ctx, a), domain.KindInvalid)
}

// PutDataCenter creates or replaces a data center and the MCCs it serves.
func (s *core) PutDataCenter(ctx context.Context, code, apiURL string, mccs []domain.MCC) error {
	dc, err := domain.NewDataCenter(code, apiURL, mccs)
	if err != nil {
		return err
	}
	return internalUnless(s.tenants.PutDataCenter(ctx, dc), domain.KindInvalid)
}

// RotateUserDomainSecret gives a user domain a new secret (generated, 256
// bits, when newSecret is empty) and keeps the current one valid for overlap
// (domain.UserDomain.RotateSecret: a rotation during an overlap ends the older
// one). It records the rotation in the audit trail and returns the domain,
// whose Secret is the new one. Other instances see the new secret within
// their tenant cache's TTL; the end of the overlap is exact everywhere.
func (s *core) RotateUserDomainSecret(ctx context.Context, name, newSecret string, overlap time.Duration) (domain.UserDomain, error) {
	n, err := domain.ParseUserDomainName(name)
	if err != nil {
		return domain.UserDomain{}, err
	}
	if newSecret == "" {
		newSecret = generateSecret()
	}
	now := s.clock.Now()
	d, err := s.tenants.RotateUserDomainSecret(ctx, n, func(cur domain.UserDomain) (domain.UserDomain, error) {
		return cur.RotateSecret(newSecret, now, overlap)
	})
	if err != nil {
		return domain.UserDomain{}, internalUnless(err, domain.KindUserDomainNotFound, domain.KindInvalid)
	}
	s.record(ctx, AuditEvent{Event: AuditSecretRotated, UserDomain: n})
	return d, nil
}

// EndUserSessions ends every session of the user uid at once (a stolen
// phone), by one user-scope revocation: their refresh tokens answer 5032 from
// now on, their access tokens stop verifying here at once and on every other
// instance within the revocation sync interval. It returns how many live
// sessions it ended; an unknown user has none. The user may log in again.
func (s *core) EndUserSessions(ctx context.Context, uid string) (n int, err error) {
	var userDomain string
	defer func() {
		err = s.logOutcome(ctx, "sessions.end_all", err, slog.String("uid", safeLog(uid)), slog.Int("sessions", n))
		if err == nil {
			s.record(ctx, AuditEvent{Event: AuditSessionsEnded, UserDomain: userDomain, UID: safeLog(uid)})
		}
	}()
	uid = strings.TrimSpace(uid)
	if uid == "" {
		return 0, &domain.Error{Kind: domain.KindInvalid, Detail: "a uid is required"}
	}
	now := s.clock.Now()
	n, userDomain, err = s.sessions.RevokeScope(ctx, ScopeUser, uid, now)
	if err != nil {
		return 0, internal(err)
	}
	if userDomain != "" {
		s.revoked.revokeUser(uid, now)
	}
	return n, nil
}

// DisableUser disables the end user uid: its sessions end (as
// EndUserSessions), and until EnableUser its logins, refreshes and tokens
// answer KindUserDisabled (5041) on this instance at once, on the others
// within the revocation sync interval (refreshes and logins everywhere at
// once: the store decides them). Errors: KindInvalid, KindUserNotFound.
func (s *core) DisableUser(ctx context.Context, uid string) error {
	return s.setUserDisabled(ctx, uid, true)
}

// EnableUser lets a disabled user log in again; the sessions the disable
// ended stay ended. Enabling a user that is not disabled changes nothing.
// Errors: KindInvalid, KindUserNotFound.
func (s *core) EnableUser(ctx context.Context, uid string) error {
	return s.setUserDisabled(ctx, uid, false)
}

func (s *core) setUserDisabled(ctx context.Context, uid string, disabled bool) (err error) {
	var userDomain string
	event, ev := "user.enable", AuditUserEnabled
	if disabled {
		event, ev = "user.disable", AuditUserDisabled
	}
	defer func() {
		err = s.logOutcome(ctx, event, err, slog.String("uid", safeLog(uid)))
		if err == nil {
			s.record(ctx, AuditEvent{Event: ev, UserDomain: userDomain, UID: safeLog(uid)})
		}
	}()
	uid = strings.TrimSpace(uid)
	if uid == "" {
		return &domain.Error{Kind: domain.KindInvalid, Detail: "a uid is required"}
	}
	now := s.clock.Now()
	if userDomain, err = s.users.SetUserDisabled(ctx, uid, disabled, now); err != nil {
		return internalUnless(err, domain.KindUserNotFound)
	}
	s.revoked.setDisabled(uid, disabled, now)
	return nil
}
