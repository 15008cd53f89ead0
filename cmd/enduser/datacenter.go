package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/iotplatform/enduser-auth/domain"
)

// newDataCenterCmd is `enduser datacenter set CODE --api-url URL --mcc 460,461`.
func newDataCenterCmd(e env) *cobra.Command {
	set := newLeaf("set CODE --api-url URL --mcc 460,461", "Add or change a data center: its API URL and the MCCs it serves")
	set.Long = `Add or change a data center: its public API base URL and the mobile country codes
(MCCs) it serves. A login with an MCC of another data center answers 6084 and
names that data center's URL; an MCC belongs to one data center only.`
	var f dataCenterFlags
	fs := set.Flags()
	fs.StringVar(&f.dbURL, "database-url", "", "PostgreSQL URL (default $ENDUSER_DATABASE_URL)")
	fs.StringVar(&f.apiURL, "api-url", "", "the data center's public API base URL")
	fs.StringVar(&f.mccList, "mcc", "", "comma-separated MCCs the data center serves")
	set.RunE = func(cmd *cobra.Command, pos []string) error {
		return cmdDataCenterSet(cmd.Context(), pos, e, f)
	}
	return newGroup("datacenter", "Add or change a data center", "datacenter set CODE --api-url URL --mcc 460,461", set)
}

// dataCenterFlags are the flags of `datacenter set`.
type dataCenterFlags struct {
	dbURL, apiURL, mccList string
}

func cmdDataCenterSet(ctx context.Context, pos []string, e env, f dataCenterFlags) error {
	if len(pos) != 1 {
		return usageErr("datacenter set takes exactly one CODE")
	}
	if f.apiURL == "" {
		return usageErr("datacenter set needs --api-url")
	}
	mccs, err := parseMCCList(f.mccList)
	if err != nil {
		return err
	}
	a, err := adminApp(ctx, e, f.dbURL)
	if err != nil {
		return err
	}
	defer a.Close()
	if err := a.module.Operators.PutDataCenter(ctx, pos[0], f.apiURL, mccs); err != nil {
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
