package main

import (
	"context"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/iotplatform/enduser-auth/adapters/postgres"
	"github.com/iotplatform/enduser-auth/migrations"
)

// newMigrateCmd is `enduser migrate up|down|status`.
func newMigrateCmd(e env) *cobra.Command {
	c := newLeaf("migrate up|down|status", "Apply, roll back one, or list the database migrations")
	c.Long = `Apply the pending migrations (up), roll back the last one (down), or list them
with their state (status). serve and dev apply the pending ones themselves; the
other commands refuse a database that is not up to date.`
	c.ValidArgs = []string{"up\tapply the pending migrations", "down\troll back the last migration", "status\tlist the migrations"}
	c.ValidArgsFunction = nil
	dbURL := databaseURLFlag(c)
	c.RunE = func(cmd *cobra.Command, pos []string) error {
		return cmdMigrate(cmd.Context(), pos, e, *dbURL)
	}
	return c
}

func cmdMigrate(ctx context.Context, pos []string, e env, dbURL string) error {
	if len(pos) != 1 {
		return usageErr("migrate up|down|status")
	}
	cfg, err := loadConfig(e.getenv)
	if err != nil {
		return err
	}
	if dbURL != "" {
		cfg.Binary.DatabaseURL = dbURL
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
