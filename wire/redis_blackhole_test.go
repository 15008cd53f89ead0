package wire_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/redis/go-redis/v9"

	"github.com/iotplatform/enduser-auth/adapters/postgres/pgtest"
	"github.com/iotplatform/enduser-auth/adapters/ratelimit"
	"github.com/iotplatform/enduser-auth/adapters/ratelimit/redistest"
	"github.com/iotplatform/enduser-auth/adapters/wechat/wechatfake"
	"github.com/iotplatform/enduser-auth/domain"
	modwire "github.com/iotplatform/enduser-auth/wire"
)

// TestRedisThatNeverAnswers: the host lends a Redis client without timeouts
// of its own (nor context deadlines honoured on the socket) pointed at a server that accepts connections and never answers. Every
// login is answered (200), each Redis call of the limits falling back to
// memory at the module's own deadline (Limits.RedisTimeout), and every
// fall-back is counted: two a login (admission, exchange gate).
func TestRedisThatNeverAnswers(t *testing.T) {
	addr := redistest.Silent(t)
	// No timeout of the client's own: only the module's deadline can answer.
	rdb := redis.NewClient(&redis.Options{Addr: addr, Protocol: 2, ReadTimeout: -1, WriteTimeout: -1})
	t.Cleanup(func() { _ = rdb.Close() })

	fake := wechatfake.New()
	fake.AddAccount("wxblackhole", "bh-secret")
	fake.AcceptAnyCode(true)
	wx := httptest.NewServer(fake)
	t.Cleanup(wx.Close)
	cfg := testConfig(7, wx.URL)
	cfg.Limits = modwire.LimitsConfig{Thresholds: ratelimit.Config{IPRate: 1000, IPBurst: 1000, ExchangeRate: 1000}, RedisPrefix: "blackhole:"}
	reg := prometheus.NewRegistry()
	mod, err := modwire.NewModule(cfg, modwire.Host{DB: pgtest.Open(t), Redis: rdb, Metrics: reg})
	if err != nil {
		t.Fatal(err)
	}
	runModule(t, mod)
	ctx := t.Context()
	ud, err := mod.Operators.CreateUserDomain(ctx, "B.DM.1.1", "")
	if err != nil {
		t.Fatal(err)
	}
	if err := mod.Operators.PutOfficialAccount(ctx, ud.Name(), "wxblackhole", "bh-secret"); err != nil {
		t.Fatal(err)
	}
	e := echo.New()
	mod.HTTP.Register(e.Group(""))
	const logins = 6
	for i := range logins {
		code := "person" + string(rune('a'+i)) + ".1"
		q := url.Values{"userDomain": {ud.Name()}, "appId": {"wxblackhole"}, "code": {code},
			"signature": {domain.LoginSignature("wxblackhole", code, ud.Secret())}}
		// A safety net only: without the module's deadline the login would wait forever.
		rctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		req := httptest.NewRequestWithContext(rctx, http.MethodPost, "/v2/enduser/enduserapi/wechatOffiaccountAuthLogin?"+q.Encode(), nil)
		w := httptest.NewRecorder()
		e.ServeHTTP(w, req)
		if !strings.Contains(w.Body.String(), `"code":200`) {
			t.Fatalf("login %d with Redis silent: %d %s", i, w.Code, w.Body.String())
		}
	}
	// Each decision that fell back is counted: a login's admission (the IP
	// bucket and the lockout) and its exchange gate (the cap and cool-down,
	// the code's claim).
	got := map[string]float64{}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "enduser_auth_limits_redis_fallbacks_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "what" {
					got[l.GetValue()] += m.GetCounter().GetValue()
				}
			}
		}
	}
	for _, what := range []string{"ip", "lockout", "exchange", "code"} {
		if got[what] != logins {
			t.Errorf("fall-backs of %s: %v, want one for each of the %d logins (all: %v)", what, got[what], logins, got)
		}
	}
	// The gate's wait is timed: each login waited the module's deadline for
	// it (250 ms), and no longer than twice that.
	var gate *dto.Histogram
	for _, f := range families {
		if f.GetName() == "enduser_auth_limits_redis_gate_seconds" && len(f.GetMetric()) == 1 {
			gate = f.GetMetric()[0].GetHistogram()
		}
	}
	if gate == nil {
		t.Fatal("no enduser_auth_limits_redis_gate_seconds")
	}
	deadline := ratelimit.DefaultRedisTimeout.Seconds()
	if gate.GetSampleCount() != logins || gate.GetSampleSum() < logins*deadline {
		t.Errorf("gate waits: %d samples, sum %.3f s; want %d, at least %.3f s", gate.GetSampleCount(), gate.GetSampleSum(), logins, logins*deadline)
	}
	for _, b := range gate.GetBucket() {
		if b.GetUpperBound() == 2*deadline && b.GetCumulativeCount() != logins {
			t.Errorf("gate waits within %.1f s: %d of %d", b.GetUpperBound(), b.GetCumulativeCount(), logins)
		}
	}
}
