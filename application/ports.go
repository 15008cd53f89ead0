package application

import (
	"context"
	"time"

	"github.com/iotplatform/enduser-auth/domain"
)

// The ports of the service, declared by the code that uses them, all passed
// in Deps (New):
//
//	stores (this file)          UserDomainRepository, WeChatAppRepository,
//	                            DataCenterRepository, UserRepository (with AccountDeletionRepository),
//	                            SessionRepository (with RefreshKeyRepository), IPUnblockRepository;
//	                            the signing keys' store is the token adapter's own port
//	                            (token.KeyRepository)
//	the outside (ports_external.go)
//	                            Clock, WeChatOAuth, TokenIssuer (+ SigningKeyReloader), Limiter
//	                            (+ LockoutHook, LockoutLifter), AuditLog, AuditReader (user exports)
//	values they exchange        porttypes.go
//
// Every error an implementation returns is either a *domain.Error of the
// kind documented on the method, or an unexpected failure (which the service
// reports as internal).

// UserDomainRepository stores user domains (tenants).
type UserDomainRepository interface {
	// UserDomainByName errors: KindUserDomainNotFound.
	UserDomainByName(ctx context.Context, name string) (domain.UserDomain, error)
	// CreateUserDomain errors: KindInvalid when the name is taken.
	CreateUserDomain(ctx context.Context, d domain.UserDomain) (domain.UserDomain, error)
	// SetUserDomainEnabled errors: KindUserDomainNotFound.
	SetUserDomainEnabled(ctx context.Context, name string, enabled bool) error
	// RotateUserDomainSecret stores, in place of the user domain named name,
	// what rotate makes of the stored domain (its secret and previous secret;
	// rotate must not have effects), atomically: concurrent rotations of one
	// domain take turns. Errors: KindUserDomainNotFound, rotate's.
	RotateUserDomainSecret(ctx context.Context, name string, rotate func(domain.UserDomain) (domain.UserDomain, error)) (domain.UserDomain, error)
}

// WeChatAppRepository stores the WeChat apps (official accounts, mini
// programs, mobile and website apps) of user domains. An appId is one kind
// only, in every user domain.
type WeChatAppRepository interface {
	// WeChatApp returns the app with appID in the user domain, of whichever
	// kind. Errors: KindNotFound.
	WeChatApp(ctx context.Context, userDomainID int64, appID string) (domain.WeChatApp, error)
	// PutWeChatApp creates the app or replaces its AppSecret. Errors:
	// KindInvalid when the user domain does not exist, or appID is an app of
	// the other kind (in this or another user domain).
	PutWeChatApp(ctx context.Context, a domain.WeChatApp) error
	// WeChatApps lists the apps of kind in the user domain, by appId,
	// without their AppSecrets (none: an empty list, also for an unknown
	// user domain).
	WeChatApps(ctx context.Context, userDomainID int64, kind domain.AppKind) ([]WeChatAppInfo, error)
	// RemoveWeChatApp deletes the app appID of kind from the user domain
	// (with a website app's redirect URIs); the users and bindings under its
	// appId stay. Errors: KindNotFound when the user domain has no app of
	// kind with appID (an app of another kind with it is left alone).
	RemoveWeChatApp(ctx context.Context, userDomainID int64, kind domain.AppKind, appID string) error
}

// DataCenterRepository stores data centers and the MCCs they serve.
type DataCenterRepository interface {
	// DataCenterByMCC errors: KindMCCUnresolved when no data center serves mcc.
	DataCenterByMCC(ctx context.Context, mcc domain.MCC) (domain.DataCenter, error)
	// PutDataCenter creates or replaces a data center and its MCC list.
	// Errors: KindInvalid when an MCC is served by another data center.
	PutDataCenter(ctx context.Context, dc domain.DataCenter) error
}

// UserRepository stores end users and their WeChat bindings.
type UserRepository interface {
	// RecordLogin records a login as one atomic operation: it decides who the
	// identity is by domain.DecideLogin on what is stored, writes that
	// decision and the last-login time (domain.LastLogin), and stores the
	// session for that user. Concurrent calls for one person yield one user.
	// A returning user's pending deletion is cancelled in the same operation
	// (RecordedLogin.DeletionCancelled).
	// A login that finds a disabled user writes nothing and fails with
	// KindUserDisabled.
	RecordLogin(ctx context.Context, l LoginRecord) (RecordedLogin, error)
	// UserWithWeChat returns a user and its binding under appID (the binding
	// is zero when there is none). Errors: KindUserNotFound.
	UserWithWeChat(ctx context.Context, uid, appID string) (domain.EndUser, domain.WeChatIdentity, error)
	// UserProfile returns the user's profile (zero when never set). Errors:
	// KindUserNotFound.
	UserProfile(ctx context.Context, uid string) (domain.Profile, error)
	// UpdateUserProfile applies u to the user's stored profile in one atomic
	// operation that writes only the fields u changes, so that concurrent
	// updates of different fields never lose each other's changes. An empty
	// u checks only that the user exists. Errors: KindUserNotFound.
	UpdateUserProfile(ctx context.Context, uid string, u domain.ProfileUpdate) error
	// UserWithWeChatApps returns a user, the kind of app it registered
	// through, and its bindings under every app of its user domain, oldest
	// first. Errors: KindUserNotFound.
	UserWithWeChatApps(ctx context.Context, uid string) (UserApps, error)
	// SetUserDisabled disables (or enables) the user, atomically with its
	// user-scope revocation: disabling sets the user's status to
	// domain.UserDisabled and revokes the user's sessions up to now
	// (SessionRepository.RevokeScope), marking the scope row Disabled;
	// enabling sets the status back and clears the mark (old sessions stay
	// revoked). While the
	// user is disabled, SessionByID, SpendRefreshToken and RecordLogin of the
	// user fail with KindUserDisabled (RecordLogin writing nothing). It
	// returns the user's domain name. Errors: KindUserNotFound.
	SetUserDisabled(ctx context.Context, uid string, disabled bool, now time.Time) (userDomain string, err error)
	AccountDeletionRepository
	UserExportRepository
	PhoneRepository
}

// AccountDeletionRepository stores pending deletions, erases accounts and
// keeps the erasure outbox.
type AccountDeletionRepository interface {
	// RequestDeletion schedules the erasure of uid at due, atomically; a
	// pending deletion due earlier is kept (the earlier wins). It returns the
	// deletion as it stands. Errors: KindUserNotFound.
	RequestDeletion(ctx context.Context, uid string, due time.Time) (PendingDeletion, error)
	// DueDeletions lists at most limit uids whose deletion is due at now,
	// earliest first.
	DueDeletions(ctx context.Context, now time.Time, limit int) ([]string, error)
	// EraseUser erases uid in one transaction if its deletion is still due at
	// now (a login may have cancelled it; another instance may have erased
	// it): its WeChat identities, unionid bindings, sessions and the user row,
	// and in the same transaction it adds the erasure to the outbox, due for
	// delivery at now. It reports false (and does nothing) when the user is
	// gone or not due.
	EraseUser(ctx context.Context, uid string, now time.Time) (ErasedUser, bool, error)
	// ClaimErasureNotices returns at most limit notices due for delivery at
	// now, oldest first, and makes them due again only at claimUntil, so that
	// no other dispatcher takes them meanwhile (a dispatcher that dies leaves
	// them to the next after claimUntil).
	ClaimErasureNotices(ctx context.Context, now, claimUntil time.Time, limit int) ([]ErasureNotice, error)
	// CompleteErasureNotice removes a delivered notice.
	CompleteErasureNotice(ctx context.Context, id int64) error
	// RetryErasureNotice counts a failed delivery and makes the notice due at at.
	RetryErasureNotice(ctx context.Context, id int64, at time.Time) error
}

// RefreshKeyRepository stores the refresh master keys from which version-2
// sessions' refresh keys are derived, so that every instance holds the same
// ones. Secrets are encrypted at rest by the implementation.
type RefreshKeyRepository interface {
	// RefreshMasterKeys lists every stored key, by ascending id.
	RefreshMasterKeys(ctx context.Context) ([]domain.RefreshMasterKey, error)
	// AddRefreshMasterKey stores k unless a key with its id exists (another
	// instance's first start won the race); it reports whether it stored k.
	AddRefreshMasterKey(ctx context.Context, k domain.RefreshMasterKey) (bool, error)
}

// SessionRepository stores sessions (refresh-token families) and the refresh
// master keys of their tokens. Sessions are created by
// UserRepository.RecordLogin, with the login.
type SessionRepository interface {
	RefreshKeyRepository
	// SessionByID errors: KindTokenInvalid when there is no such session,
	// KindUserDisabled when its user is disabled. A session covered by a
	// scope revocation (RevokeScope) is returned revoked.
	SessionByID(ctx context.Context, id domain.SessionID) (domain.Session, error)
	// SpendRefreshToken spends refresh token `from` in one operation (one
	// round trip): only if the counter is still `from` and the session is
	// neither revoked nor expired at now, it moves the counter to from+1 and
	// sets rotated_at = now and the refresh expiry to refreshExpiresAt capped
	// by the session's absolute expiry; of concurrent callers exactly one
	// spends. It returns the session (as SessionByID would) after the spend,
	// and spent true; or, when it did not spend, the session as it was when
	// the operation began (a concurrent spend that committed meanwhile is
	// not in it: that is how a lost race shows) and spent false. A session
	// covered by a scope revocation is never spent and is returned revoked.
	// Errors: KindTokenInvalid when there is no such session,
	// KindUserDisabled when its user is disabled (nothing spent).
	SpendRefreshToken(ctx context.Context, id domain.SessionID, from int64, now, refreshExpiresAt time.Time) (sess domain.Session, spent bool, err error)
	// AdvanceRefreshCounter spends refresh token `from`, atomically: it moves
	// the counter from `from` to from+1, sets rotated_at = now and the new
	// refresh expiry, only if the counter is still `from` and the session is
	// neither revoked nor expired at now. It reports whether it did.
	AdvanceRefreshCounter(ctx context.Context, id domain.SessionID, from int64, now, refreshExpiresAt time.Time) (bool, error)
	// RevokeSession revokes the session (idempotent); it reports whether this
	// call revoked it.
	RevokeSession(ctx context.Context, id domain.SessionID, now time.Time, reason string) (bool, error)
	// LogoutSession revokes the session for a logout (reason "logout") and
	// records deviceID ("" none) with it, in the same write; like
	// RevokeSession it is idempotent and reports whether this call revoked
	// it (a session revoked already keeps its reason and device).
	LogoutSession(ctx context.Context, id domain.SessionID, now time.Time, deviceID string) (bool, error)
	// RevokeScope records a scope revocation: every session of the user
	// (ScopeUser, subject the uid) or of the user domain (ScopeUserDomain,
	// subject its name) that started at or before `before`
	// (domain.RevokedBy) has ended. One row per scope, never one per
	// session: a later revocation moves revoked_before forward, never back,
	// and stamps the row's UpdatedAt with before. From then on SessionByID and
	// SpendRefreshToken show a covered session as revoked (RevokedAt the
	// scope's revoked_before) and never spend its tokens. It returns how many
	// sessions of the scope were live at before and are ended by this call,
	// and (ScopeUser) the user's domain name. A user that does not exist
	// stores nothing and reports 0 and "".
	RevokeScope(ctx context.Context, scope RevocationScope, subject string, before time.Time) (ended int, userDomain string, err error)
	// ScopeRevocationsSince lists the scope revocations whose UpdatedAt is at
	// or after since, for the revocation cache.
	ScopeRevocationsSince(ctx context.Context, since time.Time) ([]ScopeRevocation, error)
	// PurgeScopeRevocations deletes at most limit scope revocations that are
	// not Disabled and whose revoked_before and UpdatedAt are before cutoff
	// (the caller picks a cutoff after which no session they cover can be
	// alive); it returns how many it deleted.
	PurgeScopeRevocations(ctx context.Context, cutoff time.Time, limit int) (int, error)
	// RevokedSessionsSince lists sessions revoked at or after since.
	RevokedSessionsSince(ctx context.Context, since time.Time) ([]RevokedSession, error)
	// PurgeSessions runs one bounded batch of the session purge, in one short
	// transaction, under the purge lease: it takes or renews the lease for
	// p.Holder until p.LeaseUntil when the lease is free, expired at p.Now or
	// already p.Holder's; otherwise it does nothing and reports Held false.
	// Holding it, it deletes at most p.Limit sessions that are dead at
	// p.Cutoff (absolute expiry, sliding refresh expiry or revocation before
	// p.Cutoff) and never a live one. Of the dead ones it may leave the
	// sliding-expired ones to a sweep that examines at most p.Limit sessions
	// per batch, moving on from batch to batch (Swept, SweepDone).
	PurgeSessions(ctx context.Context, p SessionPurge) (PurgeBatch, error)
}

// IPUnblockRepository stores the operators' requests to lift the lockouts of
// a client IP (Operators.UnblockIP), which every serving instance applies to
// the lockouts it holds in memory (Machinery.SyncIPUnblocks, from Run's sync
// loop). The login never calls it.
type IPUnblockRepository interface {
	// AddIPUnblock stores a request to unblock ip (a LimitKey, at most 64
	// bytes) made at at, and returns it with its id.
	AddIPUnblock(ctx context.Context, ip string, at time.Time) (IPUnblock, error)
	// IPUnblocksAfter lists at most limit requests whose (RequestedAt, ID)
	// comes after (at, id), in that order: a zero id lists those made at or
	// after at; the last one listed is the cursor of the next page.
	IPUnblocksAfter(ctx context.Context, at time.Time, id int64, limit int) ([]IPUnblock, error)
	// PurgeIPUnblocks deletes at most limit requests made before cutoff and
	// returns how many it deleted.
	PurgeIPUnblocks(ctx context.Context, cutoff time.Time, limit int) (int, error)
}
