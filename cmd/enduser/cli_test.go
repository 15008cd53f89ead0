package main

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/iotplatform/enduser-auth/adapters/postgres/pgtest"
)

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestParseArgsFlagsAnywhere(t *testing.T) {
	for _, args := range [][]string{
		{"NAME", "--secret", "s"},
		{"--secret", "s", "NAME"},
		{"--secret=s", "NAME"},
		{"-secret", "s", "NAME"}, // one dash, as Go's flag package accepted
		{"NAME", "-secret=s"},
	} {
		pos, secret, err := parseWithSecret(args)
		if err != nil || len(pos) != 1 || pos[0] != "NAME" || secret != "s" {
			t.Errorf("%q: pos=%q secret=%q err=%v", args, pos, secret, err)
		}
	}
	if _, _, err := parseWithSecret([]string{"NAME", "--nope"}); err == nil {
		t.Error("an unknown flag after the name must be an error, not ignored")
	}
	if pos, _, err := parseWithSecret([]string{"--", "--secret"}); err != nil || len(pos) != 1 || pos[0] != "--secret" {
		t.Errorf("after --: %q %v", pos, err)
	}
}

// parseWithSecret parses args as the CLI's commands parse theirs, for a
// command with a --secret flag, and returns its positional arguments.
func parseWithSecret(args []string) (pos []string, secret string, err error) {
	root := &cobra.Command{Use: "enduser", SilenceErrors: true, SilenceUsage: true}
	root.SetFlagErrorFunc(flagError)
	root.SetOut(io.Discard)
	root.SetErr(io.Discard)
	c := newLeaf("t NAME", "")
	s := c.Flags().String("secret", "", "")
	c.RunE = func(_ *cobra.Command, p []string) error {
		pos = p
		return nil
	}
	root.AddCommand(c)
	root.SetArgs(normalizeArgs(root, append([]string{"t"}, args...)))
	err = root.Execute()
	return pos, *s, err
}

// cliRun runs a command line and returns exit code, stdout and stderr.
func cliRun(vars map[string]string, args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(context.Background(), args, envOf(vars), &out, &errb)
	return code, out.String(), errb.String()
}

func oneLine(t *testing.T, stderr string) {
	t.Helper()
	if strings.Count(strings.TrimRight(stderr, "\n"), "\n") != 0 || strings.Contains(stderr, "goroutine") {
		t.Errorf("errors must be one line, got %q", stderr)
	}
}

func TestCLIErrors(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDatabase(t)
	vars := map[string]string{"ENDUSER_DATABASE_URL": db, "ENDUSER_MASTER_KEY": testMasterKey, "ENDUSER_HTTP_ADDR": "127.0.0.1:0"}

	// serve refuses to start without a master key, or without its data center.
	code, _, stderr := cliRun(map[string]string{"ENDUSER_DATABASE_URL": db, "ENDUSER_DATA_CENTER": "CN"}, "serve")
	if code == 0 || !strings.Contains(stderr, "ENDUSER_MASTER_KEY") {
		t.Fatalf("serve without a master key: exit %d %q", code, stderr)
	}
	oneLine(t, stderr)
	code, _, stderr = cliRun(map[string]string{"ENDUSER_DATABASE_URL": db, "ENDUSER_MASTER_KEY": testMasterKey}, "serve")
	if code == 0 || !strings.Contains(stderr, "ENDUSER_DATA_CENTER") {
		t.Fatalf("serve without a data center: exit %d %q", code, stderr)
	}
	oneLine(t, stderr)

	// Admin commands do not migrate behind the operator's back.
	fresh := "enduser_clitest_" + strings.ReplaceAll(t.Name(), "/", "_")
	freshURL := strings.Replace(db, db[strings.LastIndex(db, "/")+1:], fresh+"?sslmode=disable", 1)
	t.Cleanup(func() { _, _ = adminDB(t).Exec(`DROP DATABASE IF EXISTS "` + fresh + `" WITH (FORCE)`) })
	code, _, stderr = cliRun(map[string]string{"ENDUSER_DATABASE_URL": freshURL, "ENDUSER_MASTER_KEY": testMasterKey}, "userdomain", "create", "C.DM.7.1")
	if code == 0 || !strings.Contains(stderr, "migrate up") {
		t.Fatalf("an admin command on an unmigrated database: exit %d %q", code, stderr)
	}
	oneLine(t, stderr)

	code, out, stderr := cliRun(vars, "userdomain", "create", "C.DM.7.7")
	if code != 0 || !strings.Contains(out, "secret: ") {
		t.Fatalf("create: %d %q %q", code, out, stderr)
	}
	if secret := strings.TrimSpace(out[strings.Index(out, "secret: ")+8:]); len(secret) < 32 {
		t.Fatalf("generated secret too short: %q", secret)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"userdomain", "create", "C.DM.7.7"}, "already exists"},
		{[]string{"userdomain", "create", "not-a-domain"}, "malformed"},
		{[]string{"userdomain", "create", "C.DM.7.8", "--secret", "short"}, "at least 32"},
		{[]string{"userdomain", "create", "C.DM.7.8", "--secret", "short", "--legacy-secret"}, "at least 16"},
		{[]string{"userdomain", "create", "C.DM.7.8", "--secret", "a-tenant-secret-of-31-characters"[:31]}, "--legacy-secret"},
		{[]string{"userdomain", "disable", "C.DM.9.9"}, "not found"},
		{[]string{"userdomain", "create", "C.DM.7.9", "--bogus"}, "flag provided but not defined"},
		{[]string{"officialaccount", "add", "--user-domain", "C.DM.9.9", "--app-id", "wx1", "--app-secret", "s"}, "not found"},
		{[]string{"officialaccount", "add", "--user-domain", "C.DM.7.7", "--app-id", "wx1"}, "--app-secret"},
		{[]string{"datacenter", "set", "CN", "--api-url", "https://cn.example.com", "--mcc", "460,abc"}, "abc"},
		{[]string{"datacenter", "set", "CN", "--api-url", "ftp://x", "--mcc", "460"}, "http"},
		{[]string{"nonsense"}, "unknown command"},
	} {
		code, _, stderr := cliRun(vars, tc.args...)
		if code == 0 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%q: want failure mentioning %q, got exit %d %q", tc.args, tc.want, code, stderr)
		}
		if !strings.Contains(stderr, "usage:") {
			oneLine(t, stderr)
		}
	}
	if code, _, stderr := cliRun(vars, "datacenter", "set", "CN", "--api-url", "https://cn.example.com", "--mcc", "460,461"); code != 0 {
		t.Fatal(stderr)
	}
	code, _, stderr = cliRun(vars, "datacenter", "set", "EU", "--api-url", "https://eu.example.com", "--mcc", "262,460")
	if code == 0 || !strings.Contains(stderr, "460") || !strings.Contains(stderr, "CN") {
		t.Fatalf("an MCC of another data center: exit %d %q", code, stderr)
	}
	code, out, _ = cliRun(vars, "migrate", "status")
	if code != 0 || !strings.Contains(out, "00001_initial.sql") || !strings.Contains(out, "applied") {
		t.Fatalf("migrate status: %d %q", code, out)
	}
}
