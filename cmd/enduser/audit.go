package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/iotplatform/enduser-auth/adapters/jsonformat"
	"github.com/iotplatform/enduser-auth/application"
)

// cmdAudit prints the audit trail of a user domain, newest first, one JSON
// object a line.
func cmdAudit(ctx context.Context, args []string, e env) error {
	fs := flag.NewFlagSet("audit", flag.ContinueOnError)
	dbURL := fs.String("database-url", "", "PostgreSQL URL")
	ud := fs.String("user-domain", "", "user domain name (required)")
	uid := fs.String("uid", "", "only this user's events")
	since := fs.String("since", "24h", "how far back (a Go duration)")
	limit := fs.Int("limit", 100, "at most this many events (newest first)")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usageErr("audit takes no positional arguments, got %q", pos)
	}
	if strings.TrimSpace(*ud) == "" {
		return usageErr("audit needs --user-domain")
	}
	d, err := time.ParseDuration(*since)
	if err != nil || d <= 0 {
		return usageErr("--since: %q is not a positive Go duration (for example 1h, 720h)", *since)
	}
	if *limit <= 0 {
		return usageErr("--limit must be positive")
	}
	a, err := adminApp(ctx, e, *dbURL)
	if err != nil {
		return err
	}
	defer a.Close()
	recs, err := a.module.Operators.AuditEvents(ctx, application.AuditQuery{UserDomain: strings.TrimSpace(*ud), UID: *uid,
		Since: time.Now().Add(-d), Limit: *limit})
	if err != nil {
		return err
	}
	enc := json.NewEncoder(e.stdout)
	for _, r := range recs {
		if err := enc.Encode(jsonformat.AuditLine(r)); err != nil {
			return err
		}
	}
	return nil
}

// minUserDomainSecret is the shortest newly chosen user domain secret.
const minUserDomainSecret = 32

// maxSecretInput bounds a secret read from standard input.
const maxSecretInput = 4096

// secretFrom returns a secret given on standard input (fromStdin), in the
// environment variable envName, or by flag (flagValue), in that order of
// preference; at most one may be used. It reports which source gave it.
func secretFrom(e env, flagName string, flagValue string, fromStdin bool, envName string) (string, error) {
	envValue := e.getenv(envName)
	n := 0
	for _, set := range []bool{flagValue != "", fromStdin, envValue != ""} {
		if set {
			n++
		}
	}
	if n > 1 {
		return "", usageErr("give the secret one way only: --%s-stdin, $%s or --%s", flagName, envName, flagName)
	}
	switch {
	case fromStdin:
		if e.stdin == nil {
			return "", errors.New("--" + flagName + "-stdin: standard input is empty")
		}
		r := bufio.NewReader(io.LimitReader(e.stdin, maxSecretInput+1))
		line, err := r.ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", fmt.Errorf("--%s-stdin: %w", flagName, err)
		}
		if len(line) > maxSecretInput {
			return "", fmt.Errorf("--%s-stdin: the secret is longer than %d bytes", flagName, maxSecretInput)
		}
		s := strings.TrimRight(line, "\r\n")
		if s == "" {
			return "", errors.New("--" + flagName + "-stdin: standard input is empty")
		}
		return s, nil
	case envValue != "":
		return envValue, nil
	}
	return flagValue, nil
}
