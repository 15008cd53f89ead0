package wire_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	gormlogger "gorm.io/gorm/logger"

	"github.com/iotplatform/enduser-auth/adapters/httpapi"
	"github.com/iotplatform/enduser-auth/adapters/postgres/pgtest"
	"github.com/iotplatform/enduser-auth/adapters/wechat/wechatfake"
	"github.com/iotplatform/enduser-auth/domain"
	modwire "github.com/iotplatform/enduser-auth/wire"
)

// TestTwoModulesShareOneRegisterer: two module instances on the host's one
// registerer, each with labels of its own, do not collide and both export
// their metrics; without labels the second is refused with a hint.
func TestTwoModulesShareOneRegisterer(t *testing.T) {
	db := pgtest.Open(t)
	reg := prometheus.NewRegistry()
	for _, name := range []string{"a", "b"} {
		cfg := testConfig(1, "http://127.0.0.1:1")
		cfg.MetricsLabels = map[string]string{"enduser_instance": name}
		if _, err := modwire.NewModule(cfg, modwire.Host{DB: db, Metrics: reg}); err != nil {
			t.Fatalf("module %s on the shared registerer: %v", name, err)
		}
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "enduser_instance" {
					seen[l.GetValue()] = true
				}
			}
		}
	}
	if !seen["a"] || !seen["b"] {
		t.Fatalf("metrics of both instances: %v", seen)
	}
	// Two instances without labels of their own: the second is refused with a hint.
	reg = prometheus.NewRegistry()
	if _, err := modwire.NewModule(testConfig(1, "http://127.0.0.1:1"), modwire.Host{DB: db, Metrics: reg}); err != nil {
		t.Fatal(err)
	}
	_, err = modwire.NewModule(testConfig(1, "http://127.0.0.1:1"), modwire.Host{DB: db, Metrics: reg})
	var dup prometheus.AlreadyRegisteredError
	if !errors.As(err, &dup) || !strings.Contains(err.Error(), "MetricsLabels") {
		t.Fatalf("two unlabelled instances on one registerer: want AlreadyRegisteredError naming MetricsLabels, got %v", err)
	}
}

// recordingGormLogger is a host's GORM logger that records every call.
type recordingGormLogger struct {
	mu    sync.Mutex
	calls []string
}

func (r *recordingGormLogger) note(s string) {
	r.mu.Lock()
	r.calls = append(r.calls, s)
	r.mu.Unlock()
}
func (r *recordingGormLogger) LogMode(gormlogger.LogLevel) gormlogger.Interface {
	return r
}
func (r *recordingGormLogger) Info(context.Context, string, ...any)  { r.note("info") }
func (r *recordingGormLogger) Warn(context.Context, string, ...any)  { r.note("warn") }
func (r *recordingGormLogger) Error(context.Context, string, ...any) { r.note("error") }
func (r *recordingGormLogger) Trace(_ context.Context, _ time.Time, fc func() (string, int64), err error) {
	if err != nil {
		sql, _ := fc()
		r.note("trace error: " + sql)
	}
}

// TestModuleSQLErrorsGoToTheHostsLogger: a statement of the module that
// fails (a user domain created twice: a unique violation the store
// translates) is logged through the host's slog logger at DEBUG, with its
// SQLSTATE, never through the GORM logger of the host's *gorm.DB (GORM's
// default prints coloured lines on stdout).
func TestModuleSQLErrorsGoToTheHostsLogger(t *testing.T) {
	ctx := context.Background()
	db := pgtest.Open(t)
	hostGorm := &recordingGormLogger{}
	db.Logger = hostGorm
	var logs bytes.Buffer
	var mu sync.Mutex
	log := slog.New(slog.NewJSONHandler(syncWriter{&mu, &logs}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	mod, err := modwire.NewModule(testConfig(1, "http://127.0.0.1:1"), modwire.Host{DB: db, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mod.Operators.CreateUserDomain(ctx, "G.DM.1.1", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := mod.Operators.CreateUserDomain(ctx, "G.DM.1.1", ""); domain.KindOf(err) != domain.KindInvalid {
		t.Fatalf("a user domain created twice: want KindInvalid, got %v", err)
	}
	hostGorm.mu.Lock()
	calls := append([]string(nil), hostGorm.calls...)
	hostGorm.mu.Unlock()
	if len(calls) != 0 {
		t.Fatalf("the module logged through the host's GORM logger: %q", calls)
	}
	mu.Lock()
	out := logs.String()
	mu.Unlock()
	if !strings.Contains(out, `"msg":"statement failed"`) || !strings.Contains(out, `"sqlstate":"23505"`) || !strings.Contains(out, `"level":"DEBUG"`) {
		t.Fatalf("the failed statement is not in the host's log at DEBUG:\n%s", out)
	}
}

// TestHostSpanIsTheParent: with the host's own tracer provider and
// propagator (not otel's globals), a span the host's middleware started
// around the request is the parent of the module's server span, whatever
// peer sent it; the global provider records nothing.
func TestHostSpanIsTheParent(t *testing.T) {
	global := tracetest.NewSpanRecorder()
	gtp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(global))
	prev := otel.GetTracerProvider()
	otel.SetTracerProvider(gtp)
	t.Cleanup(func() { otel.SetTracerProvider(prev); _ = gtp.Shutdown(context.Background()) })
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })

	e, ud, fake := hostWithModule(t, func(cfg *modwire.Config, h *modwire.Host) {
		h.TracerProvider, h.Propagator = tp, propagation.TraceContext{}
	})
	// The host's tracing middleware: a span of its own around every request.
	hostSpan := map[string]trace.SpanContext{}
	var hmu sync.Mutex
	e.Use(func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			ctx, span := tp.Tracer("host").Start(c.Request().Context(), "host "+c.Request().URL.Path)
			defer span.End()
			hmu.Lock()
			hostSpan[c.Request().URL.Path] = span.SpanContext()
			hmu.Unlock()
			c.SetRequest(c.Request().WithContext(ctx))
			return next(c)
		}
	})
	code := fake.IssueCode("wxhostw", wechatfake.User{OpenID: "o-host-span"})
	q := url.Values{"userDomain": {ud.Name()}, "appId": {"wxhostw"}, "code": {code},
		"signature": {domain.LoginSignature("wxhostw", code, ud.Secret())}}
	req := httptest.NewRequest(http.MethodPost, httpapi.PathWeChatOffiaccountLogin+"?"+q.Encode(), nil)
	req.RemoteAddr = "203.0.113.9:4711" // not a trusted proxy: the host's span is still the parent
	w := httptest.NewRecorder()
	e.ServeHTTP(w, req)
	if !strings.Contains(w.Body.String(), `"code":200`) {
		t.Fatalf("login: %s", w.Body.String())
	}
	server := serverSpan(t, rec.Ended(), "POST "+httpapi.PathWeChatOffiaccountLogin, "")
	host := hostSpan[httpapi.PathWeChatOffiaccountLogin]
	if server.Parent().SpanID() != host.SpanID() || server.SpanContext().TraceID() != host.TraceID() {
		t.Fatalf("the module's span (parent %v, trace %v) is not the host span's child (%v)", server.Parent(), server.SpanContext().TraceID(), host)
	}
	if n := len(global.Ended()); n != 0 {
		t.Fatalf("%d spans went to otel's global provider, not the host's", n)
	}
}

// TestRequireAccessTokenRefusesToTheHost: on a host's route,
// RequireAccessToken(httpapi.RefuseToHost) hands its refusal to the host's
// error handler as a 401 carrying the business code, while the default
// keeps the platform's envelope; the host's Echo takes the module's client IP
// rule from HTTP.IPExtractor.
func TestRequireAccessTokenRefusesToTheHost(t *testing.T) {
	e, _, _ := hostWithModule(t, func(cfg *modwire.Config, _ *modwire.Host) {
		cfg.HTTP.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	})
	var handled []error
	e.HTTPErrorHandler = func(err error, c echo.Context) {
		handled = append(handled, err)
		var he *echo.HTTPError
		if errors.As(err, &he) {
			_ = c.JSON(he.Code, map[string]any{"hostError": he.Message})
			return
		}
		_ = c.NoContent(http.StatusTeapot)
	}
	var sawIP string
	e.GET("/host/strict", func(c echo.Context) error { return c.String(http.StatusOK, "ok") }, modHTTP(t).RequireAccessToken(httpapi.RefuseToHost))
	e.GET("/host/platform", func(c echo.Context) error { return c.String(http.StatusOK, "ok") }, modHTTP(t).RequireAccessToken())
	e.GET("/host/ip", func(c echo.Context) error { sawIP = c.RealIP(); return c.String(http.StatusOK, "ok") })

	w := httptest.NewRecorder()
	e.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/host/strict", nil))
	var body struct {
		HostError httpapi.TokenRefusal `json:"hostError"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || w.Code != http.StatusUnauthorized || body.HostError.Code != 5106 ||
		len(handled) != 1 || w.Header().Get("WWW-Authenticate") != "Bearer" {
		t.Fatalf("no token on a strict host route: %d %s %v (handled %v, WWW-Authenticate %q)", w.Code, w.Body.String(), err, handled,
			w.Header().Get("WWW-Authenticate"))
	}
	w = httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodGet, "/host/strict", nil)
	r.Header.Set("Authorization", "Bearer not-a-token")
	e.ServeHTTP(w, r)
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || w.Code != http.StatusUnauthorized || body.HostError.Code != 5032 ||
		!strings.Contains(w.Header().Get("WWW-Authenticate"), "invalid_token") {
		t.Fatalf("a bad token on a strict host route: %d %s", w.Code, w.Body.String())
	}
	w = httptest.NewRecorder()
	e.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/host/platform", nil))
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"code":5106`) || len(handled) != 2 {
		t.Fatalf("no token on a platform-dialect route: %d %s (handled %d)", w.Code, w.Body.String(), len(handled))
	}
	w = httptest.NewRecorder()
	r = httptest.NewRequest(http.MethodGet, "/host/ip", nil)
	r.RemoteAddr = "10.1.2.3:5000"
	r.Header.Set("X-Forwarded-For", "198.51.100.7, 10.9.9.9")
	e.ServeHTTP(w, r)
	if sawIP != "198.51.100.7" {
		t.Fatalf("the host's route saw client IP %q behind the trusted proxy, want 198.51.100.7", sawIP)
	}
}

// lastModule is the module hostWithModule assembled last (the tests of this
// file run one at a time).
var lastModule *modwire.Module

func modHTTP(t *testing.T) *httpapi.Handler {
	t.Helper()
	if lastModule == nil {
		t.Fatal("no module")
	}
	return lastModule.HTTP
}

// hostWithModule is a host's Echo with the module mounted (its IP rule
// taken), a tenant with the official account wxhostw, and the fake WeChat.
func hostWithModule(t *testing.T, configure func(*modwire.Config, *modwire.Host)) (*echo.Echo, domain.UserDomain, *wechatfake.Server) {
	t.Helper()
	ctx := context.Background()
	fake := wechatfake.New()
	fake.AddAccount("wxhostw", "host-w-secret")
	wx := httptest.NewServer(fake)
	t.Cleanup(wx.Close)
	cfg := testConfig(6, wx.URL)
	host := modwire.Host{DB: pgtest.Open(t)}
	configure(&cfg, &host)
	mod, err := modwire.NewModule(cfg, host)
	if err != nil {
		t.Fatal(err)
	}
	runModule(t, mod)
	lastModule = mod
	ud, err := mod.Operators.CreateUserDomain(ctx, "W.DM.1.1", "")
	if err != nil {
		t.Fatal(err)
	}
	if err := mod.Operators.PutOfficialAccount(ctx, ud.Name(), "wxhostw", "host-w-secret"); err != nil {
		t.Fatal(err)
	}
	e := echo.New()
	e.IPExtractor = mod.HTTP.IPExtractor()
	mod.HTTP.Register(e.Group(""))
	return e, ud, fake
}

// TestStartChecksTheConfiguration: without a data center Start fails at once,
// naming the setting (and touches nothing: the module is not ready); with
// the limits on and no trusted proxy it warns (behind a balancer every user
// would share one bucket), and not when a proxy is listed or the limits are off.
func TestStartChecksTheConfiguration(t *testing.T) {
	db := pgtest.Open(t)
	cfg := testConfig(1, "http://127.0.0.1:1")
	cfg.Application.DataCenter = ""
	mod, err := modwire.NewModule(cfg, modwire.Host{DB: db})
	if err != nil {
		t.Fatal(err)
	}
	if err := mod.Start(t.Context()); err == nil || !strings.Contains(err.Error(), "ENDUSER_DATA_CENTER") || mod.Ready() {
		t.Fatalf("Start without a data center: %v (ready %v)", err, mod.Ready())
	}
	_ = mod.Stop(t.Context())

	for _, c := range []struct {
		name      string
		limitsOff bool
		proxies   []netip.Prefix
		warns     bool
	}{
		{"limits on, no proxy", false, nil, true},
		{"limits on, a proxy", false, []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}, false},
		{"limits off", true, nil, false},
	} {
		var logs bytes.Buffer
		var mu sync.Mutex
		cfg := testConfig(1, "http://127.0.0.1:1")
		cfg.Limits.Off, cfg.HTTP.TrustedProxies = c.limitsOff, c.proxies
		mod, err := modwire.NewModule(cfg, modwire.Host{DB: db, Logger: slog.New(slog.NewTextHandler(syncWriter{&mu, &logs}, nil))})
		if err != nil {
			t.Fatal(err)
		}
		if err := mod.Start(t.Context()); err != nil {
			t.Fatalf("%s: Start: %v", c.name, err)
		}
		if err := mod.Stop(t.Context()); err != nil {
			t.Fatalf("%s: Stop: %v", c.name, err)
		}
		mu.Lock()
		warned := strings.Contains(logs.String(), "no trusted proxy is listed")
		mu.Unlock()
		if warned != c.warns {
			t.Errorf("%s: warned %v, want %v:\n%s", c.name, warned, c.warns, logs.String())
		}
	}
}
