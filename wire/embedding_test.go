package wire_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/iotplatform/enduser-auth/adapters/httpapi/openapitest"
	"github.com/iotplatform/enduser-auth/adapters/postgres/pgtest"
	"github.com/iotplatform/enduser-auth/adapters/wechat"
	"github.com/iotplatform/enduser-auth/adapters/wechat/wechatfake"
	"github.com/iotplatform/enduser-auth/application"
	"github.com/iotplatform/enduser-auth/domain"
	"github.com/iotplatform/enduser-auth/migrations"
	modwire "github.com/iotplatform/enduser-auth/wire"
)

// devices stands for another module of the monolith. It declares the narrow
// interface it needs from enduser-auth and mounts its own routes behind the
// auth middleware.
type devices struct {
	auth interface {
		VerifyAccessToken(ctx context.Context, token string) (domain.Principal, error)
	}
}

func (d devices) register(g *echo.Group) {
	g.GET("/devices", func(c echo.Context) error {
		p, ok := application.PrincipalFromContext(c.Request().Context())
		if !ok {
			return c.String(http.StatusInternalServerError, "no principal")
		}
		return c.JSON(http.StatusOK, map[string]string{"owner": p.UID, "userDomain": p.UserDomain})
	})
}

// TestAnotherModuleEmbedsTheModule assembles the module with the injector, the
// way a host does, and uses it from a second package: in-process calls to the
// facade, and a route of its own protected by the middleware.
func TestAnotherModuleEmbedsTheModule(t *testing.T) {
	ctx := context.Background()
	db := pgtest.Open(t)
	sqlDB, err := db.DB()
	if err != nil {
		t.Fatal(err)
	}
	// Migrations are idempotent: the template is migrated, Up is a no-op.
	if err := migrations.Up(ctx, sqlDB); err != nil {
		t.Fatal(err)
	}
	fake := wechatfake.New()
	fake.AddAccount("wxembed", "embed-secret")
	wx := httptest.NewServer(fake)
	defer wx.Close()

	reg := prometheus.NewRegistry()
	mod, err := modwire.NewModule(testConfig(1, wx.URL), modwire.Host{DB: db, HTTPClient: wechat.NewHTTPClient(0), Metrics: reg})
	if err != nil {
		t.Fatal(err)
	}
	svc := mod
	ud, err := svc.Operators.CreateUserDomain(ctx, "E.DM.1.1", "")
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Operators.PutOfficialAccount(ctx, ud.Name(), "wxembed", "embed-secret"); err != nil {
		t.Fatal(err)
	}

	// In-process login, as another module (say, an H5 gateway) would call it.
	code := fake.IssueCode("wxembed", wechatfake.User{OpenID: "o-embed"})
	res, err := svc.EndUsers.LoginWithWeChatOfficialAccount(ctx, application.WeChatLogin{
		UserDomain: ud.Name(), AppID: "wxembed", Code: code, Signature: domain.LoginSignature("wxembed", code, ud.Secret()),
	})
	if err != nil {
		t.Fatal(err)
	}
	p, err := svc.Auth.VerifyAccessToken(ctx, res.Tokens.Access.Value)
	if err != nil || p.UID != res.UID || p.UserDomain != ud.Name() {
		t.Fatalf("VerifyAccessToken: %+v %v", p, err)
	}
	if _, err := svc.Auth.VerifyAccessToken(ctx, "nope"); !errors.Is(err, domain.E(domain.KindTokenInvalid)) {
		t.Fatalf("a bad token must be KindTokenInvalid, got %v", err)
	}

	// The host: its own Echo, its own error handler, the module's routes on a
	// group and the devices module's routes behind the middleware.
	e := echo.New()
	hostHandler := func(err error, c echo.Context) { _ = c.String(http.StatusTeapot, "host handler") }
	e.HTTPErrorHandler = hostHandler
	mod.HTTP.Register(e.Group(""))
	devices{auth: svc.Auth}.register(e.Group("/api", mod.HTTP.RequireAccessToken()))
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/no/such/route", nil))
	if rec.Code != http.StatusTeapot {
		t.Fatalf("the host's error handler must stay in charge of the host's errors, got %d", rec.Code)
	}

	get := func(auth string) (int, map[string]any) {
		req := httptest.NewRequest(http.MethodGet, "/api/devices", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		var body map[string]any
		_ = json.Unmarshal(rec.Body.Bytes(), &body)
		return rec.Code, body
	}
	if code, body := get("Bearer " + res.Tokens.Access.Value); code != 200 || body["owner"] != res.UID {
		t.Fatalf("protected route with a valid token: %d %v", code, body)
	}
	if _, body := get(""); body["code"] != float64(5106) {
		t.Fatalf("protected route without a token: %v", body)
	}
	if _, body := get("Bearer forged"); body["code"] != float64(5032) {
		t.Fatalf("protected route with a forged token: %v", body)
	}
	if err := svc.EndUsers.Logout(ctx, res.Tokens.Access.Value); err != nil {
		t.Fatal(err)
	}
	if _, body := get("Bearer " + res.Tokens.Access.Value); body["code"] != float64(5032) {
		t.Fatalf("protected route after logout: %v", body)
	}

	// The module's endpoints are counted on the host's registry, by business code.
	for _, q := range []string{"", "?userDomain=x"} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodPost, "/v2/enduser/enduserapi/wechatOffiaccountAuthLogin"+q, nil)
		e.ServeHTTP(rec, req)
		if err := openapitest.ValidateResponse(req, rec.Code, rec.Header(), rec.Body.Bytes()); err != nil {
			t.Fatal(err)
		}
	}
	want := `
		# HELP enduser_auth_requests_total Answers of the end-user authentication endpoints, by endpoint and business code (200 is success).
		# TYPE enduser_auth_requests_total counter
		enduser_auth_requests_total{code="5013",endpoint="login"} 1
		enduser_auth_requests_total{code="5023",endpoint="login"} 1
	`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "enduser_auth_requests_total"); err != nil {
		t.Fatal(err)
	}
	// So are the database retries (none here: the database is not serializable).
	want = `
		# HELP enduser_auth_db_retries_exhausted_total Database statements or transactions that still failed with 40001 or 40P01 after 10 attempts.
		# TYPE enduser_auth_db_retries_exhausted_total counter
		enduser_auth_db_retries_exhausted_total 0
	`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "enduser_auth_db_retries_exhausted_total"); err != nil {
		t.Fatal(err)
	}
	if n, err := testutil.GatherAndCount(reg, "enduser_auth_db_retries_total"); err != nil || n != 1 {
		t.Fatalf("enduser_auth_db_retries_total: %d series, %v", n, err)
	}
}
