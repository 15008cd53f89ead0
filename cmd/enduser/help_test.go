package main

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
)

// commandGroups are the CLI's command groups, each in its own file.
var commandGroups = []string{"serve", "dev", "migrate", "userdomain", "officialaccount", "miniprogram", "mobileapp", "website", "datacenter",
	"audit", "keys", "ip", "user", "import", "healthcheck", "completion"}

// TestHelpListsEveryCommandGroup: help, -h, --help and -help print the root
// help on standard output, listing every command group, and exit 0.
func TestHelpListsEveryCommandGroup(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"help"}, {"-h"}, {"--help"}, {"-help"}} {
		code, out, errs := cliRun(nil, args...)
		if code != 0 || errs != "" {
			t.Fatalf("%q: exit %d, stderr %q", args, code, errs)
		}
		for _, g := range commandGroups {
			if !strings.Contains(out, "\n  "+g+" ") {
				t.Errorf("%q: the help does not list %s:\n%s", args, g, out)
			}
		}
	}
}

// TestSubcommandHelp: a command's help shows its own flags, on standard
// output, exit 0; the flags of userdomain's other subcommands stay hidden.
func TestSubcommandHelp(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args      []string
		want, not []string
	}{
		{[]string{"userdomain", "create", "--help"}, []string{"--secret-stdin", "--legacy-secret", "--database-url"}, []string{"--overlap"}},
		{[]string{"help", "userdomain", "rotate-secret"}, []string{"--overlap", "--secret-stdin"}, []string{"--legacy-secret"}},
		{[]string{"keys", "-h"}, []string{"rotate", "rotate-master", "revoke"}, nil},
		{[]string{"serve", "-help"}, []string{"--addr", "--migrate", "--database-url"}, nil},
		{[]string{"user", "delete", "UID", "--help"}, []string{"--now"}, nil},
		{[]string{"website", "list", "--help"}, []string{"--user-domain", "--json", "redirectUris", "never shown"}, []string{"--app-id"}},
		{[]string{"mobileapp", "remove", "-h"}, []string{"--user-domain", "--app-id", "5378", "sessions are not ended"}, []string{"--app-secret", "--json"}},
		{[]string{"help", "miniprogram", "remove"}, []string{"5373"}, nil},
	} {
		code, out, errs := cliRun(nil, tc.args...)
		if code != 0 || errs != "" {
			t.Errorf("%q: exit %d, stderr %q", tc.args, code, errs)
		}
		for _, w := range tc.want {
			if !strings.Contains(out, w) {
				t.Errorf("%q: the help lacks %s:\n%s", tc.args, w, out)
			}
		}
		for _, n := range tc.not {
			if strings.Contains(out, n) {
				t.Errorf("%q: the help shows %s:\n%s", tc.args, n, out)
			}
		}
	}
}

// TestUsageErrors: a missing or unknown (sub)command, or an unknown flag,
// exits 2 with "enduser: usage: ..." then the command's usage on standard
// error, nothing on standard output.
func TestUsageErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args            []string
		first, usageFor string
	}{
		{nil, "enduser: usage: no command given", "enduser [command]"},
		{[]string{"nonsense"}, `enduser: usage: unknown command "nonsense"`, "enduser [command]"},
		{[]string{"serv"}, `did you mean serve?`, "enduser [command]"},
		{[]string{"keys"}, "enduser: usage: keys rotate|rotate-master|revoke KID", "enduser keys [command]"},
		{[]string{"keys", "rotat"}, `enduser: usage: keys rotate|rotate-master|revoke KID, not "rotat"`, "enduser keys [command]"},
		{[]string{"user", "logout-all"}, "enduser: usage: user logout-all takes exactly one UID", "enduser user logout-all UID [flags]"},
		{[]string{"ip", "unblock", "--bogus", "1.2.3.4"}, "enduser: usage: ip unblock: flag provided but not defined: --bogus", "enduser ip unblock IP [flags]"},
		{[]string{"healthcheck", "--url"}, "flag needs an argument", "enduser healthcheck [flags]"},
		{[]string{"completion"}, "enduser: usage: completion bash|zsh|fish|powershell", "enduser completion bash|zsh|fish|powershell [flags]"},
		{[]string{"completion", "tcsh"}, `not "tcsh"`, "enduser completion"},
		{[]string{"mobileapp"}, "enduser: usage: mobileapp add|list|remove --user-domain NAME ...", "enduser mobileapp [command]"},
		{[]string{"website", "remove", "--user-domain", "C.DM.1.1"}, "website remove needs --user-domain and --app-id", "enduser website remove --user-domain NAME --app-id ID [flags]"},
		{[]string{"officialaccount", "list"}, "officialaccount list needs --user-domain", "enduser officialaccount list --user-domain NAME [flags]"},
		{[]string{"miniprogram", "list", "extra", "--user-domain", "C.DM.1.1"}, `miniprogram list takes no positional arguments, got ["extra"]`, "enduser miniprogram list"},
	} {
		code, out, errs := cliRun(map[string]string{"ENDUSER_DATABASE_URL": "postgres://127.0.0.1:1/none?sslmode=disable"}, tc.args...)
		first, rest, _ := strings.Cut(errs, "\n")
		if code != 2 || out != "" || !strings.Contains(first, tc.first) || !strings.HasPrefix(first, "enduser: usage: ") ||
			!strings.Contains(rest, "Usage:\n  "+tc.usageFor) {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want exit 2, %q then the usage of %q", tc.args, code, out, errs, tc.first, tc.usageFor)
		}
	}
}

// TestCompletion: `enduser completion SHELL` prints the shell's script, and
// the binary answers the scripts' completion requests.
func TestCompletion(t *testing.T) {
	t.Parallel()
	for shell, want := range map[string]string{
		"bash":       "# bash completion V2 for enduser",
		"zsh":        "#compdef enduser",
		"fish":       "# fish completion for enduser",
		"powershell": "# powershell completion for enduser",
	} {
		code, out, errs := cliRun(nil, "completion", shell)
		if code != 0 || errs != "" || !strings.Contains(out, want) || !strings.Contains(out, "__complete") {
			t.Errorf("completion %s: exit %d, stderr %q, script starting %.200q", shell, code, errs, out)
		}
	}
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{""}, commandGroups},
		{[]string{"userdomain", ""}, []string{"create", "disable", "enable", "rotate-secret"}},
		{[]string{"migrate", ""}, []string{"up", "down", "status"}},
		{[]string{"mobileapp", ""}, []string{"add", "list", "remove"}},
		{[]string{"website", "list", "--"}, []string{"--database-url", "--json", "--user-domain"}},
		{[]string{"userdomain", "create", "C.DM.1.1", "--"}, []string{"--secret-stdin", "--legacy-secret"}},
	} {
		code, out, errs := cliRun(nil, append([]string{"__complete"}, tc.args...)...)
		var got []string
		for _, l := range strings.Split(out, "\n") {
			if l != "" && !strings.HasPrefix(l, ":") {
				got = append(got, strings.SplitN(l, "\t", 2)[0])
			}
		}
		for _, w := range tc.want {
			if code != 0 || !slices.Contains(got, w) {
				t.Errorf("completing %q: exit %d, %q (stderr %q), want %s among them", tc.args, code, got, errs, w)
			}
		}
	}
}

// TestSingleDashFlags: a long flag written with one dash, as Go's flag
// package accepted it, still works.
func TestSingleDashFlags(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	t.Cleanup(srv.Close)
	for _, args := range [][]string{
		{"healthcheck", "-url", srv.URL + "/healthz"},
		{"healthcheck", "-url=" + srv.URL + "/healthz"},
		{"healthcheck", "--url", srv.URL + "/healthz"},
	} {
		if code, out, errs := cliRun(nil, args...); code != 0 || out != "ok\n" {
			t.Errorf("%q: exit %d, %q %q", args, code, out, errs)
		}
	}
}

func TestNormalizeArgs(t *testing.T) {
	t.Parallel()
	root := newRootCmd(env{})
	for _, tc := range []struct{ in, want string }{
		{"serve -addr :8080 -migrate=false", "serve --addr :8080 --migrate=false"},
		{"-h", "-h"},
		{"keys rotate-master -batch -5", "keys rotate-master --batch -5"},
		{"userdomain rotate-secret C.DM.1.1 -overlap -1s", "userdomain rotate-secret C.DM.1.1 --overlap -1s"},
		{"userdomain create -secret -not-a-flag NAME", "userdomain create --secret -not-a-flag NAME"},
		{"userdomain create -secret-stdin NAME", "userdomain create --secret-stdin NAME"},
		{"import users - -batch 10", "import users - --batch 10"},
		{"officialaccount -user-domain D add -app-id wx1", "officialaccount --user-domain D add --app-id wx1"},
		{"keys revoke -- -kid", "keys revoke -- -kid"},
		{"__complete userdomain create -sec", "__complete userdomain create -sec"},
	} {
		if got := strings.Join(normalizeArgs(root, strings.Fields(tc.in)), " "); got != tc.want {
			t.Errorf("%q: got %q, want %q", tc.in, got, tc.want)
		}
	}
	if got := normalizeArgs(root, nil); got == nil {
		t.Error("no arguments must stay an empty list, not nil (cobra would read os.Args)")
	}
}
