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

	"gorm.io/gorm"

	"github.com/iotplatform/enduser-auth/adapters/postgres/pgtest"
	"github.com/iotplatform/enduser-auth/adapters/token"
	"github.com/iotplatform/enduser-auth/adapters/wechat"
	"github.com/iotplatform/enduser-auth/adapters/wechat/wechatfake"
	"github.com/iotplatform/enduser-auth/application"
	"github.com/iotplatform/enduser-auth/domain"
	modwire "github.com/iotplatform/enduser-auth/wire"
)

// benchEnv is the real module on a real Postgres with a fake WeChat on loopback.
type benchEnv struct {
	svc    *application.Service
	db     *gorm.DB
	fake   *wechatfake.Server
	wxURL  string
	hc     *http.Client
	domain domain.UserDomain
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
	mod, err := modwire.NewModule(modwire.NewConfig(bytes.Repeat([]byte{2}, 32), application.DefaultConfig(), wx.URL, 0, token.DefaultPublishDelay), db, hc, nil)
	if err != nil {
		b.Fatal(err)
	}
	ud, err := mod.Service.CreateUserDomain(ctx, "B.DM.1.1", "")
	if err != nil {
		b.Fatal(err)
	}
	if err := mod.Service.PutOfficialAccount(ctx, ud.Name(), benchApp, "bench-secret"); err != nil {
		b.Fatal(err)
	}
	if err := mod.Tokens.Init(ctx); err != nil {
		b.Fatal(err)
	}
	return &benchEnv{svc: mod.Service, db: db, fake: fake, wxURL: wx.URL, hc: hc, domain: ud}
}

func (e *benchEnv) login(b *testing.B, person, n int) application.LoginResult {
	code := fmt.Sprintf("p%d.%d", person, n)
	res, err := e.svc.LoginWithWeChatOfficialAccount(context.Background(), application.WeChatLogin{
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

// BenchmarkLogin measures the WeChat login use case (returning users) against
// its baseline, interleaved in the same loop so both see the same machine.
// Metrics: login-µs, baseline-µs and their ratio.
func BenchmarkLogin(b *testing.B) {
	e := newBenchEnv(b)
	if err := e.db.Exec(`CREATE TABLE bench_baseline (id bigserial PRIMARY KEY, n bigint)`).Error; err != nil {
		b.Fatal(err)
	}
	_, key, _ := ed25519.GenerateKey(nil)
	const persons = 200
	for p := 0; p < persons; p++ { // register them: the benchmark measures returning users
		e.login(b, p, -1)
	}
	var tLogin, tBase time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		e.login(b, i%persons, i)
		t1 := time.Now()
		e.baselineLogin(b, i, key)
		tLogin += t1.Sub(t0)
		tBase += time.Since(t1)
	}
	report(b, "login", tLogin, tBase)
}

// BenchmarkRefresh measures a refresh-token rotation against a baseline of one
// conditional UPDATE round trip plus one Ed25519 signature.
func BenchmarkRefresh(b *testing.B) {
	e := newBenchEnv(b)
	_, key, _ := ed25519.GenerateKey(nil)
	tok := e.login(b, 1, 0).Tokens.Refresh.Value
	ctx := context.Background()
	var tRefresh, tBase time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		pair, err := e.svc.Refresh(ctx, tok)
		if err != nil {
			b.Fatal(err)
		}
		tok = pair.Refresh.Value
		t1 := time.Now()
		if err := e.db.Exec(`UPDATE enduser_users SET last_login_at = now() WHERE id = (SELECT id FROM enduser_users LIMIT 1)`).Error; err != nil {
			b.Fatal(err)
		}
		_ = ed25519.Sign(key, []byte(tok))
		tRefresh += t1.Sub(t0)
		tBase += time.Since(t1)
	}
	report(b, "refresh", tRefresh, tBase)
}

// BenchmarkVerifyAccessToken measures the facade's verification (signature,
// claims, revocation check from memory) against a bare Ed25519 verification
// of the same token.
func BenchmarkVerifyAccessToken(b *testing.B) {
	e := newBenchEnv(b)
	access := e.login(b, 1, 0).Tokens.Access.Value
	parts := strings.Split(access, ".")
	sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
	ctx := context.Background()
	pub := jwksKey(b, e.svc)
	var tVerify, tBase time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		if _, err := e.svc.VerifyAccessToken(ctx, access); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		_ = ed25519.Verify(pub, []byte(parts[0]+"."+parts[1]), sig)
		tVerify += t1.Sub(t0)
		tBase += time.Since(t1)
	}
	report(b, "verify", tVerify, tBase)
}

// jwksKey returns the public key of the JWKS's first key.
func jwksKey(b *testing.B, svc *application.Service) ed25519.PublicKey {
	raw, err := svc.JWKS(context.Background())
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

func report(b *testing.B, name string, measured, baseline time.Duration) {
	b.StopTimer()
	n := float64(b.N)
	b.ReportMetric(float64(measured.Microseconds())/n, name+"-µs")
	b.ReportMetric(float64(baseline.Microseconds())/n, "baseline-µs")
	if baseline > 0 {
		b.ReportMetric(float64(measured)/float64(baseline), "ratio")
	}
}
