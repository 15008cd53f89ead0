package main

import (
	"context"
	"encoding/json"
	"flag"
	"strings"

	"github.com/iotplatform/enduser-auth/adapters/jsonformat"
	"github.com/iotplatform/enduser-auth/application"
)

// cmdUserExport is `enduser user export UID`: it prints one JSON document
// with everything the module holds about the user (application.UserExport;
// README: Exporting a user). An unknown uid is a one-line error.
func cmdUserExport(ctx context.Context, args []string, e env) error {
	fs := flag.NewFlagSet("user export", flag.ContinueOnError)
	dbURL := fs.String("database-url", "", "PostgreSQL URL")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || strings.TrimSpace(pos[0]) == "" {
		return usageErr("user export takes exactly one UID")
	}
	a, err := adminApp(ctx, e, *dbURL)
	if err != nil {
		return err
	}
	defer a.Close()
	x, err := a.module.Operators.ExportUser(ctx, pos[0])
	if err != nil {
		return adminErr(err)
	}
	return writeExport(e, x)
}

// writeExport prints x indented, as one document.
func writeExport(e env, x application.UserExport) error {
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(jsonformat.Export(x))
}
