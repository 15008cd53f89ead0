package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/iotplatform/enduser-auth/adapters/wechat/wechatfake"
	"github.com/iotplatform/enduser-auth/domain"
)

// The demo tenant `enduser dev` provisions. Its secrets are public.
const (
	devDatabaseURL      = "postgres://postgres@127.0.0.1:5432/enduser_dev?sslmode=disable"
	devUserDomain       = "C.DM.10000.1"
	devUserDomainSecret = "demo-user-domain-secret-0123456789"
	devAppID            = "wx0123456789demo"
	devAppSecret        = "demo-app-secret-abcdef0123456789"
)

func cmdDev(ctx context.Context, args []string, e env) error {
	fs := flag.NewFlagSet("dev", flag.ContinueOnError)
	addr := fs.String("addr", "", "listen address (default $ENDUSER_HTTP_ADDR or :8080)")
	dbURL := fs.String("database-url", "", "PostgreSQL URL (default $ENDUSER_DATABASE_URL or "+devDatabaseURL+")")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usageErr("dev takes no positional arguments, got %q", pos)
	}
	cfg, err := loadConfig(e.getenv)
	if err != nil {
		return err
	}
	if e.getenv("ENDUSER_DATABASE_URL") == "" {
		cfg.DatabaseURL = devDatabaseURL
	}
	if *dbURL != "" {
		cfg.DatabaseURL = *dbURL
	}
	if *addr != "" {
		cfg.HTTPAddr = *addr
	}

	// A fake WeChat on loopback, speaking WeChat's wire format. Any code of the
	// form <label>.<anything> logs in the person <label>, once.
	fake := wechatfake.New()
	fake.AddAccount(devAppID, devAppSecret)
	fake.AcceptAnyCode(true)
	fakeLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("fake WeChat: %w", err)
	}
	fakeSrv := &http.Server{Handler: fake, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = fakeSrv.Serve(fakeLn) }()
	defer fakeSrv.Close()
	cfg.WeChatBaseURL = "http://" + fakeLn.Addr().String()

	a, err := openApp(ctx, cfg, e, setupOptions{devKeyFallback: true, migrate: true})
	if err != nil {
		return err
	}
	defer a.Close()
	secret, err := a.provisionDemo(ctx)
	if err != nil {
		return err
	}
	return a.serve(ctx, e, cfg.HTTPAddr, func(bound string) {
		fmt.Fprint(e.stdout, devBanner(bound, cfg.WeChatBaseURL, cfg.DatabaseURL, secret))
	})
}

// provisionDemo creates (or refreshes) the demo user domain, official account
// and data centers, and returns the demo user domain's secret.
func (a *app) provisionDemo(ctx context.Context) (string, error) {
	svc := a.module.Service
	if _, err := svc.CreateUserDomain(ctx, devUserDomain, devUserDomainSecret); err != nil && !domain.IsKind(err, domain.KindInvalid) {
		return "", fmt.Errorf("provision demo user domain: %w", err)
	}
	if err := svc.SetUserDomainEnabled(ctx, devUserDomain, true); err != nil {
		return "", fmt.Errorf("provision demo user domain: %w", err)
	}
	d, err := a.module.Store.UserDomainByName(ctx, devUserDomain)
	if err != nil {
		return "", fmt.Errorf("provision demo user domain: %w", err)
	}
	if err := svc.PutOfficialAccount(ctx, devUserDomain, devAppID, devAppSecret); err != nil {
		return "", fmt.Errorf("provision demo official account: %w", err)
	}
	home := a.cfg.App.DataCenter
	if err := svc.PutDataCenter(ctx, home, "http://127.0.0.1:8080", []domain.MCC{460, 461}); err != nil {
		return "", fmt.Errorf("provision data center %s: %w", home, err)
	}
	if !strings.EqualFold(home, "EU") {
		if err := svc.PutDataCenter(ctx, "EU", "https://eu-enduser.example.com", []domain.MCC{208, 262}); err != nil {
			return "", fmt.Errorf("provision data center EU: %w", err)
		}
	}
	return d.Secret(), nil
}

func devBanner(bound, wechatURL, dbURL, secret string) string {
	host := bound
	if h, port, err := net.SplitHostPort(bound); err == nil && (h == "" || h == "::" || h == "0.0.0.0") {
		host = "127.0.0.1:" + port
	}
	var b strings.Builder
	fmt.Fprintf(&b, `
enduser dev is serving on http://%s
  database:     %s  (public development master key: not for real data)
  fake WeChat:  %s  (any code "<person>.<anything>" logs <person> in, once)
  user domain:  %s  secret %s
  official acct: appId %s
  data centers: this one serves MCC 460, 461; EU serves 208, 262 (try mcc=262 for code 6084)

Log in (paste this; every run makes a new code for the same person "demo"):

  APP=%s UD=%s SECRET=%s; CODE="demo.$(date +%%s%%N)"; SIG=$(printf '%%s' "$APP$CODE$SECRET" | sha256sum | cut -d' ' -f1); curl -sS -X POST "http://%s/v2/enduser/enduserapi/wechatOffiaccountAuthLogin?appId=$APP&code=$CODE&signature=$SIG&userDomain=$UD&mcc=460"; echo

Press Ctrl-C to stop.
`, host, redact(dbURL), wechatURL, devUserDomain, secret, devAppID, devAppID, devUserDomain, secret, host)
	return b.String()
}
