// Package repotest is the contract of the application's repository ports, as
// a test suite that every implementation runs:
//
//	func TestContract(t *testing.T) {
//		repotest.Run(t, func(t *testing.T) repotest.Repos { ... fresh, empty repositories ... })
//	}
//
// Times are written truncated to microseconds (PostgreSQL's precision) and
// compared with time.Time.Equal.
package repotest

import (
	"context"
	"testing"
	"time"

	"github.com/iotplatform/enduser-auth/adapters/token"
	"github.com/iotplatform/enduser-auth/application"
	"github.com/iotplatform/enduser-auth/domain"
)

// Repos are the repositories under test. They may all be one value.
type Repos struct {
	UserDomains application.UserDomainRepository
	Apps        application.WeChatAppRepository
	DataCenters application.DataCenterRepository
	Users       application.UserRepository
	Sessions    application.SessionRepository
	SigningKeys token.KeyRepository
	IPUnblocks  application.IPUnblockRepository
	// ForcedRefreshes rations WeChat's forced access_token refreshes.
	ForcedRefreshes application.ForcedRefreshRepository
}

// Run runs the contract; newRepos must return fresh, empty repositories for
// each call. Subtests run in parallel.
func Run(t *testing.T, newRepos func(t *testing.T) Repos) {
	t.Helper()
	s := suite{newRepos: newRepos}
	t.Run("UserDomains", s.userDomains)
	t.Run("OfficialAccounts", s.officialAccounts)
	t.Run("WeChatApps", s.weChatApps)
	t.Run("AppListing", s.appListing)
	t.Run("DataCenters", s.dataCenters)
	t.Run("Users", s.users)
	t.Run("Sessions", s.sessions)
	t.Run("Profiles", s.profiles)
	t.Run("Logouts", s.logouts)
	t.Run("Deletion", s.deletion)
	t.Run("Export", s.export)
	t.Run("Purge", s.purge)
	t.Run("SigningKeys", s.signingKeys)
	t.Run("RefreshKeys", s.refreshKeys)
	t.Run("IPUnblocks", s.ipUnblocks)
	t.Run("Phones", s.phones)
}

type suite struct {
	newRepos func(t *testing.T) Repos
}

// fixture is one subtest's fresh repositories and helpers.
type fixture struct {
	Repos
	t   *testing.T
	ctx context.Context
}

// run runs a parallel subtest with fresh repositories.
func (s suite) run(t *testing.T, name string, test func(f *fixture)) {
	t.Helper()
	t.Run(name, func(t *testing.T) {
		t.Parallel()
		test(&fixture{Repos: s.newRepos(t), t: t, ctx: t.Context()})
	})
}

// base is the suite's reference instant. It has a sub-second part so that
// precision losses show.
var base = time.Date(2025, time.April, 16, 8, 30, 0, 123456789, time.UTC)

// at returns base+d truncated to microseconds, PostgreSQL's precision.
func at(d time.Duration) time.Time { return base.Add(d).Truncate(time.Microsecond) }

// userDomain creates a user domain.
func (f *fixture) userDomain(name string) domain.UserDomain {
	f.t.Helper()
	d, err := domain.NewUserDomain(name, "secret-of-"+name+"-0123456789")
	if err != nil {
		f.t.Fatalf("NewUserDomain(%q): %v", name, err)
	}
	created, err := f.UserDomains.CreateUserDomain(f.ctx, d)
	if err != nil {
		f.t.Fatalf("CreateUserDomain(%q): %v", name, err)
	}
	return created
}

// identity builds a WeChat identity.
func (f *fixture) identity(appID, openID, unionID string) domain.WeChatIdentity {
	f.t.Helper()
	id, err := domain.NewWeChatIdentity(appID, openID, unionID, false)
	if err != nil {
		f.t.Fatalf("NewWeChatIdentity: %v", err)
	}
	return id
}

// candidate builds a new user to register at now.
func (f *fixture) candidate(uid string, userDomainID int64, now time.Time) domain.EndUser {
	f.t.Helper()
	u, err := domain.NewEndUser(uid, userDomainID, now)
	if err != nil {
		f.t.Fatalf("NewEndUser: %v", err)
	}
	return u
}

// login records a login with a candidate of uid and a session, and returns
// the user and whether it was registered.
func (f *fixture) login(userDomainID int64, id domain.WeChatIdentity, uid string, now time.Time) (domain.EndUser, bool) {
	f.t.Helper()
	r := f.record(userDomainID, id, uid, now)
	return r.User, r.Outcome.Created()
}

// record calls RecordLogin with a candidate of uid and a new session, and
// checks that the session returned is the one given, for the user returned.
func (f *fixture) record(userDomainID int64, id domain.WeChatIdentity, uid string, now time.Time) application.RecordedLogin {
	f.t.Helper()
	r, err := f.Users.RecordLogin(f.ctx, f.loginRecord(userDomainID, id, uid, now))
	if err != nil {
		f.t.Fatalf("RecordLogin(%s/%s/%s): %v", id.AppID(), id.OpenID(), id.UnionID(), err)
	}
	if r.Session.UserID() != r.User.ID() {
		f.t.Fatalf("RecordLogin(%s/%s/%s): session of %s for user %s", id.AppID(), id.OpenID(), id.UnionID(), r.Session.UserID(), r.User.ID())
	}
	return r
}

// loginRecord is a login of id with a candidate of uid and a new session of
// the user domain (its name is not stored with the session).
func (f *fixture) loginRecord(userDomainID int64, id domain.WeChatIdentity, uid string, now time.Time) application.LoginRecord {
	f.t.Helper()
	return application.LoginRecord{UserDomainID: userDomainID, Identity: id, Candidate: f.candidate(uid, userDomainID, now),
		Session: domain.NewSession(uid, userDomainID, "", id.AppID(), now, time.Hour, 24*time.Hour), At: now}
}

// wantKind fails the test unless err is a *domain.Error of kind k.
func wantKind(t *testing.T, what string, err error, k domain.Kind) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: got no error, want %s", what, k)
	}
	if !domain.IsKind(err, k) {
		t.Fatalf("%s: got error %v (kind %s), want kind %s", what, err, domain.KindOf(err), k)
	}
}

// noErr fails the test on err.
func noErr(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// sameTime fails the test unless got and want are the same instant.
func sameTime(t *testing.T, what string, got, want time.Time) {
	t.Helper()
	if !got.Equal(want) {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}
