package wire_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/redis/go-redis/v9"
	"gorm.io/gorm"

	"github.com/iotplatform/enduser-auth/adapters/postgres/pgtest"
	"github.com/iotplatform/enduser-auth/adapters/ratelimit"
	"github.com/iotplatform/enduser-auth/adapters/ratelimit/redistest"
	"github.com/iotplatform/enduser-auth/adapters/token"
	"github.com/iotplatform/enduser-auth/adapters/wechat"
	"github.com/iotplatform/enduser-auth/adapters/wechat/wechatfake"
	"github.com/iotplatform/enduser-auth/application"
	"github.com/iotplatform/enduser-auth/domain"
	modwire "github.com/iotplatform/enduser-auth/wire"
)

// benchEnv is the real module on a real Postgres with a fake WeChat on loopback.
type benchEnv struct {
	svc    *modwire.Module
	db     *gorm.DB
	fake   *wechatfake.Server
	wxURL  string
	hc     *http.Client
	domain domain.UserDomain
	echo   *echo.Echo
	tokens *token.Issuer
}

const benchApp = "wxbench"

func newBenchEnv(b *testing.B) *benchEnv {
	b.Helper()
	ctx := context.Background()
	db := pgtest.Open(b)
	fake := wechatfake.New()
	fake.AddAccount(benchApp, "bench-secret")
	fake.AcceptAnyCode(true)
	wx := httptest.NewServer(fake)
	b.Cleanup(wx.Close)
	hc := wechat.NewHTTPClient(0)
	mod, err := modwire.NewModule(testConfig(2, wx.URL), modwire.Host{DB: db, HTTPClient: hc})
	if err != nil {
		b.Fatal(err)
	}
	ud, err := mod.Operators.CreateUserDomain(ctx, "B.DM.1.1", "")
	if err != nil {
		b.Fatal(err)
	}
	if err := mod.Operators.PutOfficialAccount(ctx, ud.Name(), benchApp, "bench-secret"); err != nil {
		b.Fatal(err)
	}
	runModule(b, mod) // as a host does: keys, revocations and the background loops
	ec := echo.New()
	mod.HTTP.Register(ec.Group(""))
	return &benchEnv{svc: mod, db: db, fake: fake, wxURL: wx.URL, hc: hc, domain: ud, echo: ec, tokens: mod.TokensForTest()}
}

// serve sends one request through the module's Echo routes, in-process, and
// returns the body of a successful (code 200) answer.
func (e *benchEnv) serve(b *testing.B, method, target string) []byte {
	rec := httptest.NewRecorder()
	e.echo.ServeHTTP(rec, httptest.NewRequest(method, target, nil))
	body := rec.Body.Bytes()
	if rec.Code != http.StatusOK || !bytes.Contains(body, []byte(`"code":200`)) {
		b.Fatalf("%s %s: HTTP %d %s", method, target, rec.Code, body)
	}
	return body
}

func (e *benchEnv) login(b *testing.B, person, n int) application.LoginResult {
	code := fmt.Sprintf("p%d.%d", person, n)
	res, err := e.svc.EndUsers.LoginWithWeChatOfficialAccount(context.Background(), application.WeChatLogin{
		UserDomain: e.domain.Name(), AppID: benchApp, Code: code, Signature: domain.LoginSignature(benchApp, code, e.domain.Secret()),
	})
	if err != nil {
		b.Fatal(err)
	}
	return res
}

// baselineLogin is a login's irreducible I/O, done by hand: one WeChat
// exchange over the same HTTP client and one Postgres round trip that writes
// a row, plus one Ed25519 signature.
func (e *benchEnv) baselineLogin(b *testing.B, n int, key ed25519.PrivateKey) {
	q := url.Values{"appid": {benchApp}, "secret": {"bench-secret"}, "code": {fmt.Sprintf("base.%d", n)}, "grant_type": {"authorization_code"}}
	resp, err := e.hc.Get(e.wxURL + "/sns/oauth2/access_token?" + q.Encode())
	if err != nil {
		b.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err := e.db.Exec(`INSERT INTO bench_baseline (n) VALUES (?)`, n).Error; err != nil {
		b.Fatal(err)
	}
	_ = ed25519.Sign(key, []byte(q.Encode()))
}

// interleave runs op and its baseline alternately b.N times, so both see the
// same machine at the same moments, and reports both and their ratio.
func interleave(b *testing.B, name string, op, baseline func(i int)) {
	var tOp, tBase time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		op(i)
		t1 := time.Now()
		baseline(i)
		tOp += t1.Sub(t0)
		tBase += time.Since(t1)
	}
	b.StopTimer()
	n := float64(b.N)
	b.ReportMetric(float64(tOp.Microseconds())/n, name+"-µs")
	b.ReportMetric(float64(tBase.Microseconds())/n, "baseline-µs")
	if tBase > 0 {
		b.ReportMetric(float64(tOp)/float64(tBase), "ratio")
	}
}

// loginBaseline prepares the login's baseline: its irreducible I/O done by
// hand (one WeChat exchange, one row written, one Ed25519 signature).
func (e *benchEnv) loginBaseline(b *testing.B) func(i int) {
	if err := e.db.Exec(`CREATE TABLE IF NOT EXISTS bench_baseline (id bigserial PRIMARY KEY, n bigint)`).Error; err != nil {
		b.Fatal(err)
	}
	_, key, _ := ed25519.GenerateKey(nil)
	return func(i int) { e.baselineLogin(b, i, key) }
}

// refreshBaseline is one conditional UPDATE round trip plus one signature.
func (e *benchEnv) refreshBaseline(b *testing.B) func(i int) {
	_, key, _ := ed25519.GenerateKey(nil)
	return func(i int) {
		if err := e.db.Exec(`UPDATE enduser_users SET last_login_at = now() WHERE id = (SELECT id FROM enduser_users LIMIT 1)`).Error; err != nil {
			b.Fatal(err)
		}
		_ = ed25519.Sign(key, []byte(fmt.Sprint(i)))
	}
}

const benchPersons = 200

// BenchmarkLogin measures the WeChat login of returning users through the
// facade, against the login's baseline.
func BenchmarkLogin(b *testing.B) {
	e := newBenchEnv(b)
	base := e.loginBaseline(b)
	for p := 0; p < benchPersons; p++ { // register them: the benchmark measures returning users
		e.login(b, p, -1)
	}
	interleave(b, "login", func(i int) { e.login(b, i%benchPersons, i) }, base)
}

// BenchmarkLoginEndpoint is BenchmarkLogin through the HTTP adapter (Echo,
// parameter parsing, envelope), in-process.
func BenchmarkLoginEndpoint(b *testing.B) {
	e := newBenchEnv(b)
	base := e.loginBaseline(b)
	for p := 0; p < benchPersons; p++ {
		e.login(b, p, -1)
	}
	interleave(b, "login", func(i int) {
		code := fmt.Sprintf("p%d.h%d", i%benchPersons, i)
		q := url.Values{"userDomain": {e.domain.Name()}, "appId": {benchApp}, "code": {code},
			"signature": {domain.LoginSignature(benchApp, code, e.domain.Secret())}}
		e.serve(b, http.MethodPost, "/v2/enduser/enduserapi/wechatOffiaccountAuthLogin?"+q.Encode())
	}, base)
}

// BenchmarkRefresh measures a refresh-token rotation through the facade.
func BenchmarkRefresh(b *testing.B) {
	e := newBenchEnv(b)
	tok := e.login(b, 1, 0).Tokens.Refresh.Value
	ctx := context.Background()
	interleave(b, "refresh", func(int) {
		pair, err := e.svc.EndUsers.Refresh(ctx, tok)
		if err != nil {
			b.Fatal(err)
		}
		tok = pair.Refresh.Value
	}, e.refreshBaseline(b))
}

// BenchmarkRefreshEndpoint is the refresh endpoint (PUT refreshToken) in-process.
func BenchmarkRefreshEndpoint(b *testing.B) {
	e := newBenchEnv(b)
	tok := "Bearer " + e.login(b, 1, 0).Tokens.Refresh.Value
	interleave(b, "refresh", func(int) {
		body := e.serve(b, http.MethodPut, "/v2/enduser/enduserapi/refreshToken?"+url.Values{"refreshToken": {tok}}.Encode())
		var env struct {
			Data struct {
				RefreshToken struct{ Token string } `json:"refreshToken"`
			} `json:"data"`
		}
		if err := json.Unmarshal(body, &env); err != nil || env.Data.RefreshToken.Token == "" {
			b.Fatalf("refresh: %s", body)
		}
		tok = env.Data.RefreshToken.Token
	}, e.refreshBaseline(b))
}

// BenchmarkVerifyAccessTokenCached measures the facade's verification of a
// token it has verified before (answered from the verified-token cache, with
// the revocation check from memory) against a bare Ed25519 verification of
// the same token.
func BenchmarkVerifyAccessTokenCached(b *testing.B) {
	e := newBenchEnv(b)
	access := e.login(b, 1, 0).Tokens.Access.Value
	parts := strings.Split(access, ".")
	sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
	ctx := context.Background()
	pub := jwksKey(b, e.svc)
	if _, err := e.svc.Auth.VerifyAccessToken(ctx, access); err != nil { // the first verification
		b.Fatal(err)
	}
	interleave(b, "verify", func(int) {
		if _, err := e.svc.Auth.VerifyAccessToken(ctx, access); err != nil {
			b.Fatal(err)
		}
	}, func(int) {
		if !ed25519.Verify(pub, []byte(parts[0]+"."+parts[1]), sig) {
			b.Fatal("baseline verification failed")
		}
	})
}

// BenchmarkVerifyAccessTokenFirst measures the facade's first verification of
// a token (signature, claims, revocation check from memory, and its entry in
// the cache): every iteration presents a token never seen before, against a
// bare Ed25519 verification of that token.
func BenchmarkVerifyAccessTokenFirst(b *testing.B) {
	e := newBenchEnv(b)
	ctx := context.Background()
	pub := jwksKey(b, e.svc)
	p, err := e.svc.Auth.VerifyAccessToken(ctx, e.login(b, 1, 0).Tokens.Access.Value)
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now().Truncate(time.Second)
	type presented struct {
		token, signed string
		sig           []byte
	}
	tokens := make([]presented, b.N)
	for i := range tokens {
		tok, err := e.tokens.SignAccessToken(ctx, domain.AccessClaims{UID: p.UID, UserDomain: p.UserDomain, AppID: p.AppID,
			SessionID: p.SessionID, TokenID: fmt.Sprintf("bench-%d", i), IssuedAt: now, ExpiresAt: now.Add(time.Hour)})
		if err != nil {
			b.Fatal(err)
		}
		dot := strings.LastIndexByte(tok, '.')
		sig, _ := base64.RawURLEncoding.DecodeString(tok[dot+1:])
		tokens[i] = presented{token: tok, signed: tok[:dot], sig: sig}
	}
	interleave(b, "verify", func(i int) {
		if _, err := e.svc.Auth.VerifyAccessToken(ctx, tokens[i].token); err != nil {
			b.Fatal(err)
		}
	}, func(i int) {
		if !ed25519.Verify(pub, []byte(tokens[i].signed), tokens[i].sig) {
			b.Fatal("baseline verification failed")
		}
	})
}

// jwksKey returns the public key of the JWKS's first key.
func jwksKey(b *testing.B, svc *modwire.Module) ed25519.PublicKey {
	raw, err := svc.EndUsers.JWKS(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	var set struct {
		Keys []struct {
			X string `json:"x"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(raw, &set); err != nil || len(set.Keys) == 0 {
		b.Fatalf("jwks: %v %s", err, raw)
	}
	x, err := base64.RawURLEncoding.DecodeString(set.Keys[0].X)
	if err != nil {
		b.Fatal(err)
	}
	return ed25519.PublicKey(x)
}

// limitedEcho assembles a second module on e's database and tenant with the
// abuse limits on (rdb nil: in memory) at limits that never trip, and returns
// its Echo routes.
// The local-first admission syncs every sync (0: the default; negative:
// every admission in Redis).
func (e *benchEnv) limitedEchoSync(b *testing.B, rdb *redis.Client, prefix string, sync time.Duration) *echo.Echo {
	b.Helper()
	cfg := testConfig(2, e.wxURL)
	cfg.Limits = modwire.LimitsConfig{Thresholds: ratelimit.Config{IPRate: 1e6, IPBurst: 1e6, ExchangeRate: 1e6}, RedisPrefix: prefix,
		SyncInterval: sync}
	mod, err := modwire.NewModule(cfg, modwire.Host{DB: e.db, HTTPClient: e.hc, Redis: rdb})
	if err != nil {
		b.Fatal(err)
	}
	runModule(b, mod)
	ec := echo.New()
	mod.HTTP.Register(ec.Group(""))
	return ec
}

// benchLimits interleaves the login endpoint with the limits on (op) and off
// (baseline), both on the same database, WeChat and tenant: the ratio is
// what the limits cost.
func benchLimits(b *testing.B, rdb *redis.Client, prefix string) { benchLimitsSync(b, rdb, prefix, 0) }

// benchLimitsSync is benchLimits with the local-first admission's sync
// interval.
func benchLimitsSync(b *testing.B, rdb *redis.Client, prefix string, sync time.Duration) {
	benchLimitsInstances(b, rdb, prefix, sync, 1)
}

// benchLimitsInstances is benchLimitsSync with n instances sharing the
// limits (one Redis prefix), the logins with the limits on spread across
// them in turn.
func benchLimitsInstances(b *testing.B, rdb *redis.Client, prefix string, sync time.Duration, n int) {
	e := newBenchEnv(b)
	var on []*echo.Echo
	for range n {
		on = append(on, e.limitedEchoSync(b, rdb, prefix, sync))
	}
	for p := 0; p < benchPersons; p++ {
		e.login(b, p, -1)
	}
	req := func(ec *echo.Echo, tag string, i int) {
		code := fmt.Sprintf("p%d.%s%d", i%benchPersons, tag, i)
		q := url.Values{"userDomain": {e.domain.Name()}, "appId": {benchApp}, "code": {code},
			"signature": {domain.LoginSignature(benchApp, code, e.domain.Secret())}}
		rec := httptest.NewRecorder()
		ec.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/v2/enduser/enduserapi/wechatOffiaccountAuthLogin?"+q.Encode(), nil))
		if !bytes.Contains(rec.Body.Bytes(), []byte(`"code":200`)) {
			b.Fatalf("login (%s): %s", tag, rec.Body.Bytes())
		}
	}
	interleave(b, "limits-on", func(i int) { req(on[i%n], "on", i) }, func(i int) { req(e.echo, "off", i) })
}

// BenchmarkLoginEndpointLimitsRedisTwoInstances: the login endpoint with the
// limits through Redis on two instances sharing them (one prefix), the
// logins alternating between the instances (each IP's view goes from one to
// the other), against the limits off.
func BenchmarkLoginEndpointLimitsRedisTwoInstances(b *testing.B) {
	rdb, prefix := redistest.Open(b)
	benchLimitsInstances(b, rdb, prefix, 0, 2)
}

// BenchmarkLoginEndpointLimits: the login endpoint with the in-memory limits
// on, against the same endpoint with them off.
func BenchmarkLoginEndpointLimits(b *testing.B) { benchLimits(b, nil, "") }

// BenchmarkLoginEndpointLimitsRedis: the same with the limits in the real
// Redis (redistest: ENDUSER_TEST_REDIS_URL, keys under a prefix of this run's
// own, deleted).
func BenchmarkLoginEndpointLimitsRedis(b *testing.B) {
	rdb, prefix := redistest.Open(b)
	benchLimits(b, rdb, prefix)
}

// BenchmarkLoginEndpointLimitsRedisExact: the same with every admission
// decided in Redis (ENDUSER_LIMITS_SYNC_INTERVAL=off: two round trips a
// login, as before issue 20).
func BenchmarkLoginEndpointLimitsRedisExact(b *testing.B) {
	rdb, prefix := redistest.Open(b)
	benchLimitsSync(b, rdb, prefix, -1)
}

// BenchmarkRefreshEndpointLimitsRedis: the refresh endpoint (which passes
// the per-IP bucket) with the limits on through the real Redis, interleaved
// with the same endpoint with the limits off, on the same database: the
// ratio is what the limits cost a refresh.
func BenchmarkRefreshEndpointLimitsRedis(b *testing.B) { benchRefreshLimits(b, 0) }

// BenchmarkRefreshEndpointLimitsRedisExact: the same with every admission
// decided in Redis (ENDUSER_LIMITS_SYNC_INTERVAL=off: one round trip a
// refresh, as before issue 20).
func BenchmarkRefreshEndpointLimitsRedisExact(b *testing.B) { benchRefreshLimits(b, -1) }

// benchRefreshLimits interleaves the refresh endpoint with the limits on
// through Redis (the sync interval sync) and off.
func benchRefreshLimits(b *testing.B, sync time.Duration) {
	rdb, prefix := redistest.Open(b)
	e := newBenchEnv(b)
	tokOn, tokOff := "Bearer "+e.login(b, 1, 0).Tokens.Refresh.Value, "Bearer "+e.login(b, 2, 0).Tokens.Refresh.Value
	on := e.limitedEchoSync(b, rdb, prefix, sync)
	refresh := func(ec *echo.Echo, tok string) string {
		rec := httptest.NewRecorder()
		ec.ServeHTTP(rec, httptest.NewRequest(http.MethodPut, "/v2/enduser/enduserapi/refreshToken?"+url.Values{"refreshToken": {tok}}.Encode(), nil))
		var env struct {
			Data struct {
				RefreshToken struct{ Token string } `json:"refreshToken"`
			} `json:"data"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &env); err != nil || env.Data.RefreshToken.Token == "" {
			b.Fatalf("refresh: %s", rec.Body.Bytes())
		}
		return env.Data.RefreshToken.Token
	}
	interleave(b, "limits-on", func(int) { tokOn = refresh(on, tokOn) }, func(int) { tokOff = refresh(e.echo, tokOff) })
}
