package wire_test

import (
	"context"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	gormpg "gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/iotplatform/enduser-auth/adapters/postgres/pgtest"
	"github.com/iotplatform/enduser-auth/adapters/wechat"
	"github.com/iotplatform/enduser-auth/adapters/wechat/wechatfake"
	"github.com/iotplatform/enduser-auth/application"
	"github.com/iotplatform/enduser-auth/domain"
	modwire "github.com/iotplatform/enduser-auth/wire"
)

// statementCounter counts the statements the driver sends while it is on
// (a pgx tracer: whatever issues them, GORM or the pool directly).
type statementCounter struct {
	on atomic.Bool
	n  atomic.Int64
}

func (c *statementCounter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	if c.on.Load() {
		c.n.Add(1)
	}
	return ctx
}

func (c *statementCounter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// openCounted opens a fresh test database whose statements c counts.
func openCounted(t *testing.T, c *statementCounter) *gorm.DB {
	t.Helper()
	cfg, err := pgx.ParseConfig(pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Tracer = c
	sqlDB := stdlib.OpenDB(*cfg)
	t.Cleanup(func() { _ = sqlDB.Close() })
	db, err := gorm.Open(gormpg.New(gormpg.Config{Conn: sqlDB}), &gorm.Config{Logger: logger.Discard, SkipDefaultTransaction: true})
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// during returns how many statements f sent.
func (c *statementCounter) during(f func()) int64 {
	c.n.Store(0)
	c.on.Store(true)
	defer c.on.Store(false)
	f()
	return c.n.Load()
}

// TestRefreshRoundTripsOnPostgres: a version-2 refresh is one statement on the
// real database; a version-1 session's token (stored before the upgrade)
// still refreshes, in two, and its child is version 1.
func TestRefreshRoundTripsOnPostgres(t *testing.T) {
	ctx := context.Background()
	counter := &statementCounter{}
	db := openCounted(t, counter)
	fake := wechatfake.New()
	fake.AddAccount("wxrefresh", "refresh-secret")
	fake.AcceptAnyCode(true)
	wx := httptest.NewServer(fake)
	defer wx.Close()
	mod, err := modwire.NewModule(testConfig(3, wx.URL), modwire.Host{DB: db, HTTPClient: wechat.NewHTTPClient(0)})
	if err != nil {
		t.Fatal(err)
	}
	// Not Run: its loops (the revocation and unblock syncs) would send
	// statements while the test counts a refresh's; the keys are loaded by
	// hand instead.
	if err := mod.TokensForTest().Init(ctx); err != nil {
		t.Fatal(err)
	}
	svc := mod
	ud, err := svc.Operators.CreateUserDomain(ctx, "R.DM.1.1", "")
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Operators.PutOfficialAccount(ctx, ud.Name(), "wxrefresh", "refresh-secret"); err != nil {
		t.Fatal(err)
	}
	res, err := svc.EndUsers.LoginWithWeChatOfficialAccount(ctx, application.WeChatLogin{UserDomain: ud.Name(), AppID: "wxrefresh", Code: "alice.1",
		Signature: domain.LoginSignature("wxrefresh", "alice.1", ud.Secret())})
	if err != nil {
		t.Fatal(err)
	}

	var pair domain.TokenPair
	if n := counter.during(func() { pair, err = svc.EndUsers.Refresh(ctx, res.Tokens.Refresh.Value) }); err != nil || n != 1 {
		t.Fatalf("v2 refresh: %d statements, %v; want 1, no error", n, err)
	}
	var again domain.TokenPair
	if n := counter.during(func() { again, err = svc.EndUsers.Refresh(ctx, res.Tokens.Refresh.Value) }); err != nil || again.Refresh != pair.Refresh {
		t.Fatalf("v2 duplicate within the grace window (%d statements): %v, child %q; want %q", n, err, again.Refresh.Value, pair.Refresh.Value)
	}
	if p, err := domain.ParseRefreshToken(pair.Refresh.Value); err != nil || p.Version != domain.RefreshTokenV2 || p.Counter != 2 {
		t.Fatalf("v2 child: %+v, %v", p, err)
	}

	// A session as logins left them before refresh master keys existed.
	old := domain.NewSession(res.UID, ud.ID(), ud.Name(), "wxrefresh", time.Now(), 30*24*time.Hour, 365*24*time.Hour)
	alice, err := domain.NewWeChatIdentity("wxrefresh", wechatfake.OpenIDForLabel("wxrefresh", "alice"), "", false)
	if err != nil {
		t.Fatal(err)
	}
	candidate, err := domain.NewEndUser("uid-unused", ud.ID(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if rec, err := mod.StoreForTest().RecordLogin(ctx, application.LoginRecord{UserDomainID: ud.ID(), Identity: alice, Candidate: candidate,
		Session: old, At: time.Now()}); err != nil || rec.User.ID() != res.UID {
		t.Fatalf("store a v1 session for alice: %+v, %v", rec, err)
	}
	var v1child domain.TokenPair
	if n := counter.during(func() { v1child, err = svc.EndUsers.Refresh(ctx, old.RefreshToken().Value) }); err != nil || n != 2 {
		t.Fatalf("v1 refresh: %d statements, %v; want 2, no error", n, err)
	}
	if p, err := domain.ParseRefreshToken(v1child.Refresh.Value); err != nil || p.Version != domain.RefreshTokenV1 || p.SessionID != old.ID() || p.Counter != 2 {
		t.Fatalf("v1 child: %+v, %v; want version 1, counter 2 of %s", p, err, old.ID())
	}
	if _, err := svc.EndUsers.Refresh(ctx, v1child.Refresh.Value); err != nil {
		t.Fatalf("the v1 child does not refresh: %v", err)
	}
	if _, err := svc.Auth.VerifyAccessToken(ctx, v1child.Access.Value); err != nil {
		t.Fatalf("the v1 child's access token: %v", err)
	}
}
