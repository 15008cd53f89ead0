package wire_test

import (
	"bytes"
	"context"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/iotplatform/enduser-auth/adapters/postgres/pgtest"
	"github.com/iotplatform/enduser-auth/adapters/token"
	"github.com/iotplatform/enduser-auth/adapters/wechat"
	"github.com/iotplatform/enduser-auth/adapters/wechat/wechatfake"
	"github.com/iotplatform/enduser-auth/application"
	"github.com/iotplatform/enduser-auth/domain"
	modwire "github.com/iotplatform/enduser-auth/wire"
)

// statementCounter counts the statements GORM sends while it is on.
type statementCounter struct {
	on atomic.Bool
	n  atomic.Int64
}

func countStatements(t *testing.T, db *gorm.DB) *statementCounter {
	t.Helper()
	c := &statementCounter{}
	count := func(*gorm.DB) {
		if c.on.Load() {
			c.n.Add(1)
		}
	}
	cb := db.Callback()
	for name, err := range map[string]error{
		"query":  cb.Query().After("gorm:query").Register("test:count", count),
		"row":    cb.Row().After("gorm:row").Register("test:count", count),
		"raw":    cb.Raw().After("gorm:raw").Register("test:count", count),
		"create": cb.Create().After("gorm:create").Register("test:count", count),
		"update": cb.Update().After("gorm:update").Register("test:count", count),
		"delete": cb.Delete().After("gorm:delete").Register("test:count", count),
	} {
		if err != nil {
			t.Fatalf("register the %s counter: %v", name, err)
		}
	}
	return c
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
	db := pgtest.Open(t)
	counter := countStatements(t, db)
	fake := wechatfake.New()
	fake.AddAccount("wxrefresh", "refresh-secret")
	fake.AcceptAnyCode(true)
	wx := httptest.NewServer(fake)
	defer wx.Close()
	mod, err := modwire.NewModule(modwire.NewConfig(bytes.Repeat([]byte{3}, 32), application.DefaultConfig(), wx.URL, 0, token.DefaultPublishDelay),
		db, wechat.NewHTTPClient(0), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := mod.Tokens.Init(ctx); err != nil {
		t.Fatal(err)
	}
	svc := mod.Service
	ud, err := svc.CreateUserDomain(ctx, "R.DM.1.1", "")
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.PutOfficialAccount(ctx, ud.Name(), "wxrefresh", "refresh-secret"); err != nil {
		t.Fatal(err)
	}
	res, err := svc.LoginWithWeChatOfficialAccount(ctx, application.WeChatLogin{UserDomain: ud.Name(), AppID: "wxrefresh", Code: "alice.1",
		Signature: domain.LoginSignature("wxrefresh", "alice.1", ud.Secret())})
	if err != nil {
		t.Fatal(err)
	}

	var pair domain.TokenPair
	if n := counter.during(func() { pair, err = svc.Refresh(ctx, res.Tokens.Refresh.Value) }); err != nil || n != 1 {
		t.Fatalf("v2 refresh: %d statements, %v; want 1, no error", n, err)
	}
	var again domain.TokenPair
	if n := counter.during(func() { again, err = svc.Refresh(ctx, res.Tokens.Refresh.Value) }); err != nil || again.Refresh != pair.Refresh {
		t.Fatalf("v2 duplicate within the grace window (%d statements): %v, child %q; want %q", n, err, again.Refresh.Value, pair.Refresh.Value)
	}
	if p, err := domain.ParseRefreshToken(pair.Refresh.Value); err != nil || p.Version != domain.RefreshTokenV2 || p.Counter != 2 {
		t.Fatalf("v2 child: %+v, %v", p, err)
	}

	// A session as logins left them before refresh master keys existed.
	old := domain.NewSession(res.UID, ud.ID(), ud.Name(), "wxrefresh", time.Now(), 30*24*time.Hour, 365*24*time.Hour)
	if err := mod.Store.CreateSession(ctx, old); err != nil {
		t.Fatal(err)
	}
	var v1child domain.TokenPair
	if n := counter.during(func() { v1child, err = svc.Refresh(ctx, old.RefreshToken().Value) }); err != nil || n != 2 {
		t.Fatalf("v1 refresh: %d statements, %v; want 2, no error", n, err)
	}
	if p, err := domain.ParseRefreshToken(v1child.Refresh.Value); err != nil || p.Version != domain.RefreshTokenV1 || p.SessionID != old.ID() || p.Counter != 2 {
		t.Fatalf("v1 child: %+v, %v; want version 1, counter 2 of %s", p, err, old.ID())
	}
	if _, err := svc.Refresh(ctx, v1child.Refresh.Value); err != nil {
		t.Fatalf("the v1 child does not refresh: %v", err)
	}
	if _, err := svc.VerifyAccessToken(ctx, v1child.Access.Value); err != nil {
		t.Fatalf("the v1 child's access token: %v", err)
	}
}
