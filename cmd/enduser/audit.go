package main

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/iotplatform/enduser-auth/adapters/jsonformat"
	"github.com/iotplatform/enduser-auth/application"
)

// newAuditCmd is `enduser audit --user-domain NAME [--uid UID] [--since 24h] [--limit 100]`.
func newAuditCmd(e env) *cobra.Command {
	c := newLeaf("audit --user-domain NAME", "Print the audit trail of a user domain, newest first, one JSON object a line")
	c.Long = `Print the audit trail of a user domain (logins, refreshes, logouts, the operators'
commands), newest first, one JSON object a line.`
	var f auditFlags
	fs := c.Flags()
	fs.StringVar(&f.dbURL, "database-url", "", "PostgreSQL URL (default $ENDUSER_DATABASE_URL)")
	fs.StringVar(&f.userDomain, "user-domain", "", "user domain name (required)")
	fs.StringVar(&f.uid, "uid", "", "only this user's events")
	fs.StringVar(&f.since, "since", "24h", "how far back (a Go duration)")
	fs.IntVar(&f.limit, "limit", 100, "at most this many events (newest first)")
	c.RunE = func(cmd *cobra.Command, pos []string) error {
		return cmdAudit(cmd.Context(), pos, e, f)
	}
	return c
}

// auditFlags are audit's flags.
type auditFlags struct {
	dbURL, userDomain, uid, since string
	limit                         int
}

// cmdAudit prints the audit trail of a user domain, newest first, one JSON
// object a line.
func cmdAudit(ctx context.Context, pos []string, e env, f auditFlags) error {
	if len(pos) != 0 {
		return usageErr("audit takes no positional arguments, got %q", pos)
	}
	if strings.TrimSpace(f.userDomain) == "" {
		return usageErr("audit needs --user-domain")
	}
	d, err := time.ParseDuration(f.since)
	if err != nil || d <= 0 {
		return usageErr("--since: %q is not a positive Go duration (for example 1h, 720h)", f.since)
	}
	if f.limit <= 0 {
		return usageErr("--limit must be positive")
	}
	a, err := adminApp(ctx, e, f.dbURL)
	if err != nil {
		return err
	}
	defer a.Close()
	recs, err := a.module.Operators.AuditEvents(ctx, application.AuditQuery{UserDomain: strings.TrimSpace(f.userDomain), UID: f.uid,
		Since: time.Now().Add(-d), Limit: f.limit})
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
