package application

// The phone number from the mini program (wechatMiniprogramPhoneNumber, spec
// §7.3): its ports, its use case and the operators' unbind.

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/iotplatform/enduser-auth/domain"
)

// WeChatPhoneAPI is WeChat's server-to-server side of the phone number: the
// app-wide access_token and the phone lookup. Neither the access token nor
// the number may appear in an error's text.
type WeChatPhoneAPI interface {
	// StableToken asks POST {base}/cgi-bin/stable_token for appID's
	// access_token (force: "force_refresh": true). Errors: KindAppTokenFailed
	// (network, timeout, non-2xx, an errcode: WeChatErrcode set, e.g. 40125,
	// 40164), KindAppTokenMalformed (an answer that is not a token).
	StableToken(ctx context.Context, appID, appSecret string, force bool) (AppAccessToken, error)
	// PhoneNumber asks POST {base}/wxa/business/getuserphonenumber once
	// (never retried) for the phone of phoneCode. Errors:
	// KindPhoneLookupFailed (network, timeout, non-2xx, an unparseable
	// answer, WeChat's -1 and 45011: WeChatErrcode set), KindPhoneRejected
	// (any other errcode, WeChatErrcode set: 40001 and 42001 say the access
	// token is invalid or expired; an answer without a valid phone).
	PhoneNumber(ctx context.Context, accessToken, phoneCode string) (WeChatPhone, error)
}

// AppAccessToken is WeChat's app-wide access_token and its lifetime as
// WeChat stated it.
type AppAccessToken struct {
	Value     string
	ExpiresIn time.Duration
}

// WeChatPhone is a phone lookup's answer: the number and the appid of its
// watermark (the app WeChat looked it up for).
type WeChatPhone struct {
	Phone          domain.PhoneNumber
	WatermarkAppID string
}

// PhoneRepository stores the users' phone numbers (sealed, with a keyed
// hash for equality, in PostgreSQL). A number is bound to at most one user
// per user domain; erasing the user erases its number.
type PhoneRepository interface {
	// BindPhone binds phone to the user uid, replacing the number it had,
	// atomically: a number bound to another user of the user domain fails
	// with KindPhoneTaken and changes nothing (of two concurrent binds of
	// one number to two users, one wins). It reports whether the user's
	// number changed (false: it was bound already). Errors:
	// KindUserNotFound, KindPhoneTaken.
	BindPhone(ctx context.Context, uid string, phone domain.PhoneNumber) (changed bool, err error)
	// UserPhone returns the user's number (zero: none). Errors:
	// KindUserNotFound.
	UserPhone(ctx context.Context, uid string) (domain.PhoneNumber, error)
	// UnbindPhone removes the user's number and reports whether there was
	// one, and the user's domain name. Errors: KindUserNotFound.
	UnbindPhone(ctx context.Context, uid string) (userDomain string, removed bool, err error)
}

// ForcedRefreshRepository rations WeChat's forced access_token refreshes
// across instances.
type ForcedRefreshRepository interface {
	// ClaimForcedRefresh claims the right to force appID's access_token
	// refresh at now, atomically: it succeeds (true) when no refresh of
	// appID was claimed after now-every, and records now as the last.
	ClaimForcedRefresh(ctx context.Context, appID string, now time.Time, every time.Duration) (bool, error)
}

// The audit events of the phone number (never the number itself).
const (
	// AuditPhoneBound is a phone bind through the mini program, whatever
	// its outcome (Outcome, WeChatErrcode).
	AuditPhoneBound = "phone_bound"
	// AuditPhoneUnbound is an operator's unbind of a user's phone.
	AuditPhoneUnbound = "phone_unbound"
)

// phoneCodeClaim is the code the exchange gate claims for a phoneCode: its
// own namespace, apart from the login codes of the same app.
func phoneCodeClaim(phoneCode string) string { return "phone\x00" + phoneCode }

// BindWeChatPhone is wechatMiniprogramPhoneNumber for the verified
// principal p: checks in the contract's order (5218 appId, 5398 phoneCode,
// 5373 mini program), then the code's claim (5398 when spent before: no
// WeChat call), the app's access_token (5382, 5383), the lookup (5394,
// 5403; on 40001/42001 the token is asked again and the lookup retried
// once), the watermark (5403), and the bind (5002, 5033).
func (s *core) BindWeChatPhone(ctx context.Context, p domain.Principal, appID, phoneCode string) (phone domain.PhoneNumber, err error) {
	var changed bool
	audited := false
	defer func() {
		err = s.logOutcome(ctx, "phone.bind", err, slog.String("uid", p.UID), slog.String("appId", safeLog(appID)),
			slog.Bool("changed", changed))
		if audited {
			s.record(ctx, AuditEvent{Event: AuditPhoneBound, Outcome: domain.KindOf(err), WeChatErrcode: int(domain.WeChatErrcodeOf(err)),
				UserDomain: p.UserDomain, AppID: appID, AppKind: domain.AppKindMiniProgram, UID: p.UID})
		}
	}()
	if appID == "" {
		return phone, domain.E(domain.KindAppIDRequired)
	}
	code, err := domain.ParsePhoneCode(phoneCode)
	if err != nil {
		return phone, err
	}
	app, err := s.miniProgramOf(ctx, p.UserDomain, appID)
	if err != nil {
		return phone, err
	}
	if s.phoneAPI == nil {
		return phone, internal(errNoPhoneAPI)
	}
	audited = true
	if err := s.admitExchange(ctx, p.UserDomain, appID, phoneCodeClaim(code)); err != nil {
		switch {
		case domain.IsKind(err, domain.KindWeChatRejected): // claimed before
			return phone, domain.Errorf(domain.KindPhoneCodeRequired, "phoneCode has been used")
		default: // the limits: the code is not claimed, the client may retry it
			return phone, &domain.Error{Kind: domain.KindPhoneLookupFailed, Detail: domain.DetailOf(err), RetryAfter: domain.RetryAfterOf(err)}
		}
	}
	got, err := s.lookUpPhone(ctx, app, code)
	if err != nil {
		s.noteWeChatAnswer(ctx, appID, err)
		return phone, internalUnless(err, domain.KindAppTokenFailed, domain.KindAppTokenMalformed, domain.KindPhoneLookupFailed,
			domain.KindPhoneRejected)
	}
	if got.WatermarkAppID != appID {
		return phone, domain.Errorf(domain.KindPhoneRejected, "WeChat's answer is for another app")
	}
	changed, err = s.users.BindPhone(ctx, p.UID, got.Phone)
	if err != nil {
		return phone, internalUnless(err, domain.KindPhoneTaken, domain.KindUserNotFound)
	}
	return got.Phone, nil
}

// errNoPhoneAPI is a service built without Deps.WeChatPhone.
var errNoPhoneAPI = errors.New("the service has no WeChat phone API")

// miniProgramOf is the mini program appID of the user domain named
// userDomain; KindMiniProgramMissing (5373) when there is none.
func (s *core) miniProgramOf(ctx context.Context, userDomain, appID string) (domain.WeChatApp, error) {
	ud, err := s.tenants.UserDomainByName(ctx, userDomain)
	if err != nil {
		if domain.IsKind(err, domain.KindUserDomainNotFound) {
			return domain.WeChatApp{}, domain.E(domain.KindMiniProgramMissing)
		}
		return domain.WeChatApp{}, internal(err)
	}
	app, err := s.tenants.WeChatApp(ctx, ud.ID(), appID)
	switch {
	case domain.IsKind(err, domain.KindNotFound):
		return domain.WeChatApp{}, domain.E(domain.KindMiniProgramMissing)
	case err != nil:
		return domain.WeChatApp{}, internal(err)
	case app.Kind() != domain.AppKindMiniProgram:
		return domain.WeChatApp{}, domain.E(domain.KindMiniProgramMissing)
	}
	return app, nil
}

// The errcodes of getuserphonenumber that say the access token is invalid
// (40001) or expired (42001).
const (
	weChatTokenInvalid = 40001
	weChatTokenExpired = 42001
)

// lookUpPhone asks WeChat for the phone of code with the app's access token;
// when WeChat says the token is invalid or expired, it gets the token again
// (appTokens.rejected) and retries once.
func (s *core) lookUpPhone(ctx context.Context, app domain.WeChatApp, code string) (WeChatPhone, error) {
	tok, err := s.appTokens.get(ctx, app)
	if err != nil {
		return WeChatPhone{}, err
	}
	got, err := s.phoneAPI.PhoneNumber(ctx, tok, code)
	if ec := domain.WeChatErrcodeOf(err); ec != weChatTokenInvalid && ec != weChatTokenExpired {
		return got, err
	}
	s.log.InfoContext(ctx, "WeChat refused the app's access token: asking again", slog.String("appId", safeLog(app.AppID())),
		slog.Int64("errcode", domain.WeChatErrcodeOf(err)))
	tok, err = s.appTokens.rejected(ctx, app, tok)
	if err != nil {
		return WeChatPhone{}, err
	}
	got, err = s.phoneAPI.PhoneNumber(ctx, tok, code)
	if ec := domain.WeChatErrcodeOf(err); ec == weChatTokenInvalid || ec == weChatTokenExpired {
		// Refused again: no token could be had (5382), the code not used.
		return got, &domain.Error{Kind: domain.KindAppTokenFailed, Detail: domain.DetailOf(err), WeChatErrcode: ec}
	}
	return got, err
}

// UnbindUserPhone removes the phone of the user uid (operators): it reports
// whether there was one. Errors: KindInvalid (no uid), KindNotFound (no
// such user).
func (s *core) UnbindUserPhone(ctx context.Context, uid string) (removed bool, err error) {
	defer func() {
		err = s.logOutcome(ctx, "phone.unbind", err, slog.String("uid", safeLog(uid)), slog.Bool("removed", removed))
	}()
	if uid == "" {
		return false, domain.Errorf(domain.KindInvalid, "a uid is required")
	}
	userDomain, removed, err := s.users.UnbindPhone(ctx, uid)
	if err != nil {
		if domain.IsKind(err, domain.KindUserNotFound) {
			return false, domain.Errorf(domain.KindNotFound, "no user %s", safeLog(uid))
		}
		return false, internal(err)
	}
	if removed {
		s.record(ctx, AuditEvent{Event: AuditPhoneUnbound, UserDomain: userDomain, UID: uid})
	}
	return removed, nil
}

// BindWeChatPhone is wechatMiniprogramPhoneNumber for a verified principal:
// phone.go.
func (e *EndUsers) BindWeChatPhone(ctx context.Context, p domain.Principal, appID, phoneCode string) (domain.PhoneNumber, error) {
	return e.c.BindWeChatPhone(ctx, p, appID, phoneCode)
}

// UnbindUserPhone removes a user's phone number: phone.go.
func (o *Operators) UnbindUserPhone(ctx context.Context, uid string) (bool, error) {
	return o.c.UnbindUserPhone(ctx, uid)
}
