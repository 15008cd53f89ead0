package main

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/iotplatform/enduser-auth/adapters/wechat/wechatfake"
	"github.com/iotplatform/enduser-auth/domain"
	authwire "github.com/iotplatform/enduser-auth/wire"
)

// The demo tenant of --fake-wechat.
const (
	demoUserDomain = "C.DM.90000.1"
	demoSecret     = "monolith-demo-user-domain-secret-0123456789" //nolint:gosec // G101: the local try's demo tenant, public by design
	demoAppID      = "wxmonolithdemo01"
	demoAppSecret  = "monolith-demo-app-secret" //nolint:gosec // G101: the fake WeChat's demo account, public by design
)

// demoMasterKey is the public, insecure key of a local try when
// ENDUSER_MASTER_KEY is unset. Never for real data.
var demoMasterKey = func() string {
	k := sha256.Sum256([]byte("monolith example INSECURE demo master key"))
	return base64.StdEncoding.EncodeToString(k[:])
}()

// demoTenant is a fake WeChat on loopback (any code "<person>.<anything>"
// logs <person> in, once) and the tenant that uses it.
type demoTenant struct {
	srv *http.Server
	url string
}

func startFakeWeChat() (*demoTenant, error) {
	fake := wechatfake.New()
	fake.AddAccount(demoAppID, demoAppSecret)
	fake.AcceptAnyCode(true)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("fake WeChat: %w", err)
	}
	srv := &http.Server{Handler: fake, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return &demoTenant{srv: srv, url: "http://" + ln.Addr().String()}, nil
}

func (d *demoTenant) Close() { _ = d.srv.Close() }

// env points the module at the fake WeChat and, unless the environment says
// otherwise, at the CN data center and the demo master key.
func (d *demoTenant) env(getenv func(string) string) func(string) string {
	return func(name string) string {
		v := getenv(name)
		switch {
		case name == "ENDUSER_WECHAT_API_BASE_URL":
			return d.url
		case v != "":
			return v
		case name == "ENDUSER_DATA_CENTER":
			return "CN"
		case name == "ENDUSER_MASTER_KEY":
			return demoMasterKey
		}
		return v
	}
}

// provision creates (or refreshes) the demo tenant through the operators'
// facade, as `enduser userdomain create` and `enduser officialaccount add` do.
func (d *demoTenant) provision(ctx context.Context, auth *authwire.Module) error {
	ops := auth.Operators
	if _, err := ops.CreateUserDomain(ctx, demoUserDomain, demoSecret); err != nil && !domain.IsKind(err, domain.KindInvalid) {
		return fmt.Errorf("demo user domain: %w", err)
	}
	if err := ops.PutOfficialAccount(ctx, demoUserDomain, demoAppID, demoAppSecret); err != nil {
		return fmt.Errorf("demo official account: %w", err)
	}
	if err := ops.PutDataCenter(ctx, "CN", "https://cn-enduser.example.com", []domain.MCC{460, 461}); err != nil {
		return fmt.Errorf("demo data center: %w", err)
	}
	return nil
}

// banner says how to log in and call the host's protected route.
func (d *demoTenant) banner(addr string) string {
	return fmt.Sprintf(`  fake WeChat: %s (any code "<person>.<anything>" logs <person> in, once)
  demo: userDomain=%s appId=%s secret=%s

  APP=%s UD=%s SECRET=%s; CODE="demo.$(date +%%s%%N)"; SIG=$(printf '%%s' "$APP$CODE$SECRET" | sha256sum | cut -d' ' -f1); TOKEN=$(curl -sS -X POST "http://%s/v2/enduser/enduserapi/wechatOffiaccountAuthLogin?appId=$APP&code=$CODE&signature=$SIG&userDomain=$UD&mcc=460" | sed -E 's/.*"accessToken":\{"token":"([^"]+)".*/\1/'); curl -sS -H "Authorization: $TOKEN" http://%s/devices; echo
`, d.url, demoUserDomain, demoAppID, demoSecret, demoAppID, demoUserDomain, demoSecret, addr, addr)
}

// ensureDatabase creates the host's database when it is missing (a first
// try on a new server).
func ensureDatabase(ctx context.Context, dsn string) error {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return fmt.Errorf("MONOLITH_DATABASE_URL: %w", err)
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err == nil {
		return conn.Close(ctx)
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "3D000" {
		return fmt.Errorf("database: %w", err)
	}
	name := cfg.Database
	u, err := url.Parse(dsn)
	if err != nil {
		return fmt.Errorf("MONOLITH_DATABASE_URL: %w", err)
	}
	u.Path = "/postgres"
	admin, err := pgx.Connect(ctx, u.String())
	if err != nil {
		return fmt.Errorf("database %s is missing and cannot be created: %w", name, err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil && !strings.Contains(err.Error(), "42P04") {
		return fmt.Errorf("create database %s: %w", name, err)
	}
	return nil
}
