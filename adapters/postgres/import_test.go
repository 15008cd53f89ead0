package postgres

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/iotplatform/enduser-auth/application"
	"github.com/iotplatform/enduser-auth/domain"
)

func importRow(line int, ud int64, uid, app, openID, unionID string) application.ImportRow {
	at := time.Date(2024, 5, 1, 8, 0, 0, 0, time.UTC)
	return application.ImportRow{Line: line, UserDomainID: ud, User: domain.ImportUser{UID: uid, AppID: app,
		OpenID: openID, UnionID: unionID, RegisteredAt: at, LastLoginAt: at.Add(time.Hour), Status: domain.UserNormal}}
}

func outcomes(t *testing.T, res []application.ImportResult) []domain.ImportOutcome {
	t.Helper()
	out := make([]domain.ImportOutcome, len(res))
	for i, r := range res {
		out[i] = r.Outcome
	}
	return out
}

// TestImportUsers: a batch is decided on what is stored and on its own
// earlier lines; what it writes a login finds; a second run writes nothing.
func TestImportUsers(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	ctx := context.Background()
	ud, other := e.createUserDomain(t, "C.DM.1.1"), e.createUserDomain(t, "C.DM.2.1")
	now := time.Now()
	pre, _ := e.login(t, ud.ID(), identity(t, "app1", "o-pre", "u-pre"), now)
	if _, err := e.store.ImportUsers(ctx, []application.ImportRow{importRow(1, other.ID(), "uid-other", "app1", "o-x", "")}); err != nil {
		t.Fatal(err)
	}
	rows := []application.ImportRow{
		importRow(1, ud.ID(), "uid-a", "app1", "o1-a", "u-a"),
		importRow(2, ud.ID(), "uid-a", "app2", "o2-a", "u-a"), // same person, another account
		importRow(3, ud.ID(), "uid-b", "app1", "o1-a", ""),    // line 1's openid: refused
		importRow(4, ud.ID(), "uid-c", "app1", "o-pre", ""),   // a logged-in user's openid: refused
		importRow(5, ud.ID(), "uid-d", "app2", "o2-d", "u-pre"),
		importRow(6, ud.ID(), "uid-other", "app1", "o-y", ""), // uid of another user domain
		importRow(7, ud.ID(), "uid-a", "app1", "o1-a", "u-a"), // line 1 again
		importRow(8, ud.ID(), "uid-e", "app1", "o1-e", ""),
		importRow(9, ud.ID(), "uid-e", "app1", "o1-e2", ""), // a second openid under one account
	}
	res, err := e.store.ImportUsers(ctx, rows)
	if err != nil {
		t.Fatal(err)
	}
	want := []domain.ImportOutcome{domain.ImportRegistered, domain.ImportIdentityAdded, domain.ImportRefused, domain.ImportRefused,
		domain.ImportRefused, domain.ImportRefused, domain.ImportPresent, domain.ImportRegistered, domain.ImportRefused}
	if got := outcomes(t, res); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("outcomes %v, want %v (%+v)", got, want, res)
	}
	for _, c := range []struct {
		app, open, union, uid string
	}{{"app1", "o1-a", "u-a", "uid-a"}, {"app2", "o2-a", "u-a", "uid-a"}, {"app3", "o3-a", "u-a", "uid-a"},
		{"app1", "o1-e", "", "uid-e"}, {"app1", "o-pre", "", pre.ID()}} {
		if u, _ := e.login(t, ud.ID(), identity(t, c.app, c.open, c.union), now); u.ID() != c.uid {
			t.Fatalf("login of %s/%s: uid %s, want %s", c.app, c.open, u.ID(), c.uid)
		}
	}
	again, err := e.store.ImportUsers(ctx, rows)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range again {
		if r.Outcome.Imported() {
			t.Fatalf("second run, line %d imported again: %+v", i+1, r)
		}
	}
	if n := e.count(t, `SELECT count(*) FROM enduser_users WHERE user_domain_id = $1`, ud.ID()); n != 3 {
		t.Fatalf("%d users, want 3 (uid-a, uid-e, the logged-in one)", n)
	}
	var reg, last time.Time
	if err := e.sql.QueryRow(`SELECT registered_at, last_login_at FROM enduser_users WHERE id = 'uid-e'`).Scan(&reg, &last); err != nil ||
		!reg.Equal(rows[7].User.RegisteredAt) || last.Before(rows[7].User.LastLoginAt) {
		t.Fatalf("uid-e times %v %v (%v): want the line's registration, a last login not before the line's", reg, last, err)
	}
}

// TestImportRacesLogins: logins of the people being imported, concurrent
// with the import, never make a second user of anyone: each person ends with
// exactly one user, the imported one unless the login registered first (and
// then the line is refused). Under serializable isolation too (as
// CockroachDB and YugabyteDB run by default), where a conflicting batch
// fails to serialize and runs again.
func TestImportRacesLogins(t *testing.T) {
	t.Parallel()
	for _, isolation := range []string{"read committed", "serializable"} {
		t.Run(isolation, func(t *testing.T) {
			t.Parallel()
			e := newTestEnvIsolation(t, isolation)
			var got string
			if err := e.sql.QueryRow(`SHOW transaction_isolation`).Scan(&got); err != nil || got != isolation {
				t.Fatalf("transaction_isolation = %q (%v), want %q", got, err, isolation)
			}
			importRacesLogins(t, e)
		})
	}
}

func importRacesLogins(t *testing.T, e testEnv) {
	ctx := context.Background()
	ud := e.createUserDomain(t, "C.DM.1.1")
	const n = 400
	rows := make([]application.ImportRow, n)
	for i := range rows {
		union := ""
		if i%2 == 0 {
			union = fmt.Sprintf("u-%d", i)
		}
		rows[i] = importRow(i+1, ud.ID(), fmt.Sprintf("uid-%d", i), "app1", fmt.Sprintf("o-%d", i), union)
	}
	logins := make([]string, n)
	var res []application.ImportResult
	var wg sync.WaitGroup
	wg.Go(func() {
		var err error
		// Small batches, so that batches and logins interleave.
		for from := 0; from < n && err == nil; from += 50 {
			var r []application.ImportResult
			r, err = e.store.ImportUsers(ctx, rows[from:from+50])
			res = append(res, r...)
		}
		if err != nil {
			t.Error(err)
		}
	})
	concurrently(8, func(w int) {
		for i := w; i < n; i += 8 {
			// Odd people log in through another account with their unionid
			// when they have one: the even ones join through it.
			app, open := "app1", fmt.Sprintf("o-%d", i)
			if i%4 == 0 {
				app, open = "app2", fmt.Sprintf("o2-%d", i)
			}
			logins[i] = loginAsAClientWould(t, e, ud.ID(), identity(t, app, open, rows[i].User.UnionID))
		}
	})
	wg.Wait()
	if t.Failed() {
		return
	}
	for i, r := range res {
		uid := fmt.Sprintf("uid-%d", i)
		switch {
		case r.Outcome == domain.ImportRegistered && i%4 != 0 && logins[i] != uid:
			t.Fatalf("person %d: imported, but a login through its openid answered %s", i, logins[i])
		case r.Outcome == domain.ImportRefused && logins[i] == uid:
			t.Fatalf("person %d: refused, yet a login answered the uid", i)
		case r.Outcome != domain.ImportRegistered && r.Outcome != domain.ImportRefused:
			t.Fatalf("person %d: outcome %v", i, r.Outcome)
		}
		if i%4 == 0 && r.Outcome == domain.ImportRegistered {
			// Joined through the unionid, or registered first under app2
			// and then the import's unionid was held: one user either way.
			if logins[i] != uid {
				t.Fatalf("person %d: the import registered it with unionid %s, yet the login by that unionid answered %s",
					i, rows[i].User.UnionID, logins[i])
			}
		}
	}
	// One user per person: n people, logins through app2 without a unionid
	// are none (every i%4 == 0 has one).
	if got := e.count(t, `SELECT count(*) FROM enduser_users`); got != n {
		t.Fatalf("%d users for %d people", got, n)
	}
}

// BenchmarkImportMillion imports one million users (half with a unionid) in
// batches of application.DefaultImportBatch, as `enduser import users` does;
// it runs only when asked (-bench ImportMillion), one iteration:
//
//	go test -run '^$' -bench ImportMillion -benchtime 1x ./adapters/postgres/
func BenchmarkImportMillion(b *testing.B) {
	e := newTestEnv(b)
	ctx := context.Background()
	ud := e.createUserDomain(b, "C.DM.1.1")
	const n = 1_000_000
	batch := make([]application.ImportRow, 0, application.DefaultImportBatch)
	for b.Loop() {
		b.StopTimer()
		_, _ = e.sql.Exec(`TRUNCATE enduser_users CASCADE`)
		b.StartTimer()
		imported := 0
		for i := range n {
			union := ""
			if i%2 == 0 {
				union = fmt.Sprintf("union-%07d", i)
			}
			batch = append(batch, importRow(i+1, ud.ID(), fmt.Sprintf("uid-%07d", i), "wx-app-1", fmt.Sprintf("openid-%07d", i), union))
			if len(batch) == cap(batch) || i == n-1 {
				res, err := e.store.ImportUsers(ctx, batch)
				if err != nil {
					b.Fatal(err)
				}
				for _, r := range res {
					if r.Outcome.Imported() {
						imported++
					}
				}
				batch = batch[:0]
			}
		}
		if imported != n {
			b.Fatalf("imported %d of %d", imported, n)
		}
	}
}

// TestImportStoresTheProfile: a new user gets the line's profile (a text
// sent empty stays unset); a re-run with another profile changes nothing.
func TestImportStoresTheProfile(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newTestEnv(t)
	ud := e.createUserDomain(t, "C.DM.1.1")
	str := func(s string) *string { return &s }
	num := func(n int) *int { return &n }
	row := importRow(1, ud.ID(), "uid-p", "app1", "o-p", "")
	row.User.Profile = domain.ImportProfile{NikeName: str("小明"), HeadImage: str("https://img.example/a.png"), Sex: num(1),
		City: str(""), Remark: str("imported"), Timezone: num(8)}
	if _, err := e.store.ImportUsers(ctx, []application.ImportRow{row}); err != nil {
		t.Fatal(err)
	}
	again := row
	again.User.Profile = domain.ImportProfile{NikeName: str("other")}
	if res, err := e.store.ImportUsers(ctx, []application.ImportRow{again}); err != nil || res[0].Outcome != domain.ImportPresent {
		t.Fatalf("re-run: %+v, %v", res, err)
	}
	p, err := e.store.UserProfile(ctx, "uid-p")
	if err != nil {
		t.Fatal(err)
	}
	if p.NikeName != "小明" || p.HeadImage != "https://img.example/a.png" || p.Sex == nil || *p.Sex != 1 || p.City != "" ||
		p.Remark != "imported" || p.Timezone == nil || *p.Timezone != 8 || p.Lang != nil || p.Address != "" {
		t.Fatalf("stored profile %+v", p)
	}
}

// loginAsAClientWould records a login as a client sees it: under
// serializable isolation a login whose statement still fails to serialize
// after the store's own retries (the import batches it conflicts with are
// large and this machine may be loaded) answers 5000, and the client tries
// again; what the test checks is who the person is when a login succeeds.
// Any other failure, or five failed tries, fails the test.
func loginAsAClientWould(t *testing.T, e testEnv, userDomainID int64, id domain.WeChatIdentity) string {
	t.Helper()
	var err error
	for range 5 {
		now := time.Now()
		var r application.RecordedLogin
		r, err = e.store.RecordLogin(context.Background(), loginRecord(t, userDomainID, id, candidate(t, userDomainID, now), now))
		if err == nil {
			return r.User.ID()
		}
		if !retryable(err) {
			break
		}
	}
	t.Fatalf("RecordLogin: %v", err)
	return ""
}
