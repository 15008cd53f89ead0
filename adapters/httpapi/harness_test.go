package httpapi_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"github.com/iotplatform/enduser-auth/adapters/tracing"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/iotplatform/enduser-auth/adapters/httpapi"
	"github.com/iotplatform/enduser-auth/adapters/httpapi/openapitest"
	"github.com/iotplatform/enduser-auth/adapters/memory"
	"github.com/iotplatform/enduser-auth/adapters/token"
	"github.com/iotplatform/enduser-auth/adapters/wechat"
	"github.com/iotplatform/enduser-auth/adapters/wechat/wechatfake"
	"github.com/iotplatform/enduser-auth/application"
	"github.com/iotplatform/enduser-auth/domain"
)

// The tenant every in-memory harness provisions.
const (
	mDomain    = "C.DM.10300.1"
	mSecret    = "memory-user-domain-secret-0123456789"
	mApp       = "wxmemoryapp"
	mAppSecret = "memory-app-secret"
	mMiniApp   = "wxmemorymini"
)

// memHarness is the HTTP adapter over the in-memory store, the real token
// issuer on the memory key store, and the real WeChat client talking to a
// fake WeChat: the adapter's own logic without PostgreSQL.
type memHarness struct {
	t       *testing.T
	e       *echo.Echo
	fake    *wechatfake.Server
	svc     application.Facades
	handler *httpapi.Handler
	reg     *prometheus.Registry
}

// memSetup configures a harness before it is assembled.
type memSetup struct {
	opts    httpapi.Options
	limiter application.Limiter
	// wrapWeChat, when set, wraps the WeChat port (to make it misbehave).
	wrapWeChat func(application.WeChatOAuth) application.WeChatOAuth
	// extra mounts more routes on the Echo (a host's protected route).
	extra func(e *echo.Echo, h *httpapi.Handler)
	// log, when set, is the service's and the adapter's logger.
	log *slog.Logger
}

// serviceStore is every repository the facade takes, as one store (memory's
// or PostgreSQL's) implements them.
type serviceStore interface {
	application.UserDomainRepository
	application.WeChatAppRepository
	application.DataCenterRepository
	application.UserRepository
	application.SessionRepository
}

// newTestService is the one place this package's tests build the facade (on
// the memory store here, on PostgreSQL in the fuzz test): a change of
// application.NewService's signature is an edit here only.
func newTestService(wx application.WeChatOAuth, store serviceStore, tokens application.TokenIssuer, clock application.Clock,
	limiter application.Limiter, log *slog.Logger) application.Facades {
	cfg := application.DefaultConfig()
	cfg.DataCenter = "CN"
	return application.New(cfg, application.Deps{Clock: clock, WeChat: wx, Domains: store, Apps: store,
		DataCenters: store, Users: store, Sessions: store, Tokens: tokens, Limiter: limiter, Log: log})
}

func newMemHarness(t *testing.T, setup memSetup) *memHarness {
	t.Helper()
	fake := wechatfake.New()
	fake.AddAccount(mApp, mAppSecret)
	fake.AddMiniProgram(mMiniApp, mAppSecret)
	wx := httptest.NewServer(fake)
	t.Cleanup(wx.Close)
	var port application.WeChatOAuth = wechat.NewClient(wechat.Config{BaseURL: wx.URL}, wechat.NewHTTPClient(0), tracing.Options{})
	if setup.wrapWeChat != nil {
		port = setup.wrapWeChat(port)
	}
	store := memory.NewStore()
	clock := application.SystemClock{}
	svc := newTestService(port, store, token.NewIssuer(token.Config{}, store, clock), clock, setup.limiter, setup.log)
	ctx := t.Context()
	if _, err := svc.Operators.CreateUserDomain(ctx, mDomain, mSecret); err != nil {
		t.Fatal(err)
	}
	if err := svc.Operators.PutOfficialAccount(ctx, mDomain, mApp, mAppSecret); err != nil {
		t.Fatal(err)
	}
	if err := svc.Operators.PutMiniProgram(ctx, mDomain, mMiniApp, mAppSecret); err != nil {
		t.Fatal(err)
	}
	if err := svc.Operators.PutDataCenter(ctx, "CN", "https://cn.example.com", []domain.MCC{460}); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	metrics, err := httpapi.NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	h := httpapi.NewHandler(svc.EndUsers, svc.Auth, setup.log, metrics, setup.opts)
	e := echo.New()
	h.Register(e.Group(""))
	if setup.extra != nil {
		setup.extra(e, h)
	}
	return &memHarness{t: t, e: e, fake: fake, svc: svc, handler: h, reg: reg}
}

// memAnswer is one answer of the adapter.
type memAnswer struct {
	Status int
	Header http.Header
	Raw    []byte
	Code   int             `json:"code"`
	Msg    string          `json:"msg"`
	Data   json.RawMessage `json:"data"`
	ExtMsg *string         `json:"extMsg"`
}

type memPair struct {
	AccessToken struct {
		Token          string `json:"token"`
		ExpirationTime int64  `json:"expirationTime"`
	} `json:"accessToken"`
	RefreshToken struct {
		Token          string `json:"token"`
		ExpirationTime int64  `json:"expirationTime"`
	} `json:"refreshToken"`
}

func (a memAnswer) pair(t *testing.T) memPair {
	t.Helper()
	if a.Code != 200 {
		t.Fatalf("want code 200, got %d %q ext=%v", a.Code, a.Msg, a.ExtMsg)
	}
	var p memPair
	if err := json.Unmarshal(a.Data, &p); err != nil || !strings.HasPrefix(p.AccessToken.Token, "Bearer ") {
		t.Fatalf("data is not a token pair: %s", a.Data)
	}
	return p
}

// serve sends req to the adapter. Answers of the module's documented routes
// are checked against the OpenAPI document; every answer must be the
// envelope unless raw is set.
func (h *memHarness) serve(req *http.Request, documented bool) memAnswer {
	h.t.Helper()
	rec := httptest.NewRecorder()
	h.e.ServeHTTP(rec, req)
	res := rec.Result()
	body, _ := io.ReadAll(res.Body)
	a := memAnswer{Status: res.StatusCode, Header: res.Header, Raw: body}
	if documented {
		if err := openapitest.ValidateResponse(req, res.StatusCode, res.Header, body); err != nil {
			h.t.Errorf("%s %s: the answer is not the document's: %v\n%s", req.Method, req.URL.Path, err, body)
		}
	}
	if len(body) > 0 && strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(body, &a); err != nil {
			h.t.Fatalf("%s %s: not JSON: %q", req.Method, req.URL.Path, body)
		}
	}
	return a
}

// do sends a request to one of the module's routes; headers are name, value
// pairs.
func (h *memHarness) do(method, target string, body io.Reader, headers ...string) memAnswer {
	h.t.Helper()
	req := httptest.NewRequestWithContext(context.WithoutCancel(h.t.Context()), method, target, body)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return h.serve(req, true)
}

// loginQuery is a correctly signed official account login.
func loginQuery(appID, code, mcc string) url.Values {
	q := url.Values{"userDomain": {mDomain}, "appId": {appID}, "code": {code},
		"signature": {domain.LoginSignature(appID, code, mSecret)}}
	if mcc != "" {
		q.Set("mcc", mcc)
	}
	return q
}

// login logs u in through the official account endpoint.
func (h *memHarness) login(u wechatfake.User) memPair {
	h.t.Helper()
	q := loginQuery(mApp, h.fake.IssueCode(mApp, u), "460")
	return h.do(http.MethodPost, httpapi.PathWeChatOffiaccountLogin+"?"+q.Encode(), nil).pair(h.t)
}

// uid is the uid claim of the pair's access token.
func (h *memHarness) uid(p memPair) string {
	h.t.Helper()
	parts := strings.Split(strings.TrimPrefix(p.AccessToken.Token, "Bearer "), ".")
	if len(parts) != 3 {
		h.t.Fatalf("not a JWT: %q", p.AccessToken.Token)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		h.t.Fatal(err)
	}
	var claims struct {
		UID string `json:"uid"`
	}
	if err := json.Unmarshal(raw, &claims); err != nil || claims.UID == "" {
		h.t.Fatalf("claims %s: %v", raw, err)
	}
	return claims.UID
}

// serveWith sends a GET to a host route (not the document's) with the
// Authorization header (none when "").
func (h *memHarness) serveWith(path, authorization string) memAnswer {
	h.t.Helper()
	req := httptestRequest(h.t, http.MethodGet, path)
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	return h.serve(req, false)
}

// counter is enduser_auth_requests_total{endpoint, code}.
func (h *memHarness) counter(endpoint string, code int) float64 {
	h.t.Helper()
	for _, m := range h.metric("enduser_auth_requests_total") {
		if labels(m)["endpoint"] == endpoint && labels(m)["code"] == strconv.Itoa(code) {
			return m.GetCounter().GetValue()
		}
	}
	return 0
}

// histogramCount is how many durations of endpoint were observed.
func (h *memHarness) histogramCount(endpoint string) uint64 {
	h.t.Helper()
	for _, m := range h.metric("enduser_auth_request_duration_seconds") {
		if labels(m)["endpoint"] == endpoint {
			return m.GetHistogram().GetSampleCount()
		}
	}
	return 0
}

func (h *memHarness) metric(name string) []*dto.Metric {
	h.t.Helper()
	families, err := h.reg.Gather()
	if err != nil {
		h.t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() == name {
			return f.GetMetric()
		}
	}
	return nil
}

func labels(m *dto.Metric) map[string]string {
	out := map[string]string{}
	for _, l := range m.GetLabel() {
		out[l.GetName()] = l.GetValue()
	}
	return out
}

func httptestRequest(t *testing.T, method, target string) *http.Request {
	t.Helper()
	return httptest.NewRequestWithContext(context.WithoutCancel(t.Context()), method, target, nil)
}

func mustPrefixes(t *testing.T, cidrs ...string) []netip.Prefix {
	t.Helper()
	out := make([]netip.Prefix, 0, len(cidrs))
	for _, c := range cidrs {
		p, err := netip.ParsePrefix(c)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}
