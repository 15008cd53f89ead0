package domain

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"time"
)

// The rules of a login. A store that records a login looks up what it holds
// about the presented identity (KnownIdentity), asks DecideLogin what to
// write, and writes it atomically. A store that cannot call DecideLogin (SQL)
// decides the same LoginStep from the same facts, and is held to the same
// answers by the table of IdentityCases, which the domain test, the memory
// store and the Postgres contract all replay.

// LoginStep is what a login does, as DecideLogin decides it from what is
// stored. Its values are the words the Postgres login statement uses for
// the same steps.
type LoginStep string

// The steps of a login.
const (
	// LoginStepReturning: the openid is bound, and there is nothing to
	// attach.
	LoginStepReturning LoginStep = "returning"
	// LoginStepAttachClaim: the openid is bound without a unionid, and the
	// unionid presented is held by nobody: its user claims it, and the
	// binding records it.
	LoginStepAttachClaim LoginStep = "attach_claim"
	// LoginStepAttachRecord: the openid is bound without a unionid, and its
	// user holds the unionid presented already: the binding records it.
	LoginStepAttachRecord LoginStep = "attach_record"
	// LoginStepJoined: the openid is new, and a user holds its unionid: the
	// openid is bound to that user.
	LoginStepJoined LoginStep = "joined"
	// LoginStepRegistered: nobody is this person: the candidate is
	// registered, with its binding and its unionid.
	LoginStepRegistered LoginStep = "registered"
	// LoginStepDisabled: the person is a disabled user: the login is refused
	// (KindUserDisabled) and nothing is written.
	LoginStepDisabled LoginStep = "disabled"
)

// LoginSteps lists every step.
func LoginSteps() []LoginStep {
	return []LoginStep{LoginStepReturning, LoginStepAttachClaim, LoginStepAttachRecord, LoginStepJoined,
		LoginStepRegistered, LoginStepDisabled}
}

// Outcome is what a login of step s reports (zero for LoginStepDisabled,
// which is refused).
func (s LoginStep) Outcome() LoginOutcome {
	switch s {
	case LoginStepReturning:
		return LoginReturning
	case LoginStepAttachClaim, LoginStepAttachRecord:
		return LoginUnionIDAttached
	case LoginStepJoined:
		return LoginJoinedByUnionID
	case LoginStepRegistered:
		return LoginRegistered
	}
	return 0
}

// Err is the error a login of step s fails with: KindUserDisabled for
// LoginStepDisabled, nil for the others.
func (s LoginStep) Err() error {
	if s == LoginStepDisabled {
		return E(KindUserDisabled)
	}
	return nil
}

// LoginOutcome says what recording a login did.
type LoginOutcome int

const (
	// LoginReturning means the openid was bound to a user; nothing but the last
	// login (and the session) was written.
	LoginReturning LoginOutcome = iota + 1
	// LoginRegistered means nobody was this person; the candidate user was
	// registered with the openid (and the unionid, if any).
	LoginRegistered
	// LoginJoinedByUnionID means the openid was new, but its unionid was held by a
	// user (through another official account); the openid is now bound to
	// that user.
	LoginJoinedByUnionID
	// LoginUnionIDAttached means the openid was bound to a user without a unionid;
	// the unionid presented now is recorded for it (and held by that user).
	LoginUnionIDAttached
)

func (o LoginOutcome) String() string {
	switch o {
	case LoginReturning:
		return "returning"
	case LoginRegistered:
		return "registered"
	case LoginJoinedByUnionID:
		return "joined_by_unionid"
	case LoginUnionIDAttached:
		return "unionid_attached"
	}
	return "unknown"
}

// Created reports whether the login registered a new user.
func (o LoginOutcome) Created() bool { return o == LoginRegistered }

// KnownIdentity is what a store holds, before a login, about the identity
// presented: within one user domain, the user bound to (appId, openid) and
// the unionid that binding records, the user holding the presented unionid,
// and the state of the user found (OpenIDUser when set, else UnionUser).
type KnownIdentity struct {
	OpenIDUser  string // uid bound to the openid; "" when the openid is new
	OpenIDUnion string // unionid recorded on that binding; "" when none
	UnionUser   string // uid holding the presented unionid; "" when none holds it or none was presented
	// UserDisabled: the user found is disabled.
	UserDisabled bool
	// UserDeletionPending: the user found has asked for the deletion of the
	// account, and the cooling-off runs.
	UserDeletionPending bool
}

// LoginDecision is what a store writes for one login, besides the session
// and the last-login time (LastLogin).
type LoginDecision struct {
	Step    LoginStep
	Outcome LoginOutcome
	// UID is the user who logs in.
	UID string
	// Register: insert the candidate user (UID is the candidate's).
	Register bool
	// BindOpenID: insert the binding of (appId, openid) to UID.
	BindOpenID bool
	// ClaimUnionID: insert the holding of the presented unionid by UID.
	ClaimUnionID bool
	// RecordUnionID: the binding of (appId, openid) records the presented
	// unionid (set on the binding inserted, or on the existing one).
	RecordUnionID bool
	// CancelDeletion: UID's pending deletion is cancelled (the person came
	// back during the cooling-off).
	CancelDeletion bool
}

// DecideLogin applies the rules of a login to what the store knows:
//
//   - a known openid is its user (a binding never moves);
//   - a new openid whose unionid a user holds joins that user;
//   - a new openid otherwise registers the candidate, who holds the unionid;
//   - a unionid that appears later on a known openid without one is attached:
//     held by the openid's user unless another user holds it, and recorded on
//     the binding only when the openid's user holds it. A unionid held by
//     another user is never copied (it stays that user's alone);
//   - a binding's recorded unionid never changes, and a login without a
//     unionid keeps it;
//   - a disabled user's login is refused (KindUserDisabled) and writes
//     nothing: no binding, no unionid, no last login, no cancelled deletion;
//   - any other login of a user whose deletion is pending cancels it (a
//     registered user has none).
//
// On refusal it returns the decision (LoginStepDisabled, the user found)
// with the error.
func DecideLogin(known KnownIdentity, id WeChatIdentity, candidateUID string) (LoginDecision, error) {
	union := id.UnionID()
	d := LoginDecision{Step: loginStep(known, union), UID: known.OpenIDUser}
	switch {
	case d.Step == LoginStepRegistered:
		d.UID = candidateUID
	case d.UID == "": // joined, or refused a join
		d.UID = known.UnionUser
	}
	if d.Step == LoginStepDisabled {
		return LoginDecision{Step: d.Step, UID: d.UID}, d.Step.Err()
	}
	d.Outcome = d.Step.Outcome()
	d.Register = d.Step == LoginStepRegistered
	d.BindOpenID = d.Step == LoginStepRegistered || d.Step == LoginStepJoined
	d.ClaimUnionID = d.Step == LoginStepAttachClaim || (d.Step == LoginStepRegistered && union != "")
	d.RecordUnionID = d.Step == LoginStepAttachClaim || d.Step == LoginStepAttachRecord || (d.BindOpenID && union != "")
	d.CancelDeletion = known.UserDeletionPending && !d.Register
	return d, nil
}

// loginStep picks the step of a login that presents union, in the order of
// the Postgres statement's CASE (decided), which decides the same.
func loginStep(known KnownIdentity, union string) LoginStep {
	switch {
	case (known.OpenIDUser != "" || (union != "" && known.UnionUser != "")) && known.UserDisabled:
		return LoginStepDisabled
	case known.OpenIDUser != "":
		switch {
		case union == "" || known.OpenIDUnion != "":
			return LoginStepReturning
		case known.UnionUser == "":
			return LoginStepAttachClaim
		case known.UnionUser == known.OpenIDUser:
			return LoginStepAttachRecord
		}
		return LoginStepReturning // the unionid is another user's: never copied
	case union != "" && known.UnionUser != "":
		return LoginStepJoined
	}
	return LoginStepRegistered
}

// LastLogin is the last-login time after a login at now: it never moves
// back (instances' clocks differ).
func LastLogin(prev, now time.Time) time.Time {
	if now.After(prev) {
		return now
	}
	return prev
}

// NewUID returns a fresh opaque user id: 32 hex characters, a millisecond
// timestamp (48 bits) followed by 80 random bits, so that ids made close in
// time sit close in an index.
func NewUID(now time.Time) string {
	var b [16]byte
	putTimeOrdered(b[:], now)
	return hex.EncodeToString(b[:])
}

// putTimeOrdered writes now's Unix milliseconds big-endian into b[0:6] and
// random bytes into the rest.
func putTimeOrdered(b []byte, now time.Time) {
	var ms [8]byte
	binary.BigEndian.PutUint64(ms[:], uint64(now.UnixMilli()))
	copy(b[:6], ms[2:])
	_, _ = rand.Read(b[6:]) // crypto/rand.Read never fails on supported platforms
}
