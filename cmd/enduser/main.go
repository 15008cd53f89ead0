// Command enduser is the end-user application with the enduser-auth module
// inside: it serves the end-user API and administers user domains, official
// accounts, data centers and signing keys. See README.md and docs/.
package main

import (
	"context"
	"errors"
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

// run executes one command line and returns the exit code. Errors are one line
// on stderr, never a stack trace.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	return runEnv(ctx, args, env{getenv: getenv, stdout: stdout, stderr: stderr})
}

func runEnv(ctx context.Context, args []string, e env) int {
	root := newRootCmd(e)
	root.SetArgs(normalizeArgs(root, args))
	cmd, err := root.ExecuteContextC(ctx)
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errUsage):
		if cmd == nil {
			cmd = root
		}
		fmt.Fprintf(e.stderr, "enduser: %v\n\n%s", err, cmd.UsageString())
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
