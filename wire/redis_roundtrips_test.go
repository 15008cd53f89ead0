package wire_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/redis/go-redis/v9"

	"github.com/iotplatform/enduser-auth/adapters/postgres/pgtest"
	"github.com/iotplatform/enduser-auth/adapters/ratelimit"
	"github.com/iotplatform/enduser-auth/adapters/ratelimit/redistest"
	"github.com/iotplatform/enduser-auth/adapters/wechat"
	"github.com/iotplatform/enduser-auth/adapters/wechat/wechatfake"
	"github.com/iotplatform/enduser-auth/domain"
	modwire "github.com/iotplatform/enduser-auth/wire"
)

// roundTrips is a go-redis hook that records every command sent, one entry
// per round trip (a pipeline is one).
type roundTrips struct {
	mu   sync.Mutex
	cmds []string
}

func (r *roundTrips) DialHook(next redis.DialHook) redis.DialHook { return next }

func (r *roundTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		r.add(cmd.Name())
		return next(ctx, cmd)
	}
}

func (r *roundTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		names := make([]string, len(cmds))
		for i, c := range cmds {
			names[i] = c.Name()
		}
		r.add("pipeline(" + strings.Join(names, ",") + ")")
		return next(ctx, cmds)
	}
}

func (r *roundTrips) add(name string) {
	r.mu.Lock()
	r.cmds = append(r.cmds, name)
	r.mu.Unlock()
}

// during returns the commands f sent.
func (r *roundTrips) during(f func()) []string {
	r.mu.Lock()
	r.cmds = nil
	r.mu.Unlock()
	f()
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.cmds...)
}

// Redis round trips of one login through the module's HTTP routes with the
// limits in Redis (scripts already cached by Redis: a first call after a
// Redis restart adds one EVAL per script).
const (
	roundTripsLogin       = 2 // bucket + lockout; cool-down + cap + code claim
	roundTripsBadSig      = 2 // bucket + lockout; the failure's count
	roundTripsLockedOut   = 1 // bucket + lockout
	roundTripsReplay      = 2 // bucket + lockout; cool-down + cap + claim refused
	roundTripsOtherRoutes = 1 // the middleware's bucket (a refresh here)
)

// TestLoginRedisRoundTrips counts, with a go-redis hook, the Redis round
// trips of a successful login, of refused ones and of another endpoint, and
// fails if any grows (before issue 10: 5, 3, 2, 5 and 1).
func TestLoginRedisRoundTrips(t *testing.T) {
	rdb, prefix := redistest.Open(t)
	hook := &roundTrips{}
	rdb.AddHook(hook)
	db := pgtest.Open(t)
	fake := wechatfake.New()
	fake.AddAccount("wxroundtrips", "rt-secret")
	fake.AcceptAnyCode(true)
	wx := httptest.NewServer(fake)
	t.Cleanup(wx.Close)
	cfg := testConfig(5, wx.URL)
	cfg.Limits = modwire.LimitsConfig{Thresholds: ratelimit.Config{IPRate: 1000, IPBurst: 1000, ExchangeRate: 1000, LockoutFailures: 2}, RedisPrefix: prefix}
	mod, err := modwire.NewModule(cfg, modwire.Host{DB: db, HTTPClient: wechat.NewHTTPClient(0), Redis: rdb})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if err := mod.TokensForTest().Init(ctx); err != nil {
		t.Fatal(err)
	}
	ud, err := mod.Operators.CreateUserDomain(ctx, "R.DM.1.1", "")
	if err != nil {
		t.Fatal(err)
	}
	if err := mod.Operators.PutOfficialAccount(ctx, ud.Name(), "wxroundtrips", "rt-secret"); err != nil {
		t.Fatal(err)
	}
	ec := echo.New()
	mod.HTTP.Register(ec.Group(""))
	send := func(method, target, ip string) string {
		req := httptest.NewRequest(method, target, nil)
		req.RemoteAddr = ip + ":40000"
		rec := httptest.NewRecorder()
		ec.ServeHTTP(rec, req)
		return rec.Body.String()
	}
	login := func(ip, code, sig string) string {
		q := url.Values{"userDomain": {ud.Name()}, "appId": {"wxroundtrips"}, "code": {code}, "signature": {sig}}
		return send(http.MethodPost, "/v2/enduser/enduserapi/wechatOffiaccountAuthLogin?"+q.Encode(), ip)
	}
	good := func(code string) string { return domain.LoginSignature("wxroundtrips", code, ud.Secret()) }
	bad := strings.Repeat("ab", 32)

	check := func(what string, want int, wantCode string, f func() string) {
		t.Helper()
		var body string
		cmds := hook.during(func() { body = f() })
		if !strings.Contains(body, wantCode) {
			t.Fatalf("%s: want %s, got %s", what, wantCode, body)
		}
		t.Logf("%s: %d Redis round trips %v", what, len(cmds), cmds)
		if len(cmds) != want {
			t.Errorf("%s: %d Redis round trips %v, want %d (update the constant if it shrank)", what, len(cmds), cmds, want)
		}
	}
	// Warm up: Redis caches each script at its first EVAL.
	login("192.0.2.50", "warm.1", good("warm.1"))
	login("192.0.2.50", "warm.1", good("warm.1"))
	login("192.0.2.50", "warm-bad", bad)
	send(http.MethodPut, "/v2/enduser/enduserapi/refreshToken?refreshToken=not-a-token", "192.0.2.50") // the per-IP script

	for i := range 2 {
		code := fmt.Sprintf("rt.%d", i)
		check("successful login", roundTripsLogin, `"code":200`, func() string { return login("192.0.2.51", code, good(code)) })
		check("replayed code", roundTripsReplay, `"code":5368`, func() string { return login("192.0.2.51", code, good(code)) })
	}
	check("bad signature", roundTripsBadSig, `"code":5420`, func() string { return login("192.0.2.52", "x", bad) })
	login("192.0.2.52", "x", bad) // the second failure locks (LockoutFailures 2)
	check("locked out", roundTripsLockedOut, `"code":5148`, func() string { return login("192.0.2.52", "rt.locked", good("rt.locked")) })
	check("refresh", roundTripsOtherRoutes, `"code":5032`, func() string {
		return send(http.MethodPut, "/v2/enduser/enduserapi/refreshToken?refreshToken=not-a-token", "192.0.2.53")
	})
}
