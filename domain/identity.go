package domain

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"time"
)

// The rules that decide who a WeChat identity is. A store that records a
// login looks up what it holds about the presented identity (KnownIdentity),
// asks DecideLogin what to write, and writes it atomically. A store that
// cannot call DecideLogin (SQL) is held to the same answers by the table of
// IdentityCases, which the domain test, the memory store and the Postgres
// contract all replay.

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
// the unionid that binding records, and the user holding the presented
// unionid.
type KnownIdentity struct {
	OpenIDUser  string // uid bound to the openid; "" when the openid is new
	OpenIDUnion string // unionid recorded on that binding; "" when none
	UnionUser   string // uid holding the presented unionid; "" when none holds it or none was presented
}

// LoginDecision is what a store writes for one login, besides the session
// and the last-login time (LastLogin).
type LoginDecision struct {
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
}

// DecideLogin applies the identity rules to what the store knows:
//
//   - a known openid is its user (a binding never moves);
//   - a new openid whose unionid a user holds joins that user;
//   - a new openid otherwise registers the candidate, who holds the unionid;
//   - a unionid that appears later on a known openid without one is attached:
//     held by the openid's user unless another user holds it, and recorded on
//     the binding only when the openid's user holds it. A unionid held by
//     another user is never copied (it stays that user's alone);
//   - a binding's recorded unionid never changes, and a login without a
//     unionid keeps it.
func DecideLogin(known KnownIdentity, id WeChatIdentity, candidateUID string) LoginDecision {
	union := id.UnionID()
	if known.OpenIDUser != "" {
		d := LoginDecision{Outcome: LoginReturning, UID: known.OpenIDUser}
		if union == "" || known.OpenIDUnion != "" {
			return d
		}
		switch known.UnionUser {
		case "":
			d.Outcome, d.ClaimUnionID, d.RecordUnionID = LoginUnionIDAttached, true, true
		case known.OpenIDUser:
			d.Outcome, d.RecordUnionID = LoginUnionIDAttached, true
		}
		return d
	}
	if union != "" && known.UnionUser != "" {
		return LoginDecision{Outcome: LoginJoinedByUnionID, UID: known.UnionUser, BindOpenID: true, RecordUnionID: true}
	}
	return LoginDecision{Outcome: LoginRegistered, UID: candidateUID, Register: true, BindOpenID: true,
		ClaimUnionID: union != "", RecordUnionID: union != ""}
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

// IdentityStep is one login of an IdentityCase and what must hold after it.
// Users are named by the candidate uid that registered them.
type IdentityStep struct {
	AppID, OpenID, UnionID string
	At                     time.Duration // since the case's start
	Candidate              string        // uid offered in case nobody is this person
	Outcome                LoginOutcome
	User                   string        // the uid that logs in
	LastLogin              time.Duration // that user's last login afterwards, since the start
	BindingUnion           string        // the unionid the (AppID, OpenID) binding records afterwards
}

// IdentityCase is a sequence of logins in one user domain, from an empty
// store.
type IdentityCase struct {
	Name  string
	Steps []IdentityStep
}

// IdentityCases returns the table of cases every implementation of the
// identity rules must pass: DecideLogin (domain test), the memory store and
// the Postgres store (repository contract).
func IdentityCases() []IdentityCase {
	const h, m = time.Hour, time.Minute
	return []IdentityCase{
		{Name: "NewOpenIDRegistersKnownOpenIDReturns", Steps: []IdentityStep{
			{AppID: "wx-app-1", OpenID: "o-alice", At: 0, Candidate: "uid-alice", Outcome: LoginRegistered, User: "uid-alice", LastLogin: 0},
			{AppID: "wx-app-1", OpenID: "o-alice", At: h, Candidate: "uid-unused", Outcome: LoginReturning, User: "uid-alice", LastLogin: h},
		}},
		{Name: "LastLoginNeverMovesBack", Steps: []IdentityStep{
			{AppID: "wx-app-1", OpenID: "o-alice", At: 0, Candidate: "uid-alice", Outcome: LoginRegistered, User: "uid-alice", LastLogin: 0},
			{AppID: "wx-app-1", OpenID: "o-alice", At: h, Candidate: "uid-unused", Outcome: LoginReturning, User: "uid-alice", LastLogin: h},
			// An instance whose clock is behind records an earlier login.
			{AppID: "wx-app-1", OpenID: "o-alice", At: m, Candidate: "uid-unused-2", Outcome: LoginReturning, User: "uid-alice", LastLogin: h},
		}},
		{Name: "DifferentOpenIDsAreDifferentUsers", Steps: []IdentityStep{
			{AppID: "wx-app-1", OpenID: "o-alice", UnionID: "u-alice", Candidate: "uid-alice", Outcome: LoginRegistered, User: "uid-alice", BindingUnion: "u-alice"},
			{AppID: "wx-app-1", OpenID: "o-bob", UnionID: "u-bob", Candidate: "uid-bob", Outcome: LoginRegistered, User: "uid-bob", BindingUnion: "u-bob"},
			{AppID: "wx-app-1", OpenID: "o-carol", Candidate: "uid-carol", Outcome: LoginRegistered, User: "uid-carol"},
		}},
		{Name: "UnionIDJoinsAccounts", Steps: []IdentityStep{
			{AppID: "wx-app-1", OpenID: "o1-alice", UnionID: "u-alice", Candidate: "uid-alice", Outcome: LoginRegistered, User: "uid-alice", BindingUnion: "u-alice"},
			{AppID: "wx-app-2", OpenID: "o2-alice", UnionID: "u-alice", At: m, Candidate: "uid-unused", Outcome: LoginJoinedByUnionID, User: "uid-alice", LastLogin: m, BindingUnion: "u-alice"},
			// The openid under app 2 is bound now: found without the unionid.
			{AppID: "wx-app-2", OpenID: "o2-alice", At: 2 * m, Candidate: "uid-unused-2", Outcome: LoginReturning, User: "uid-alice", LastLogin: 2 * m, BindingUnion: "u-alice"},
			{AppID: "wx-app-1", OpenID: "o1-alice", UnionID: "u-alice", At: 3 * m, Candidate: "uid-unused-3", Outcome: LoginReturning, User: "uid-alice", LastLogin: 3 * m, BindingUnion: "u-alice"},
		}},
		{Name: "UnionIDSeenLaterIsAttached", Steps: []IdentityStep{
			{AppID: "wx-app-1", OpenID: "o1-alice", Candidate: "uid-alice", Outcome: LoginRegistered, User: "uid-alice"},
			{AppID: "wx-app-1", OpenID: "o1-alice", UnionID: "u-alice", At: m, Candidate: "uid-unused", Outcome: LoginUnionIDAttached, User: "uid-alice", LastLogin: m, BindingUnion: "u-alice"},
			{AppID: "wx-app-1", OpenID: "o1-alice", UnionID: "u-alice", At: 2 * m, Candidate: "uid-unused-2", Outcome: LoginReturning, User: "uid-alice", LastLogin: 2 * m, BindingUnion: "u-alice"},
			// Attached, never a second account: another official account joins.
			{AppID: "wx-app-2", OpenID: "o2-alice", UnionID: "u-alice", At: 3 * m, Candidate: "uid-unused-3", Outcome: LoginJoinedByUnionID, User: "uid-alice", LastLogin: 3 * m, BindingUnion: "u-alice"},
		}},
		{Name: "UnionIDHeldByAnotherUserIsNotCopied", Steps: []IdentityStep{
			{AppID: "wx-app-1", OpenID: "o1-alice", Candidate: "uid-alice", Outcome: LoginRegistered, User: "uid-alice"},
			{AppID: "wx-app-2", OpenID: "o2-bob", UnionID: "u-bob", Candidate: "uid-bob", Outcome: LoginRegistered, User: "uid-bob", BindingUnion: "u-bob"},
			// WeChat reports bob's unionid for alice's openid: the openid stays
			// alice's, the unionid stays bob's alone, every time.
			{AppID: "wx-app-1", OpenID: "o1-alice", UnionID: "u-bob", At: m, Candidate: "uid-unused", Outcome: LoginReturning, User: "uid-alice", LastLogin: m},
			{AppID: "wx-app-1", OpenID: "o1-alice", UnionID: "u-bob", At: 2 * m, Candidate: "uid-unused-2", Outcome: LoginReturning, User: "uid-alice", LastLogin: 2 * m},
			{AppID: "wx-app-3", OpenID: "o3-bob", UnionID: "u-bob", At: h, Candidate: "uid-unused-3", Outcome: LoginJoinedByUnionID, User: "uid-bob", LastLogin: h, BindingUnion: "u-bob"},
		}},
		{Name: "LoginWithoutUnionIDKeepsIt", Steps: []IdentityStep{
			{AppID: "wx-app-1", OpenID: "o1-alice", UnionID: "u-alice", Candidate: "uid-alice", Outcome: LoginRegistered, User: "uid-alice", BindingUnion: "u-alice"},
			{AppID: "wx-app-1", OpenID: "o1-alice", At: m, Candidate: "uid-unused", Outcome: LoginReturning, User: "uid-alice", LastLogin: m, BindingUnion: "u-alice"},
		}},
		{Name: "RecordedUnionIDNeverChanges", Steps: []IdentityStep{
			{AppID: "wx-app-1", OpenID: "o1-alice", UnionID: "u-alice", Candidate: "uid-alice", Outcome: LoginRegistered, User: "uid-alice", BindingUnion: "u-alice"},
			// Another unionid for a binding that records one is ignored (and
			// not claimed): the unionid does not name alice.
			{AppID: "wx-app-1", OpenID: "o1-alice", UnionID: "u-other", At: m, Candidate: "uid-unused", Outcome: LoginReturning, User: "uid-alice", LastLogin: m, BindingUnion: "u-alice"},
			{AppID: "wx-app-2", OpenID: "o2-dave", UnionID: "u-other", At: 2 * m, Candidate: "uid-dave", Outcome: LoginRegistered, User: "uid-dave", LastLogin: 2 * m, BindingUnion: "u-other"},
		}},
		{Name: "NewOpenIDWithoutUnionIDIsANewUser", Steps: []IdentityStep{
			{AppID: "wx-app-1", OpenID: "o1-alice", UnionID: "u-alice", Candidate: "uid-alice", Outcome: LoginRegistered, User: "uid-alice", BindingUnion: "u-alice"},
			// Without a unionid nothing says that this openid is alice.
			{AppID: "wx-app-2", OpenID: "o2-alice", At: m, Candidate: "uid-alice-2", Outcome: LoginRegistered, User: "uid-alice-2", LastLogin: m},
			// It is found by its openid from now on, whatever the unionid.
			{AppID: "wx-app-2", OpenID: "o2-alice", UnionID: "u-alice", At: 2 * m, Candidate: "uid-unused", Outcome: LoginReturning, User: "uid-alice-2", LastLogin: 2 * m},
		}},
	}
}
