package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/iotplatform/enduser-auth/adapters/jsonformat"
)

// errLinesRefused makes `import users` exit non-zero after its summary.
var errLinesRefused = errors.New("refused")

// newImportCmd is `enduser import users FILE [--batch N]`.
func newImportCmd(e env) *cobra.Command {
	users := newLeaf("users FILE", "Import users with their uids from JSON lines (FILE -: standard input)")
	users.Long = `Import users with their uids from JSON lines (FILE "-": standard input). Each refused
line is reported on standard error as "line N: reason"; the last line of standard
output is "imported N, already present M, refused K"; the exit status is 1 when
K > 0. A user already stored is counted as present, never overwritten: a file can
be run again.`
	users.ValidArgsFunction = nil // FILE: the shell completes file names
	dbURL := databaseURLFlag(users)
	batch := users.Flags().Int("batch", 0, "lines per transaction (default 50000)")
	users.RunE = func(cmd *cobra.Command, pos []string) error {
		return cmdImport(cmd.Context(), pos, e, *dbURL, *batch)
	}
	return newGroup("import", "Import users from JSON lines", "import users FILE", users)
}

// cmdImport is `enduser import users FILE [--batch N]`: FILE's JSON lines
// (standard input for "-") become users with the uids they give. Each
// refused line is reported on standard error as `line N: reason`; the last
// line of standard output is the summary; the exit status is 1 when a line
// was refused.
func cmdImport(ctx context.Context, pos []string, e env, dbURL string, batch int) error {
	if len(pos) != 1 || pos[0] == "" {
		return usageErr("import users takes exactly one FILE (- for standard input)")
	}
	if batch < 0 {
		return usageErr("import users: --batch must be positive")
	}
	src := e.stdin
	if pos[0] != "-" {
		f, err := os.Open(pos[0]) // the operator names the file to import: reading it is the command
		if err != nil {
			return fmt.Errorf("import users: %w", err)
		}
		defer f.Close()
		src = f
	} else if src == nil {
		src = strings.NewReader("")
	}
	a, err := adminApp(ctx, e, dbURL)
	if err != nil {
		return err
	}
	defer a.Close()
	counts, err := a.module.Operators.ImportUsers(ctx, jsonformat.ImportLines(src), batch, func(line int, reason string) {
		fmt.Fprintf(e.stderr, "line %d: %s\n", line, reason)
	})
	fmt.Fprintf(e.stdout, "imported %d, already present %d, refused %d\n", counts.Imported, counts.Present, counts.Refused)
	if err != nil {
		return fmt.Errorf("import stopped (the lines before the failing batch are imported; run the file again): %w", err)
	}
	if counts.Refused > 0 {
		return fmt.Errorf("import users: %d line(s) %w", counts.Refused, errLinesRefused)
	}
	return nil
}
