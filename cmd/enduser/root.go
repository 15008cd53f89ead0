package main

import (
	"errors"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// The groups of the root command's help.
const (
	groupRun     = "run"
	groupTenants = "tenants"
	groupUsers   = "users"
	groupKeys    = "keys"
)

// The help lists the commands in the order they are added (the usual ones
// first), not alphabetically.
func init() { cobra.EnableCommandSorting = false }

// newRootCmd is the command tree of one run: each command group is built in
// its own file and reads and writes through e. Cobra prints nothing of its
// own: runEnv prints errors (one line) and, after a usage error, the usage.
func newRootCmd(e env) *cobra.Command {
	root := &cobra.Command{
		Use:   "enduser",
		Short: "The end-user application with the enduser-auth module inside",
		Long: `enduser serves the end-user API (WeChat logins, tokens, sessions) and administers
user domains, WeChat apps, data centers, users and signing keys.

Configuration comes from ENDUSER_* environment variables (see docs/configuration.md); a flag
given on the command line overrides its variable.`,
		Args: func(c *cobra.Command, args []string) error {
			if len(args) == 0 {
				return nil
			}
			if s := c.SuggestionsFor(args[0]); len(s) > 0 {
				return usageErr("unknown command %q (did you mean %s?)", args[0], strings.Join(s, " or "))
			}
			return usageErr("unknown command %q", args[0])
		},
		RunE: func(*cobra.Command, []string) error {
			return usageErr("no command given")
		},
		SilenceErrors:     true,
		SilenceUsage:      true,
		ValidArgsFunction: cobra.NoFileCompletions,
		// The completion command is completion.go's.
		CompletionOptions: cobra.CompletionOptions{DisableDefaultCmd: true},
	}
	root.SetOut(e.stdout)
	root.SetErr(e.stderr)
	root.SetUsageTemplate(usageTemplate)
	root.SetFlagErrorFunc(flagError)
	root.AddGroup(
		&cobra.Group{ID: groupRun, Title: "Running:"},
		&cobra.Group{ID: groupTenants, Title: "Tenants (user domains, WeChat apps, data centers):"},
		&cobra.Group{ID: groupUsers, Title: "Users and their audit trail:"},
		&cobra.Group{ID: groupKeys, Title: "Keys and lockouts:"},
	)
	add := func(group string, cmds ...*cobra.Command) {
		for _, c := range cmds {
			c.GroupID = group
			root.AddCommand(c)
		}
	}
	add(groupRun, newServeCmd(e), newDevCmd(e), newMigrateCmd(e), newHealthcheckCmd(e))
	add(groupTenants, newUserDomainCmd(e), newOfficialAccountCmd(e), newMiniProgramCmd(e), newMobileAppCmd(e), newWebsiteAppCmd(e),
		newDataCenterCmd(e))
	add(groupUsers, newUserCmd(e), newImportCmd(e), newAuditCmd(e))
	add(groupKeys, newKeysCmd(e), newIPCmd(e))
	root.AddCommand(newCompletionCmd(e))
	return root
}

// newLeaf is a command that runs: it takes any positional arguments (its body
// checks them, with its own message) and completes none unless told.
func newLeaf(use, short string) *cobra.Command {
	return &cobra.Command{
		Use:               use,
		Short:             short,
		Args:              cobra.ArbitraryArgs,
		ValidArgsFunction: cobra.NoFileCompletions,
	}
}

// newGroup is a command of subcommands: without one, or with an unknown one,
// it is a usage error saying synopsis.
func newGroup(use, short, synopsis string, subs ...*cobra.Command) *cobra.Command {
	c := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.ArbitraryArgs,
		RunE: func(_ *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageErr("%s", synopsis)
			}
			return usageErr("%s, not %q", synopsis, args[0])
		},
	}
	c.AddCommand(subs...)
	return c
}

// databaseURLFlag is the --database-url flag of the commands that open the
// database.
func databaseURLFlag(c *cobra.Command) *string {
	return c.Flags().String("database-url", "", "PostgreSQL URL (default $ENDUSER_DATABASE_URL)")
}

// flagError turns a flag parsing error into a usage error (exit status 2)
// naming the command; an unknown flag keeps the wording of Go's flag package.
func flagError(c *cobra.Command, err error) error {
	if errors.Is(err, pflag.ErrHelp) {
		return err
	}
	msg := err.Error()
	if rest, ok := strings.CutPrefix(msg, "unknown flag: "); ok {
		msg = "flag provided but not defined: " + rest
	} else if strings.HasPrefix(msg, "unknown shorthand flag: ") {
		if i := strings.LastIndex(msg, " in "); i >= 0 {
			msg = "flag provided but not defined: " + msg[i+len(" in "):]
		}
	}
	return usageErr("%s: %s", strings.TrimPrefix(c.CommandPath(), "enduser "), msg)
}

// usageTemplate is cobra's default, except that a command of subcommands
// (the root, keys, user, ...) shows no usage line of its own: run alone it
// is a usage error.
const usageTemplate = `Usage:{{if and .Runnable (not .HasAvailableSubCommands)}}
  {{.UseLine}}{{end}}{{if .HasAvailableSubCommands}}
  {{.CommandPath}} [command]{{end}}{{if gt (len .Aliases) 0}}

Aliases:
  {{.NameAndAliases}}{{end}}{{if .HasExample}}

Examples:
{{.Example}}{{end}}{{if .HasAvailableSubCommands}}{{$cmds := .Commands}}{{if eq (len .Groups) 0}}

Available Commands:{{range $cmds}}{{if (or .IsAvailableCommand (eq .Name "help"))}}
  {{rpad .Name .NamePadding }} {{.Short}}{{end}}{{end}}{{else}}{{range $group := .Groups}}

{{.Title}}{{range $cmds}}{{if (and (eq .GroupID $group.ID) (or .IsAvailableCommand (eq .Name "help")))}}
  {{rpad .Name .NamePadding }} {{.Short}}{{end}}{{end}}{{end}}{{if not .AllChildCommandsHaveGroup}}

Additional Commands:{{range $cmds}}{{if (and (eq .GroupID "") (or .IsAvailableCommand (eq .Name "help")))}}
  {{rpad .Name .NamePadding }} {{.Short}}{{end}}{{end}}{{end}}{{end}}{{end}}{{if .HasAvailableLocalFlags}}

Flags:
{{.LocalFlags.FlagUsages | trimTrailingWhitespaces}}{{end}}{{if .HasAvailableInheritedFlags}}

Global Flags:
{{.InheritedFlags.FlagUsages | trimTrailingWhitespaces}}{{end}}{{if .HasHelpSubCommands}}

Additional help topics:{{range .Commands}}{{if .IsAdditionalHelpTopicCommand}}
  {{rpad .CommandPath .CommandPathPadding}} {{.Short}}{{end}}{{end}}{{end}}{{if .HasAvailableSubCommands}}

Use "{{.CommandPath}} [command] --help" for more information about a command.{{end}}
`
