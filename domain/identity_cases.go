package domain

import "time"

// IdentityStep is one step of an IdentityCase, a login or an operator's
// change to a user, and what must hold after it. Users are named by the
// candidate uid that registered them.
type IdentityStep struct {
	// Change, when set, makes the step an operator's change to User at At
	// instead of a login (for a deletion request, At is when it is due).
	Change                 UserChange
	AppID, OpenID, UnionID string
	At                     time.Duration // since the case's start
	Candidate              string        // uid offered in case nobody is this person
	// Step is the step the login takes: a store reports its Outcome, or
	// fails with its Err and writes nothing.
	Step         LoginStep
	User         string        // the uid that logs in (or is refused)
	LastLogin    time.Duration // that user's last login afterwards, since the start
	BindingUnion string        // the unionid the (AppID, OpenID) binding records afterwards
	// Unbound: the (AppID, OpenID) is bound to nobody afterwards (a refused
	// first login of the openid).
	Unbound bool
	// Cancelled: the login cancelled User's pending deletion.
	Cancelled bool
	// Pending lists the users whose deletion is pending afterwards.
	Pending []string
}

// UserChange is an operator's change to a user between logins.
type UserChange int

// The changes an IdentityStep can make.
const (
	ChangeNone UserChange = iota
	// ChangeDisable disables the user.
	ChangeDisable
	// ChangeEnable enables the user again.
	ChangeEnable
	// ChangeRequestDeletion requests the deletion of the account, due at
	// the step's At (the cooling-off starts).
	ChangeRequestDeletion
)

// IdentityCase is a sequence of logins (and changes) in one user domain,
// from an empty store.
type IdentityCase struct {
	Name  string
	Steps []IdentityStep
}

// IdentityCases returns the table of cases every implementation of the
// rules of a login must pass: DecideLogin (domain test), the memory store
// and the Postgres store (repository contract). Every LoginStep but
// LoginStepAttachRecord occurs (a binding without the unionid its user
// holds cannot be made by logins from an empty store: TestDecideLogin
// covers that step).
func IdentityCases() []IdentityCase {
	const h, m = time.Hour, time.Minute
	return []IdentityCase{
		{Name: "NewOpenIDRegistersKnownOpenIDReturns", Steps: []IdentityStep{
			{AppID: "wx-app-1", OpenID: "o-alice", At: 0, Candidate: "uid-alice", Step: LoginStepRegistered, User: "uid-alice", LastLogin: 0},
			{AppID: "wx-app-1", OpenID: "o-alice", At: h, Candidate: "uid-unused", Step: LoginStepReturning, User: "uid-alice", LastLogin: h},
		}},
		{Name: "LastLoginNeverMovesBack", Steps: []IdentityStep{
			{AppID: "wx-app-1", OpenID: "o-alice", At: 0, Candidate: "uid-alice", Step: LoginStepRegistered, User: "uid-alice", LastLogin: 0},
			{AppID: "wx-app-1", OpenID: "o-alice", At: h, Candidate: "uid-unused", Step: LoginStepReturning, User: "uid-alice", LastLogin: h},
			// An instance whose clock is behind records an earlier login.
			{AppID: "wx-app-1", OpenID: "o-alice", At: m, Candidate: "uid-unused-2", Step: LoginStepReturning, User: "uid-alice", LastLogin: h},
		}},
		{Name: "DifferentOpenIDsAreDifferentUsers", Steps: []IdentityStep{
			{AppID: "wx-app-1", OpenID: "o-alice", UnionID: "u-alice", Candidate: "uid-alice", Step: LoginStepRegistered, User: "uid-alice", BindingUnion: "u-alice"},
			{AppID: "wx-app-1", OpenID: "o-bob", UnionID: "u-bob", Candidate: "uid-bob", Step: LoginStepRegistered, User: "uid-bob", BindingUnion: "u-bob"},
			{AppID: "wx-app-1", OpenID: "o-carol", Candidate: "uid-carol", Step: LoginStepRegistered, User: "uid-carol"},
		}},
		{Name: "UnionIDJoinsAccounts", Steps: []IdentityStep{
			{AppID: "wx-app-1", OpenID: "o1-alice", UnionID: "u-alice", Candidate: "uid-alice", Step: LoginStepRegistered, User: "uid-alice", BindingUnion: "u-alice"},
			{AppID: "wx-app-2", OpenID: "o2-alice", UnionID: "u-alice", At: m, Candidate: "uid-unused", Step: LoginStepJoined, User: "uid-alice", LastLogin: m, BindingUnion: "u-alice"},
			// The openid under app 2 is bound now: found without the unionid.
			{AppID: "wx-app-2", OpenID: "o2-alice", At: 2 * m, Candidate: "uid-unused-2", Step: LoginStepReturning, User: "uid-alice", LastLogin: 2 * m, BindingUnion: "u-alice"},
			{AppID: "wx-app-1", OpenID: "o1-alice", UnionID: "u-alice", At: 3 * m, Candidate: "uid-unused-3", Step: LoginStepReturning, User: "uid-alice", LastLogin: 3 * m, BindingUnion: "u-alice"},
		}},
		{Name: "UnionIDSeenLaterIsAttached", Steps: []IdentityStep{
			{AppID: "wx-app-1", OpenID: "o1-alice", Candidate: "uid-alice", Step: LoginStepRegistered, User: "uid-alice"},
			{AppID: "wx-app-1", OpenID: "o1-alice", UnionID: "u-alice", At: m, Candidate: "uid-unused", Step: LoginStepAttachClaim, User: "uid-alice", LastLogin: m, BindingUnion: "u-alice"},
			{AppID: "wx-app-1", OpenID: "o1-alice", UnionID: "u-alice", At: 2 * m, Candidate: "uid-unused-2", Step: LoginStepReturning, User: "uid-alice", LastLogin: 2 * m, BindingUnion: "u-alice"},
			// Attached, never a second account: another official account joins.
			{AppID: "wx-app-2", OpenID: "o2-alice", UnionID: "u-alice", At: 3 * m, Candidate: "uid-unused-3", Step: LoginStepJoined, User: "uid-alice", LastLogin: 3 * m, BindingUnion: "u-alice"},
		}},
		{Name: "UnionIDHeldByAnotherUserIsNotCopied", Steps: []IdentityStep{
			{AppID: "wx-app-1", OpenID: "o1-alice", Candidate: "uid-alice", Step: LoginStepRegistered, User: "uid-alice"},
			{AppID: "wx-app-2", OpenID: "o2-bob", UnionID: "u-bob", Candidate: "uid-bob", Step: LoginStepRegistered, User: "uid-bob", BindingUnion: "u-bob"},
			// WeChat reports bob's unionid for alice's openid: the openid stays
			// alice's, the unionid stays bob's alone, every time.
			{AppID: "wx-app-1", OpenID: "o1-alice", UnionID: "u-bob", At: m, Candidate: "uid-unused", Step: LoginStepReturning, User: "uid-alice", LastLogin: m},
			{AppID: "wx-app-1", OpenID: "o1-alice", UnionID: "u-bob", At: 2 * m, Candidate: "uid-unused-2", Step: LoginStepReturning, User: "uid-alice", LastLogin: 2 * m},
			{AppID: "wx-app-3", OpenID: "o3-bob", UnionID: "u-bob", At: h, Candidate: "uid-unused-3", Step: LoginStepJoined, User: "uid-bob", LastLogin: h, BindingUnion: "u-bob"},
		}},
		{Name: "LoginWithoutUnionIDKeepsIt", Steps: []IdentityStep{
			{AppID: "wx-app-1", OpenID: "o1-alice", UnionID: "u-alice", Candidate: "uid-alice", Step: LoginStepRegistered, User: "uid-alice", BindingUnion: "u-alice"},
			{AppID: "wx-app-1", OpenID: "o1-alice", At: m, Candidate: "uid-unused", Step: LoginStepReturning, User: "uid-alice", LastLogin: m, BindingUnion: "u-alice"},
		}},
		{Name: "RecordedUnionIDNeverChanges", Steps: []IdentityStep{
			{AppID: "wx-app-1", OpenID: "o1-alice", UnionID: "u-alice", Candidate: "uid-alice", Step: LoginStepRegistered, User: "uid-alice", BindingUnion: "u-alice"},
			// Another unionid for a binding that records one is ignored (and
			// not claimed): the unionid does not name alice.
			{AppID: "wx-app-1", OpenID: "o1-alice", UnionID: "u-other", At: m, Candidate: "uid-unused", Step: LoginStepReturning, User: "uid-alice", LastLogin: m, BindingUnion: "u-alice"},
			{AppID: "wx-app-2", OpenID: "o2-dave", UnionID: "u-other", At: 2 * m, Candidate: "uid-dave", Step: LoginStepRegistered, User: "uid-dave", LastLogin: 2 * m, BindingUnion: "u-other"},
		}},
		{Name: "NewOpenIDWithoutUnionIDIsANewUser", Steps: []IdentityStep{
			{AppID: "wx-app-1", OpenID: "o1-alice", UnionID: "u-alice", Candidate: "uid-alice", Step: LoginStepRegistered, User: "uid-alice", BindingUnion: "u-alice"},
			// Without a unionid nothing says that this openid is alice.
			{AppID: "wx-app-2", OpenID: "o2-alice", At: m, Candidate: "uid-alice-2", Step: LoginStepRegistered, User: "uid-alice-2", LastLogin: m},
			// It is found by its openid from now on, whatever the unionid.
			{AppID: "wx-app-2", OpenID: "o2-alice", UnionID: "u-alice", At: 2 * m, Candidate: "uid-unused", Step: LoginStepReturning, User: "uid-alice-2", LastLogin: 2 * m},
		}},
		{Name: "DisabledUserIsRefusedAndNothingIsWritten", Steps: []IdentityStep{
			{AppID: "wx-app-1", OpenID: "o1-alice", UnionID: "u-alice", Candidate: "uid-alice", Step: LoginStepRegistered, User: "uid-alice", BindingUnion: "u-alice"},
			{Change: ChangeDisable, User: "uid-alice", At: m},
			{AppID: "wx-app-1", OpenID: "o1-alice", UnionID: "u-alice", At: 2 * m, Candidate: "uid-unused", Step: LoginStepDisabled, User: "uid-alice", BindingUnion: "u-alice"},
			{AppID: "wx-app-1", OpenID: "o1-alice", At: 3 * m, Candidate: "uid-unused-2", Step: LoginStepDisabled, User: "uid-alice", BindingUnion: "u-alice"},
			// Another openid of the person is not joined to a disabled user.
			{AppID: "wx-app-2", OpenID: "o2-alice", UnionID: "u-alice", At: 4 * m, Candidate: "uid-unused-3", Step: LoginStepDisabled, User: "uid-alice", Unbound: true},
			{Change: ChangeEnable, User: "uid-alice", At: 5 * m},
			{AppID: "wx-app-2", OpenID: "o2-alice", UnionID: "u-alice", At: 6 * m, Candidate: "uid-unused-4", Step: LoginStepJoined, User: "uid-alice", LastLogin: 6 * m, BindingUnion: "u-alice"},
		}},
		{Name: "DisabledUsersUnionIDIsNotAttached", Steps: []IdentityStep{
			{AppID: "wx-app-1", OpenID: "o1-alice", Candidate: "uid-alice", Step: LoginStepRegistered, User: "uid-alice"},
			{Change: ChangeDisable, User: "uid-alice", At: m},
			{AppID: "wx-app-1", OpenID: "o1-alice", UnionID: "u-alice", At: 2 * m, Candidate: "uid-unused", Step: LoginStepDisabled, User: "uid-alice"},
			// The unionid was neither claimed nor recorded: it names nobody.
			{AppID: "wx-app-2", OpenID: "o2-alice", UnionID: "u-alice", At: 3 * m, Candidate: "uid-alice-2", Step: LoginStepRegistered, User: "uid-alice-2", LastLogin: 3 * m, BindingUnion: "u-alice"},
		}},
		{Name: "DisabledUnionHolderDoesNotRefuseAnotherUser", Steps: []IdentityStep{
			{AppID: "wx-app-1", OpenID: "o1-alice", Candidate: "uid-alice", Step: LoginStepRegistered, User: "uid-alice"},
			{AppID: "wx-app-2", OpenID: "o2-bob", UnionID: "u-bob", Candidate: "uid-bob", Step: LoginStepRegistered, User: "uid-bob", BindingUnion: "u-bob"},
			{Change: ChangeDisable, User: "uid-bob", At: m},
			// The openid is alice's: bob's state does not decide her login.
			{AppID: "wx-app-1", OpenID: "o1-alice", UnionID: "u-bob", At: 2 * m, Candidate: "uid-unused", Step: LoginStepReturning, User: "uid-alice", LastLogin: 2 * m},
		}},
		{Name: "LoginDuringTheCoolingOffCancelsTheDeletion", Steps: []IdentityStep{
			{AppID: "wx-app-1", OpenID: "o1-alice", UnionID: "u-alice", Candidate: "uid-alice", Step: LoginStepRegistered, User: "uid-alice", BindingUnion: "u-alice"},
			{Change: ChangeRequestDeletion, User: "uid-alice", At: 7 * 24 * h, Pending: []string{"uid-alice"}},
			{AppID: "wx-app-1", OpenID: "o1-alice", UnionID: "u-alice", At: m, Candidate: "uid-unused", Step: LoginStepReturning, User: "uid-alice", LastLogin: m, BindingUnion: "u-alice", Cancelled: true},
			{AppID: "wx-app-1", OpenID: "o1-alice", UnionID: "u-alice", At: 2 * m, Candidate: "uid-unused-2", Step: LoginStepReturning, User: "uid-alice", LastLogin: 2 * m, BindingUnion: "u-alice"},
			// Another openid of the person, joined through the unionid, cancels too.
			{Change: ChangeRequestDeletion, User: "uid-alice", At: 7 * 24 * h, Pending: []string{"uid-alice"}},
			{AppID: "wx-app-2", OpenID: "o2-alice", UnionID: "u-alice", At: 3 * m, Candidate: "uid-unused-3", Step: LoginStepJoined, User: "uid-alice", LastLogin: 3 * m, BindingUnion: "u-alice", Cancelled: true},
		}},
		{Name: "AttachingLoginCancelsTheDeletion", Steps: []IdentityStep{
			{AppID: "wx-app-1", OpenID: "o1-alice", Candidate: "uid-alice", Step: LoginStepRegistered, User: "uid-alice"},
			{Change: ChangeRequestDeletion, User: "uid-alice", At: h, Pending: []string{"uid-alice"}},
			{AppID: "wx-app-1", OpenID: "o1-alice", UnionID: "u-alice", At: m, Candidate: "uid-unused", Step: LoginStepAttachClaim, User: "uid-alice", LastLogin: m, BindingUnion: "u-alice", Cancelled: true},
		}},
		{Name: "OnlyTheUserWhoLogsInHasTheDeletionCancelled", Steps: []IdentityStep{
			{AppID: "wx-app-1", OpenID: "o1-alice", Candidate: "uid-alice", Step: LoginStepRegistered, User: "uid-alice"},
			{AppID: "wx-app-2", OpenID: "o2-bob", UnionID: "u-bob", Candidate: "uid-bob", Step: LoginStepRegistered, User: "uid-bob", BindingUnion: "u-bob"},
			{Change: ChangeRequestDeletion, User: "uid-bob", At: h, Pending: []string{"uid-bob"}},
			{AppID: "wx-app-1", OpenID: "o1-alice", UnionID: "u-bob", At: m, Candidate: "uid-unused", Step: LoginStepReturning, User: "uid-alice", LastLogin: m, Pending: []string{"uid-bob"}},
			// A new openid without a unionid is a new user: bob's deletion stays.
			{AppID: "wx-app-3", OpenID: "o3-bob", At: 2 * m, Candidate: "uid-bob-3", Step: LoginStepRegistered, User: "uid-bob-3", LastLogin: 2 * m, Pending: []string{"uid-bob"}},
		}},
		{Name: "DisabledUsersLoginCancelsNoDeletion", Steps: []IdentityStep{
			{AppID: "wx-app-1", OpenID: "o1-alice", UnionID: "u-alice", Candidate: "uid-alice", Step: LoginStepRegistered, User: "uid-alice", BindingUnion: "u-alice"},
			{Change: ChangeRequestDeletion, User: "uid-alice", At: h, Pending: []string{"uid-alice"}},
			{Change: ChangeDisable, User: "uid-alice", At: m, Pending: []string{"uid-alice"}},
			{AppID: "wx-app-1", OpenID: "o1-alice", UnionID: "u-alice", At: 2 * m, Candidate: "uid-unused", Step: LoginStepDisabled, User: "uid-alice", BindingUnion: "u-alice", Pending: []string{"uid-alice"}},
			{AppID: "wx-app-2", OpenID: "o2-alice", UnionID: "u-alice", At: 3 * m, Candidate: "uid-unused-2", Step: LoginStepDisabled, User: "uid-alice", Unbound: true, Pending: []string{"uid-alice"}},
			{Change: ChangeEnable, User: "uid-alice", At: 4 * m, Pending: []string{"uid-alice"}},
			{AppID: "wx-app-1", OpenID: "o1-alice", UnionID: "u-alice", At: 5 * m, Candidate: "uid-unused-3", Step: LoginStepReturning, User: "uid-alice", LastLogin: 5 * m, BindingUnion: "u-alice", Cancelled: true},
		}},
	}
}
