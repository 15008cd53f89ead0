// Package application holds the use cases of end-user authentication and the
// module's facades, one per audience, each in its own file: EndUsers (what
// end users' clients trigger, through the HTTP adapter), Auth (what the
// host's other modules call in-process) and Operators (what operators do,
// through the CLI). The module's own machinery (the background loops, the
// start-up loads) is Machinery, which only the wiring holds.
package application

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/iotplatform/enduser-auth/domain"
)

// core is the state the use cases share; the facades (EndUsers, Auth,
// Operators) and the Machinery are views of one core.
type core struct {
	cfg    Config
	clock  Clock
	wechat WeChatOAuth
	// domains and accounts are the tenant repositories themselves, for the
	// reads that must not be cached (admin, import); tenants decorates them
	// with the cache (the login's reads, every tenant write).
	domains     UserDomainRepository
	accounts    WeChatAppRepository
	users       UserRepository
	sessions    SessionRepository
	tokens      TokenIssuer
	log         *slog.Logger
	revoked     *revocationCache
	tenants     *tenantCache
	purgeHolder string
	audit       AuditLog
	auditReader AuditReader

	limiter       Limiter
	exchanges     ExchangeGate
	onLockout     LockoutHook
	unblocks      IPUnblockRepository
	lockouts      LockoutLifter
	shared        SharedLockouts
	importer      UserImporter
	auditList     AuditLister
	secrets       SecretResealer
	websiteStates WebsiteStateStore
	stateKey      []byte
	unblockSync   unblockSync
	coolDownUntil func(time.Time) time.Time
	refreshKeys   *refreshKeyring
	verified      *verifiedCache
	refusals      *refusalSampler
	phoneAPI      WeChatPhoneAPI
	appTokens     *appTokens

	logoutMu        sync.RWMutex
	logoutListeners []func(context.Context, LogoutEvent)
	logoutWG        sync.WaitGroup
	erasure         erasureState
}

// Deps are the service's ports: the adapters it drives. Clock, Log,
// Limiter, Exchanges, Audit, OnLockout, IPUnblocks and Lockouts may be nil
// (the wall clock, a logger that discards, no abuse limit, no exchange cap or
// replay guard, no audit trail, no lockout hook, no unblock requests); the
// others are required by the use cases that call them.
type Deps struct {
	Clock       Clock
	WeChat      WeChatOAuth
	Domains     UserDomainRepository
	Apps        WeChatAppRepository
	DataCenters DataCenterRepository
	Users       UserRepository
	Sessions    SessionRepository
	Tokens      TokenIssuer
	Log         *slog.Logger
	// Limiter makes the login enforce the abuse limits (nil: none).
	Limiter Limiter
	// Exchanges admits each code to the WeChat exchange: the exchange cap
	// and cool-down (when the limits are on) and the code replay guard (nil:
	// neither; wire's is ratelimit.Limits, with the guard always on).
	Exchanges ExchangeGate
	// Audit records the security events (nil: no audit trail).
	Audit AuditLog
	// AuditTrail is read by ExportUser (nil: exports carry no audit
	// records); also when Audit is nil, since records kept from before are
	// the user's.
	AuditTrail AuditReader
	// OnLockout is told of each lockout, after the WARN log line and the
	// audit record the service writes itself (nil: nobody).
	OnLockout LockoutHook
	// IPUnblocks stores the operators' unblock requests (nil: UnblockIP
	// fails and Run reads none).
	IPUnblocks IPUnblockRepository
	// Lockouts lifts the lockouts held in this process's memory, for the
	// unblock requests (nil: Run reads no unblock request).
	Lockouts LockoutLifter
	// SharedLockouts lifts the lockouts every instance reads (Redis) at an
	// operator's unblock (nil: none; the serving instances lift theirs from
	// the stored request).
	SharedLockouts SharedLockouts
	// Importer stores the users of Operators.ImportUsers (nil: it fails).
	Importer UserImporter
	// AuditList lists the audit trail for Operators.AuditEvents (nil: it
	// fails).
	AuditList AuditLister
	// Secrets re-seals the stored secrets for Operators.ReencryptSecrets
	// (nil: it fails).
	Secrets SecretResealer
	// WebsiteStates claims the website logins' states (nil: every website
	// login fails).
	WebsiteStates WebsiteStateStore
	// WebsiteStateKey is the website login states' HMAC key: the same on
	// every instance of a deployment (wire derives it from the master key;
	// empty: a random key of this process, which only a single instance
	// can use).
	WebsiteStateKey []byte
	// WeChatPhone is WeChat's phone number API and ForcedRefreshes rations
	// its forced access_token refreshes (nil: the phone endpoint fails).
	WeChatPhone     WeChatPhoneAPI
	ForcedRefreshes ForcedRefreshRepository
}

// Facades are the application layer assembled on its ports: one facade per
// audience and the machinery, all views of the same state.
type Facades struct {
	// EndUsers is what end users' clients trigger (the HTTP adapter calls it).
	EndUsers *EndUsers
	// Auth is what the host's other modules call in-process.
	Auth *Auth
	// Operators is what operators do (the CLI calls it).
	Operators *Operators
	// Machinery is the module's own work: the start-up loads and the
	// background loops. The wiring holds it; hosts never see it.
	Machinery *Machinery
}

// New builds the application layer from its configuration and its ports.
// Zero settings in cfg take their defaults (Config.WithDefaults). The tenant
// repositories are used behind the tenant cache (a decorator of them,
// cfg.TenantCacheTTL).
func New(cfg Config, deps Deps) Facades {
	c := newCore(cfg, deps)
	return Facades{EndUsers: &EndUsers{c: c}, Auth: &Auth{c: c}, Operators: &Operators{c: c}, Machinery: &Machinery{c: c}}
}

func newCore(cfg Config, deps Deps) *core {
	cfg = cfg.WithDefaults()
	stateKey := deps.WebsiteStateKey
	if len(stateKey) == 0 {
		stateKey = make([]byte, 32)
		_, _ = rand.Read(stateKey) // crypto/rand.Read never fails on supported platforms
	}
	clock, log := deps.Clock, deps.Log
	if clock == nil {
		clock = SystemClock{}
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	coolDownUntil := NextMinute
	if d := cfg.WeChatCoolDown; d > 0 {
		coolDownUntil = func(now time.Time) time.Time { return now.Add(d) }
	}
	return &core{
		cfg:           cfg,
		clock:         clock,
		wechat:        deps.WeChat,
		domains:       deps.Domains,
		accounts:      deps.Apps,
		tenants:       newTenantCache(cfg.TenantCacheTTL, clock, deps.Domains, deps.Apps, deps.DataCenters),
		users:         deps.Users,
		sessions:      deps.Sessions,
		tokens:        deps.Tokens,
		log:           log,
		audit:         deps.Audit,
		auditReader:   deps.AuditTrail,
		limiter:       deps.Limiter,
		exchanges:     deps.Exchanges,
		onLockout:     deps.OnLockout,
		unblocks:      deps.IPUnblocks,
		lockouts:      deps.Lockouts,
		shared:        deps.SharedLockouts,
		importer:      deps.Importer,
		auditList:     deps.AuditList,
		secrets:       deps.Secrets,
		websiteStates: deps.WebsiteStates,
		stateKey:      stateKey,
		unblockSync:   unblockSync{applied: map[int64]time.Time{}},
		coolDownUntil: coolDownUntil,
		revoked:       newRevocationCache(),
		purgeHolder:   newPurgeHolder(),
		refreshKeys:   newRefreshKeyring(deps.Sessions, clock),
		verified:      newVerifiedCache(cfg.VerifiedTokenCacheSize),
		erasure:       newErasureState(),
		refusals:      newRefusalSampler(),
		phoneAPI:      phoneAPIOf(deps),
		appTokens:     newAppTokens(deps.WeChatPhone, deps.ForcedRefreshes, clock, log),
	}
}

// phoneAPIOf is deps' phone API, when it has all it needs.
func phoneAPIOf(deps Deps) WeChatPhoneAPI {
	if deps.WeChatPhone == nil || deps.ForcedRefreshes == nil {
		return nil
	}
	return deps.WeChatPhone
}

func (s *core) issueAccess(ctx context.Context, sess domain.Session, now time.Time) (domain.Token, error) {
	now = now.Truncate(time.Second)
	exp := now.Add(s.cfg.AccessTokenTTL)
	if end := sess.ExpiresAt().Truncate(time.Second); end.Before(exp) {
		exp = end // no token outlives its session's absolute lifetime
	}
	tok, err := s.tokens.SignAccessToken(ctx, domain.AccessClaims{
		UID: sess.UserID(), UserDomain: sess.UserDomain(), AppID: sess.AppID(), SessionID: sess.ID(),
		TokenID: newTokenID(), IssuedAt: now, ExpiresAt: exp,
	})
	if err != nil {
		return domain.Token{}, internal(err)
	}
	return domain.Token{Value: tok, ExpiresAt: exp}, nil
}

// internalUnless passes nil and errors of the expected kinds through and turns
// every other error into an internal one.
func internalUnless(err error, kinds ...domain.Kind) error {
	if err == nil {
		return nil
	}
	k := domain.KindOf(err)
	for _, want := range kinds {
		if k == want {
			return err
		}
	}
	return internal(err)
}

func internal(err error) error {
	if err == nil {
		return nil
	}
	var e *domain.Error
	if errors.As(err, &e) && e.Kind == domain.KindInternal {
		return err
	}
	return domain.Wrap(domain.KindInternal, err)
}

func newTokenID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// safeLog bounds client-provided strings before they reach a log line.
func safeLog(s string) string {
	if len(s) > 64 {
		s = s[:64]
	}
	return strings.ToValidUTF8(s, "?")
}

func (s *core) pairFor(ctx context.Context, sess domain.Session, now time.Time) (domain.TokenPair, error) {
	refresh := sess.RefreshToken()
	if refresh.Value == "" {
		return domain.TokenPair{}, internal(errors.New("session without its refresh key"))
	}
	access, err := s.issueAccess(ctx, sess, now)
	if err != nil {
		return domain.TokenPair{}, err
	}
	return domain.TokenPair{Access: access, Refresh: refresh}, nil
}

// logOutcome logs an authentication attempt with its outcome (ASVS 16.3.1).
// A failure's cause, when it has one (WeChat down, a database error), is
// logged too: it never reaches the client, so the log is where it goes.
// Callers never pass secrets, codes, tokens or openids in attrs. It returns
// err, marked as logged (Logged) when it logged it at ERROR, so that an
// adapter does not log the same failure again.
func (s *core) logOutcome(ctx context.Context, event string, err error, attrs ...any) error {
	attrs = append([]any{slog.String("event", event)}, attrs...)
	if err == nil {
		s.log.InfoContext(ctx, event+" succeeded", append(attrs, slog.String("outcome", "ok"))...)
		return nil
	}
	k := domain.KindOf(err)
	attrs = append(attrs, slog.String("outcome", string(k)))
	var de *domain.Error
	if !errors.As(err, &de) || de.Err != nil || de.Detail != "" {
		attrs = append(attrs, slog.String("error", err.Error()))
	}
	if k == domain.KindInternal || (k == domain.KindLogoutFailed && !errors.Is(err, domain.ErrDeviceIDInvalid)) {
		s.log.ErrorContext(ctx, event+" failed", attrs...)
		return loggedError{err}
	}
	if k == domain.KindWeChatUnavailable { // an outage an operator must see
		s.log.WarnContext(ctx, event+" failed", attrs...)
		return err
	}
	s.log.InfoContext(ctx, event+" refused", attrs...)
	return err
}

// loggedError is an error the service has logged with its cause already.
type loggedError struct{ error }

func (e loggedError) Unwrap() error { return e.error }

// Logged reports whether the service has logged err (an internal failure)
// already, with its cause and the request's id: an adapter that logs the
// internal failures it answers skips those, so that each is logged once.
func Logged(err error) bool {
	var l loggedError
	return errors.As(err, &l)
}
