package main

import (
	"context"
	"fmt"
	"net/netip"
	"strings"

	"github.com/spf13/cobra"
)

// newIPCmd is `enduser ip unblock IP`.
func newIPCmd(e env) *cobra.Command {
	unblock := newLeaf("unblock IP", "Lift the lockouts of a client IP")
	unblock.Long = `Lift the lockouts of a client IP (every user domain). Serving instances lift those
they hold in memory within ENDUSER_REVOCATION_SYNC_INTERVAL; with ENDUSER_REDIS_URL,
Redis's are lifted at once. An IPv6 address lifts its network's lockouts, as the
limits count IPv6 clients by network.`
	dbURL := databaseURLFlag(unblock)
	unblock.RunE = func(cmd *cobra.Command, pos []string) error {
		return cmdIPUnblock(cmd.Context(), pos, e, *dbURL)
	}
	return newGroup("ip", "Lift the lockouts of a client IP", "ip unblock IP", unblock)
}

// cmdIPUnblock is `enduser ip unblock IP`: it stores an unblock request, which
// every serving instance applies to the lockouts it holds in memory within
// ENDUSER_REVOCATION_SYNC_INTERVAL, and, with ENDUSER_REDIS_URL, lifts the
// IP's lockouts in Redis at once (every instance reads them).
func cmdIPUnblock(ctx context.Context, pos []string, e env, dbURL string) error {
	if len(pos) != 1 {
		return usageErr("ip unblock takes exactly one IP")
	}
	if _, err := netip.ParseAddr(strings.TrimSpace(pos[0])); err != nil {
		return usageErr("ip unblock: %q is not an IP address", pos[0])
	}
	a, err := adminApp(ctx, e, dbURL)
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
