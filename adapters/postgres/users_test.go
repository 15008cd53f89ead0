package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	gormpg "gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/iotplatform/enduser-auth/application"
	"github.com/iotplatform/enduser-auth/domain"
)

const concurrentLogins = 40

// loginResult is what one concurrent RecordLogin returned.
type loginResult struct {
	uid     string
	created bool
	err     error
}

// loginConcurrently runs concurrentLogins first logins at once, goroutine i
// presenting identityOf(i), and returns their results.
func loginConcurrently(t *testing.T, e testEnv, userDomainID int64, identityOf func(i int) domain.WeChatIdentity) []loginResult {
	t.Helper()
	now := testTime()
	results := make([]loginResult, concurrentLogins)
	cands := make([]domain.EndUser, concurrentLogins)
	for i := range cands {
		cands[i] = candidate(t, userDomainID, now)
	}
	concurrently(concurrentLogins, func(i int) {
		r, err := e.store.RecordLogin(context.Background(), loginRecord(t, userDomainID, identityOf(i), cands[i], now))
		if err == nil && r.Session.UserID() != r.User.ID() {
			err = fmt.Errorf("session of %s for user %s", r.Session.UserID(), r.User.ID())
		}
		results[i] = loginResult{uid: r.User.ID(), created: r.Outcome.Created(), err: err}
	})
	return results
}

// checkOneUser asserts that every login succeeded with the same uid, that
// exactly one registered it, and that the database holds exactly one user.
func checkOneUser(t *testing.T, e testEnv, results []loginResult) string {
	t.Helper()
	uid, created := "", 0
	for i, r := range results {
		if r.err != nil {
			t.Fatalf("login %d: %v", i, r.err)
		}
		if uid == "" {
			uid = r.uid
		}
		if r.uid != uid {
			t.Errorf("login %d got uid %s, login 0 got %s", i, r.uid, uid)
		}
		if r.created {
			created++
		}
	}
	if created != 1 {
		t.Errorf("%d logins report created, want exactly 1", created)
	}
	if n := e.count(t, "SELECT count(*) FROM enduser_users"); n != 1 {
		t.Errorf("%d user rows, want 1", n)
	}
	return uid
}

func TestFindOrRegisterConcurrentFirstLogin(t *testing.T) {
	t.Parallel()
	t.Run("openid only", func(t *testing.T) {
		t.Parallel()
		e := newTestEnv(t)
		d := e.createUserDomain(t, "C.DM.1.1")
		id := identity(t, "wx-app-1", "openid-1", "")
		checkOneUser(t, e, loginConcurrently(t, e, d.ID(), func(int) domain.WeChatIdentity { return id }))
		if n := e.count(t, "SELECT count(*) FROM enduser_wechat_identities"); n != 1 {
			t.Errorf("%d identities, want 1", n)
		}
	})
	t.Run("with unionid", func(t *testing.T) {
		t.Parallel()
		e := newTestEnv(t)
		d := e.createUserDomain(t, "C.DM.1.1")
		id := identity(t, "wx-app-1", "openid-1", "union-1")
		uid := checkOneUser(t, e, loginConcurrently(t, e, d.ID(), func(int) domain.WeChatIdentity { return id }))
		if n := e.count(t, "SELECT count(*) FROM enduser_wechat_unions WHERE user_id = $1", uid); n != 1 {
			t.Errorf("%d unions of the user, want 1", n)
		}
	})
	t.Run("two official accounts, one unionid", func(t *testing.T) {
		t.Parallel()
		e := newTestEnv(t)
		d := e.createUserDomain(t, "C.DM.1.1")
		ids := []domain.WeChatIdentity{
			identity(t, "wx-app-1", "openid-under-app-1", "union-1"),
			identity(t, "wx-app-2", "openid-under-app-2", "union-1"),
		}
		uid := checkOneUser(t, e, loginConcurrently(t, e, d.ID(), func(i int) domain.WeChatIdentity { return ids[i%2] }))
		if n := e.count(t, "SELECT count(*) FROM enduser_wechat_identities WHERE user_id = $1 AND union_id = 'union-1'", uid); n != 2 {
			t.Errorf("%d identities bound to the user with the unionid, want 2", n)
		}
		if n := e.count(t, "SELECT count(*) FROM enduser_wechat_unions"); n != 1 {
			t.Errorf("%d unions, want 1", n)
		}
	})
}

func TestFindOrRegisterReturningUser(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	d := e.createUserDomain(t, "C.DM.1.1")
	id := identity(t, "wx-app-1", "openid-1", "")
	first := testTime()

	registered, created := e.login(t, d.ID(), id, first)
	if !created {
		t.Fatal("first login: created = false")
	}
	if registered.UserDomainID() != d.ID() || registered.Status() != domain.UserNormal {
		t.Errorf("registered user = %+v", registered)
	}
	if !registered.RegisteredAt().Equal(dbTime(first)) || !registered.LastLoginAt().Equal(dbTime(first)) {
		t.Errorf("registered at %v, last login %v, want both %v", registered.RegisteredAt(), registered.LastLoginAt(), dbTime(first))
	}

	later := first.Add(time.Hour)
	again, created := e.login(t, d.ID(), id, later)
	if created {
		t.Error("second login: created = true")
	}
	if again.ID() != registered.ID() {
		t.Fatalf("second login got uid %s, want %s", again.ID(), registered.ID())
	}
	if !again.RegisteredAt().Equal(registered.RegisteredAt()) || !again.LastLoginAt().Equal(dbTime(later)) {
		t.Errorf("second login: registered %v last login %v, want %v and %v", again.RegisteredAt(), again.LastLoginAt(),
			registered.RegisteredAt(), dbTime(later))
	}
	if again.LastLoginAt().Location() != time.UTC {
		t.Errorf("last login in %v, want UTC", again.LastLoginAt().Location())
	}

	// The same openid in another user domain is another person.
	other := e.createUserDomain(t, "C.DM.1.2")
	stranger, created := e.login(t, other.ID(), id, later)
	if !created || stranger.ID() == registered.ID() {
		t.Errorf("login in another user domain: uid %s created %v, want a new user", stranger.ID(), created)
	}
}

func TestFindOrRegisterUnionIDSeenLater(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newTestEnv(t)
	d := e.createUserDomain(t, "C.DM.1.1")
	now := testTime()

	user, _ := e.login(t, d.ID(), identity(t, "wx-app-1", "openid-1", ""), now)
	again, created := e.login(t, d.ID(), identity(t, "wx-app-1", "openid-1", "union-1"), now)
	if created || again.ID() != user.ID() {
		t.Fatalf("login with a new unionid: uid %s created %v, want %s, false", again.ID(), created, user.ID())
	}
	if n := e.count(t, "SELECT count(*) FROM enduser_wechat_unions WHERE union_id = 'union-1' AND user_id = $1", user.ID()); n != 1 {
		t.Fatalf("unionid not attached to the user (%d rows)", n)
	}
	_, w, err := e.store.UserWithWeChat(ctx, user.ID(), "wx-app-1")
	if err != nil || w.UnionID() != "union-1" {
		t.Fatalf("UserWithWeChat = %+v, %v; want unionid union-1", w, err)
	}

	// Through another official account, the unionid finds the same user.
	viaApp2, created := e.login(t, d.ID(), identity(t, "wx-app-2", "openid-2", "union-1"), now)
	if created || viaApp2.ID() != user.ID() {
		t.Fatalf("login through app 2: uid %s created %v, want %s, false", viaApp2.ID(), created, user.ID())
	}
	_, w, err = e.store.UserWithWeChat(ctx, user.ID(), "wx-app-2")
	if err != nil || w.AppID() != "wx-app-2" || w.OpenID() != "openid-2" || w.UnionID() != "union-1" {
		t.Fatalf("UserWithWeChat(app 2) = %+v, %v", w, err)
	}
	if _, w, err = e.store.UserWithWeChat(ctx, user.ID(), "wx-app-3"); err != nil || w != (domain.WeChatIdentity{}) {
		t.Fatalf("UserWithWeChat(app without binding) = %+v, %v; want a zero binding", w, err)
	}
}

func TestFindOrRegisterUnionIDHeldByAnotherUser(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	d := e.createUserDomain(t, "C.DM.1.1")
	now := testTime()

	a, _ := e.login(t, d.ID(), identity(t, "wx-app-1", "openid-a", ""), now)
	b, _ := e.login(t, d.ID(), identity(t, "wx-app-2", "openid-b", "union-1"), now)
	got, created := e.login(t, d.ID(), identity(t, "wx-app-1", "openid-a", "union-1"), now)
	if created || got.ID() != a.ID() {
		t.Fatalf("openid-a with b's unionid: uid %s created %v; want a (%s): a binding never moves", got.ID(), created, a.ID())
	}
	if n := e.count(t, "SELECT count(*) FROM enduser_wechat_unions WHERE union_id = 'union-1' AND user_id = $1", b.ID()); n != 1 {
		t.Error("the unionid moved away from b")
	}
	if n := e.count(t, "SELECT count(*) FROM enduser_wechat_identities WHERE user_id = $1 AND union_id IS NOT NULL", a.ID()); n != 0 {
		t.Error("a's identity records b's unionid: the identity and the unions table disagree")
	}

	// Later logins of that person are one statement too.
	counted, statements := e.countingStore(t)
	if r, err := counted.RecordLogin(context.Background(), loginRecord(t, d.ID(),
		identity(t, "wx-app-1", "openid-a", "union-1"), candidate(t, d.ID(), now), now)); err != nil || r.Outcome != domain.LoginReturning {
		t.Fatalf("later login: %v, err %v", r.Outcome, err)
	}
	if n := statements(); n != 1 {
		t.Errorf("a later login of openid-a with b's unionid ran %d statements, want 1", n)
	}
}

// TestEveryLoginPathIsOneStatement: returning, registered (with and without
// unionid), joined through a unionid, unionid attached: each login and its
// session are one round trip.
func TestEveryLoginPathIsOneStatement(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	d := e.createUserDomain(t, "C.DM.1.1")
	now := testTime()
	counted, statements := e.countingStore(t)
	for i, c := range []struct {
		id   domain.WeChatIdentity
		want domain.LoginOutcome
	}{
		{identity(t, "wx-app-1", "openid-1", ""), domain.LoginRegistered},
		{identity(t, "wx-app-1", "openid-1", ""), domain.LoginReturning},
		{identity(t, "wx-app-1", "openid-1", "union-1"), domain.LoginUnionIDAttached},
		{identity(t, "wx-app-1", "openid-1", "union-1"), domain.LoginReturning},
		{identity(t, "wx-app-2", "openid-2", "union-1"), domain.LoginJoinedByUnionID},
		{identity(t, "wx-app-1", "openid-3", "union-3"), domain.LoginRegistered},
		{identity(t, "wx-app-1", "openid-3", "union-3"), domain.LoginReturning},
	} {
		before := statements()
		sess := domain.NewSession("uid-unused", d.ID(), d.Name(), c.id.AppID(), now, time.Hour, 24*time.Hour)
		r, err := counted.RecordLogin(context.Background(), application.LoginRecord{UserDomainID: d.ID(), Identity: c.id,
			Candidate: candidate(t, d.ID(), now), Session: sess, At: now})
		if err != nil || r.Outcome != c.want {
			t.Fatalf("login %d (%s/%s/%s): %v, %v; want %v", i, c.id.AppID(), c.id.OpenID(), c.id.UnionID(), r.Outcome, err, c.want)
		}
		if n := statements() - before; n != 1 {
			t.Errorf("login %d (%v) ran %d statements, want 1", i, c.want, n)
		}
		if stored, err := e.store.SessionByID(context.Background(), sess.ID()); err != nil || stored.UserID() != r.User.ID() {
			t.Errorf("login %d: session stored for %s (%v), want %s", i, stored.UserID(), err, r.User.ID())
		}
	}
}

// countingStore returns a Store on e's database that counts the statements
// (round trips) it sends, GORM's and its own, and the count so far.
func (e testEnv) countingStore(t testing.TB) (*Store, func() int) {
	t.Helper()
	c := &countingPool{ConnPool: e.sql}
	db, err := gorm.Open(gormpg.New(gormpg.Config{Conn: c}), &gorm.Config{Logger: logger.Discard, SkipDefaultTransaction: true, DisableAutomaticPing: true})
	if err != nil {
		t.Fatal(err)
	}
	c.n.Store(0)
	return NewStore(db, e.store.box), func() int { return int(c.n.Load()) }
}

// countingPool is a connection pool that counts the statements sent.
type countingPool struct {
	gorm.ConnPool
	n atomic.Int64
}

func (c *countingPool) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	c.n.Add(1)
	return c.ConnPool.ExecContext(ctx, query, args...)
}

func (c *countingPool) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	c.n.Add(1)
	return c.ConnPool.QueryContext(ctx, query, args...)
}

func (c *countingPool) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	c.n.Add(1)
	return c.ConnPool.QueryRowContext(ctx, query, args...)
}

func TestFindOrRegisterConcurrentUnionAttach(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	d := e.createUserDomain(t, "C.DM.1.1")
	user, _ := e.login(t, d.ID(), identity(t, "wx-app-1", "openid-1", ""), testTime())
	id := identity(t, "wx-app-1", "openid-1", "union-1")
	results := loginConcurrently(t, e, d.ID(), func(int) domain.WeChatIdentity { return id })
	for i, r := range results {
		if r.err != nil || r.uid != user.ID() || r.created {
			t.Fatalf("login %d = %+v, want uid %s not created", i, r, user.ID())
		}
	}
	if n := e.count(t, "SELECT count(*) FROM enduser_wechat_unions WHERE user_id = $1", user.ID()); n != 1 {
		t.Errorf("%d unions, want 1", n)
	}
}

// BenchmarkRecordLoginReturningUser measures the login of a known user
// with its session: one statement.
func BenchmarkRecordLoginReturningUser(b *testing.B) {
	e := newTestEnv(b)
	d := e.createUserDomain(b, "C.DM.1.1")
	id := identity(b, "wx-app-1", "openid-1", "union-1")
	now := testTime()
	e.login(b, d.ID(), id, now)
	cand := candidate(b, d.ID(), now)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if r, err := e.store.RecordLogin(ctx, loginRecord(b, d.ID(), id, cand, now)); err != nil || r.Outcome != domain.LoginReturning {
			b.Fatalf("outcome %v, err %v", r.Outcome, err)
		}
	}
}

// BenchmarkRecordLoginFirstLogin is a registration each time (a new openid,
// with a unionid every other login): RecordLogin's costliest common step.
func BenchmarkRecordLoginFirstLogin(b *testing.B) {
	e := newTestEnv(b)
	d := e.createUserDomain(b, "C.DM.1.1")
	now := testTime()
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		union := ""
		if i%2 == 0 {
			union = fmt.Sprintf("union-%d", i)
		}
		id := identity(b, "wx-app-1", fmt.Sprintf("openid-%d", i), union)
		r, err := e.store.RecordLogin(ctx, loginRecord(b, d.ID(), id, candidate(b, d.ID(), now), now))
		if err != nil || r.Outcome != domain.LoginRegistered {
			b.Fatalf("outcome %v, err %v", r.Outcome, err)
		}
	}
}
