package application

import (
	"context"
	"time"

	"github.com/iotplatform/enduser-auth/domain"
)

// The kinds of audit events.
const (
	// AuditLogin is a login attempt, with its outcome.
	AuditLogin = "login"
	// AuditRefreshReuse is a spent refresh token presented again: the
	// session was revoked.
	AuditRefreshReuse = "refresh_reuse"
	// AuditLogout is a logout attempt, with its outcome.
	AuditLogout = "logout"
	// AuditLockout is a (client IP, user domain) locked out after repeated
	// signature failures: one event per lockout, not per refused request.
	AuditLockout = "lockout"
	// AuditSecretRotated is a user domain's secret rotated
	// (Operators.RotateUserDomainSecret).
	AuditSecretRotated = "secret_rotated"
	// AuditSessionsEnded is every session of a user ended by an operator
	// (EndUserSessions).
	AuditSessionsEnded = "sessions_ended"
	// AuditSigningKeyRevoked is a signing key revoked by an operator
	// (RevokeSigningKey); the kid is in the log line (the trail has no column
	// for it).
	AuditSigningKeyRevoked = "signing_key_revoked"
	// AuditDeletionRequested is an account deletion requested with a
	// cooling-off (type 2), by the user or an operator.
	AuditDeletionRequested = "deletion_requested"
	// AuditDeletionRequestedNow is an account deletion requested for at once
	// (type 1, or an operator's --now).
	AuditDeletionRequestedNow = "deletion_requested_now"
	// AuditDeletionCancelled is a pending deletion cancelled by a login of
	// the same person during the cooling-off.
	AuditDeletionCancelled = "deletion_cancelled"
	// AuditErased is an account erased (its identities, bindings, sessions
	// and user row deleted). The trail keeps the uid and keyed hashes only.
	AuditErased = "erased"
	// AuditUserDisabled and AuditUserEnabled are an operator's DisableUser
	// and EnableUser.
	AuditUserDisabled = "user_disabled"
	AuditUserEnabled  = "user_enabled"
	// AuditUserDomainDisabled and AuditUserDomainEnabled are an operator's
	// SetUserDomainEnabled (a disable ends every session of the domain).
	AuditUserDomainDisabled = "user_domain_disabled"
	AuditUserDomainEnabled  = "user_domain_enabled"
)

// AuditEvent is one security event of the audit trail.
type AuditEvent struct {
	Time  time.Time
	Event string
	// Outcome is the error kind of a failure; "" is success.
	Outcome domain.Kind
	// WeChatErrcode is WeChat's errcode when WeChat refused the code (0: none).
	WeChatErrcode int
	UserDomain    string
	AppID         string
	// AppKind is the kind of WeChat app a login went through ("" when the
	// event is about no app).
	AppKind domain.AppKind
	// UID is the user's id when known.
	UID string
	// OpenID is the WeChat openid when known. An AuditLog never stores it in
	// clear: only a keyed hash of it.
	OpenID string
	// Detail is a small JSON object for events that carry more (an import's
	// counts); "" for most.
	Detail string
	// DeviceGiven is whether a logout named a push device (the device id
	// itself, an identifier of the phone, is not audited).
	DeviceGiven bool
	RequestMeta
}

// SetAuditLog makes the service record its security events in a (nil: none).
// Call it before serving.
func (s *core) SetAuditLog(a AuditLog) { s.audit = a }

// RecordLockout records one lockout of (clientIP, userDomain); the abuse
// limiter calls it once when it locks a client out. An empty clientIP is
// taken from ctx's RequestMeta.
func (s *core) RecordLockout(ctx context.Context, userDomain, clientIP string) {
	e := AuditEvent{Event: AuditLockout, Outcome: domain.KindSignatureInvalid, UserDomain: safeLog(userDomain)}
	e.ClientIP = clientIP
	s.record(ctx, e)
}

// record stamps e with the time and the request's metadata and hands it to the
// audit log, if any.
func (s *core) record(ctx context.Context, e AuditEvent) {
	if s.audit == nil {
		return
	}
	e.Time = s.clock.Now()
	if m, ok := RequestMetaFromContext(ctx); ok {
		ip := e.ClientIP
		e.RequestMeta = m
		if ip != "" {
			e.ClientIP = ip
		}
	}
	s.audit.Record(ctx, e)
}
