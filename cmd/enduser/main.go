// Command enduser is the end-user application with the enduser-auth module
// inside: it serves the end-user API and administers user domains, official
// accounts, data centers and signing keys. See README.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
)

// defaultGCPercent is the binary's GOGC when the environment sets none. The
// server's live heap is small (about 4 MB under load) and allocates per
// request, so the runtime's default of 100 collects about 13 times a second
// at 2,000 logins/s; 400 lets the heap grow to about 20 MB between
// collections instead. A host embedding the module tunes its own process.
const defaultGCPercent = 400

func main() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(defaultGCPercent)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := runEnv(ctx, os.Args[1:], env{getenv: os.Getenv, stdout: os.Stdout, stderr: os.Stderr, stdin: os.Stdin})
	stop()
	os.Exit(code)
}

// env is what a command runs with; tests pass their own.
type env struct {
	getenv func(string) string
	stdout io.Writer
	stderr io.Writer
	// ready, when set, is told the address the server listens on.
	ready func(addr string)
	// adminReady, when set, is told the admin listener's address.
	adminReady func(addr string)
	// stdin is where --secret-stdin and --app-secret-stdin read (nil: empty).
	stdin io.Reader
}

const usage = `usage: enduser <command> [flags]

commands:
  serve [--addr :8080] [--database-url URL] [--migrate=true]
                        migrate, then serve HTTP until SIGINT/SIGTERM
  dev [--addr :8080] [--throwaway-db]
                        a first try: migrate, provision demo data, start a fake WeChat, serve,
                        and print a curl that logs in; with --throwaway-db (or when no database
                        is configured and none answers at 127.0.0.1:5432) on a PostgreSQL
                        cluster of its own, removed on exit
  migrate up|down|status
  userdomain create NAME [--secret-stdin | --secret S] [--legacy-secret]
                        the secret: first line of stdin, $ENDUSER_USER_DOMAIN_SECRET, --secret,
                        or generated; a chosen one needs 32+ characters unless --legacy-secret
  userdomain disable NAME | enable NAME
  userdomain rotate-secret NAME [--secret-stdin] [--overlap 720h]
                        a new secret (generated and printed alone on its line, or the first line
                        of stdin, 32+ characters); the replaced one stays valid for the overlap
  officialaccount add --user-domain NAME --app-id ID [--app-secret-stdin | --app-secret SECRET]
  miniprogram add     --user-domain NAME --app-id ID [--app-secret-stdin | --app-secret SECRET]
                        the AppSecret: first line of stdin, $ENDUSER_APP_SECRET or --app-secret
  audit --user-domain NAME [--uid UID] [--since 24h] [--limit 100]
                        the audit trail, newest first, one JSON object a line
  datacenter set CODE --api-url URL --mcc 460,461
  keys rotate           publish a new access-token signing key; it signs after
                        ENDUSER_SIGNING_KEY_PUBLISH_DELAY
  keys rotate-master [--batch 500]
                        re-encrypt every secret under the first key of ENDUSER_MASTER_KEY
                        (a comma-separated list: the first encrypts, all decrypt)
  keys revoke KID       remove a signing key at once (compromised): out of the JWKS, its
                        tokens refused; a new key signs at once when it signed
  ip unblock IP         lift the lockouts of a client IP: serving instances lift theirs within
                        ENDUSER_REVOCATION_SYNC_INTERVAL (with ENDUSER_REDIS_URL, Redis's at once)
  user logout-all UID   end every session of a user (a stolen phone); the user may log in again
  user export UID       print one JSON document with everything held about a user (profile,
                        WeChat identities, sessions without secrets, audit records)
  import users FILE     import users with their uids from JSON lines (FILE "-": standard input);
                        refused lines on stderr, then "imported N, already present M, refused K";
                        exit status 1 when K > 0
  user disable UID      disable a user: its sessions end, its logins, refreshes and tokens answer 5041
  user enable UID       let a disabled user log in again (its ended sessions stay ended)
  healthcheck [--url U] exit 0 when the local server answers /healthz (for container health checks)

Configuration comes from ENDUSER_* environment variables (see README.md).
`

// run executes one command line and returns the exit code. Errors are one line
// on stderr, never a stack trace.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	return runEnv(ctx, args, env{getenv: getenv, stdout: stdout, stderr: stderr})
}

func runEnv(ctx context.Context, args []string, e env) int {
	err := dispatch(ctx, args, e)
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprint(e.stdout, usage)
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprintf(e.stderr, "enduser: %v\n\n%s", err, usage)
		return 2
	default:
		fmt.Fprintf(e.stderr, "enduser: %v\n", err)
		return 1
	}
}

var errUsage = errors.New("usage")

func usageErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errUsage, fmt.Sprintf(format, args...))
}

func dispatch(ctx context.Context, args []string, e env) error {
	if len(args) == 0 {
		return usageErr("no command given")
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return cmdServe(ctx, rest, e)
	case "dev":
		return cmdDev(ctx, rest, e)
	case "migrate":
		return cmdMigrate(ctx, rest, e)
	case "userdomain":
		return cmdUserDomain(ctx, rest, e)
	case "officialaccount":
		return cmdOfficialAccount(ctx, rest, e)
	case "miniprogram":
		return cmdMiniProgram(ctx, rest, e)
	case "datacenter":
		return cmdDataCenter(ctx, rest, e)
	case "audit":
		return cmdAudit(ctx, rest, e)
	case "keys":
		return cmdKeys(ctx, rest, e)
	case "healthcheck":
		return cmdHealthcheck(ctx, rest, e)
	case "ip":
		return cmdIP(ctx, rest, e)
	case "user":
		return cmdUser(ctx, rest, e)
	case "import":
		return cmdImport(ctx, rest, e)
	case "help", "-h", "--help", "-help":
		return flag.ErrHelp
	}
	return usageErr("unknown command %q", cmd)
}

// parseArgs parses flags that may stand before or after positional arguments
// (Go's flag package stops at the first positional one; a flag after it must
// not be silently ignored). Everything after "--" is positional.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	fs.SetOutput(io.Discard)
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usageErr("%s: %v", fs.Name(), err)
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return positional, nil
		}
		// fs.Parse consumed a "--" terminator if the previous arg was one.
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(positional, rest...), nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}
