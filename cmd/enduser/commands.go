package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/redis/go-redis/v9"

	"github.com/iotplatform/enduser-auth/adapters/postgres"
	"github.com/iotplatform/enduser-auth/adapters/secretbox"
	"github.com/iotplatform/enduser-auth/adapters/telemetry"
	"github.com/iotplatform/enduser-auth/domain"
	"github.com/iotplatform/enduser-auth/migrations"
	modwire "github.com/iotplatform/enduser-auth/wire"
)

// app is an opened database and the assembled module.
type app struct {
	cfg    config
	sqlDB  *sql.DB
	module *modwire.Module
	log    *slog.Logger
	// metrics is the process's Prometheus registry, served on /metrics.
	metrics *prometheus.Registry
}

// Close stops the module (for an admin command, which does not Start it:
// the audit records its operation queued are written) and closes the
// database and Redis.
func (a *app) Close() {
	if a.module != nil {
		ctx, cancel := context.WithTimeout(context.Background(), moduleStopTimeout)
		_ = a.module.Stop(ctx) // the module logs a loop's failure and any audit record lost
		cancel()
	}
	if a.sqlDB != nil {
		_ = a.sqlDB.Close()
	}
}

// moduleStopTimeout bounds the module's Stop (its loops' end and the audit
// records' flush).
const moduleStopTimeout = 10 * time.Second

type setupOptions struct {
	devKeyFallback bool
	migrate        bool
	logger         *slog.Logger
}

// openApp opens the database (creating it if missing), migrates it when asked
// and assembles the module with the injector.
func openApp(ctx context.Context, cfg config, e env, opts setupOptions) (*app, error) {
	key, isDev, err := cfg.masterKeyFor(opts.devKeyFallback)
	if err != nil {
		return nil, err
	}
	log := opts.logger
	if log == nil {
		log = slog.New(telemetry.LogHandler(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: cfg.Binary.LogLevel})))
	}
	if isDev {
		log.Warn("USING THE PUBLIC INSECURE DEVELOPMENT MASTER KEY: secrets in this database are not protected; set ENDUSER_MASTER_KEY for real data")
	}
	db, err := postgres.Open(ctx, cfg.Binary.DatabaseURL)
	if err != nil {
		return nil, err
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, fmt.Errorf("database: %w", err)
	}
	a := &app{cfg: cfg, sqlDB: sqlDB, log: log}
	if opts.migrate {
		if err := migrations.Up(ctx, sqlDB); err != nil {
			a.Close()
			return nil, err
		}
	} else if err := requireSchema(ctx, sqlDB); err != nil {
		a.Close()
		return nil, err
	}
	a.metrics = prometheus.NewRegistry()
	a.metrics.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	redis.SetLogger(silentRedisLog{})
	mcfg := cfg.Config
	mcfg.MasterKey = key
	if isDev {
		mcfg.OlderMasterKeys = nil
	}
	mod, err := modwire.NewModule(mcfg, modwire.Host{DB: db, Logger: log, Metrics: a.metrics})
	if err != nil {
		a.Close()
		return nil, err
	}
	a.module = mod
	return a, nil
}

// cmdIP is `enduser ip unblock IP`: it stores an unblock request, which
// every serving instance applies to the lockouts it holds in memory within
// ENDUSER_REVOCATION_SYNC_INTERVAL, and, with ENDUSER_REDIS_URL, lifts the
// IP's lockouts in Redis at once (every instance reads them).
func cmdIP(ctx context.Context, args []string, e env) error {
	if len(args) == 0 || args[0] != "unblock" {
		return usageErr("ip unblock IP")
	}
	fs := flag.NewFlagSet("ip unblock", flag.ContinueOnError)
	dbURL := fs.String("database-url", "", "PostgreSQL URL")
	pos, err := parseArgs(fs, args[1:])
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageErr("ip unblock takes exactly one IP")
	}
	if _, err := netip.ParseAddr(strings.TrimSpace(pos[0])); err != nil {
		return usageErr("ip unblock: %q is not an IP address", pos[0])
	}
	a, err := adminApp(ctx, e, *dbURL)
	if err != nil {
		return err
	}
	defer a.Close()
	res, err := a.module.Operators.UnblockIP(ctx, pos[0])
	if err != nil && res.Key == "" {
		return adminErr(err)
	}
	key := res.Key
	what := "ip " + key
	if strings.Contains(key, "/") {
		what = "ip " + strings.TrimSpace(pos[0]) + " (its network " + key + ", as the limits count IPv6 clients)"
	}
	if !res.Shared {
		fmt.Fprintf(e.stdout, "%s unblock requested: serving instances lift its lockouts (every user domain) within ENDUSER_REVOCATION_SYNC_INTERVAL\n", what)
		return nil
	}
	n := res.SharedLifted
	if err != nil {
		return fmt.Errorf("%s: unblock request stored (serving instances lift their in-memory lockouts within ENDUSER_REVOCATION_SYNC_INTERVAL), but Redis failed: %w", what, err)
	}
	fmt.Fprintf(e.stdout, "%s unblocked: %d lockout(s) lifted in Redis; serving instances lift those they hold in memory within ENDUSER_REVOCATION_SYNC_INTERVAL\n", what, n)
	return nil
}

// cmdUser is `enduser user logout-all|disable|enable UID`, `enduser user delete UID [--now]`
// and `enduser user export UID`.
func cmdUser(ctx context.Context, args []string, e env) error {
	if len(args) > 0 && args[0] == "delete" {
		return cmdUserDelete(ctx, args[1:], e)
	}
	if len(args) > 0 && args[0] == "export" {
		return cmdUserExport(ctx, args[1:], e)
	}
	if len(args) == 0 || (args[0] != "logout-all" && args[0] != "disable" && args[0] != "enable") {
		return usageErr("user logout-all|disable|enable UID | user delete UID [--now] | user export UID")
	}
	sub := args[0]
	fs := flag.NewFlagSet("user "+sub, flag.ContinueOnError)
	dbURL := fs.String("database-url", "", "PostgreSQL URL")
	pos, err := parseArgs(fs, args[1:])
	if err != nil {
		return err
	}
	if len(pos) != 1 || strings.TrimSpace(pos[0]) == "" {
		return usageErr("user %s takes exactly one UID", sub)
	}
	uid := strings.TrimSpace(pos[0])
	a, err := adminApp(ctx, e, *dbURL)
	if err != nil {
		return err
	}
	defer a.Close()
	svc := a.module.Operators
	switch sub {
	case "disable", "enable":
		if sub == "disable" {
			err = svc.DisableUser(ctx, uid)
		} else {
			err = svc.EnableUser(ctx, uid)
		}
		if err != nil {
			return adminErr(err)
		}
		if sub == "disable" {
			fmt.Fprintf(e.stdout, "user %s disabled: its sessions ended, its logins and refreshes answer 5041; serving instances refuse its tokens within ENDUSER_REVOCATION_SYNC_INTERVAL\n", uid)
		} else {
			fmt.Fprintf(e.stdout, "user %s enabled: it may log in again (its ended sessions stay ended)\n", uid)
		}
		return nil
	}
	n, err := svc.EndUserSessions(ctx, uid)
	if err != nil {
		return adminErr(err)
	}
	fmt.Fprintf(e.stdout, "ended %d session(s) of user %s; serving instances refuse their tokens within ENDUSER_REVOCATION_SYNC_INTERVAL\n", n, uid)
	return nil
}

// cmdUserDelete is `enduser user delete UID [--now]`: the account is erased
// after the cooling-off (ENDUSER_DELETION_COOLING_OFF), as a type 2 request,
// or with --now at once (and announced to the serving instances' listeners
// by their outbox dispatcher).
func cmdUserDelete(ctx context.Context, args []string, e env) error {
	fs := flag.NewFlagSet("user delete", flag.ContinueOnError)
	dbURL := fs.String("database-url", "", "PostgreSQL URL")
	now := fs.Bool("now", false, "erase the account at once instead of after the cooling-off")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || strings.TrimSpace(pos[0]) == "" {
		return usageErr("user delete takes exactly one UID (and optionally --now)")
	}
	a, err := adminApp(ctx, e, *dbURL)
	if err != nil {
		return err
	}
	defer a.Close()
	d, err := a.module.Operators.DeleteUser(ctx, pos[0], *now)
	if err != nil {
		return adminErr(err)
	}
	switch {
	case d.Erased:
		fmt.Fprintf(e.stdout, "user %s erased; its sessions ended; other modules are told by the serving instances\n", d.UID)
	case !d.DueAt.After(time.Now()):
		fmt.Fprintf(e.stdout, "user %s is due for erasure now; its sessions ended; the erasure job of a serving instance erases it\n", d.UID)
	default:
		fmt.Fprintf(e.stdout, "user %s will be erased at %s unless the person logs in before; its sessions ended\n", d.UID, d.DueAt.UTC().Format(time.RFC3339))
	}
	return nil
}

// adminApp loads the configuration and opens the app for an admin command.
func adminApp(ctx context.Context, e env, databaseURL string) (*app, error) {
	cfg, err := loadConfig(e.getenv)
	if err != nil {
		return nil, err
	}
	if databaseURL != "" {
		cfg.Binary.DatabaseURL = databaseURL
	}
	// Admin commands never change the schema behind the operator's back.
	return openApp(ctx, cfg, e, setupOptions{migrate: false})
}

// requireSchema fails when the module's migrations are not all applied.
func requireSchema(ctx context.Context, db *sql.DB) error {
	p, err := migrations.NewProvider(db)
	if err != nil {
		return err
	}
	pending, err := p.HasPending(ctx)
	if err != nil {
		return fmt.Errorf("check the database schema: %w", err)
	}
	if pending {
		return errors.New("the database schema is not up to date: run `enduser migrate up` (or `enduser serve`, which migrates) first")
	}
	return nil
}

func cmdMigrate(ctx context.Context, args []string, e env) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	dbURL := fs.String("database-url", "", "PostgreSQL URL (default $ENDUSER_DATABASE_URL)")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageErr("migrate up|down|status")
	}
	cfg, err := loadConfig(e.getenv)
	if err != nil {
		return err
	}
	if *dbURL != "" {
		cfg.Binary.DatabaseURL = *dbURL
	}
	db, err := postgres.Open(ctx, cfg.Binary.DatabaseURL)
	if err != nil {
		return err
	}
	sqlDB, err := db.DB()
	if err != nil {
		return err
	}
	defer sqlDB.Close()
	p, err := migrations.NewProvider(sqlDB)
	if err != nil {
		return err
	}
	switch pos[0] {
	case "up":
		res, err := p.Up(ctx)
		if err != nil {
			return fmt.Errorf("migrate up: %w", err)
		}
		for _, r := range res {
			fmt.Fprintf(e.stdout, "applied %s (%s)\n", r.Source.Path, r.Duration)
		}
		if len(res) == 0 {
			fmt.Fprintln(e.stdout, "no pending migrations")
		}
	case "down":
		r, err := p.Down(ctx)
		if err != nil {
			return fmt.Errorf("migrate down: %w", err)
		}
		fmt.Fprintf(e.stdout, "rolled back %s\n", r.Source.Path)
	case "status":
		list, err := p.Status(ctx)
		if err != nil {
			return fmt.Errorf("migrate status: %w", err)
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "VERSION\tSTATE\tAPPLIED AT\tFILE")
		for _, s := range list {
			at := "-"
			if !s.AppliedAt.IsZero() {
				at = s.AppliedAt.UTC().Format("2006-01-02 15:04:05Z")
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", s.Source.Version, s.State, at, s.Source.Path)
		}
		return tw.Flush()
	default:
		return usageErr("migrate up|down|status, not %q", pos[0])
	}
	return nil
}

func cmdUserDomain(ctx context.Context, args []string, e env) error {
	if len(args) == 0 {
		return usageErr("userdomain create|disable|enable|rotate-secret NAME")
	}
	sub := args[0]
	fs := flag.NewFlagSet("userdomain "+sub, flag.ContinueOnError)
	dbURL := fs.String("database-url", "", "PostgreSQL URL")
	secretFlag := fs.String("secret", "", "the user domain secret (generated when empty; prefer --secret-stdin or $ENDUSER_USER_DOMAIN_SECRET)")
	secretStdin := fs.Bool("secret-stdin", false, "read the secret from the first line of standard input")
	legacy := fs.Bool("legacy-secret", false, "accept a secret shorter than 32 characters (a tenant's existing one)")
	overlap := fs.Duration("overlap", defaultSecretOverlap, "rotate-secret: how long the replaced secret stays valid")
	pos, err := parseArgs(fs, args[1:])
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageErr("userdomain %s takes exactly one NAME", sub)
	}
	overlapSet := false
	fs.Visit(func(f *flag.Flag) { overlapSet = overlapSet || f.Name == "overlap" })
	switch {
	case sub == "rotate-secret" && (*secretFlag != "" || *legacy):
		return usageErr("userdomain rotate-secret takes the new secret from --secret-stdin only (or generates it)")
	case sub != "create" && sub != "rotate-secret" && (*secretFlag != "" || *secretStdin || *legacy):
		return usageErr("--secret, --secret-stdin and --legacy-secret are only for userdomain create")
	case sub != "rotate-secret" && overlapSet:
		return usageErr("--overlap is only for userdomain rotate-secret")
	case sub != "create" && sub != "disable" && sub != "enable" && sub != "rotate-secret":
		return usageErr("userdomain create|disable|enable|rotate-secret NAME, not %q", sub)
	case *overlap < 0:
		return usageErr("--overlap must not be negative")
	}
	secret, err := userDomainSecret(e, sub, *secretFlag, *secretStdin, *legacy)
	if err != nil {
		return err
	}
	a, err := adminApp(ctx, e, *dbURL)
	if err != nil {
		return err
	}
	defer a.Close()
	svc := a.module.Operators
	switch sub {
	case "create":
		d, err := svc.CreateUserDomain(ctx, pos[0], secret)
		if err != nil {
			return adminErr(err)
		}
		fmt.Fprintf(e.stdout, "created user domain %s\nsecret: %s\n", d.Name(), d.Secret())
	case "disable", "enable":
		err := svc.SetUserDomainEnabled(ctx, pos[0], sub == "enable")
		if err != nil {
			return adminErr(err)
		}
		fmt.Fprintf(e.stdout, "user domain %s %sd\n", pos[0], sub)
	case "rotate-secret":
		d, err := svc.RotateUserDomainSecret(ctx, pos[0], secret, *overlap)
		if err != nil {
			return adminErr(err)
		}
		printRotation(e, d, secret == "")
	}
	return nil
}

// userDomainSecret is the secret `userdomain create` or `rotate-secret` was
// given ("" to have one generated), checked for length; other subcommands
// take none.
func userDomainSecret(e env, sub, flagValue string, fromStdin, legacy bool) (string, error) {
	switch sub {
	case "create":
		secret, err := secretFrom(e, "secret", flagValue, fromStdin, "ENDUSER_USER_DOMAIN_SECRET")
		if err != nil {
			return "", err
		}
		if secret != "" && len([]rune(secret)) < minUserDomainSecret && !legacy {
			return "", fmt.Errorf("the user domain secret is %d characters: a new secret needs at least %d (leave it out to have one generated); "+
				"if it is a tenant's existing secret that apps in the field ship, add --legacy-secret", len([]rune(secret)), minUserDomainSecret)
		}
		return secret, nil
	case "rotate-secret":
		if !fromStdin {
			return "", nil
		}
		// Read from standard input only: no environment variable applies.
		secret, err := secretFrom(env{stdin: e.stdin, getenv: func(string) string { return "" }}, "secret", "", true, "ENDUSER_USER_DOMAIN_SECRET")
		if err != nil {
			return "", err
		}
		if len([]rune(secret)) < minUserDomainSecret {
			return "", fmt.Errorf("the new secret is %d characters: it needs at least %d (leave --secret-stdin out to have one generated)",
				len([]rune(secret)), minUserDomainSecret)
		}
		return secret, nil
	}
	return "", nil
}

// printRotation says what rotate-secret did; a generated secret goes alone
// on its line.
func printRotation(e env, d domain.UserDomain, generated bool) {
	if _, until := d.PreviousSecret(); until.IsZero() {
		fmt.Fprintf(e.stdout, "rotated the secret of user domain %s; the previous secret is no longer accepted\n", d.Name())
	} else {
		fmt.Fprintf(e.stdout, "rotated the secret of user domain %s; the previous secret is accepted until %s\n",
			d.Name(), until.UTC().Format(time.RFC3339))
	}
	if generated {
		fmt.Fprintln(e.stdout, d.Secret())
	}
}

// defaultSecretOverlap is how long rotate-secret keeps the replaced secret
// valid unless --overlap says otherwise.
const defaultSecretOverlap = 720 * time.Hour

func cmdOfficialAccount(ctx context.Context, args []string, e env) error {
	return cmdWeChatApp(ctx, args, e, domain.AppKindOfficialAccount)
}

func cmdMiniProgram(ctx context.Context, args []string, e env) error {
	return cmdWeChatApp(ctx, args, e, domain.AppKindMiniProgram)
}

// appCommands name each kind's command.
var appCommands = map[domain.AppKind]string{
	domain.AppKindOfficialAccount: "officialaccount",
	domain.AppKindMiniProgram:     "miniprogram",
}

// cmdWeChatApp is `officialaccount add` and `miniprogram add`: one command
// per kind of WeChat app, the same flags and secret sources.
func cmdWeChatApp(ctx context.Context, args []string, e env, kind domain.AppKind) error {
	name, noun := appCommands[kind], kind.Noun()
	if len(args) == 0 || args[0] != "add" {
		return usageErr("%s add --user-domain NAME --app-id ID --app-secret SECRET", name)
	}
	fs := flag.NewFlagSet(name+" add", flag.ContinueOnError)
	dbURL := fs.String("database-url", "", "PostgreSQL URL")
	ud := fs.String("user-domain", "", "user domain name")
	appID := fs.String("app-id", "", "the "+noun+"'s appId")
	appSecretFlag := fs.String("app-secret", "", "the "+noun+"'s AppSecret (prefer --app-secret-stdin or $ENDUSER_APP_SECRET)")
	appSecretStdin := fs.Bool("app-secret-stdin", false, "read the AppSecret from the first line of standard input")
	pos, err := parseArgs(fs, args[1:])
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usageErr("%s add takes no positional arguments, got %q", name, pos)
	}
	appSecret, err := secretFrom(e, "app-secret", *appSecretFlag, *appSecretStdin, "ENDUSER_APP_SECRET")
	if err != nil {
		return err
	}
	if *ud == "" || *appID == "" || appSecret == "" {
		return usageErr("%s add needs --user-domain, --app-id and the AppSecret (--app-secret-stdin, $ENDUSER_APP_SECRET or --app-secret)", name)
	}
	a, err := adminApp(ctx, e, *dbURL)
	if err != nil {
		return err
	}
	defer a.Close()
	if err := a.module.Operators.PutWeChatApp(ctx, kind, *ud, *appID, appSecret); err != nil {
		return adminErr(err)
	}
	fmt.Fprintf(e.stdout, "%s %s of user domain %s saved\n", noun, *appID, *ud)
	return nil
}

func cmdDataCenter(ctx context.Context, args []string, e env) error {
	if len(args) == 0 || args[0] != "set" {
		return usageErr("datacenter set CODE --api-url URL --mcc 460,461")
	}
	fs := flag.NewFlagSet("datacenter set", flag.ContinueOnError)
	dbURL := fs.String("database-url", "", "PostgreSQL URL")
	apiURL := fs.String("api-url", "", "the data center's public API base URL")
	mccList := fs.String("mcc", "", "comma-separated MCCs the data center serves")
	pos, err := parseArgs(fs, args[1:])
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageErr("datacenter set takes exactly one CODE")
	}
	if *apiURL == "" {
		return usageErr("datacenter set needs --api-url")
	}
	mccs, err := parseMCCList(*mccList)
	if err != nil {
		return err
	}
	a, err := adminApp(ctx, e, *dbURL)
	if err != nil {
		return err
	}
	defer a.Close()
	if err := a.module.Operators.PutDataCenter(ctx, pos[0], *apiURL, mccs); err != nil {
		return adminErr(err)
	}
	fmt.Fprintf(e.stdout, "data center %s saved with %d MCC(s)\n", pos[0], len(mccs))
	return nil
}

func parseMCCList(s string) ([]domain.MCC, error) {
	var out []domain.MCC
	for _, f := range strings.Split(s, ",") {
		if strings.TrimSpace(f) == "" {
			continue
		}
		m, err := domain.ParseMCC(f)
		if err != nil {
			return nil, usageErr("--mcc: %q is not an MCC (0..999)", strings.TrimSpace(f))
		}
		out = append(out, m)
	}
	return out, nil
}

func cmdKeys(ctx context.Context, args []string, e env) error {
	if len(args) == 0 {
		return usageErr("keys rotate|rotate-master|revoke KID")
	}
	switch args[0] {
	case "rotate":
		return cmdKeysRotate(ctx, args[1:], e)
	case "rotate-master":
		return cmdKeysRotateMaster(ctx, args[1:], e)
	case "revoke":
		return cmdKeysRevoke(ctx, args[1:], e)
	}
	return usageErr("keys rotate|rotate-master|revoke KID, not %q", args[0])
}

func cmdKeysRotate(ctx context.Context, args []string, e env) error {
	fs := flag.NewFlagSet("keys rotate", flag.ContinueOnError)
	dbURL := fs.String("database-url", "", "PostgreSQL URL")
	if _, err := parseArgs(fs, args); err != nil {
		return err
	}
	a, err := adminApp(ctx, e, *dbURL)
	if err != nil {
		return err
	}
	defer a.Close()
	kid, err := a.module.Operators.RotateSigningKey(ctx)
	if err != nil {
		return adminErr(err)
	}
	fmt.Fprintf(e.stdout, "new signing key %s is published now and signs from %s; older keys verify until their last tokens expire\n",
		kid, time.Now().Add(a.cfg.publishDelay()).UTC().Format(time.RFC3339))
	return nil
}

// cmdKeysRotateMaster is `enduser keys rotate-master [--batch N]`: it seals
// every stored secret again under the first key of ENDUSER_MASTER_KEY, then
// counts, per column, the values still under another key.
func cmdKeysRotateMaster(ctx context.Context, args []string, e env) error {
	fs := flag.NewFlagSet("keys rotate-master", flag.ContinueOnError)
	dbURL := fs.String("database-url", "", "PostgreSQL URL")
	batch := fs.Int("batch", postgres.DefaultReencryptBatch, "rows read and rewritten per statement")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 || *batch <= 0 || *batch > 10000 {
		return usageErr("keys rotate-master [--batch N] (1..10000) takes no arguments")
	}
	a, err := adminApp(ctx, e, *dbURL)
	if err != nil {
		return err
	}
	defer a.Close()
	primary := secretbox.KeyID(a.cfg.MasterKey)
	if a.cfg.MasterKey == nil {
		primary = secretbox.KeyID(devMasterKey)
	}
	fmt.Fprintf(e.stdout, "re-encrypting every secret under master key %s (the first of ENDUSER_MASTER_KEY)\n", primary)
	res, err := a.module.Operators.ReencryptSecrets(ctx, *batch, nil)
	for _, p := range res {
		fmt.Fprintf(e.stdout, "  %s: %d re-encrypted, %d changed or deleted meanwhile by another writer (its value kept)\n", p.Column, p.Rewritten, p.Skipped)
	}
	if err != nil {
		return err
	}
	left, err := a.module.Operators.SecretsNotUnderPrimary(ctx)
	if err != nil {
		return err
	}
	var total int64
	for _, col := range postgres.SealedColumnNames() {
		if left[col] != 0 {
			fmt.Fprintf(e.stdout, "  %s: %d value(s) still under another key\n", col, left[col])
		}
		total += left[col]
	}
	if total != 0 {
		return fmt.Errorf("%d value(s) are still sealed under another master key (written meanwhile by an instance that does not have %s first in ENDUSER_MASTER_KEY?): "+
			"give every instance the new list, then run keys rotate-master again; keep the old key until it reports none", total, primary)
	}
	if len(a.cfg.OlderMasterKeys) == 0 {
		fmt.Fprintf(e.stdout, "every secret is sealed under master key %s\n", primary)
		return nil
	}
	fmt.Fprintf(e.stdout, "every secret is sealed under master key %s: the old key(s) can be removed from ENDUSER_MASTER_KEY (restart every instance with %s alone)\n",
		primary, primary)
	return nil
}

// cmdKeysRevoke is `enduser keys revoke KID`.
func cmdKeysRevoke(ctx context.Context, args []string, e env) error {
	fs := flag.NewFlagSet("keys revoke", flag.ContinueOnError)
	dbURL := fs.String("database-url", "", "PostgreSQL URL")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || strings.TrimSpace(pos[0]) == "" {
		return usageErr("keys revoke takes exactly one KID (the kid header of the tokens, as listed in the JWKS)")
	}
	a, err := adminApp(ctx, e, *dbURL)
	if err != nil {
		return err
	}
	defer a.Close()
	signer, err := a.module.Operators.RevokeSigningKey(ctx, pos[0])
	if err != nil {
		return adminErr(err)
	}
	fmt.Fprintf(e.stdout, "signing key %s revoked: it left the JWKS and serving instances refuse its tokens within ENDUSER_REVOCATION_SYNC_INTERVAL; key %s signs now\n",
		strings.TrimSpace(pos[0]), signer)
	return nil
}

// adminErr turns a module error into one line for the operator.
func adminErr(err error) error {
	var de *domain.Error
	if errors.As(err, &de) && de.Kind != domain.KindInternal {
		if de.Detail != "" {
			return errors.New(de.Detail)
		}
		return errors.New(strings.ReplaceAll(string(de.Kind), "_", " "))
	}
	return err
}
