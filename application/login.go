package application

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"

	"github.com/iotplatform/enduser-auth/domain"
)

// WeChatLogin is the input of the WeChat official account login, as the client
// sent it (raw strings: the service validates them in the contract's order).
type WeChatLogin struct {
	UserDomain string
	AppID      string
	Code       string
	Signature  string
	// MCC is the optional mobile country code; "" means not given.
	MCC string
	// proof, when set, replaces the signature (the website login, whose
	// page cannot hold the user domain's secret): it is checked right after
	// the code, before the user domain is read (websitelogin.go).
	proof func(ctx context.Context, userDomain, appID string) error
}

// LoginResult is a successful login.
type LoginResult struct {
	Tokens     domain.TokenPair
	UID        string
	Registered bool
	// Outcome says how the person was recognised (returning, registered,
	// joined by unionid, unionid attached).
	Outcome domain.LoginOutcome
	// DeletionCancelled is true when the user was in a deletion cooling-off
	// and this login cancelled the deletion (same uid).
	DeletionCancelled bool
}

// WeChatMiniProgramLogin is the input of the WeChat mini program login, as
// the client sent it (raw strings, validated in the contract's order).
type WeChatMiniProgramLogin struct {
	UserDomain string
	AppID      string
	// JSCode is the code of the mini program's wx.login().
	JSCode    string
	Signature string
	// MCC is the optional mobile country code; "" means not given.
	MCC string
}

// LoginWithWeChatOfficialAccount verifies the request, exchanges the code with
// WeChat, finds or registers the user and starts a session. Checks run in the
// contract's order; the WeChat call comes last, after the signature, so that
// unsigned traffic never spends the tenant's WeChat quota.
func (s *core) LoginWithWeChatOfficialAccount(ctx context.Context, in WeChatLogin) (LoginResult, error) {
	return s.loginWithWeChat(ctx, domain.AppKindOfficialAccount, in)
}

// LoginWithWeChatMiniProgram is the mini program's login: the official
// account's, with the code of wx.login() exchanged through jscode2session and
// an appId that must be a mini program's (KindMiniProgramMissing otherwise).
// The same person (one unionid) is the same user through either kind.
func (s *core) LoginWithWeChatMiniProgram(ctx context.Context, in WeChatMiniProgramLogin) (LoginResult, error) {
	return s.loginWithWeChat(ctx, domain.AppKindMiniProgram, WeChatLogin{UserDomain: in.UserDomain, AppID: in.AppID,
		Code: in.JSCode, Signature: in.Signature, MCC: in.MCC})
}

// loginEvents names the log line of each kind's login.
var loginEvents = map[domain.AppKind]string{
	domain.AppKindOfficialAccount: "login.wechat_offiaccount",
	domain.AppKindMiniProgram:     "login.wechat_miniprogram",
	domain.AppKindMobileApp:       "login.wechat_app",
	domain.AppKindWebsite:         "login.wechat_website",
}

// loginWithWeChat is the login through a WeChat app of kind: in.Code is the
// official account's OAuth code or the mini program's jsCode. It logs and
// audits what login did.
func (s *core) loginWithWeChat(ctx context.Context, kind domain.AppKind, in WeChatLogin) (LoginResult, error) {
	start := s.clock.Now()
	res, openID, err := s.login(ctx, kind, in)
	// Trimmed as the login trims them: padding must not hide a login from a
	// search of the audit trail or the logs by user domain.
	userDomain, appID := safeLog(strings.TrimSpace(in.UserDomain)), safeLog(strings.TrimSpace(in.AppID))
	attrs := []any{slog.String("userDomain", userDomain), slog.String("appId", appID), slog.Duration("took", s.clock.Now().Sub(start))}
	if err == nil {
		attrs = append(attrs, slog.String("uid", res.UID), slog.Bool("registered", res.Registered), slog.String("identity", res.Outcome.String()))
	}
	if isLimitRefusal(err) {
		// Refused by the abuse limits: the refusal sampler reported it (a
		// flood writes almost nothing: refusals.go).
		return res, err
	}
	err = s.logOutcome(ctx, loginEvents[kind], err, attrs...)
	s.record(ctx, AuditEvent{Event: AuditLogin, Outcome: domain.KindOf(err), WeChatErrcode: int(domain.WeChatErrcodeOf(err)),
		UserDomain: userDomain, AppID: appID, AppKind: kind, UID: res.UID, OpenID: openID})
	return res, err
}

// login checks the request in the contract's order, exchanges the code and
// records the login; openID is WeChat's answer once known (for the audit).
func (s *core) login(ctx context.Context, kind domain.AppKind, in WeChatLogin) (res LoginResult, openID string, err error) {
	name, err := domain.ParseUserDomainName(in.UserDomain)
	if err != nil {
		// The login takes its request from the client IP's bucket itself
		// (admitLogin): a request refused here still spends one, and the
		// bucket's refusal comes first, as on every other endpoint.
		if berr := s.AllowRequest(ctx); berr != nil {
			return res, openID, berr
		}
		return res, openID, err
	}
	if err := s.admitLogin(ctx, name); err != nil {
		return res, openID, err // before any database or WeChat work
	}
	appID, code, sig := strings.TrimSpace(in.AppID), strings.TrimSpace(in.Code), strings.TrimSpace(in.Signature)
	switch {
	case appID == "":
		return res, openID, domain.E(domain.KindAppIDRequired)
	case code == "":
		return res, openID, domain.E(domain.KindCodeRequired)
	case len(code) > domain.MaxWeChatCodeLen:
		return res, openID, domain.Errorf(domain.KindCodeRequired, "code is longer than %d characters", domain.MaxWeChatCodeLen)
	case in.proof == nil && sig == "":
		return res, openID, domain.E(domain.KindSignatureRequired)
	}
	if in.proof != nil { // the website login: its bound state instead of a signature
		if err := in.proof(ctx, name, appID); err != nil {
			return res, openID, err
		}
	}
	ud, err := s.tenants.UserDomainByName(ctx, name)
	if err != nil {
		return res, openID, internalUnless(err, domain.KindUserDomainNotFound)
	}
	if !ud.Enabled() {
		return res, openID, domain.E(domain.KindUserDomainDisabled)
	}
	if err := s.verifySignature(ctx, name, ud, in, appID, code, sig); err != nil {
		return res, openID, err
	}
	if err := s.checkMCC(ctx, in.MCC); err != nil {
		return res, openID, err
	}
	if !domain.ValidAppID(appID) {
		return res, openID, domain.E(kind.MissingKind()) // no app can have such an appId: the store need not be asked
	}
	app, err := AppOfKind(ctx, s.tenants, ud.ID(), appID, kind)
	if err != nil {
		return res, openID, internalUnless(err, kind.MissingKind())
	}
	if err := s.admitExchange(ctx, name, appID, code); err != nil {
		// Rate limited: the code is neither claimed nor sent, the client may
		// retry it. Used: it was claimed (sent) before.
		return res, openID, err
	}
	ident, err := s.exchange(ctx, app, code)
	openID = ident.OpenID()
	if err != nil {
		s.noteWeChatAnswer(ctx, appID, err)
		return res, openID, internalUnless(err, domain.KindWeChatUnavailable, domain.KindWeChatRejected, domain.KindWeChatMalformed)
	}
	now := s.clock.Now()
	candidate, err := domain.NewEndUser(domain.NewUID(now), ud.ID(), now)
	if err != nil {
		return res, openID, err
	}
	mk, err := s.refreshKeys.current(ctx)
	if err != nil {
		return res, openID, internal(err)
	}
	sess := domain.NewSessionV2(candidate.ID(), ud.ID(), ud.Name(), appID, now, s.cfg.RefreshTokenTTL, s.cfg.SessionMaxLifetime, mk)
	// A disabled user's login is refused here, after every check of the
	// request and the WeChat exchange (who the person is is known only
	// then), before anything is written: RecordLogin writes nothing for a
	// disabled user (so a later cooling-off is not cancelled either).
	rec, err := s.users.RecordLogin(ctx, LoginRecord{UserDomainID: ud.ID(), Identity: ident, Candidate: candidate, Session: sess, At: now,
		AppKind: kind})
	if err != nil {
		return res, openID, internalUnless(err, domain.KindUserDisabled)
	}
	pair, err := s.pairFor(ctx, rec.Session, now)
	if err != nil {
		return res, openID, err
	}
	if rec.DeletionCancelled {
		s.record(ctx, AuditEvent{Event: AuditDeletionCancelled, UserDomain: ud.Name(), AppID: appID, UID: rec.User.ID(), OpenID: openID})
	}
	return LoginResult{Tokens: pair, UID: rec.User.ID(), Registered: rec.Outcome.Created(), Outcome: rec.Outcome,
		DeletionCancelled: rec.DeletionCancelled}, openID, nil
}

// verifySignature checks a signed login's signature (a website login's
// proof was checked before): a 5420 counts towards the lockout.
func (s *core) verifySignature(ctx context.Context, name string, ud domain.UserDomain, in WeChatLogin, appID, code, sig string) error {
	if in.proof != nil {
		return nil
	}
	err := ud.VerifyLoginSignature(appID, code, sig, s.clock.Now())
	if domain.IsKind(err, domain.KindSignatureInvalid) {
		s.signatureFailed(ctx, name)
	}
	return err
}

// The login's steps, in the order loginWithWeChat takes them (the
// contract's order of checks): admission (the client IP's bucket and the
// lockout), the failure count of a 5420, the MCC, the app, the exchange gate,
// the exchange and WeChat's answer to it.

// admitLogin is a login's first check, right after the user domain parses
// (before any database or WeChat work): one request of the client IP's
// bucket, then the lockout of (client IP, user domain), in one limiter call.
func (s *core) admitLogin(ctx context.Context, userDomain string) error {
	ip := clientIP(ctx)
	if s.limiter == nil || ip == "" {
		return nil
	}
	if d := s.limiter.AdmitLogin(ctx, ip, userDomain); !d.Allowed {
		if d.LockedOut {
			return s.refused(ctx, RefusalLockout, userDomain, "", blocked(d))
		}
		return s.refused(ctx, RefusalIPBucket, "", "", blocked(d))
	}
	return nil
}

// signatureFailed counts a 5420 and reports a lockout it starts.
func (s *core) signatureFailed(ctx context.Context, userDomain string) {
	ip := clientIP(ctx)
	if s.limiter == nil || ip == "" {
		return
	}
	until, locked := s.limiter.SignatureFailed(ctx, ip, userDomain)
	if !locked {
		return
	}
	// The request's clientIp is on the line already (ContextLogHandler).
	s.log.WarnContext(ctx, "client locked out after repeated signature failures",
		slog.String("userDomain", safeLog(userDomain)), slog.Time("until", until))
	s.RecordLockout(ctx, userDomain, "") // the request's client IP
	if s.onLockout != nil {
		s.onLockout(ctx, ip, userDomain, until)
	}
}

func (s *core) checkMCC(ctx context.Context, raw string) error {
	if strings.TrimSpace(raw) == "" {
		return nil
	}
	mcc, err := domain.ParseMCC(raw)
	if err != nil {
		return err
	}
	dc, err := s.tenants.DataCenterByMCC(ctx, mcc)
	if err != nil {
		if domain.IsKind(err, domain.KindMCCUnresolved) {
			return err
		}
		// The lookup failed: the contract answers 6085 for that too.
		return &domain.Error{Kind: domain.KindMCCUnresolved, Err: err}
	}
	if !strings.EqualFold(dc.Code(), s.cfg.DataCenter) {
		detail, _ := json.Marshal(map[string]string{"dataCenter": dc.Code(), "apiUrl": dc.APIURL()})
		return &domain.Error{Kind: domain.KindMCCForeign, Detail: string(detail)}
	}
	return nil
}

// AppOfKind is the app with appID in the user domain when it is of kind;
// otherwise (none, or an app of the other kind) kind's missing error
// (KindOfficialAccountMissing or KindMiniProgramMissing). It is the one
// lookup of an app by kind: the login's, and the stores' contract suite's.
func AppOfKind(ctx context.Context, apps WeChatAppRepository, userDomainID int64, appID string, kind domain.AppKind) (domain.WeChatApp, error) {
	app, err := apps.WeChatApp(ctx, userDomainID, appID)
	if domain.IsKind(err, domain.KindNotFound) || (err == nil && app.Kind() != kind) {
		return domain.WeChatApp{}, domain.E(kind.MissingKind())
	}
	return app, err
}

// rateLimitedDetail is the extMsg of a login refused by the exchange cap.
const rateLimitedDetail = `{"reason":"rateLimited"}`

// codeBeenUsed is the answer to a code sent to WeChat before: what WeChat
// itself would answer (errcode weChatCodeUsed), without asking it.
const (
	codeBeenUsed   = `{"errcode":40163,"errmsg":"code been used"}`
	weChatCodeUsed = 40163
)

// admitExchange applies the appId's cool-down and the (user domain, appId)
// exchange cap, then claims the code (the replay guard), in one gate call.
// Refused by the limits: 5367 rateLimited, the code not claimed; claimed
// before: WeChat's own 40163, without asking it.
func (s *core) admitExchange(ctx context.Context, userDomain, appID, code string) error {
	if s.exchanges == nil {
		return nil
	}
	d := s.exchanges.AdmitExchange(ctx, userDomain, appID, code)
	switch {
	case d.Allowed:
		return nil
	case d.LockedOut:
		return s.refused(ctx, RefusalLockout, userDomain, "", blocked(d.Decision))
	case d.CodeUsed:
		return domain.WeChatRejected(weChatCodeUsed, codeBeenUsed)
	default:
		return s.refused(ctx, RefusalRateLimited, userDomain, appID,
			&domain.Error{Kind: domain.KindWeChatUnavailable, Detail: rateLimitedDetail, RetryAfter: d.RetryAfter})
	}
}

// exchange sends the code to WeChat the way app's kind exchanges it.
func (s *core) exchange(ctx context.Context, app domain.WeChatApp, code string) (domain.WeChatIdentity, error) {
	if app.Kind() == domain.AppKindMiniProgram {
		return s.wechat.ExchangeJSCode(ctx, app.AppID(), app.AppSecret(), code)
	}
	return s.wechat.ExchangeCode(ctx, app.AppID(), app.AppSecret(), code)
}

// weChatRateLimited is WeChat's errcode for "api minute-quota reach limit".
const weChatRateLimited = 45011

// noteWeChatAnswer starts the appId's cool-down when WeChat said 45011.
func (s *core) noteWeChatAnswer(ctx context.Context, appID string, err error) {
	if s.limiter == nil || domain.WeChatErrcodeOf(err) != weChatRateLimited {
		return
	}
	until := s.coolDownUntil(s.clock.Now())
	s.log.WarnContext(ctx, "WeChat rate-limits the official account (45011): exchanges paused", slog.String("appId", safeLog(appID)),
		slog.Time("until", until))
	s.limiter.CoolDown(ctx, appID, until)
}
