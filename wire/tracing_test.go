package wire_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/labstack/echo/v4"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/iotplatform/enduser-auth/adapters/postgres"
	"github.com/iotplatform/enduser-auth/adapters/postgres/pgtest"
	"github.com/iotplatform/enduser-auth/adapters/telemetry"
	"github.com/iotplatform/enduser-auth/adapters/wechat"
	"github.com/iotplatform/enduser-auth/adapters/wechat/wechatfake"
	"github.com/iotplatform/enduser-auth/domain"
	modwire "github.com/iotplatform/enduser-auth/wire"
)

// TestOneLoginIsOneSpanTree logs in through the HTTP adapter with an
// in-memory span exporter and checks the trace: a server span named after
// the route with the business code, the WeChat exchange and the database
// statements as its children, the trace context passed on to WeChat, the
// request's log line carrying the trace id, and no secret in any attribute.
func TestOneLoginIsOneSpanTree(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	prev := otel.GetTracerProvider()
	otel.SetTracerProvider(tp)
	t.Cleanup(func() { otel.SetTracerProvider(prev); _ = tp.Shutdown(context.Background()) })

	ctx := context.Background()
	// Opened as the binary opens it: with the adapter's query tracer.
	db, err := postgres.Open(ctx, pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	if sqlDB, err := db.DB(); err == nil {
		t.Cleanup(func() { _ = sqlDB.Close() })
	}
	fake := wechatfake.New()
	const appID, appSecret, openID, unionID = "wxtrace", "trace-app-secret-0123456789", "o-trace-person", "u-trace-person"
	fake.AddAccount(appID, appSecret)
	// WeChat stands behind a recorder of the trace context it receives.
	var mu sync.Mutex
	var traceparents []string
	wx := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		traceparents = append(traceparents, r.Header.Get("traceparent"))
		mu.Unlock()
		fake.ServeHTTP(w, r)
	}))
	defer wx.Close()

	var logs bytes.Buffer
	var logMu sync.Mutex
	log := slog.New(telemetry.LogHandler(slog.NewJSONHandler(syncWriter{&logMu, &logs}, nil)))
	cfg := testConfig(2, wx.URL)
	cfg.HTTP.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	mod, err := modwire.NewModule(cfg, modwire.Host{DB: db, HTTPClient: wechat.NewHTTPClient(0), Logger: log, Propagator: propagation.TraceContext{}})
	if err != nil {
		t.Fatal(err)
	}
	runModule(t, mod)
	ud, err := mod.Operators.CreateUserDomain(ctx, "T.DM.1.1", "")
	if err != nil {
		t.Fatal(err)
	}
	if err := mod.Operators.PutOfficialAccount(ctx, ud.Name(), appID, appSecret); err != nil {
		t.Fatal(err)
	}
	e := echo.New()
	mod.HTTP.Register(e.Group(""))

	login := func(peer, traceparent string) (code, sig string, answer map[string]any) {
		code = fake.IssueCode(appID, wechatfake.User{OpenID: openID, UnionID: unionID})
		sig = domain.LoginSignature(appID, code, ud.Secret())
		q := url.Values{"appId": {appID}, "code": {code}, "signature": {sig}, "userDomain": {ud.Name()}}
		req := httptest.NewRequest(http.MethodPost, "/v2/enduser/enduserapi/wechatOffiaccountAuthLogin?"+q.Encode(), nil)
		req.RemoteAddr = peer
		if traceparent != "" {
			req.Header.Set("traceparent", traceparent)
		}
		w := httptest.NewRecorder()
		e.ServeHTTP(w, req)
		if err := json.Unmarshal(w.Body.Bytes(), &answer); err != nil || answer["code"] != float64(200) {
			t.Fatalf("login: %s %v", w.Body.String(), err)
		}
		return code, sig, answer
	}

	// A client (not a trusted proxy) sends a trace context: it is not continued.
	const foreign = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	code, sig, answer := login("203.0.113.9:4711", foreign)
	server := serverSpan(t, rec.Ended(), "POST /v2/enduser/enduserapi/wechatOffiaccountAuthLogin", "")
	tid := server.SpanContext().TraceID()
	if tid.String() == "0af7651916cd43dd8448eb211c80319c" || server.Parent().IsValid() {
		t.Fatalf("an untrusted client's trace context was continued: trace %s parent %v", tid, server.Parent())
	}
	if got := attr(server, "enduser.code"); got != "200" {
		t.Fatalf("server span enduser.code = %q", got)
	}
	if got := attr(server, "http.route"); got != "/v2/enduser/enduserapi/wechatOffiaccountAuthLogin" {
		t.Fatalf("server span http.route = %q", got)
	}
	var wechatSpans, dbSpans int
	for _, s := range rec.Ended() {
		if s.SpanContext().TraceID() != tid || s.SpanContext().SpanID() == server.SpanContext().SpanID() {
			continue
		}
		if s.Parent().SpanID() != server.SpanContext().SpanID() {
			t.Errorf("span %q is not a child of the request's span", s.Name())
		}
		switch {
		case s.Name() == "wechat /sns/oauth2/access_token":
			wechatSpans++
			if s.SpanKind() != trace.SpanKindClient || attr(s, "url.path") != "/sns/oauth2/access_token" {
				t.Errorf("wechat span: kind %v url.path %q", s.SpanKind(), attr(s, "url.path"))
			}
		case strings.HasPrefix(s.Name(), "db "):
			dbSpans++
			if attr(s, "db.query.text") == "" {
				t.Errorf("db span %q without its statement", s.Name())
			}
		default:
			t.Errorf("unexpected span %q", s.Name())
		}
	}
	if wechatSpans != 1 || dbSpans < 1 {
		t.Fatalf("want one WeChat span and the database statements under the request, got %d and %d", wechatSpans, dbSpans)
	}
	mu.Lock()
	tp0 := traceparents[0]
	mu.Unlock()
	if !strings.Contains(tp0, tid.String()) {
		t.Fatalf("WeChat got traceparent %q, want the request's trace %s", tp0, tid)
	}

	// No secret in any attribute of any span of the trace.
	data := answer["data"].(map[string]any)
	access := data["accessToken"].(map[string]any)["token"].(string)
	refresh := data["refreshToken"].(map[string]any)["token"].(string)
	secrets := map[string]string{"code": code, "signature": sig, "AppSecret": appSecret, "openid": openID,
		"unionid": unionID, "user domain secret": ud.Secret(), "access token": strings.TrimPrefix(access, "Bearer "),
		"refresh token": strings.TrimPrefix(refresh, "Bearer ")}
	for _, s := range rec.Ended() {
		if s.SpanContext().TraceID() != tid {
			continue
		}
		for _, kv := range s.Attributes() {
			for what, v := range secrets {
				if strings.Contains(kv.Value.String(), v) {
					t.Errorf("span %q attribute %s holds the %s", s.Name(), kv.Key, what)
				}
			}
		}
	}

	// The request's log line carries its trace id.
	logMu.Lock()
	lines := logs.String()
	logMu.Unlock()
	if !strings.Contains(lines, `"trace_id":"`+tid.String()+`"`) {
		t.Fatalf("no log line carries the trace id %s:\n%s", tid, lines)
	}

	// A trusted proxy's trace context is continued.
	const upstream = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	login("10.1.2.3:5555", upstream)
	continued := serverSpan(t, rec.Ended(), "POST /v2/enduser/enduserapi/wechatOffiaccountAuthLogin", "4bf92f3577b34da6a3ce929d0e0e4736")
	if continued.Parent().SpanID().String() != "00f067aa0ba902b7" {
		t.Fatalf("a trusted proxy's trace context was not continued: parent %v", continued.Parent())
	}
}

// serverSpan finds the (last) server span of that name, in trace traceID when given.
func serverSpan(t *testing.T, spans []sdktrace.ReadOnlySpan, name, traceID string) sdktrace.ReadOnlySpan {
	t.Helper()
	var found sdktrace.ReadOnlySpan
	for _, s := range spans {
		if s.Name() == name && s.SpanKind() == trace.SpanKindServer && (traceID == "" || s.SpanContext().TraceID().String() == traceID) {
			found = s
		}
	}
	if found == nil {
		t.Fatalf("no server span %q (trace %q) among %d spans", name, traceID, len(spans))
	}
	return found
}

func attr(s sdktrace.ReadOnlySpan, key string) string {
	for _, kv := range s.Attributes() {
		if string(kv.Key) == key {
			return kv.Value.String()
		}
	}
	return ""
}

type syncWriter struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (w syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}
