package domain

import (
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"
)

// identityModel is the least a store holds to apply DecideLogin: bindings
// of openids (with their recorded unionid), holders of unionids, users' last
// logins, disabled users and pending deletions. The memory store holds the
// same; Postgres holds tables.
type identityModel struct {
	bindings  map[[2]string][2]string // (appId, openid) -> (uid, unionid)
	holders   map[string]string       // unionid -> uid
	lastLogin map[string]time.Time    // uid -> last login
	disabled  map[string]bool         // uid -> disabled
	pending   map[string]bool         // uid -> deletion pending
}

func (m *identityModel) login(id WeChatIdentity, candidate string, now time.Time) (LoginDecision, error) {
	k := [2]string{id.AppID(), id.OpenID()}
	b := m.bindings[k]
	known := KnownIdentity{OpenIDUser: b[0], OpenIDUnion: b[1]}
	if id.UnionID() != "" {
		known.UnionUser = m.holders[id.UnionID()]
	}
	found := known.OpenIDUser
	if found == "" {
		found = known.UnionUser
	}
	known.UserDisabled, known.UserDeletionPending = m.disabled[found], m.pending[found]
	d, err := DecideLogin(known, id, candidate)
	if err != nil {
		return d, err
	}
	if d.Register {
		m.lastLogin[d.UID] = now
	}
	if d.BindOpenID {
		b = [2]string{d.UID, ""}
	}
	if d.ClaimUnionID {
		m.holders[id.UnionID()] = d.UID
	}
	if d.RecordUnionID {
		b[1] = id.UnionID()
	}
	if d.CancelDeletion {
		delete(m.pending, d.UID)
	}
	m.bindings[k] = b
	m.lastLogin[d.UID] = LastLogin(m.lastLogin[d.UID], now)
	return d, nil
}

// change applies an operator's change to uid.
func (m *identityModel) change(c UserChange, uid string) {
	switch c {
	case ChangeDisable:
		m.disabled[uid] = true
	case ChangeEnable:
		delete(m.disabled, uid)
	case ChangeRequestDeletion:
		m.pending[uid] = true
	}
}

func newIdentityModel() *identityModel {
	return &identityModel{bindings: map[[2]string][2]string{}, holders: map[string]string{}, lastLogin: map[string]time.Time{},
		disabled: map[string]bool{}, pending: map[string]bool{}}
}

// replayIdentityCase runs c on a fresh model and returns the steps its logins
// took.
func replayIdentityCase(t *testing.T, c IdentityCase) []LoginStep {
	t.Helper()
	start := time.Date(2025, 4, 16, 8, 30, 0, 0, time.UTC)
	m := newIdentityModel()
	var steps []LoginStep
	for i, s := range c.Steps {
		if s.Change != ChangeNone {
			m.change(s.Change, s.User)
			checkPending(t, i, m, s.Pending)
			continue
		}
		id, err := NewWeChatIdentity(s.AppID, s.OpenID, s.UnionID, false)
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		d, err := m.login(id, s.Candidate, start.Add(s.At))
		steps = append(steps, d.Step)
		if d.Step != s.Step || d.UID != s.User || d.Outcome != s.Step.Outcome() || d.CancelDeletion != s.Cancelled ||
			KindOf(err) != KindOf(s.Step.Err()) {
			t.Errorf("step %d (%s/%s/%s): %s of %s (cancel %t, %v), want %s of %s (cancel %t)", i, s.AppID, s.OpenID, s.UnionID,
				d.Step, d.UID, d.CancelDeletion, err, s.Step, s.User, s.Cancelled)
		}
		if got := m.lastLogin[s.User]; !got.Equal(start.Add(s.LastLogin)) {
			t.Errorf("step %d: last login %v, want %v", i, got, start.Add(s.LastLogin))
		}
		want := [2]string{s.User, s.BindingUnion}
		if s.Unbound {
			want = [2]string{}
		}
		if got := m.bindings[[2]string{s.AppID, s.OpenID}]; got != want {
			t.Errorf("step %d: binding %v, want %v", i, got, want)
		}
		checkPending(t, i, m, s.Pending)
	}
	return steps
}

func checkPending(t *testing.T, i int, m *identityModel, want []string) {
	t.Helper()
	var got []string
	for uid := range m.pending {
		got = append(got, uid)
	}
	sort.Strings(got)
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("step %d: deletions pending for %v, want %v", i, got, want)
	}
}

func TestIdentityCases(t *testing.T) {
	for _, c := range IdentityCases() {
		t.Run(c.Name, func(t *testing.T) { replayIdentityCase(t, c) })
	}
}

// TestIdentityCasesCoverEveryStep: the shared table takes every step a
// login from an empty store can take, and cancels deletions, so that no
// store can pass it without implementing each rule.
func TestIdentityCasesCoverEveryStep(t *testing.T) {
	seen := map[LoginStep]bool{}
	cancels := false
	for _, c := range IdentityCases() {
		for _, s := range replayIdentityCase(t, c) {
			seen[s] = true
		}
		for _, s := range c.Steps {
			cancels = cancels || s.Cancelled
		}
	}
	for _, s := range LoginSteps() {
		if !seen[s] && s != LoginStepAttachRecord {
			t.Errorf("no login of the table takes step %s", s)
		}
	}
	if !cancels {
		t.Error("no login of the table cancels a deletion")
	}
}

// TestIdentityCasesCoverEveryOutcome: the shared table exercises each
// outcome, so that no store can pass it without implementing each path.
func TestIdentityCasesCoverEveryOutcome(t *testing.T) {
	seen := map[LoginOutcome]bool{}
	for _, c := range IdentityCases() {
		for _, s := range c.Steps {
			seen[s.Step.Outcome()] = true
		}
	}
	for _, o := range []LoginOutcome{LoginReturning, LoginRegistered, LoginJoinedByUnionID, LoginUnionIDAttached} {
		if !seen[o] {
			t.Errorf("no case ends in %s", o)
		}
	}
}

// TestDecideLogin covers the states that sequential logins cannot reach
// (a concurrent attach), and the writes of each outcome.
func TestDecideLogin(t *testing.T) {
	id := func(union string) WeChatIdentity { return UnmarshalWeChatIdentityFromDatabase("wx-app", "o", union) }
	for _, c := range []struct {
		name  string
		known KnownIdentity
		id    WeChatIdentity
		want  LoginDecision
		err   Kind
	}{
		{"new openid, no unionid", KnownIdentity{}, id(""),
			LoginDecision{Step: LoginStepRegistered, Outcome: LoginRegistered, UID: "cand", Register: true, BindOpenID: true}, ""},
		{"new openid, new unionid", KnownIdentity{}, id("u"),
			LoginDecision{Step: LoginStepRegistered, Outcome: LoginRegistered, UID: "cand", Register: true, BindOpenID: true, ClaimUnionID: true, RecordUnionID: true}, ""},
		{"new openid, held unionid", KnownIdentity{UnionUser: "v"}, id("u"),
			LoginDecision{Step: LoginStepJoined, Outcome: LoginJoinedByUnionID, UID: "v", BindOpenID: true, RecordUnionID: true}, ""},
		{"known openid, no unionid", KnownIdentity{OpenIDUser: "a"}, id(""),
			LoginDecision{Step: LoginStepReturning, Outcome: LoginReturning, UID: "a"}, ""},
		{"known openid with its unionid", KnownIdentity{OpenIDUser: "a", OpenIDUnion: "u", UnionUser: "a"}, id("u"),
			LoginDecision{Step: LoginStepReturning, Outcome: LoginReturning, UID: "a"}, ""},
		{"known openid, new unionid", KnownIdentity{OpenIDUser: "a"}, id("u"),
			LoginDecision{Step: LoginStepAttachClaim, Outcome: LoginUnionIDAttached, UID: "a", ClaimUnionID: true, RecordUnionID: true}, ""},
		{"known openid, unionid its user holds already", KnownIdentity{OpenIDUser: "a", UnionUser: "a"}, id("u"),
			LoginDecision{Step: LoginStepAttachRecord, Outcome: LoginUnionIDAttached, UID: "a", RecordUnionID: true}, ""},
		{"known openid, unionid another user holds", KnownIdentity{OpenIDUser: "a", UnionUser: "b"}, id("u"),
			LoginDecision{Step: LoginStepReturning, Outcome: LoginReturning, UID: "a"}, ""},
		{"known openid recording another unionid", KnownIdentity{OpenIDUser: "a", OpenIDUnion: "u0"}, id("u"),
			LoginDecision{Step: LoginStepReturning, Outcome: LoginReturning, UID: "a"}, ""},
		{"deletion pending, returning", KnownIdentity{OpenIDUser: "a", UserDeletionPending: true}, id(""),
			LoginDecision{Step: LoginStepReturning, Outcome: LoginReturning, UID: "a", CancelDeletion: true}, ""},
		{"deletion pending, joined", KnownIdentity{UnionUser: "v", UserDeletionPending: true}, id("u"),
			LoginDecision{Step: LoginStepJoined, Outcome: LoginJoinedByUnionID, UID: "v", BindOpenID: true, RecordUnionID: true, CancelDeletion: true}, ""},
		{"deletion pending, attached", KnownIdentity{OpenIDUser: "a", UserDeletionPending: true}, id("u"),
			LoginDecision{Step: LoginStepAttachClaim, Outcome: LoginUnionIDAttached, UID: "a", ClaimUnionID: true, RecordUnionID: true, CancelDeletion: true}, ""},
		{"disabled, returning", KnownIdentity{OpenIDUser: "a", UserDisabled: true, UserDeletionPending: true}, id(""),
			LoginDecision{Step: LoginStepDisabled, UID: "a"}, KindUserDisabled},
		{"disabled, would attach", KnownIdentity{OpenIDUser: "a", UserDisabled: true}, id("u"),
			LoginDecision{Step: LoginStepDisabled, UID: "a"}, KindUserDisabled},
		{"disabled, would join", KnownIdentity{UnionUser: "v", UserDisabled: true}, id("u"),
			LoginDecision{Step: LoginStepDisabled, UID: "v"}, KindUserDisabled},
	} {
		got, err := DecideLogin(c.known, c.id, "cand")
		if got != c.want || KindOf(err) != c.err {
			t.Errorf("%s: %+v, %v; want %+v, kind %q", c.name, got, err, c.want, c.err)
		}
	}
}

func TestLastLoginNeverMovesBack(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	if got := LastLogin(t0, t0.Add(time.Second)); !got.Equal(t0.Add(time.Second)) {
		t.Errorf("later login: %v", got)
	}
	if got := LastLogin(t0, t0.Add(-time.Second)); !got.Equal(t0) {
		t.Errorf("earlier login moved it back: %v", got)
	}
}

func TestNewUIDIsTimeOrderedOpaqueHex(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	hex32 := regexp.MustCompile(`^[0-9a-f]{32}$`)
	a, b, c := NewUID(t0), NewUID(t0), NewUID(t0.Add(time.Millisecond))
	for _, u := range []string{a, b, c} {
		if !hex32.MatchString(u) {
			t.Fatalf("uid %q is not 32 lower-case hex characters", u)
		}
	}
	if a == b {
		t.Error("two uids of one millisecond are equal")
	}
	if a[:12] != b[:12] || a >= c || b >= c {
		t.Errorf("uids are not ordered by time: %s %s then %s", a, b, c)
	}
}
