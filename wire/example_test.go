package wire_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	gormpg "gorm.io/driver/postgres"
	"gorm.io/gorm"

	"github.com/iotplatform/enduser-auth/adapters/postgres/pgtest"
	"github.com/iotplatform/enduser-auth/adapters/wechat/wechatfake"
	"github.com/iotplatform/enduser-auth/application"
	"github.com/iotplatform/enduser-auth/domain"
	"github.com/iotplatform/enduser-auth/migrations"
	modwire "github.com/iotplatform/enduser-auth/wire"
)

// ExampleNewModule embeds the module in a host application (another module of
// the monolith): the host owns the database handle, the HTTP client, the
// logger, the Prometheus registry and the Echo instance; the module adds its
// tables, its routes and a middleware for the host's own routes. README.md's
// "Embedding the module" is this example's text. go test runs it against a
// real PostgreSQL (a throw-away database) and a fake WeChat.
func ExampleNewModule() {
	ctx := context.Background()
	must := func(err error) {
		if err != nil {
			panic(err)
		}
	}
	// The host's infrastructure. Here: a throw-away database, a fake WeChat,
	// a fixed master key; in a host: its own database, https://api.weixin.qq.com,
	// 32 random bytes from its secret store.
	dsn, drop, err := pgtest.NewDatabaseURL(ctx)
	must(err)
	defer drop()
	fake := wechatfake.New()
	fake.AddAccount("wxhost", "host-app-secret")
	wx := httptest.NewServer(fake)
	defer wx.Close()
	wechatURL, masterKey := wx.URL, bytes.Repeat([]byte{7}, 32)
	logger := slog.New(slog.DiscardHandler)
	gormDB, err := gorm.Open(gormpg.Open(dsn), &gorm.Config{})
	must(err)
	sqlDB, err := gormDB.DB()
	must(err)
	defer sqlDB.Close()
	e := echo.New()

	// --- Embedding the module ---
	cfg, err := modwire.LoadConfig(os.Getenv) // the ENDUSER_* variables over the defaults (limits on, in memory)
	must(err)
	cfg.MasterKey, cfg.WeChat.BaseURL, cfg.Application.DataCenter = masterKey, wechatURL, "CN"
	mod, err := modwire.NewModule(cfg, modwire.Host{DB: gormDB, Logger: logger, Metrics: prometheus.NewRegistry()})
	must(err)                       // building it does no I/O
	must(migrations.Up(ctx, sqlDB)) // this module's tables and version table only (or Config.MigrateOnStart)
	// Start checks the schema, loads the keys, the audit key and the revocations,
	// starts its loops (revocation sync, purge, erasure, audit writer) and
	// returns once ready, or the reason it cannot start.
	must(mod.Start(ctx))
	defer func() { // after the last request, before sqlDB.Close
		stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		must(mod.Stop(stopCtx)) // ends the loops, flushes the audit trail; a loop's failure is returned
	}()
	e.GET("/readyz", echo.WrapHandler(mod.ReadyHandler())) // 200 once started and the database answers, else 503
	mod.HTTP.Register(e.Group(""))                         // the end-user endpoints; your error handler stays yours
	devices := e.Group("/devices", mod.HTTP.RequireAccessToken())
	devices.GET("", func(c echo.Context) error {
		p, _ := application.PrincipalFromContext(c.Request().Context()) // uid, user domain, session
		return c.JSON(http.StatusOK, map[string]string{"owner": p.UID, "userDomain": p.UserDomain})
	})
	// --- end ---

	ready := httptest.NewRecorder()
	e.ServeHTTP(ready, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	fmt.Println("ready:", ready.Code)

	// A tenant, as `enduser userdomain create` and `enduser officialaccount add` make one.
	ud, err := mod.Operators.CreateUserDomain(ctx, "H.DM.1.1", "")
	must(err)
	must(mod.Operators.PutOfficialAccount(ctx, ud.Name(), "wxhost", "host-app-secret"))

	// A person logs in through the module's endpoint...
	code := fake.IssueCode("wxhost", wechatfake.User{OpenID: "o-host-person"})
	q := url.Values{"userDomain": {ud.Name()}, "appId": {"wxhost"}, "code": {code},
		"signature": {domain.LoginSignature("wxhost", code, ud.Secret())}}
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/v2/enduser/enduserapi/wechatOffiaccountAuthLogin?"+q.Encode(), nil))
	var login struct {
		Code int `json:"code"`
		Data struct {
			AccessToken struct {
				Token string `json:"token"`
			} `json:"accessToken"`
		} `json:"data"`
	}
	must(json.Unmarshal(rec.Body.Bytes(), &login))
	fmt.Println("login:", login.Code)

	// ... and calls the host's route with the token.
	get := func(auth string) (int, map[string]any) {
		req := httptest.NewRequest(http.MethodGet, "/devices", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		var body map[string]any
		must(json.Unmarshal(rec.Body.Bytes(), &body))
		return rec.Code, body
	}
	status, body := get(login.Data.AccessToken.Token)
	owner := body["owner"]
	fmt.Println("devices:", status, body["userDomain"])
	_, body = get("")
	fmt.Println("devices without a token:", body["code"])

	// In-process, no HTTP: another module verifies a token itself.
	principal, err := mod.Auth.VerifyAccessToken(ctx, login.Data.AccessToken.Token)
	fmt.Println("verified:", err == nil, principal.UID == owner)
	// Output:
	// ready: 200
	// login: 200
	// devices: 200 H.DM.1.1
	// devices without a token: 5106
	// verified: true true
}
