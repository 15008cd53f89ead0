package application

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"github.com/iotplatform/enduser-auth/domain"
)

// AuditWeChatAppRemoved is a WeChat app removed from a user domain by an
// operator (Operators.RemoveWeChatApp): its appId and kind are in the record.
const AuditWeChatAppRemoved = "wechat_app_removed"

// WeChatAppInfo is what an operator sees of a WeChat app: never its
// AppSecret.
type WeChatAppInfo struct {
	Kind  domain.AppKind
	AppID string
	// RedirectURIs are a website app's registered redirect URIs (nil for the
	// other kinds).
	RedirectURIs []string
	// AddedAt is when the app was first added (a later put that gives it a
	// new AppSecret keeps it).
	AddedAt time.Time
}

// WeChatApps lists the WeChat apps of kind of a user domain, by appId,
// without their AppSecrets, as stored (never from a cache). Errors:
// KindInvalid (a bad name or kind), KindUserDomainNotFound.
func (s *core) WeChatApps(ctx context.Context, userDomain string, kind domain.AppKind) ([]WeChatAppInfo, error) {
	if !kind.Valid() {
		return nil, domain.Errorf(domain.KindInvalid, "unknown WeChat app kind %q", string(kind))
	}
	n, err := domain.ParseUserDomainName(userDomain)
	if err != nil {
		return nil, err
	}
	d, err := s.domains.UserDomainByName(ctx, n)
	if err != nil {
		return nil, internalUnless(err, domain.KindUserDomainNotFound)
	}
	apps, err := s.accounts.WeChatApps(ctx, d.ID(), kind)
	if err != nil {
		return nil, internal(err)
	}
	return apps, nil
}

// RemoveWeChatApp removes the WeChat app appID of kind from a user domain.
//
// What removal means: the app's row (its AppSecret and, for a website app,
// its redirect URIs) is deleted, so that a login through it answers the
// kind's "not configured" code (5375 an official account, 5373 a mini
// program, 5378 a mobile or website app) at once on this instance and within
// the tenant cache's TTL on the others; a mini program's phone number calls
// are refused the same way. The users who logged in through it and their
// openid bindings under its appId are kept (a person's identity does not
// vanish: re-adding the app makes the same people log in as the same users),
// and their sessions are untouched (to end them: EndUserSessions, or
// SetUserDomainEnabled). Importing users under a removed appId is refused.
//
// An app of another kind with that appId is not removed: the answer is the
// kind's missing code, as when there is no app. Errors: KindInvalid (a bad
// name, kind or appId), KindUserDomainNotFound, kind.MissingKind(). The
// removal is logged and audited (AuditWeChatAppRemoved).
func (s *core) RemoveWeChatApp(ctx context.Context, kind domain.AppKind, userDomain, appID string) (err error) {
	var n string
	defer func() {
		err = s.logOutcome(ctx, "wechat_app.remove", err, slog.String("user_domain", safeLog(userDomain)),
			slog.String("app_id", safeLog(appID)), slog.String("app_kind", safeLog(string(kind))))
		if err == nil {
			s.record(ctx, AuditEvent{Event: AuditWeChatAppRemoved, UserDomain: n, AppID: appID, AppKind: kind})
		}
	}()
	if !kind.Valid() {
		return domain.Errorf(domain.KindInvalid, "unknown WeChat app kind %q", string(kind))
	}
	appID = strings.TrimSpace(appID)
	if !domain.ValidAppID(appID) {
		return domain.Errorf(domain.KindInvalid, "appId must be 1 to 64 letters, digits, '-' or '_'")
	}
	if n, err = domain.ParseUserDomainName(userDomain); err != nil {
		return err
	}
	d, err := s.domains.UserDomainByName(ctx, n)
	if err != nil {
		return internalUnless(err, domain.KindUserDomainNotFound)
	}
	// Through the cache, which it clears.
	err = s.tenants.RemoveWeChatApp(ctx, d.ID(), kind, appID)
	if domain.IsKind(err, domain.KindNotFound) {
		return domain.Errorf(kind.MissingKind(), "no %s %s in user domain %s", kind.Noun(), appID, n)
	}
	return internalUnless(err)
}

// WeChatApps lists a user domain's WeChat apps of kind, without their
// AppSecrets (wechatapps.go).
func (o *Operators) WeChatApps(ctx context.Context, userDomain string, kind domain.AppKind) ([]WeChatAppInfo, error) {
	return o.c.WeChatApps(ctx, userDomain, kind)
}

// RemoveWeChatApp removes a WeChat app of kind from a user domain; its users
// and their bindings stay (wechatapps.go).
func (o *Operators) RemoveWeChatApp(ctx context.Context, kind domain.AppKind, userDomain, appID string) error {
	return o.c.RemoveWeChatApp(ctx, kind, userDomain, appID)
}

// WeChatApps is the repository's (never cached: operators list).
func (c *tenantCache) WeChatApps(ctx context.Context, userDomainID int64, kind domain.AppKind) ([]WeChatAppInfo, error) {
	return c.appRepo.WeChatApps(ctx, userDomainID, kind)
}

// RemoveWeChatApp is the repository's; it clears the cache, so that this
// instance's next login through the app finds none.
func (c *tenantCache) RemoveWeChatApp(ctx context.Context, userDomainID int64, kind domain.AppKind, appID string) error {
	defer c.clear()
	return c.appRepo.RemoveWeChatApp(ctx, userDomainID, kind, appID)
}

// appRemoved reports whether the user domain has no app appID any more (a
// binding under it outlives it), through the tenant cache; a failed read
// says no.
func (s *core) appRemoved(ctx context.Context, userDomainID int64, appID string) bool {
	_, err := s.tenants.WeChatApp(ctx, userDomainID, appID)
	return domain.IsKind(err, domain.KindNotFound)
}
