package wire_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/iotplatform/enduser-auth/adapters/postgres/pgtest"
	"github.com/iotplatform/enduser-auth/adapters/ratelimit"
	"github.com/iotplatform/enduser-auth/adapters/ratelimit/redistest"
	"github.com/iotplatform/enduser-auth/adapters/wechat"
	"github.com/iotplatform/enduser-auth/adapters/wechat/wechatfake"
	"github.com/iotplatform/enduser-auth/domain"
	modwire "github.com/iotplatform/enduser-auth/wire"
)

// Redis round trips with the local-first admission running (a started
// module), once the client's IP is warm: the login's exchange gate only,
// nothing for another endpoint (the sync of every active IP runs in the
// background, here never: an interval of an hour).
const (
	roundTripsLocalLogin       = 1
	roundTripsLocalOtherRoutes = 0
)

// TestLoginRedisRoundTripsLocal counts the round trips of a warm IP's login
// and refresh with the module started (ratelimit.Local deciding admission in
// memory), and fails if either grows.
func TestLoginRedisRoundTripsLocal(t *testing.T) {
	rdb, prefix := redistest.Open(t)
	hook := &roundTrips{}
	rdb.AddHook(hook)
	fake := wechatfake.New()
	fake.AddAccount("wxroundtrips", "rt-secret")
	fake.AcceptAnyCode(true)
	wx := httptest.NewServer(fake)
	t.Cleanup(wx.Close)
	cfg := testConfig(5, wx.URL)
	cfg.Limits = modwire.LimitsConfig{Thresholds: ratelimit.Config{IPRate: 1000, IPBurst: 1000, ExchangeRate: 1000},
		RedisPrefix: prefix, SyncInterval: time.Hour}
	mod, err := modwire.NewModule(cfg, modwire.Host{DB: pgtest.Open(t), HTTPClient: wechat.NewHTTPClient(0), Redis: rdb})
	if err != nil {
		t.Fatal(err)
	}
	runModule(t, mod)
	ctx := t.Context()
	ud, err := mod.Operators.CreateUserDomain(ctx, "R.DM.1.2", "")
	if err != nil {
		t.Fatal(err)
	}
	if err := mod.Operators.PutOfficialAccount(ctx, ud.Name(), "wxroundtrips", "rt-secret"); err != nil {
		t.Fatal(err)
	}
	ec := echo.New()
	mod.HTTP.Register(ec.Group(""))
	send := func(method, target string) string {
		req := httptest.NewRequest(method, target, nil)
		req.RemoteAddr = "192.0.2.61:40000"
		rec := httptest.NewRecorder()
		ec.ServeHTTP(rec, req)
		return rec.Body.String()
	}
	refresh := func() string {
		return send(http.MethodPut, "/v2/enduser/enduserapi/refreshToken?refreshToken=not-a-token")
	}
	// The admission is local once Run has loaded the lockout mirror (polled).
	for i := 0; ; i++ {
		if cmds := hook.during(func() { refresh() }); len(cmds) == 0 {
			break
		}
		if i == 500 {
			t.Fatal("the local-first admission never started: every refresh still goes to Redis")
		}
		time.Sleep(10 * time.Millisecond)
	}
	for i := range 3 {
		code := fmt.Sprintf("rtl.%d", i)
		q := url.Values{"userDomain": {ud.Name()}, "appId": {"wxroundtrips"}, "code": {code},
			"signature": {domain.LoginSignature("wxroundtrips", code, ud.Secret())}}
		var body string
		cmds := hook.during(func() { body = send(http.MethodPost, "/v2/enduser/enduserapi/wechatOffiaccountAuthLogin?"+q.Encode()) })
		if !strings.Contains(body, `"code":200`) {
			t.Fatalf("login: %s", body)
		}
		if len(cmds) != roundTripsLocalLogin {
			t.Errorf("a warm IP's login: %d Redis round trips %v, want %d", len(cmds), cmds, roundTripsLocalLogin)
		}
		var rbody string
		if cmds := hook.during(func() { rbody = refresh() }); len(cmds) != roundTripsLocalOtherRoutes || !strings.Contains(rbody, `"code":5032`) {
			t.Errorf("a warm IP's refresh: %d Redis round trips %v (%s), want %d", len(cmds), cmds, rbody, roundTripsLocalOtherRoutes)
		}
	}
}
