package application

import (
	"context"
	"time"

	"github.com/iotplatform/enduser-auth/domain"
)

// Clock tells the time. Tests pass a fake one.
type Clock interface {
	Now() time.Time
}

// SystemClock is the wall clock.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// WeChatOAuth exchanges an OAuth code for the user's identity.
type WeChatOAuth interface {
	// ExchangeCode calls WeChat once (never retried: the code is consumed).
	// Errors: KindWeChatUnavailable (network, timeout, non-2xx),
	// KindWeChatRejected (errcode, no openid, snapshot user; Detail carries
	// WeChat's errcode and errmsg), KindWeChatMalformed (unparseable body).
	ExchangeCode(ctx context.Context, appID, appSecret, code string) (domain.WeChatIdentity, error)
	// ExchangeJSCode exchanges a mini program's wx.login() code
	// (jscode2session) the same way, with the same errors. WeChat's
	// session_key is dropped: it is neither returned, stored nor logged.
	ExchangeJSCode(ctx context.Context, appID, appSecret, jsCode string) (domain.WeChatIdentity, error)
}

// TokenIssuer signs and verifies access tokens and manages signing keys.
type TokenIssuer interface {
	// SignAccessToken signs the claims with the current signing key.
	SignAccessToken(ctx context.Context, c domain.AccessClaims) (string, error)
	// ParseAccessToken verifies signature (kid resolved against held keys,
	// algorithm pinned), type, exp and nbf (with a small leeway) at now.
	// Errors: KindTokenInvalid.
	ParseAccessToken(ctx context.Context, token string, now time.Time) (domain.AccessClaims, error)
	// JWKS returns the JSON Web Key Set of every key that may still have
	// valid tokens.
	JWKS(ctx context.Context) ([]byte, error)
	// RotateSigningKey makes a new key the signer and returns its kid.
	RotateSigningKey(ctx context.Context) (string, error)
	// RevokeSigningKey removes kid at once (JWKS, verification) and returns
	// the kid that signs now, on every instance alike (a new key, not
	// delayed, when kid signed). Errors: KindNotFound for an unknown kid.
	RevokeSigningKey(ctx context.Context, kid string) (string, error)
}

// SigningKeyReloader is implemented by a TokenIssuer that caches its keys:
// SyncRevocations reloads them, so that a key revoked on another instance
// stops verifying here within RevocationSyncInterval. removed reports that
// a key held before is gone (the verified-token cache is then dropped).
type SigningKeyReloader interface {
	ReloadSigningKeys(ctx context.Context) (removed bool, err error)
}

// Limiter is the abuse-limit port. Implementations keep their state where
// they like (memory, Redis) and never fail a request because of it: when
// their store fails they fall back to something that answers, so the methods
// return no error.
type Limiter interface {
	// AllowRequest takes one request from clientIP's token bucket.
	AllowRequest(ctx context.Context, clientIP string) Decision
	// AdmitLogin is a login's first check, in one step: it takes one request
	// from clientIP's token bucket (refused: the bucket's RetryAfter) and,
	// when the bucket allows it, reports whether (clientIP, userDomain) is
	// locked out (refused: the time left). The login routes take their
	// request from the bucket here, not through AllowRequest.
	AdmitLogin(ctx context.Context, clientIP, userDomain string) Decision
	// SignatureFailed records one signature failure of (clientIP,
	// userDomain). When this failure starts a lockout it returns the
	// lockout's end and true (once per lockout, whatever the instances).
	SignatureFailed(ctx context.Context, clientIP, userDomain string) (until time.Time, locked bool)
	// CoolDown refuses every exchange of appID until until (WeChat said
	// 45011: retry next minute); ExchangeGate.AdmitExchange applies it.
	CoolDown(ctx context.Context, appID string, until time.Time)
}

// ExchangeGate is the last step before a code goes to WeChat, in one call:
// with the abuse limits on, it refuses while appID cools down (45011) or
// when (userDomain, appID) is over its exchange cap; then it claims the code
// for appID, so that a code goes to WeChat at most once: a code claimed
// before (by any instance sharing the gate's state) is refused as used. A
// code refused by the limits is not claimed (the client may retry it).
// Implementations keep only a hash of the code and, like the Limiter, never
// fail: when their store fails they fall back to something that answers.
type ExchangeGate interface {
	AdmitExchange(ctx context.Context, userDomain, appID, code string) ExchangeDecision
}

// ExchangeDecision is an ExchangeGate's answer: Allowed, the code claimed
// and to be sent; refused by the limits (RetryAfter set); or CodeUsed.
type ExchangeDecision struct {
	Decision
	// CodeUsed says the limits let it through but the code was claimed
	// before: WeChat would answer 40163.
	CodeUsed bool
}

// Decision is a limiter's answer.
type Decision struct {
	Allowed bool
	// RetryAfter is, when refused, how long until a retry may pass.
	RetryAfter time.Duration
	// LockedOut says that a refusal of AdmitLogin is the lockout of (client
	// IP, user domain), not the client IP's bucket (the two are counted,
	// audited and logged apart: refusals.go); of ExchangeGate.AdmitExchange,
	// that the gate found the request's lockout (a gate whose admission's
	// lockout check may lag checks it again; the login answers it as
	// admission would).
	LockedOut bool
}

// Allow is the Decision that lets a request through.
var Allow = Decision{Allowed: true}

// LockoutLifter lifts the lockouts a Limiter holds in this process's memory
// (without Redis, all of them; with Redis, those it took while Redis
// failed), for the unblock requests of the operators (Operators.UnblockIP,
// SyncIPUnblocks).
type LockoutLifter interface {
	// LiftLockouts lifts every lockout and failure count of ip (a LimitKey),
	// whatever the user domain, and returns how many lockouts it lifted.
	LiftLockouts(ctx context.Context, ip string) int
	// LockoutDuration is how long a lockout lasts: an unblock request older
	// than that has nothing left to lift.
	LockoutDuration() time.Duration
}

// LockoutHook is told of every lockout once (not per refused request).
type LockoutHook func(ctx context.Context, clientIP, userDomain string, until time.Time)

// AuditLog records security events. Record must not block: an
// implementation queues the event and writes it later (a login never waits for
// the audit), dropping it when its queue is full.
type AuditLog interface {
	Record(ctx context.Context, e AuditEvent)
}

// AuditReader reads the audit trail.
type AuditReader interface {
	// UserAuditRecords lists at most limit records of uid in userDomain,
	// oldest first, as stored (openids as their keyed hashes).
	UserAuditRecords(ctx context.Context, userDomain, uid string, limit int) ([]AuditRecord, error)
}

// AuditLister lists the audit trail for operators (`enduser audit`).
type AuditLister interface {
	// AuditEvents lists the records q selects, newest first.
	AuditEvents(ctx context.Context, q AuditQuery) ([]AuditRecord, error)
}

// SharedLockouts are the lockouts held where every instance reads them
// (Redis), which an operator's unblock lifts at once.
type SharedLockouts interface {
	// Shared reports whether there is such a store (false: every instance
	// holds its lockouts in memory, lifted within a sync interval).
	Shared() bool
	// Unblock lifts every lockout of ip (whatever the user domain) in this
	// process's memory and in the shared store, and returns how many it
	// lifted.
	Unblock(ctx context.Context, ip string) (int, error)
}

// SecretResealer seals the stored secrets again under the primary master key
// (an operator's master key rotation).
type SecretResealer interface {
	// ReencryptSecrets seals every stored secret not under the primary key
	// under it, batch rows per statement, column by column; progress (nil:
	// none) is told each column's totals after each batch.
	ReencryptSecrets(ctx context.Context, batch int, progress func(ReencryptProgress)) ([]ReencryptProgress, error)
	// SecretsNotUnderPrimary counts, per "table.column", the values still
	// sealed under another key.
	SecretsNotUnderPrimary(ctx context.Context) (map[string]int64, error)
}
