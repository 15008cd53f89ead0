package domain

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The rules of importing users (`enduser import users`): a user brought over
// from the platform keeps its uid, and a later WeChat login of that person
// (same user domain, appId and openid, or the same unionid through another
// official account) must find it. An imported line is held to the login's
// identity rules (DecideLogin): an openid is bound to one user for good, a
// unionid is held by one user, and a line that contradicts what is stored is
// refused, never merged. A store looks up what it holds about each line
// (ImportKnown) and an ImportPlanner decides, line after line, what to write;
// the planner also remembers what the earlier lines of the same batch decided,
// so that lines of one file that contradict each other are caught before
// anything is written.

// MaxImportedUIDLength bounds an imported uid.
const MaxImportedUIDLength = 64

// ImportProfile is the profile of setUserInfo carried by an imported line,
// checked by setUserInfo's rules. Nil pointers are absent fields.
type ImportProfile struct {
	NikeName, HeadImage, Address, Province, City, Signature, Remark *string
	Sex, Lang, Nationality, Timezone                                *int
}

// ImportUser is one user of an import file.
type ImportUser struct {
	UID, UserDomain, AppID, OpenID, UnionID string
	RegisteredAt, LastLoginAt               time.Time
	Status                                  UserStatus
	Profile                                 ImportProfile
}

// ValidImportedUID reports whether uid may be kept as given: 1 to 64
// characters of [A-Za-z0-9_-].
func ValidImportedUID(uid string) bool {
	if uid == "" || len(uid) > MaxImportedUIDLength {
		return false
	}
	for i := 0; i < len(uid); i++ {
		if !uidByte(uid[i]) {
			return false
		}
	}
	return true
}

func uidByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

// Validate returns the reason the line cannot be imported, "" when it can.
func (u ImportUser) Validate() string {
	switch {
	case !ValidImportedUID(u.UID):
		return "uid must be 1 to 64 characters of [A-Za-z0-9_-]"
	case strings.TrimSpace(u.UserDomain) == "":
		return "userDomain is required"
	case strings.TrimSpace(u.AppID) == "":
		return "appId is required"
	case u.OpenID == "":
		return "openId is required"
	case !plainID(u.OpenID):
		return "openId must be 1 to 128 printable ASCII characters"
	case u.UnionID != "" && !plainID(u.UnionID):
		return "unionId must be 1 to 128 printable ASCII characters"
	case u.Status != UserNormal && u.Status != UserDisabled:
		return "status must be 1 or 0"
	case u.LastLoginAt.Before(u.RegisteredAt):
		return "lastLoginTime is before registerTime"
	}
	return u.Profile.validate()
}

func (p ImportProfile) validate() string {
	if _, err := ParseProfileUpdate(p.text()); err != nil {
		return err.Error() // the kind and the field's problem
	}
	return ""
}

// text is the profile as setUserInfo's text, so that an imported profile
// meets exactly the rules of ParseProfileUpdate.
func (p ImportProfile) text() ProfileText {
	sent := ProfileText{}
	for f, v := range map[ProfileField]*string{FieldNikeName: p.NikeName, FieldHeadImage: p.HeadImage, FieldAddress: p.Address,
		FieldProvince: p.Province, FieldCity: p.City, FieldSignature: p.Signature, FieldRemark: p.Remark} {
		if v != nil {
			sent[f] = *v
		}
	}
	for f, v := range map[ProfileField]*int{FieldSex: p.Sex, FieldLang: p.Lang, FieldNationality: p.Nationality, FieldTimezone: p.Timezone} {
		if v != nil {
			sent[f] = strconv.Itoa(*v)
		}
	}
	return sent
}

// ImportKnown is what a store holds, before an import, about one line, within
// the line's user domain.
type ImportKnown struct {
	// UIDDomain is the user domain of the stored user with the line's uid; 0
	// when there is none.
	UIDDomain int64
	// UIDOpenID is the openid the uid's user has under the line's appId; ""
	// when none.
	UIDOpenID string
	// UIDUnion is the unionid the uid's bindings record; "" when none.
	UIDUnion string
	// OpenIDUser is the uid bound to (appId, openId); "" when the openid is new.
	OpenIDUser string
	// OpenIDUnion is the unionid that binding records; "" when none.
	OpenIDUnion string
	// UnionUser is the uid holding the line's unionid; "" when none holds it
	// or the line has none.
	UnionUser string
}

// ImportOutcome says what importing a line does.
type ImportOutcome int

const (
	// ImportRegistered means the uid is new; the user, its binding and its unionid
	// are written.
	ImportRegistered ImportOutcome = iota + 1
	// ImportIdentityAdded means the uid exists in the user domain; the line's
	// openid (new) is bound to it (the same person under another official
	// account).
	ImportIdentityAdded
	// ImportUnionIDAttached means the binding exists without a unionid; the line's
	// unionid is recorded on it (as a login would attach it).
	ImportUnionIDAttached
	// ImportPresent means everything the line says is stored already.
	ImportPresent
	// ImportRefused means the line contradicts what is stored (or an earlier line).
	ImportRefused
)

// Imported reports whether the outcome writes anything.
func (o ImportOutcome) Imported() bool {
	return o == ImportRegistered || o == ImportIdentityAdded || o == ImportUnionIDAttached
}

// ImportDecision is what a store writes for one line.
type ImportDecision struct {
	Outcome ImportOutcome
	// Reason says why a line is refused.
	Reason string
	// InsertUser: insert the user with the line's uid, status and times.
	InsertUser bool
	// BindOpenID: insert the binding of (appId, openId) to the uid, recording
	// the line's unionid (if any).
	BindOpenID bool
	// ClaimUnionID: insert the holding of the line's unionid by the uid.
	ClaimUnionID bool
	// RecordUnionID: set the line's unionid on the existing binding (which
	// records none).
	RecordUnionID bool
}

func refuse(reason string) ImportDecision {
	return ImportDecision{Outcome: ImportRefused, Reason: reason}
}

// DecideImport applies the identity rules to one line of user domain
// userDomainID (u is valid):
//
//   - the uid must not belong to another user domain;
//   - the openid must not be bound to another uid, the unionid not held by
//     another uid (a unionid joins, never a second account);
//   - a bound openid whose binding records another unionid, or a uid whose
//     bindings record another unionid, is a contradiction;
//   - a uid has one openid per official account (WeChat gives a person one);
//   - what is not stored yet is written: the user, the binding, the unionid's
//     holding; a binding without a unionid gets the line's (attached);
//   - a line whose facts are all stored is present, whatever its times,
//     status or profile say (an import never overwrites).
func DecideImport(k ImportKnown, userDomainID int64, u ImportUser) ImportDecision {
	union := u.UnionID
	switch {
	case k.UIDDomain != 0 && k.UIDDomain != userDomainID:
		return refuse("uid " + u.UID + " belongs to another user domain")
	case k.OpenIDUser != "" && k.OpenIDUser != u.UID:
		return refuse("openId is bound to another uid under appId " + u.AppID)
	case union != "" && k.UnionUser != "" && k.UnionUser != u.UID:
		return refuse("unionId is held by another uid")
	case union != "" && k.UIDUnion != "" && k.UIDUnion != union:
		return refuse("uid " + u.UID + " has another unionId")
	}
	if k.OpenIDUser == u.UID {
		switch {
		case union == "" || k.OpenIDUnion == union:
			return ImportDecision{Outcome: ImportPresent}
		case k.OpenIDUnion != "":
			return refuse("the binding of openId records another unionId")
		}
		return ImportDecision{Outcome: ImportUnionIDAttached, RecordUnionID: true, ClaimUnionID: k.UnionUser == ""}
	}
	if k.UIDOpenID != "" {
		return refuse("uid " + u.UID + " has another openId under appId " + u.AppID)
	}
	d := ImportDecision{Outcome: ImportRegistered, InsertUser: true, BindOpenID: true,
		ClaimUnionID: union != "" && k.UnionUser == ""}
	if k.UIDDomain != 0 {
		d.Outcome, d.InsertUser = ImportIdentityAdded, false
	}
	return d
}

// ImportPlanner decides the lines of one batch in order, each on what the
// store holds merged with what the batch's earlier lines decided. It is not
// safe for concurrent use; one planner plans one batch (its memory is the
// batch's).
type ImportPlanner struct {
	users    map[string]int64          // uid -> user domain
	openIDs  map[[3]string]importBound // (user domain, appId, openId) -> binding
	unions   map[[2]string]string      // (user domain, unionId) -> uid
	uidApps  map[[2]string]string      // (uid, appId) -> openId
	uidUnion map[string]string         // uid -> unionId
}

type importBound struct{ uid, union string }

// NewImportPlanner returns a planner with an empty memory.
func NewImportPlanner() *ImportPlanner {
	return &ImportPlanner{users: map[string]int64{}, openIDs: map[[3]string]importBound{}, unions: map[[2]string]string{},
		uidApps: map[[2]string]string{}, uidUnion: map[string]string{}}
}

// Decide decides line u of user domain userDomainID, given what the store
// holds about it (looked up before the batch), and remembers the decision.
func (p *ImportPlanner) Decide(stored ImportKnown, userDomainID int64, u ImportUser) ImportDecision {
	ud := fmt.Sprint(userDomainID)
	k := stored
	if k.UIDDomain == 0 {
		k.UIDDomain = p.users[u.UID]
	}
	if k.UIDOpenID == "" {
		k.UIDOpenID = p.uidApps[[2]string{u.UID, u.AppID}]
	}
	if k.UIDUnion == "" {
		k.UIDUnion = p.uidUnion[u.UID]
	}
	if k.OpenIDUser == "" {
		b := p.openIDs[[3]string{ud, u.AppID, u.OpenID}]
		k.OpenIDUser, k.OpenIDUnion = b.uid, b.union
	} else if k.OpenIDUnion == "" {
		k.OpenIDUnion = p.openIDs[[3]string{ud, u.AppID, u.OpenID}].union
	}
	if k.UnionUser == "" && u.UnionID != "" {
		k.UnionUser = p.unions[[2]string{ud, u.UnionID}]
	}
	d := DecideImport(k, userDomainID, u)
	if !d.Outcome.Imported() {
		return d
	}
	p.users[u.UID] = userDomainID
	p.uidApps[[2]string{u.UID, u.AppID}] = u.OpenID
	p.openIDs[[3]string{ud, u.AppID, u.OpenID}] = importBound{uid: u.UID, union: u.UnionID}
	if u.UnionID != "" {
		p.uidUnion[u.UID] = u.UnionID
		p.unions[[2]string{ud, u.UnionID}] = u.UID
	}
	return d
}
