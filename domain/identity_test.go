package domain

import (
	"regexp"
	"testing"
	"time"
)

// identityModel is the least a store holds to apply DecideLogin: bindings
// of openids (with their recorded unionid), holders of unionids, users' last
// logins. The memory store holds the same; Postgres holds tables.
type identityModel struct {
	bindings  map[[2]string][2]string // (appId, openid) -> (uid, unionid)
	holders   map[string]string       // unionid -> uid
	lastLogin map[string]time.Time    // uid -> last login
}

func (m *identityModel) login(id WeChatIdentity, candidate string, now time.Time) LoginDecision {
	k := [2]string{id.AppID(), id.OpenID()}
	b := m.bindings[k]
	known := KnownIdentity{OpenIDUser: b[0], OpenIDUnion: b[1]}
	if id.UnionID() != "" {
		known.UnionUser = m.holders[id.UnionID()]
	}
	d := DecideLogin(known, id, candidate)
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
	m.bindings[k] = b
	m.lastLogin[d.UID] = LastLogin(m.lastLogin[d.UID], now)
	return d
}

func TestIdentityCases(t *testing.T) {
	start := time.Date(2025, 4, 16, 8, 30, 0, 0, time.UTC)
	for _, c := range IdentityCases() {
		t.Run(c.Name, func(t *testing.T) {
			m := &identityModel{bindings: map[[2]string][2]string{}, holders: map[string]string{}, lastLogin: map[string]time.Time{}}
			for i, s := range c.Steps {
				id, err := NewWeChatIdentity(s.AppID, s.OpenID, s.UnionID, false)
				if err != nil {
					t.Fatalf("step %d: %v", i, err)
				}
				d := m.login(id, s.Candidate, start.Add(s.At))
				if d.Outcome != s.Outcome || d.UID != s.User {
					t.Errorf("step %d (%s/%s/%s): %s of %s, want %s of %s", i, s.AppID, s.OpenID, s.UnionID, d.Outcome, d.UID, s.Outcome, s.User)
				}
				if got := m.lastLogin[s.User]; !got.Equal(start.Add(s.LastLogin)) {
					t.Errorf("step %d: last login %v, want %v", i, got, start.Add(s.LastLogin))
				}
				if got := m.bindings[[2]string{s.AppID, s.OpenID}]; got[0] != s.User || got[1] != s.BindingUnion {
					t.Errorf("step %d: binding %v, want {%s %s}", i, got, s.User, s.BindingUnion)
				}
			}
		})
	}
}

// TestIdentityCasesCoverEveryOutcome: the shared table exercises each
// outcome, so that no store can pass it without implementing each path.
func TestIdentityCasesCoverEveryOutcome(t *testing.T) {
	seen := map[LoginOutcome]bool{}
	for _, c := range IdentityCases() {
		for _, s := range c.Steps {
			seen[s.Outcome] = true
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
	}{
		{"new openid, no unionid", KnownIdentity{}, id(""),
			LoginDecision{Outcome: LoginRegistered, UID: "cand", Register: true, BindOpenID: true}},
		{"new openid, new unionid", KnownIdentity{}, id("u"),
			LoginDecision{Outcome: LoginRegistered, UID: "cand", Register: true, BindOpenID: true, ClaimUnionID: true, RecordUnionID: true}},
		{"new openid, held unionid", KnownIdentity{UnionUser: "v"}, id("u"),
			LoginDecision{Outcome: LoginJoinedByUnionID, UID: "v", BindOpenID: true, RecordUnionID: true}},
		{"known openid, no unionid", KnownIdentity{OpenIDUser: "a"}, id(""),
			LoginDecision{Outcome: LoginReturning, UID: "a"}},
		{"known openid with its unionid", KnownIdentity{OpenIDUser: "a", OpenIDUnion: "u", UnionUser: "a"}, id("u"),
			LoginDecision{Outcome: LoginReturning, UID: "a"}},
		{"known openid, new unionid", KnownIdentity{OpenIDUser: "a"}, id("u"),
			LoginDecision{Outcome: LoginUnionIDAttached, UID: "a", ClaimUnionID: true, RecordUnionID: true}},
		{"known openid, unionid its user holds already", KnownIdentity{OpenIDUser: "a", UnionUser: "a"}, id("u"),
			LoginDecision{Outcome: LoginUnionIDAttached, UID: "a", RecordUnionID: true}},
		{"known openid, unionid another user holds", KnownIdentity{OpenIDUser: "a", UnionUser: "b"}, id("u"),
			LoginDecision{Outcome: LoginReturning, UID: "a"}},
		{"known openid recording another unionid", KnownIdentity{OpenIDUser: "a", OpenIDUnion: "u0"}, id("u"),
			LoginDecision{Outcome: LoginReturning, UID: "a"}},
	} {
		if got := DecideLogin(c.known, c.id, "cand"); got != c.want {
			t.Errorf("%s: %+v, want %+v", c.name, got, c.want)
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
