package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/iotplatform/enduser-auth/adapters/wechat/wechatfake"
	"github.com/iotplatform/enduser-auth/domain"
)

// The demo tenant `enduser dev` provisions. Its secrets are public.
const (
	devDatabaseURL      = "postgres://postgres@127.0.0.1:5432/enduser_dev?sslmode=disable"
	devUserDomain       = "C.DM.10000.1"
	devUserDomainSecret = "demo-user-domain-secret-0123456789"
	devAppID            = "wx0123456789demo"
	devAppSecret        = "demo-app-secret-abcdef0123456789" //nolint:gosec // G101: the dev command's demo tenant, public by design (README)
	devMiniAppID        = "wx0123456789minip"
	devMiniAppSecret    = "demo-mini-program-secret-0123456" //nolint:gosec // G101: the dev command's demo tenant, public by design (README)
)

// newDevCmd is `enduser dev [--addr :8080] [--database-url URL | --throwaway-db]`.
func newDevCmd(e env) *cobra.Command {
	c := newLeaf("dev", "A first try: a demo tenant, a fake WeChat, and a curl that logs in")
	c.Long = `A first try: migrate, provision a demo tenant, start a fake WeChat, serve, and
print a curl that logs in. With --throwaway-db (or when no database is configured
and none answers at 127.0.0.1:5432) on a PostgreSQL cluster of its own, removed on
exit. It uses the public development master key unless ENDUSER_MASTER_KEY is set:
not for real data.`
	var f devFlags
	fs := c.Flags()
	fs.StringVar(&f.addr, "addr", "", "listen address (default $ENDUSER_HTTP_ADDR or :8080)")
	fs.StringVar(&f.dbURL, "database-url", "", "PostgreSQL URL (default $ENDUSER_DATABASE_URL or "+devDatabaseURL+")")
	fs.BoolVar(&f.throwaway, "throwaway-db", false, "start a PostgreSQL cluster of its own in a temporary directory, removed on exit")
	c.RunE = func(cmd *cobra.Command, pos []string) error {
		return cmdDev(cmd.Context(), pos, e, f)
	}
	return c
}

// devFlags are dev's flags.
type devFlags struct {
	addr, dbURL string
	throwaway   bool
}

func cmdDev(ctx context.Context, pos []string, e env, f devFlags) error {
	if len(pos) != 0 {
		return usageErr("dev takes no positional arguments, got %q", pos)
	}
	cfg, err := loadConfig(e.getenv)
	if err != nil {
		return err
	}
	if f.throwaway && f.dbURL != "" {
		return usageErr("dev: --throwaway-db and --database-url exclude each other")
	}
	configured := f.dbURL
	if configured == "" && e.getenv("ENDUSER_DATABASE_URL") != "" {
		configured = cfg.Binary.DatabaseURL
	}
	db, err := chooseDevDatabase(f.throwaway, configured, answers, func() (pgBins, error) { return findPGBins(exec.LookPath, pgBinGlob) })
	if err != nil {
		return err
	}
	cfg.Binary.DatabaseURL = db.url
	dbNote := ""
	if db.throwaway {
		fmt.Fprintf(e.stderr, "enduser dev: %s: starting a throwaway PostgreSQL cluster (%s)\n", db.why, filepath.Dir(db.bins.initdb))
		cluster, err := startThrowawayCluster(db.bins)
		if err != nil {
			return err
		}
		defer stopThrowaway(cluster, e.stderr) // after the app has closed its connections
		if ctx.Err() != nil {
			return nil // Ctrl-C while the cluster started
		}
		cfg.Binary.DatabaseURL = cluster.URL
		dbNote = "throwaway cluster in " + cluster.dir + ", removed on exit; "
	}
	if f.addr != "" {
		cfg.Binary.HTTPAddr = f.addr
	}
	if cfg.Application.DataCenter == "" {
		cfg.Application.DataCenter = "CN"
	}

	// A fake WeChat on loopback, speaking WeChat's wire format. Any code of the
	// form <label>.<anything> logs in the person <label>, once.
	fake := wechatfake.New()
	fake.AddAccount(devAppID, devAppSecret)
	fake.AddMiniProgram(devMiniAppID, devMiniAppSecret)
	fake.AcceptAnyCode(true)
	fakeLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("fake WeChat: %w", err)
	}
	fakeSrv := &http.Server{Handler: fake, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = fakeSrv.Serve(fakeLn) }()
	defer fakeSrv.Close()
	cfg.WeChat.BaseURL = "http://" + fakeLn.Addr().String()

	a, err := openApp(ctx, cfg, e, setupOptions{devKeyFallback: true, migrate: true})
	if err != nil {
		return err
	}
	defer a.Close()
	secret, err := a.provisionDemo(ctx)
	if err != nil {
		return err
	}
	return a.serve(ctx, e, cfg.Binary.HTTPAddr, adminAddrOr(cfg.Binary.AdminAddr, defaultDevAdminAddr), func(bound, admin string) {
		fmt.Fprint(e.stdout, devBanner(cfg.Application.DataCenter, bound, admin, cfg.WeChat.BaseURL, cfg.Binary.DatabaseURL, dbNote, secret))
	})
}

// provisionDemo creates (or refreshes) the demo user domain, official account
// and data centers, and returns the demo user domain's secret.
func (a *app) provisionDemo(ctx context.Context) (string, error) {
	svc := a.module.Operators
	if _, err := svc.CreateUserDomain(ctx, devUserDomain, devUserDomainSecret); err != nil && !domain.IsKind(err, domain.KindInvalid) {
		return "", fmt.Errorf("provision demo user domain: %w", err)
	}
	if err := svc.SetUserDomainEnabled(ctx, devUserDomain, true); err != nil {
		return "", fmt.Errorf("provision demo user domain: %w", err)
	}
	d, err := svc.UserDomainByName(ctx, devUserDomain)
	if err != nil {
		return "", fmt.Errorf("provision demo user domain: %w", err)
	}
	if err := svc.PutOfficialAccount(ctx, devUserDomain, devAppID, devAppSecret); err != nil {
		return "", fmt.Errorf("provision demo official account: %w", err)
	}
	if err := svc.PutMiniProgram(ctx, devUserDomain, devMiniAppID, devMiniAppSecret); err != nil {
		return "", fmt.Errorf("provision demo mini program: %w", err)
	}
	// CN and EU always exist with the same MCCs, so a rerun with another
	// ENDUSER_DATA_CENTER never conflicts; another home code serves none.
	own := "http://" + loopbackAddr(a.cfg.Binary.HTTPAddr)
	dcs := []struct {
		code, url string
		mccs      []domain.MCC
	}{
		{"CN", "https://cn-enduser.example.com", []domain.MCC{460, 461}},
		{"EU", "https://eu-enduser.example.com", []domain.MCC{208, 262}},
	}
	home := a.cfg.Application.DataCenter
	found := false
	for i := range dcs {
		if strings.EqualFold(dcs[i].code, home) {
			dcs[i].url, found = own, true // keep the stored code's spelling: codes match case-insensitively
		}
	}
	if !found {
		dcs = append(dcs, struct {
			code, url string
			mccs      []domain.MCC
		}{home, own, nil})
	}
	for _, dc := range dcs {
		if err := svc.PutDataCenter(ctx, dc.code, dc.url, dc.mccs); err != nil {
			return "", fmt.Errorf("provision data center %s: %w", dc.code, err)
		}
	}
	return d.Secret(), nil
}

// homeMCCParam is the curl's mcc parameter: one the home data center serves.
func homeMCCParam(home string) string {
	switch strings.ToUpper(home) {
	case "CN":
		return "&mcc=460"
	case "EU":
		return "&mcc=262"
	}
	return ""
}

// loopbackAddr turns a listen address into one a local client can dial.
func loopbackAddr(addr string) string {
	if h, port, err := net.SplitHostPort(addr); err == nil && (h == "" || h == "::" || h == "0.0.0.0") {
		return "127.0.0.1:" + port
	}
	return addr
}

// devBanner is what dev prints once it serves. dbNote, when not empty, says
// where the database lives (a throwaway cluster); admin is the admin
// listener's address ("" when off). The fake WeChat line is read by scripts:
// keep its form.
func devBanner(home, bound, admin, wechatURL, dbURL, dbNote, secret string) string {
	host := loopbackAddr(bound)
	adminLine := "off"
	if admin != "" {
		adminLine = "http://" + admin + "  (/metrics, /healthz, /readyz)"
	}
	var b strings.Builder
	fmt.Fprintf(&b, `
enduser dev is serving on http://%s
  database:     %s  (%spublic development master key: not for real data)
  fake WeChat:  %s  (any code "<person>.<anything>" logs <person> in, once)
  admin:        %s
  user domain:  %s  secret %s
  official acct: appId %s
  mini program: appId %s
  data centers: CN serves MCC 460, 461; EU serves 208, 262; this one is %s (an mcc of another data center answers 6084)

Log in (paste this; every run makes a new code for the same person "demo"):

  APP=%s UD=%s SECRET=%s; CODE="demo.$(date +%%s%%N)"; SIG=$(printf '%%s' "$APP$CODE$SECRET" | sha256sum | cut -d' ' -f1); curl -sS -X POST "http://%s/v2/enduser/enduserapi/wechatOffiaccountAuthLogin?appId=$APP&code=$CODE&signature=$SIG&userDomain=$UD%s"; echo

Or through the mini program (its jsCode, as wx.login() gives it):

  APP=%s UD=%s SECRET=%s; CODE="demo.$(date +%%s%%N)"; SIG=$(printf '%%s' "$APP$CODE$SECRET" | sha256sum | cut -d' ' -f1); curl -sS -X POST "http://%s/v2/enduser/enduserapi/wechatMiniprogramAuthLogin?appId=$APP&jsCode=$CODE&signature=$SIG&userDomain=$UD%s"; echo
`, host, redact(dbURL), dbNote, wechatURL, adminLine, devUserDomain, secret, devAppID, devMiniAppID, home,
		devAppID, devUserDomain, secret, host, homeMCCParam(home), devMiniAppID, devUserDomain, secret, host, homeMCCParam(home))
	b.WriteString(devPhoneBanner(host, home, secret))
	b.WriteString("\nPress Ctrl-C to stop.\n")
	return b.String()
}
