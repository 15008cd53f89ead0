package application

import (
	"time"

	"github.com/iotplatform/enduser-auth/domain"
)

// LoginRecord is one login to record: who WeChat says the person is, the
// user to register if nobody is this person yet, and the session to start
// for whoever it is.
type LoginRecord struct {
	UserDomainID int64
	Identity     domain.WeChatIdentity
	// Candidate is registered when the identity names nobody (its uid is
	// fresh, made by the caller).
	Candidate domain.EndUser
	// Session is started for the user found (Session.ForUser).
	Session domain.Session
	// At is the login time: the user's last login becomes At unless a later
	// one is recorded already.
	At time.Time
	// AppKind is the kind of the app logged in through, recorded as the way
	// a registered Candidate registered (zero: an official account).
	AppKind domain.AppKind
}

// RecordedLogin is what recording a login did.
type RecordedLogin struct {
	User    domain.EndUser
	Session domain.Session // as stored: Session.ForUser(User.ID())
	Outcome domain.LoginOutcome
	// DeletionCancelled is true when the user's deletion was pending (a
	// cooling-off) and this login cancelled it.
	DeletionCancelled bool
}

// UserApps is a user with its WeChat bindings.
type UserApps struct {
	User domain.EndUser
	// RegisteredVia is the kind of app of the login that registered the user.
	RegisteredVia domain.AppKind
	// Bindings are the user's openids, oldest first.
	Bindings []AppBinding
}

// AppBinding is a user's openid under one WeChat app.
type AppBinding struct {
	Kind     domain.AppKind
	Identity domain.WeChatIdentity
}

// PendingDeletion is a user's scheduled erasure.
type PendingDeletion struct {
	UID        string
	UserDomain string // the user domain's name
	DueAt      time.Time
}

// ErasedUser is an erased account, as other modules learn of it: what they
// hold under UID in UserDomain is to be deleted.
type ErasedUser struct {
	UID        string
	UserDomain string
	ErasedAt   time.Time
}

// ErasureNotice is one undelivered announcement of the erasure outbox.
type ErasureNotice struct {
	ID       int64
	User     ErasedUser
	Attempts int // failed deliveries so far
}

// RevokedSession is a revocation, as the revocation cache needs it.
type RevokedSession struct {
	ID        domain.SessionID
	RevokedAt time.Time
}

// RevocationScope is what a scope revocation covers.
type RevocationScope string

// The scopes.
const (
	ScopeUser       RevocationScope = "user"
	ScopeUserDomain RevocationScope = "user_domain"
)

// ScopeRevocation is one scope's revocation, as the revocation cache needs
// it: the sessions of Subject (a uid, or a user domain's name) started at or
// before RevokedBefore have ended; Disabled marks a disabled user.
type ScopeRevocation struct {
	Scope         RevocationScope
	Subject       string
	RevokedBefore time.Time
	Disabled      bool
	UpdatedAt     time.Time
}

// SessionPurge is one batch of the session purge, as the service asks it.
type SessionPurge struct {
	// Cutoff: a session whose absolute expiry, sliding refresh expiry or
	// revocation is before Cutoff is dead.
	Cutoff time.Time
	// Limit bounds the sessions one batch deletes, and examines when sweeping.
	Limit int
	// Holder names the purging instance; Now and LeaseUntil are the lease's
	// check and its new expiry.
	Holder          string
	Now, LeaseUntil time.Time
}

// PurgeBatch is what one batch of the purge did.
type PurgeBatch struct {
	// Held is false when another instance holds the purge lease: the batch
	// did nothing.
	Held bool
	// Deleted is how many sessions it deleted (at most Limit).
	Deleted int
	// Swept is how many sessions the sliding-expiry sweep examined; SweepDone
	// that the sweep has reached the end of the sessions (it starts over on
	// the next batch) or that there is no separate sweep.
	Swept     int
	SweepDone bool
}

// IPUnblock is an operator's request to lift every lockout of a client IP.
type IPUnblock struct {
	ID int64
	// IP is the limiter's key of the client (LimitKey: the address, or an
	// IPv6 client's /64).
	IP          string
	RequestedAt time.Time
}

// AuditQuery selects audit records (AuditLister).
type AuditQuery struct {
	UserDomain string
	UID        string // "": every user
	Since      time.Time
	Limit      int
}

// AuditRecord is one stored audit record, as the trail holds it: what a
// user export carries and `enduser audit` lists (adapters/jsonformat encodes
// both). Nil pointers are values a record does not have.
type AuditRecord struct {
	Time          time.Time
	Event         string
	Code          int
	WeChatErrcode *int
	UserDomain    string
	AppID         string
	AppKind       string
	UID           string
	OpenIDHash    string
	ClientIP      string
	UserAgent     string
	RequestID     string
	Detail        string
	// DeviceGiven, on logouts only, is whether the logout named a push device.
	DeviceGiven *bool
}

// ReencryptProgress is what a re-encryption did to one column.
type ReencryptProgress struct {
	// Column is "table.column".
	Column string
	// Rewritten counts the values now sealed under the primary key that were
	// not; Skipped the values a concurrent writer changed (or deleted) between the read
	// and the write (the writer's value stands; a later pass or the final
	// count sees it).
	Rewritten, Skipped int64
}
