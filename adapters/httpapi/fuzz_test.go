package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"github.com/iotplatform/enduser-auth/adapters/tracing"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/iotplatform/enduser-auth/adapters/httpapi"
	"github.com/iotplatform/enduser-auth/adapters/postgres"
	"github.com/iotplatform/enduser-auth/adapters/postgres/pgtest"
	"github.com/iotplatform/enduser-auth/adapters/secretbox"
	"github.com/iotplatform/enduser-auth/adapters/token"
	"github.com/iotplatform/enduser-auth/adapters/wechat"
	"github.com/iotplatform/enduser-auth/adapters/wechat/wechatfake"
	"github.com/iotplatform/enduser-auth/application"
	"github.com/iotplatform/enduser-auth/domain"
)

const (
	fzDomain = "C.DM.10271.5"
	fzSecret = "fuzz-user-domain-secret-0123456789"
	fzApp    = "wxfuzz"
)

// newTestEcho assembles the HTTP adapter on the real Postgres store, the real
// token issuer and the real WeChat client talking to a fake WeChat.
func newTestEcho(t testing.TB) (*echo.Echo, *wechatfake.Server) {
	t.Helper()
	fake := wechatfake.New()
	fake.AddAccount(fzApp, "fuzz-app-secret")
	wx := httptest.NewServer(fake)
	t.Cleanup(wx.Close)
	// The real Postgres store: client input that reaches the database must
	// be answered with a business code there too (a NUL byte, invalid UTF-8).
	box, err := secretbox.New(bytes.Repeat([]byte{3}, secretbox.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	store := postgres.NewStore(pgtest.Open(t), box)
	clock := application.SystemClock{}
	svc := newTestService(wechat.NewClient(wechat.Config{BaseURL: wx.URL}, wechat.NewHTTPClient(0), tracing.Options{}),
		store, token.NewIssuer(token.Config{}, store, clock), clock, nil, nil)
	ctx := context.Background()
	if _, err := svc.Operators.CreateUserDomain(ctx, fzDomain, fzSecret); err != nil {
		t.Fatal(err)
	}
	if err := svc.Operators.PutOfficialAccount(ctx, fzDomain, fzApp, "fuzz-app-secret"); err != nil {
		t.Fatal(err)
	}
	if err := svc.Operators.PutDataCenter(ctx, "CN", "https://cn.example.com", []domain.MCC{460}); err != nil {
		t.Fatal(err)
	}
	e := echo.New()
	httpapi.NewHandler(svc.EndUsers, svc.Auth, nil, nil, httpapi.Options{}).Register(e.Group(""))
	return e, fake
}

// knownCodes are the codes the login endpoint may answer for client input.
var knownCodes = map[int]bool{200: true, 5023: true, 5013: true, 5218: true, 5372: true, 5550: true, 5015: true,
	5104: true, 5420: true, 6085: true, 6084: true, 5375: true, 5367: true, 5368: true, 5369: true}

// FuzzLoginRequest: whatever the query, body, content type and language, the
// login endpoint answers HTTP 200 with the envelope and a business code of the
// contract: never a panic, never 5000.
func FuzzLoginRequest(f *testing.F) {
	code := "fuzzcode"
	valid := url.Values{"userDomain": {fzDomain}, "appId": {fzApp}, "code": {code},
		"signature": {domain.LoginSignature(fzApp, code, fzSecret)}, "mcc": {"460"}}.Encode()
	f.Add(valid, "", "", "")
	f.Add("", "application/json", `{"userDomain":"C.DM.1.1","appId":1,"code":null,"mcc":[1]}`, "zh-CN")
	f.Add("", "application/x-www-form-urlencoded", valid, "en;q=0.1, zh;q=0.9")
	f.Add("userDomain=%ZZ&mcc=99999999999999999999", "application/json; charset=\"", "{", "zh;q=abc")
	f.Add("mcc=-1&mcc=460&signature="+strings.Repeat("A", 64), "text/plain", "\x00\xff", "*")
	f.Add(valid+"&mcc=1e3", "application/json", `"just a string"`, "")
	for _, app := range []string{"wx\x00a", "wx\xffa", fzApp + "\u00e9"} {
		f.Add(url.Values{"userDomain": {fzDomain}, "appId": {app}, "code": {code},
			"signature": {domain.LoginSignature(app, code, fzSecret)}}.Encode(), "", "", "")
	}
	e, _ := newTestEcho(f)
	f.Fuzz(func(t *testing.T, rawQuery, contentType, body, lang string) {
		req := httptest.NewRequest(http.MethodPost, httpapi.PathWeChatOffiaccountLogin, strings.NewReader(body))
		req.URL.RawQuery = rawQuery
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		if lang != "" {
			req.Header.Set("Accept-Language", lang)
		}
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			t.Fatalf("HTTP %d for query %q body %q: %s", rec.Code, rawQuery, body, rec.Body)
		}
		var env struct {
			Code *int   `json:"code"`
			Msg  string `json:"msg"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &env); err != nil || env.Code == nil {
			t.Fatalf("not the envelope: %q", rec.Body)
		}
		if !knownCodes[*env.Code] {
			t.Fatalf("code %d (%q) for query %q content type %q body %q", *env.Code, env.Msg, rawQuery, contentType, body)
		}
	})
}
