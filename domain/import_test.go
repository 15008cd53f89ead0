package domain_test

import (
	"strings"
	"testing"
	"time"

	"github.com/iotplatform/enduser-auth/domain"
)

func imp(uid, app, open, union string) domain.ImportUser {
	at := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	return domain.ImportUser{UID: uid, UserDomain: "C.DM.1.1", AppID: app, OpenID: open, UnionID: union,
		RegisteredAt: at, LastLoginAt: at, Status: domain.UserNormal}
}

func TestValidImportedUID(t *testing.T) {
	for uid, ok := range map[string]bool{"a": true, "A-b_9": true, strings.Repeat("x", 64): true,
		"": false, strings.Repeat("x", 65): false, "a b": false, "a.b": false, "é": false, "a/b": false} {
		if domain.ValidImportedUID(uid) != ok {
			t.Errorf("ValidImportedUID(%q) = %v", uid, !ok)
		}
	}
}

func TestImportUserValidate(t *testing.T) {
	s := func(v string) *string { return &v }
	n := func(v int) *int { return &v }
	cases := []struct {
		name   string
		change func(*domain.ImportUser)
		reason string // "" valid; else a part of the reason
	}{
		{"valid", func(*domain.ImportUser) {}, ""},
		{"bad uid", func(u *domain.ImportUser) { u.UID = "a b" }, "uid"},
		{"no user domain", func(u *domain.ImportUser) { u.UserDomain = " " }, "userDomain"},
		{"no appId", func(u *domain.ImportUser) { u.AppID = "" }, "appId"},
		{"no openId", func(u *domain.ImportUser) { u.OpenID = "" }, "openId"},
		{"openId with a space", func(u *domain.ImportUser) { u.OpenID = "o 1" }, "openId"},
		{"unionId too long", func(u *domain.ImportUser) { u.UnionID = strings.Repeat("u", 129) }, "unionId"},
		{"status 2", func(u *domain.ImportUser) { u.Status = 2 }, "status"},
		{"last login before registration", func(u *domain.ImportUser) { u.LastLoginAt = u.RegisteredAt.Add(-time.Second) }, "lastLoginTime"},
		{"profile ok", func(u *domain.ImportUser) {
			u.Profile = domain.ImportProfile{NikeName: s(strings.Repeat("名", 50)), HeadImage: s("https://x.example/a.png"), Sex: n(2), Lang: n(100000)}
		}, ""},
		{"nikeName too long", func(u *domain.ImportUser) { u.Profile.NikeName = s(strings.Repeat("名", 51)) }, "nikeName"},
		{"control character", func(u *domain.ImportUser) { u.Profile.Remark = s("a\nb") }, "remark"},
		{"headImage not a URL", func(u *domain.ImportUser) { u.Profile.HeadImage = s("ftp://x/a") }, "headImage"},
		{"sex 3", func(u *domain.ImportUser) { u.Profile.Sex = n(3) }, "sex"},
		{"negative timezone", func(u *domain.ImportUser) { u.Profile.Timezone = n(-1) }, "timezone"},
	}
	for _, c := range cases {
		u := imp("uid-1", "app1", "o1", "")
		c.change(&u)
		got := u.Validate()
		if (c.reason == "") != (got == "") || !strings.Contains(got, c.reason) {
			t.Errorf("%s: Validate() = %q, want a reason naming %q", c.name, got, c.reason)
		}
	}
}

// TestDecideImport is the table of the import's identity rules on what is
// stored (one line at a time).
func TestDecideImport(t *testing.T) {
	const ud = 7
	cases := []struct {
		name  string
		known domain.ImportKnown
		line  domain.ImportUser
		want  domain.ImportDecision
	}{
		{"nothing stored: registered", domain.ImportKnown{}, imp("a", "app1", "o1", "u1"),
			domain.ImportDecision{Outcome: domain.ImportRegistered, InsertUser: true, BindOpenID: true, ClaimUnionID: true}},
		{"nothing stored, no unionid", domain.ImportKnown{}, imp("a", "app1", "o1", ""),
			domain.ImportDecision{Outcome: domain.ImportRegistered, InsertUser: true, BindOpenID: true}},
		{"all stored: present", domain.ImportKnown{UIDDomain: ud, UIDOpenID: "o1", UIDUnion: "u1", OpenIDUser: "a", OpenIDUnion: "u1", UnionUser: "a"},
			imp("a", "app1", "o1", "u1"), domain.ImportDecision{Outcome: domain.ImportPresent}},
		{"stored, line without its unionid: present", domain.ImportKnown{UIDDomain: ud, UIDOpenID: "o1", UIDUnion: "u1", OpenIDUser: "a", OpenIDUnion: "u1", UnionUser: "a"},
			imp("a", "app1", "o1", ""), domain.ImportDecision{Outcome: domain.ImportPresent}},
		{"uid of another user domain", domain.ImportKnown{UIDDomain: ud + 1}, imp("a", "app1", "o1", ""),
			domain.ImportDecision{Outcome: domain.ImportRefused, Reason: "uid a belongs to another user domain"}},
		{"openid bound to another uid", domain.ImportKnown{OpenIDUser: "b"}, imp("a", "app1", "o1", ""),
			domain.ImportDecision{Outcome: domain.ImportRefused, Reason: "openId is bound to another uid under appId app1"}},
		{"unionid held by another uid", domain.ImportKnown{UnionUser: "b"}, imp("a", "app2", "o2", "u1"),
			domain.ImportDecision{Outcome: domain.ImportRefused, Reason: "unionId is held by another uid"}},
		{"uid with another unionid", domain.ImportKnown{UIDDomain: ud, UIDUnion: "u0"}, imp("a", "app2", "o2", "u1"),
			domain.ImportDecision{Outcome: domain.ImportRefused, Reason: "uid a has another unionId"}},
		{"binding records another unionid", domain.ImportKnown{UIDDomain: ud, UIDOpenID: "o1", OpenIDUser: "a", OpenIDUnion: "u0"},
			imp("a", "app1", "o1", "u1"), domain.ImportDecision{Outcome: domain.ImportRefused, Reason: "the binding of openId records another unionId"}},
		{"uid with another openid under the account", domain.ImportKnown{UIDDomain: ud, UIDOpenID: "o0"}, imp("a", "app1", "o1", ""),
			domain.ImportDecision{Outcome: domain.ImportRefused, Reason: "uid a has another openId under appId app1"}},
		{"another official account of a stored uid: identity added", domain.ImportKnown{UIDDomain: ud, UIDUnion: "u1", UnionUser: "a"},
			imp("a", "app2", "o2", "u1"), domain.ImportDecision{Outcome: domain.ImportIdentityAdded, BindOpenID: true}},
		{"another account, unionid held by nobody: claimed", domain.ImportKnown{UIDDomain: ud}, imp("a", "app2", "o2", "u1"),
			domain.ImportDecision{Outcome: domain.ImportIdentityAdded, BindOpenID: true, ClaimUnionID: true}},
		{"binding without unionid, unionid free: attached and claimed", domain.ImportKnown{UIDDomain: ud, UIDOpenID: "o1", OpenIDUser: "a"},
			imp("a", "app1", "o1", "u1"), domain.ImportDecision{Outcome: domain.ImportUnionIDAttached, RecordUnionID: true, ClaimUnionID: true}},
		{"binding without unionid, held by the uid: attached", domain.ImportKnown{UIDDomain: ud, UIDOpenID: "o1", OpenIDUser: "a", UnionUser: "a"},
			imp("a", "app1", "o1", "u1"), domain.ImportDecision{Outcome: domain.ImportUnionIDAttached, RecordUnionID: true}},
	}
	for _, c := range cases {
		if got := domain.DecideImport(c.known, ud, c.line); got != c.want {
			t.Errorf("%s:\n got %+v\nwant %+v", c.name, got, c.want)
		}
	}
}

// TestImportPlannerWithinABatch: lines of one batch that contradict each
// other are decided as if the earlier ones were stored.
func TestImportPlannerWithinABatch(t *testing.T) {
	const ud = 7
	p := domain.NewImportPlanner()
	steps := []struct {
		line domain.ImportUser
		want domain.ImportOutcome
	}{
		{imp("a", "app1", "o1", "u1"), domain.ImportRegistered},
		{imp("a", "app1", "o1", "u1"), domain.ImportPresent},       // the same line twice
		{imp("a", "app2", "o2", "u1"), domain.ImportIdentityAdded}, // one user, two accounts
		{imp("a", "app2", "o2b", ""), domain.ImportRefused},        // a second openid under app2
		{imp("b", "app1", "o1", ""), domain.ImportRefused},         // a's openid
		{imp("b", "app3", "o3", "u1"), domain.ImportRefused},       // a's unionid
		{imp("a", "app3", "o3", "u9"), domain.ImportRefused},       // a holds u1
		{imp("c", "app1", "o-c", ""), domain.ImportRegistered},
		{imp("c", "app1", "o-c", "u-c"), domain.ImportUnionIDAttached},
		{imp("c", "app2", "o2-c", "u-c"), domain.ImportIdentityAdded},
		{imp("d", "app2", "o2-d", "u-c"), domain.ImportRefused},
	}
	for i, s := range steps {
		if got := p.Decide(domain.ImportKnown{}, ud, s.line); got.Outcome != s.want {
			t.Fatalf("line %d (%+v): %v %q, want %v", i+1, s.line, got.Outcome, got.Reason, s.want)
		}
	}
	// What is stored wins over nothing: a fresh planner on a stored binding.
	q := domain.NewImportPlanner()
	if got := q.Decide(domain.ImportKnown{OpenIDUser: "z"}, ud, imp("a", "app1", "o1", "")); got.Outcome != domain.ImportRefused {
		t.Fatalf("stored binding of another uid: %+v", got)
	}
}
